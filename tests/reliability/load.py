"""Load: one environment serves thousands of requests without failing, growing, or leaking descriptors.

A provisioned-concurrency environment of the reliability site (PostgreSQL with persistent
connections) takes a mix of requests - a database query, a rendered template, a POST body -
one after another through the real runtime client. After the first 200 requests (imports,
caches and the connection are in place by then) the runtime process's resident memory may
grow by at most 5 MB and its open file descriptors not at all, read from /proc/PID. The
full set sends 10,000 requests, the fast set (CI) 2,000. Tooling module.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability import djangoapp
from tests.reliability.djangoapp import healthz_event, home_event
from tests.reliability.postgres import PostgresServer
from tests.reliability.rows import Row
from zappa_eager.emulator import InvokeResult, events

GROUP = "load"
FULL_REQUESTS = 10_000
FAST_REQUESTS = 2_000
#: Memory and descriptors are compared with their level after this many requests.
BASELINE_AFTER = 200
MAX_RSS_GROWTH_MB = 5.0
ECHO_BODY = "x" * 1024


@dataclass(frozen=True)
class ProcSample:
    """What the runtime process held after ``requests`` requests."""

    requests: int
    rss_kb: int  # VmRSS: resident now, not the peak
    fds: int  # entries in /proc/PID/fd

    @property
    def rss_mb(self) -> float:
        return self.rss_kb / 1024.0


def proc_sample(pid: int, requests: int) -> ProcSample:
    rss = None
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
        for row in status:
            if row.startswith("VmRSS:"):
                rss = int(row.split()[1])
    if rss is None:
        raise ProcessLookupError(f"no VmRSS for process {pid}")
    return ProcSample(requests=requests, rss_kb=rss, fds=len(os.listdir(f"/proc/{pid}/fd")))


@dataclass(frozen=True)
class Request:
    """One kind of request in the mix and how to tell that it was served right."""

    name: str
    event: Callable[[], dict[str, Any]]
    check: Callable[[InvokeResult], bool]


def _json_is(result: InvokeResult, expected: dict[str, Any]) -> bool:
    try:
        payload = result.json()
    except ValueError:
        return False
    return isinstance(payload, dict) and all(payload.get(k) == v for k, v in expected.items())


MIX: tuple[Request, ...] = (
    Request("GET /healthz (database)", healthz_event,
            lambda r: r.status_code == 200 and _json_is(r, {"status": "ok", "db": 1})),
    Request("GET / (template)", home_event,
            lambda r: r.status_code == 200 and "item 19" in (r.body or "")),
    Request("POST /echo (1 KB body)", lambda: events.api_gateway_v1("POST", "/echo", body=ECHO_BODY,
                                                                     headers={"Content-Type": "text/plain"}),
            lambda r: r.status_code == 200 and _json_is(r, {"method": "POST", "length": len(ECHO_BODY)})),
)


@dataclass
class LoadRun:
    """What the load scenario observed."""

    requests: int
    failures: list[str] = field(default_factory=list)  # the first few, described
    failure_count: int = 0
    baseline: ProcSample | None = None
    final: ProcSample | None = None
    durations_ms: list[float] = field(default_factory=list)
    wall_ms: float = 0.0
    init_ok: bool = False
    db_connections_during: int | None = None  # while serving: the one persistent connection
    connections_left: int | None = None  # after the environment stopped
    init_error: str | None = None

    @property
    def rss_growth_mb(self) -> float | None:
        if self.baseline is None or self.final is None:
            return None
        return self.final.rss_mb - self.baseline.rss_mb

    @property
    def fd_growth(self) -> int | None:
        if self.baseline is None or self.final is None:
            return None
        return self.final.fds - self.baseline.fds

    @property
    def met(self) -> bool:
        growth, fds = self.rss_growth_mb, self.fd_growth
        return (self.init_ok and self.failure_count == 0 and growth is not None and growth <= MAX_RSS_GROWTH_MB
                and fds is not None and fds <= 0 and self.connections_left == 0)

    def row(self) -> Row:
        if self.baseline is None or self.final is None:
            return Row(GROUP, f"{self.requests:,} requests, one environment", self.init_error or "did not run",
                       False, self.wall_ms, connections_left=self.connections_left)
        growth = self.rss_growth_mb or 0.0
        p50 = statistics.median(self.durations_ms) if self.durations_ms else 0.0
        p99 = statistics.quantiles(self.durations_ms, n=100)[98] if len(self.durations_ms) >= 100 else p50
        outcome = (f"{self.requests - self.failure_count:,}/{self.requests:,} served, "
                   f"RSS {growth:+.1f} MB, fds {self.baseline.fds}->{self.final.fds}")
        detail = (f"RSS after {self.baseline.requests}: {self.baseline.rss_mb:.1f} MB, after {self.final.requests}: "
                  f"{self.final.rss_mb:.1f} MB (goal <= +{MAX_RSS_GROWTH_MB:.0f} MB); open fds {self.baseline.fds} -> "
                  f"{self.final.fds}; Duration p50 {p50:.2f} ms, p99 {p99:.2f} ms; "
                  f"{self.db_connections_during} database connection(s) while serving")
        if self.failures:
            detail += "; failures: " + "; ".join(self.failures)
        return Row(GROUP, f"{self.requests:,} requests, one environment", outcome, self.met, self.wall_ms,
                   connections_left=self.connections_left, detail=detail)


def _describe(kind: Request, index: int, result: InvokeResult) -> str:
    what = result.error or {"status": result.status_code, "body": (result.body or "")[:120]}
    return f"#{index} {kind.name}: {what}"


def run_load(workdir: Path, requests: int, pg: PostgresServer) -> LoadRun:
    """Serve ``requests`` requests from one provisioned-concurrency environment."""
    if requests <= BASELINE_AFTER:
        raise ValueError(f"requests must be more than the {BASELINE_AFTER} the baseline is taken after")
    stage = djangoapp.stage_config(eager_init_warmup=["/healthz", "/"], eager_init_on_error="lazy")
    root = djangoapp.build_task_root(workdir / "load-task", stage)
    run = LoadRun(requests=requests)
    started = time.perf_counter()
    with djangoapp.emulator(root, {"DATABASE_URL": pg.url}) as emu:
        env = emu.start_environment("provisioned-concurrency")
        report = env.init_report() or {}
        run.init_ok = env.alive and bool(report.get("ok"))
        if not env.alive or env.pid is None:
            run.init_error = f"INIT failed: {env.init_error}"
            return run
        pid = env.pid
        for index in range(1, requests + 1):
            kind = MIX[index % len(MIX)]
            result = env.invoke(kind.event())
            run.durations_ms.append(result.duration_ms or 0.0)
            if not kind.check(result):
                run.failure_count += 1
                if len(run.failures) < 5:
                    run.failures.append(_describe(kind, index, result))
                if not env.alive:
                    run.init_error = f"environment died at request {index}: {env.dead_reason}"
                    break
            if index == BASELINE_AFTER:
                run.baseline = proc_sample(pid, index)
                run.db_connections_during = pg.connections()
        if env.alive:
            run.final = proc_sample(pid, requests)
        env.stop()
        run.connections_left, _ = pg.settle(0)
    run.wall_ms = (time.perf_counter() - started) * 1000.0
    return run


def scenarios(fast: bool, workdir: Path) -> list[Row]:
    """The load row: 2,000 requests in the fast set, 10,000 in the full one."""
    workdir.mkdir(parents=True, exist_ok=True)
    with PostgresServer() as pg:
        pg.start()
        run = run_load(workdir, FAST_REQUESTS if fast else FULL_REQUESTS, pg)
    return [run.row()]
