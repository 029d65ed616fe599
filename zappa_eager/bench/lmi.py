"""The benchmark's Lambda Managed Instances mode: one environment of N runtime processes, as LMI runs Python.

``python -m zappa_eager.bench.lmi --task-root DIR [--processes 16] [--path /] [--archive FILE]``, or
:func:`run_lmi` on an open :class:`~zappa_eager.emulator.Emulator` (what ``zappa bench --lmi N`` calls).

One managed environment (:mod:`zappa_eager.emulator.managed`: the real ``awslambdaric`` forking N
workers against one Runtime API, one shared /tmp) is started and measured:

* **INIT** - the environment's (the runtime's exec to the first worker asking for an event: from
  then on Lambda routes to it), every process's own (its fork to its first ``invocation/next``, and
  what its init report says), and when the last one was ready;
* **served during INIT** - from the moment the environment is routable, N clients send requests
  back to back until every process is ready: how many were served while others still ran INIT, and
  what the callers waited (queueing for a free process included);
* **warm** - then rounds of N concurrent requests: each process's first request against the ones
  after it (eager init's promise: the first is as fast as the warm ones), and the latencies;
* **memory** - of the whole environment after INIT and after the requests: the sum over its
  processes of RSS (what per-process memory x N suggests), peak RSS and PSS (shared pages split).

Tooling only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zappa_eager.emulator import Emulator, EnvironmentBusy, EnvironmentDead, InvokeResult, events
from zappa_eager.emulator.managed import DEFAULT_PROCESSES, ManagedEnvironment

#: Rounds of N concurrent requests once every process is ready.
DEFAULT_ROUNDS = 5


@dataclass
class ProcessInit:
    """One worker's INIT."""

    pid: int
    init_ms: float | None  # fork -> first invocation/next, as the emulator saw it
    report_ms: float | None  # total_ms of its init report (zappa-eager's own measure; None without one)
    ok: bool | None  # its init report's verdict
    warmed: bool  # its init report shows a warm-up
    first_request_ms: float | None = None  # Duration of the first request it served


@dataclass
class LmiBench:
    """What one managed environment did (milliseconds; memory in MB)."""

    processes: int
    environment_init_ms: float | None
    all_ready_ms: float | None  # the exec -> the last process ready
    ready: int
    per_process: list[ProcessInit] = field(default_factory=list)
    during_init_served: int = 0  # requests answered before the last process was ready
    during_init_latency_ms: list[float] = field(default_factory=list)
    warm_latency_ms: list[float] = field(default_factory=list)
    warm_duration_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    memory_after_init: dict[str, float | int] = field(default_factory=dict)
    memory_after_requests: dict[str, float | int] = field(default_factory=dict)
    init_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _call(env: ManagedEnvironment, event: dict[str, Any]) -> InvokeResult | None:
    """One invoke; None when the environment refused it (all processes busy) or is gone."""
    try:
        return env.invoke(event)
    except (EnvironmentBusy, EnvironmentDead):
        return None


def _failure(result: InvokeResult) -> str | None:
    if result.error is not None:
        return f"{result.error_type}: {result.error_message}"[:200]
    if result.status_code is not None and result.status_code >= 500:
        return f"HTTP {result.status_code}"
    return None


def _serve_during_init(env: ManagedEnvironment, event: dict[str, Any], bench: LmiBench,
                       first: dict[int, float]) -> None:
    """N clients, back to back, from the environment being routable until every process is ready."""
    all_ready = threading.Event()
    lock = threading.Lock()

    def client() -> None:
        while not all_ready.is_set():
            result = _call(env, event)
            if result is None:
                if not env.alive:
                    return
                continue
            with lock:
                problem = _failure(result)
                if problem:
                    bench.failures.append(problem)
                    continue
                if result.process is not None:
                    first.setdefault(result.process, result.duration_ms)
                if not all_ready.is_set():
                    bench.during_init_served += 1
                    bench.during_init_latency_ms.append(result.latency_ms)

    clients = [threading.Thread(target=client, name=f"zappa-bench-lmi-{i}", daemon=True)
               for i in range(env.processes)]
    for thread in clients:
        thread.start()
    try:
        env.wait_ready(timeout_s=max(env.config.init_limit_s("lambda-managed-instances"), 60.0))
    finally:
        all_ready.set()
        for thread in clients:
            thread.join(env.config.timeout_s + 10)


def _concurrent(env: ManagedEnvironment, event: dict[str, Any]) -> list[InvokeResult | None]:
    """N requests at once, one thread each."""
    results: list[InvokeResult | None] = [None] * env.processes

    def call(index: int) -> None:
        results[index] = _call(env, event)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(env.processes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _serve_warm(env: ManagedEnvironment, event: dict[str, Any], rounds: int, bench: LmiBench,
                first: dict[int, float]) -> None:
    """Rounds of N concurrent requests; each process's first one is noted apart."""
    for _ in range(rounds):
        for result in _concurrent(env, event):
            if result is None:
                continue
            problem = _failure(result)
            if problem:
                bench.failures.append(problem)
                continue
            if result.process is not None and result.process not in first:
                first[result.process] = result.duration_ms
                continue
            bench.warm_latency_ms.append(result.latency_ms)
            bench.warm_duration_ms.append(result.duration_ms)


def run_lmi(emulator: Emulator, event: dict[str, Any], *, processes: int = DEFAULT_PROCESSES,
            rounds: int = DEFAULT_ROUNDS, env: dict[str, str] | None = None) -> LmiBench:
    """Start one managed environment of ``processes`` workers on ``emulator`` and measure it (see the module)."""
    started = time.perf_counter()
    managed = emulator.start_managed_environment(processes, env=env)
    bench = LmiBench(processes=processes, environment_init_ms=managed.init_duration_ms, all_ready_ms=None, ready=0)
    try:
        if not managed.alive:
            bench.init_error = str(managed.init_error)
            return bench
        first: dict[int, float] = {}
        # Requests start the moment the environment is routable: workers still in INIT meanwhile.
        _serve_during_init(managed, event, bench, first)
        bench.memory_after_init = managed.memory().as_dict()
        _serve_warm(managed, event, rounds, bench, first)
        bench.memory_after_requests = managed.memory().as_dict()
        _fill_processes(managed, bench, first, started)
        return bench
    finally:
        managed.stop()


def _fill_processes(env: ManagedEnvironment, bench: LmiBench, first: dict[int, float], started: float) -> None:
    reports = {r.get("process"): r for r in env.init_reports() if r.get("event") == "init"}
    workers = env.workers()
    exec_at = env.process.exec_started() if env.process is not None else started
    ready = [w.ready_at for w in workers if w.ready_at is not None]
    bench.ready = len(ready)
    bench.all_ready_ms = (max(ready) - exec_at) * 1000.0 if ready else None
    for worker in workers:
        report = reports.get(worker.pid) or {}
        bench.per_process.append(ProcessInit(
            pid=worker.pid, init_ms=worker.init_ms,
            report_ms=report.get("total_ms"), ok=report.get("ok"),
            warmed=bool(report.get("warmup")) and all(w.get("outcome") == "warmed" for w in report["warmup"]),
            first_request_ms=first.get(worker.pid),
        ))


def format_lmi(bench: LmiBench) -> str:
    """The result as a few lines of text (what ``zappa bench --lmi`` prints)."""
    if bench.init_error:
        return f"Lambda Managed Instances, {bench.processes} processes: INIT failed: {bench.init_error}"
    inits = [p.init_ms for p in bench.per_process if p.init_ms is not None]
    firsts = [p.first_request_ms for p in bench.per_process if p.first_request_ms is not None]
    during = bench.during_init_latency_ms

    def stats(values: Sequence[float]) -> str:
        if not values:
            return "-"
        return (f"min {min(values):.0f} / median {statistics.median(values):.0f} / max {max(values):.0f} ms"
                if max(values) >= 10 else
                f"min {min(values):.1f} / median {statistics.median(values):.1f} / max {max(values):.1f} ms")

    lines = [
        f"Lambda Managed Instances: one environment of {bench.processes} processes "
        f"({bench.ready} ready), one /tmp",
        f"  environment INIT (routable)  {bench.environment_init_ms or 0:.0f} ms; "
        f"every process ready after {bench.all_ready_ms or 0:.0f} ms",
        f"  per-process INIT             {stats(inits)}",
        f"  served during INIT           {bench.during_init_served} requests, caller waited "
        f"p50 {_pct(during, 0.5) or 0:.1f} / p90 {_pct(during, 0.9) or 0:.1f} ms",
        f"  first request per process    {stats(firsts)} (Duration)",
        f"  warm requests                p50 {_pct(bench.warm_duration_ms, 0.5) or 0:.1f} / "
        f"p90 {_pct(bench.warm_duration_ms, 0.9) or 0:.1f} ms Duration; caller waited "
        f"p50 {_pct(bench.warm_latency_ms, 0.5) or 0:.1f} ms",
        f"  warm-up ran in               {sum(p.warmed for p in bench.per_process)} of {len(bench.per_process)} "
        f"processes",
        f"  memory of the environment    after INIT {_memory(bench.memory_after_init)}; "
        f"after the requests {_memory(bench.memory_after_requests)}",
    ]
    if bench.failures:
        lines.append(f"  failures                     {len(bench.failures)}: {bench.failures[0]}")
    return "\n".join(lines)


def _memory(memory: dict[str, float | int]) -> str:
    if not memory:
        return "-"
    return (f"RSS {memory['rss_mb']:.0f} MB (sum over {memory['processes']} processes), "
            f"PSS {memory['pss_mb']:.0f} MB")


# -- standalone --------------------------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m zappa_eager.bench.lmi", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task-root", type=Path, required=True,
                        help="the function's unpacked package (handler.py, zappa_settings.py, packages)")
    parser.add_argument("--handler", default="handler.lambda_handler")
    parser.add_argument("--processes", type=int, default=DEFAULT_PROCESSES,
                        help="PerExecutionEnvironmentMaxConcurrency: processes in the environment (default 16)")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="rounds of N concurrent warm requests")
    parser.add_argument("--path", default="/", help="the path every request asks for")
    parser.add_argument("--archive", type=Path, help="slim_handler: the project tarball, uploaded to a loopback S3 "
                        "at the settings' ARCHIVE_PATH (--archive-url)")
    parser.add_argument("--archive-url", help="s3://bucket/key of --archive")
    parser.add_argument("--memory-mb", type=int, default=2048)
    parser.add_argument("--timeout-s", type=float, default=30.0)
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if (args.archive is None) != (args.archive_url is None):
        print("--archive and --archive-url go together", file=sys.stderr)
        return 2
    env = dict(item.split("=", 1) for item in args.env)
    with Emulator(args.task_root, handler=args.handler, env=env, memory_mb=args.memory_mb,
                  timeout_s=args.timeout_s) as emulator:
        if args.archive is not None:
            bucket, _, key = str(args.archive_url).removeprefix("s3://").partition("/")
            emulator.s3_put(bucket, key, args.archive)
        bench = run_lmi(emulator, events.api_gateway_v1("GET", args.path), processes=args.processes,
                        rounds=args.rounds)
    print(json.dumps(bench.as_dict(), indent=2) if args.json else format_lmi(bench))
    return 0 if bench.init_error is None and not bench.failures else 1


if __name__ == "__main__":
    sys.exit(main())
