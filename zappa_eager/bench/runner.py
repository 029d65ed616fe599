"""The main scenario on the local Lambda emulator: fresh environments, round-robin over the modes.

Per round and mode: a pre-initialized environment (provisioned concurrency: INIT runs before
any request) waits the idle gap, as a provisioned environment waits for traffic, serves its
first request, then W warm ones back to back, and, after the same idle gap, one more: the
idle-warm request, the first request's fair reference (what idling alone costs: cold CPU
caches, the runtime's long poll). Then a proactively initialized environment does the same
(Lambda's proactive initialization: INIT type ``on-demand``, run ahead of traffic, so
``eager_init_warmup_on_demand`` applies to it). Then an on-demand environment serves one
request, which waits for INIT (a classic cold start). Modes take turns inside
each round, starting with a different mode each round, so machine drift (thermal, page
cache, a browser tab) hits every mode alike. Environments run one at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast, get_args

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


@dataclass
class Served:
    """What an environment initialized before traffic served: first request, warm ones, idle-warm one."""

    first_ms: float | None = None
    warm_ms: list[float] = field(default_factory=list)
    idle_warm_ms: float | None = None
    max_rss_mb: float | None = None
    init_report: dict[str, Any] | None = None


def _init_ok(environment: Environment, sample: EnvSample, label: str) -> bool:
    """False (and the error, or the baseline's limit, noted) when the environment's INIT failed."""
    if environment.init_error is None:
        return True
    if environment.init_error.get("errorType") == TIMEOUT_ERROR_TYPE and is_baseline(sample.mode):
        sample.limits.append(f"{label}: hit the INIT limit ({init_failure(environment.init_error)})")
    else:
        sample.errors.append(f"{label}: {init_failure(environment.init_error)}")
    return False


def _serve(environment: Environment, function: FunctionSpec, sample: EnvSample, paths: Sequence[str], warm: int,
           clock: Clock, idle_s: float, prefix: str = "") -> Served:
    """After INIT: the idle gap, the first request, W warm ones, the idle gap again, the idle-warm one."""
    served = Served()
    idle(idle_s)
    first = _request(environment, function, paths[0], _kind(prefix, "first"), clock, sample)
    if first is None:
        return served
    served.first_ms = first.latency_ms  # at the function timeout if it timed out: a lower bound
    if first.timed_out:  # the environment was killed
        return served
    last = first
    for index in range(warm):
        result = _request(environment, function, paths[(index + 1) % len(paths)], _kind(prefix, "warm"), clock,
                          sample)
        if result is None or result.timed_out:
            break
        served.warm_ms.append(result.latency_ms)
        last = result
    if len(served.warm_ms) == warm:  # the same path as the first request, after the same gap
        idle(idle_s)
        result = _request(environment, function, paths[0], _kind(prefix, "idle-warm"), clock, sample)
        if result is not None and not result.timed_out:
            served.idle_warm_ms = result.latency_ms
            last = result
    served.max_rss_mb = last.max_memory_mb
    served.init_report = environment.init_report()
    return served


def _kind(prefix: str, kind: str) -> RequestKind:
    found = {k for k in get_args(RequestKind) if k == f"{prefix}{kind}"}
    if not found:
        raise ValueError(f"no request kind {prefix}{kind}")
    return cast(RequestKind, found.pop())


def measure_pre_initialized(emulator: Emulator, function: FunctionSpec, sample: EnvSample, paths: Sequence[str],
                            warm: int, clock: Clock, idle_s: float = 0.0) -> None:
    """INIT before traffic, an idle gap, the first request, W warm ones, an idle gap, the idle-warm one."""
    environment = emulator.start_environment("provisioned-concurrency")
    try:
        sample.init_ms = environment.init_duration_ms
        if not _init_ok(environment, sample, "init"):
            return
        served = _serve(environment, function, sample, paths, warm, clock, idle_s)
        sample.first_ms, sample.warm_ms, sample.idle_warm_ms = served.first_ms, served.warm_ms, served.idle_warm_ms
        if served.first_ms is not None:
            sample.warm_median_ms = median(served.warm_ms)
        sample.max_rss_mb, sample.init_report = served.max_rss_mb, served.init_report
    finally:
        environment.stop()


def measure_proactive(emulator: Emulator, function: FunctionSpec, sample: EnvSample, paths: Sequence[str],
                      warm: int, clock: Clock, idle_s: float = 0.0) -> None:
    """Lambda's proactive initialization: INIT type ``on-demand``, run before any request arrives, then as
    ``measure_pre_initialized`` (the idle gap, first, W warm, the idle gap, idle-warm). The runtime sees
    ``AWS_LAMBDA_INITIALIZATION_TYPE=on-demand``, as on Lambda, so ``eager_init_warmup_on_demand`` applies."""
    environment = emulator.start_environment("on-demand")
    try:
        environment.start()  # INIT now, no caller waiting
        sample.proactive_init_ms = environment.init_duration_ms
        if environment.lifecycle.init_timed_out:  # the INIT limit cut it: no proactive figure
            sample.limits.append("proactive init: hit the INIT limit")
            return
        if not _init_ok(environment, sample, "proactive init"):
            return
        served = _serve(environment, function, sample, paths, warm, clock, idle_s, prefix="proactive-")
        sample.proactive_first_ms, sample.proactive_idle_warm_ms = served.first_ms, served.idle_warm_ms
        sample.proactive_warm_median_ms = median(served.warm_ms)
        sample.proactive_rss_mb, sample.proactive_init_report = served.max_rss_mb, served.init_report
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
             warm: int, paths: Sequence[str], clock: Clock, idle_s: float = 0.0, proactive: bool = True,
             on_step: Callable[[str], None] = lambda label: None) -> list[EnvSample]:
    """N rounds over the modes; ``on_step`` is called after each environment (progress)."""
    samples: list[EnvSample] = []
    for round_index, mode in rounds(list(emulators), environments):
        sample = EnvSample(mode=mode, variant=variant.name, round=round_index + 1)
        measure_pre_initialized(emulators[mode], function, sample, paths, warm, clock, idle_s)
        on_step(f"{variant.name} {mode} env {round_index + 1}/{environments} pre-initialized")
        if proactive:
            measure_proactive(emulators[mode], function, sample, paths, warm, clock, idle_s)
            on_step(f"{variant.name} {mode} env {round_index + 1}/{environments} proactive")
        measure_on_demand(emulators[mode], function, sample, paths[0], clock)
        on_step(f"{variant.name} {mode} env {round_index + 1}/{environments} on-demand")
        samples.append(sample)
    return samples
