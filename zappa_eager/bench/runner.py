"""The main scenario on the local Lambda emulator: fresh environments, round-robin over the modes.

Per round and mode: a pre-initialized environment (provisioned concurrency: INIT runs before
any request) waits the idle gap, as a provisioned environment waits for traffic, serves its
first request, then W warm ones back to back, and, after the same idle gap, one more: the
idle-warm request, the first request's fair reference (what idling alone costs: cold CPU
caches, the runtime's long poll). Then an on-demand environment serves one request, which
waits for INIT (a classic cold start). Modes take turns inside
each round, starting with a different mode each round, so machine drift (thermal, page
cache, a browser tab) hits every mode alike. Environments run one at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from zappa_eager.bench.function import FunctionSpec
from zappa_eager.bench.modes import Mode, is_baseline
from zappa_eager.bench.records import EnvSample, RequestKind, RequestSample
from zappa_eager.bench.stats import median
from zappa_eager.bench.variants import Variant
from zappa_eager.emulator import Emulator, Environment, EnvironmentBusy, EnvironmentDead, InvokeResult
from zappa_eager.emulator.lifecycle import TIMEOUT_ERROR_TYPE

T = TypeVar("T")


def failure(result: InvokeResult) -> str | None:
    """Why a request does not count as served, or None (4xx is the app's answer, not a failure)."""
    if result.error is not None:
        return f"{result.error_type}: {result.error_message}"[:300]
    if result.status_code is None:
        return "no HTTP response"
    if result.status_code >= 500:
        return f"HTTP {result.status_code}"
    return None


def init_failure(error: Mapping[str, Any]) -> str:
    """An INIT (or restore) error as one short line: ``errorType: errorMessage``."""
    return f"{error.get('errorType')}: {error.get('errorMessage')}"[:300]


def rotated(modes: Sequence[T], round_index: int) -> list[T]:
    """Round r starts with mode r (mod len): no mode always runs first, or last."""
    shift = round_index % len(modes) if modes else 0
    return list(modes[shift:]) + list(modes[:shift])


class Clock:
    """Seconds since the measurements started (the x axis of the chart)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.started


def limit_note(result: InvokeResult, timeout_s: float) -> str | None:
    """The limit this request hit, as one line, or None: the function timeout, or an on-demand INIT cut."""
    if result.timed_out:
        return f"timed out after {timeout_s:g} s (the function timeout)"
    if result.reinit_duration_ms is not None:
        return "its on-demand INIT hit the INIT limit and ran again inside the request"
    return None


def _request(environment: Environment, function: FunctionSpec, path: str, kind: RequestKind, clock: Clock,
             sample: EnvSample) -> InvokeResult | None:
    """One request; a baseline mode's timeout goes to ``sample.limits`` (a measurement), any other failure to
    ``sample.errors``. None when the environment could not take it."""
    started = clock()
    try:
        result = environment.invoke(function.event(path))
    except (EnvironmentBusy, EnvironmentDead) as exc:
        sample.errors.append(f"{kind} {path}: {exc}")
        return None
    problem = failure(result)
    sample.requests.append(RequestSample(
        t_s=round(started, 4), latency_ms=result.latency_ms, duration_ms=result.duration_ms, kind=kind, path=path,
        env=result.environment, status=result.status_code, error=problem, timed_out=result.timed_out,
    ))
    limit = limit_note(result, function.timeout_s)
    if result.timed_out and is_baseline(sample.mode):
        sample.limits.append(f"{kind} {path}: {limit}")
    elif problem:
        sample.errors.append(f"{kind} {path}: {problem}")
    elif limit:
        sample.limits.append(f"{kind} {path}: {limit}")
    return result


def idle(seconds: float) -> None:
    """The idle gap itself (what is measured, not a synchronisation)."""
    if seconds > 0:
        time.sleep(seconds)


def measure_pre_initialized(emulator: Emulator, function: FunctionSpec, sample: EnvSample, paths: Sequence[str],
                            warm: int, clock: Clock, idle_s: float = 0.0) -> None:
    """INIT before traffic, an idle gap, the first request, W warm ones, an idle gap, the idle-warm one."""
    environment = emulator.start_environment("provisioned-concurrency")
    try:
        sample.init_ms = environment.init_duration_ms
        if environment.init_error is not None:
            if environment.init_error.get("errorType") == TIMEOUT_ERROR_TYPE and is_baseline(sample.mode):
                sample.limits.append(f"init: hit the INIT limit ({init_failure(environment.init_error)})")
            else:
                sample.errors.append(f"init: {init_failure(environment.init_error)}")
            return
        idle(idle_s)
        first = _request(environment, function, paths[0], "first", clock, sample)
        if first is None:
            return
        sample.first_ms = first.latency_ms  # at the function timeout if it timed out: a lower bound
        if first.timed_out:  # the environment was killed
            return
        last = first
        for index in range(warm):
            result = _request(environment, function, paths[(index + 1) % len(paths)], "warm", clock, sample)
            if result is None or result.timed_out:
                break
            sample.warm_ms.append(result.latency_ms)
            last = result
        sample.warm_median_ms = median(sample.warm_ms)
        if len(sample.warm_ms) == warm:  # the same path as the first request, after the same gap
            idle(idle_s)
            result = _request(environment, function, paths[0], "idle-warm", clock, sample)
            if result is not None and not result.timed_out:
                sample.idle_warm_ms = result.latency_ms
                last = result
        sample.max_rss_mb = last.max_memory_mb
        sample.init_report = environment.init_report()
    finally:
        environment.stop()


def measure_on_demand(emulator: Emulator, function: FunctionSpec, sample: EnvSample, path: str,
                      clock: Clock) -> None:
    """A request that finds no environment: it waits for INIT, then is served (client-observed)."""
    environment = emulator.start_environment("on-demand")
    try:
        result = _request(environment, function, path, "cold", clock, sample)
        if result is not None:
            sample.cold_ms = result.latency_ms
            sample.cold_init_ms = result.init_duration_ms
            sample.cold_rss_mb = result.max_memory_mb
    finally:
        environment.stop()


def rounds(modes: Sequence[Mode], count: int) -> Iterator[tuple[int, Mode]]:
    for round_index in range(count):
        for mode in rotated(modes, round_index):
            yield round_index, mode


def run_main(emulators: Mapping[Mode, Emulator], variant: Variant, function: FunctionSpec, *, environments: int,
             warm: int, paths: Sequence[str], clock: Clock, idle_s: float = 0.0,
             on_step: Callable[[str], None] = lambda label: None) -> list[EnvSample]:
    """N rounds over the modes; ``on_step`` is called after each environment (progress)."""
    samples: list[EnvSample] = []
    for round_index, mode in rounds(list(emulators), environments):
        sample = EnvSample(mode=mode, variant=variant.name, round=round_index + 1)
        measure_pre_initialized(emulators[mode], function, sample, paths, warm, clock, idle_s)
        on_step(f"{variant.name} {mode} env {round_index + 1}/{environments} pre-initialized")
        measure_on_demand(emulators[mode], function, sample, paths[0], clock)
        on_step(f"{variant.name} {mode} env {round_index + 1}/{environments} on-demand")
        samples.append(sample)
    return samples
