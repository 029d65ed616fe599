"""Connections: a burst of environments leaves no PostgreSQL connection behind.

Every environment runs the reliability site with ``slim_handler`` (its project archive comes
from the same local S3) against the same PostgreSQL, with persistent connections
(``CONN_MAX_AGE``) as production apps use them, and a warm-up that queries the database.

* SnapStart: the warm-up opens a connection during INIT; the before-snapshot hook must close
  it, or every environment restored from the snapshot would share one socket. Counted in
  ``pg_stat_activity`` once all environments reached the snapshot point: 0.
* After the restore each environment serves a request (one connection each), then they stop
  one by one: the count must fall by one per stopped environment, to 0.
* On-demand: a burst of concurrent requests routed like Lambda (one new environment each),
  then the function's environments stop: 0.

Counts are client backends other than the counting one. Tooling module.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability import djangoapp
from tests.reliability.djangoapp import healthz_event
from tests.reliability.postgres import PostgresServer
from tests.reliability.rows import Row
from zappa_eager.emulator import Emulator, Environment, InvokeResult

GROUP = "connections"
FAST_BURST = 3
FULL_BURST = 8


@dataclass
class BurstRun:
    """What one burst observed: connection counts at each point, and why a step failed."""

    environments: int
    init_ms: list[float] = field(default_factory=list)
    warmup_statuses: list[int | None] = field(default_factory=list)  # first warm-up of each INIT
    closed_by_hook: list[int] = field(default_factory=list)  # "closed N database" from each before_snapshot
    after_snapshot: int | None = None  # open once every environment reached the snapshot point
    serving: int | None = None  # open while every environment holds its connection
    statuses: list[int | None] = field(default_factory=list)  # the request each environment served
    after_each_stop: list[int] = field(default_factory=list)
    settle_ms: list[float] = field(default_factory=list)  # how long the server took to drop a stopped one
    errors: list[str] = field(default_factory=list)
    wall_ms: float = 0.0

    @property
    def left(self) -> int | None:
        return self.after_each_stop[-1] if self.after_each_stop else None

    @property
    def stops_met(self) -> bool:
        expected = [self.environments - i for i in range(1, self.environments + 1)]
        return (not self.errors and self.serving == self.environments and self.after_each_stop == expected
                and all(s == 200 for s in self.statuses))


def _warmup_status(env: Environment) -> int | None:
    report = env.init_report() or {}
    warm = report.get("warmup") or []
    return warm[0].get("status") if warm else None


def _closed_by_hook(env: Environment) -> int:
    for report in env.init_reports():
        if report.get("event") == "before_snapshot":
            for note in report.get("notes") or []:
                if note.startswith("closed "):
                    return int(note.split()[1])
    return -1


def _healthz(result: InvokeResult) -> int | None:
    return result.status_code if result.error is None else None


def _emulator(root: Path, pg: PostgresServer, stage: dict[str, Any]) -> Emulator:
    emu = djangoapp.emulator(root, {"DATABASE_URL": pg.url},
                             init_timeout_s=120)  # concurrent INITs share two cores here; Lambda gives each its own
    emu.s3_put(djangoapp.BUCKET, djangoapp.archive_key(stage), djangoapp.build_archive().data)
    return emu


def _serve_then_stop(pool: ThreadPoolExecutor, envs: list[Environment], pg: PostgresServer,
                     run: BurstRun) -> list[InvokeResult]:
    """One request in each environment at once, the connections they hold, then stop them one by one,
    counting after each stop (once the server has noticed) the connections left."""
    results = list(pool.map(lambda e: e.invoke(healthz_event()), envs))
    run.statuses = [_healthz(r) for r in results]
    run.errors += [f"{r.environment}: {r.error}" for r in results if r.error]
    run.serving = pg.connections()
    for index, env in enumerate(envs, start=1):
        env.stop()
        left, ms = pg.settle(len(envs) - index)
        run.after_each_stop.append(left)
        run.settle_ms.append(ms)
    return results


def snapstart_burst(workdir: Path, pg: PostgresServer, count: int) -> BurstRun:
    """``count`` SnapStart environments at once: hook closes, restore reconnects, stops release."""
    stage = djangoapp.stage_config(slim_handler=True, snap_start="PublishedVersions", runtime="python3.12",
                                   eager_init_warmup=["/healthz"], eager_init_on_error="lazy")
    root = djangoapp.build_task_root(workdir / "snap-task", stage)
    run = BurstRun(environments=count)
    started = time.perf_counter()
    with _emulator(root, pg, stage) as emu, ThreadPoolExecutor(count) as pool:
        envs = list(pool.map(lambda _: emu.start_environment("snap-start"), range(count)))
        for env in envs:
            run.init_ms.append(env.init_duration_ms or 0.0)
            run.warmup_statuses.append(_warmup_status(env))
            run.closed_by_hook.append(_closed_by_hook(env))
            if not env.alive:
                run.errors.append(f"{env.name}: {env.dead_reason}")
        run.after_snapshot, _ = pg.settle(0)
        _serve_then_stop(pool, envs, pg, run)
    run.wall_ms = (time.perf_counter() - started) * 1000.0
    return run


def on_demand_burst(workdir: Path, pg: PostgresServer, count: int) -> BurstRun:
    """``count`` concurrent requests, each in a new on-demand environment, then every environment stops."""
    stage = djangoapp.stage_config(slim_handler=True, eager_init_warmup=["/healthz"], eager_init_on_error="lazy")
    root = djangoapp.build_task_root(workdir / "burst-task", stage)
    run = BurstRun(environments=count)
    started = time.perf_counter()
    with _emulator(root, pg, stage) as emu, ThreadPoolExecutor(count) as pool:
        # Lambda routes a request to an idle environment; reserving none, every request starts one.
        envs = [emu.start_environment("on-demand") for _ in range(count)]
        run.init_ms = [r.init_duration_ms or 0.0 for r in _serve_then_stop(pool, envs, pg, run)]
    run.wall_ms = (time.perf_counter() - started) * 1000.0
    return run


def _stops(run: BurstRun) -> str:
    return " -> ".join(str(n) for n in [run.serving, *run.after_each_stop])


def _errors(run: BurstRun) -> str:
    return "; errors: " + "; ".join(run.errors) if run.errors else ""


def snapstart_rows(run: BurstRun) -> list[Row]:
    hook_met = (not run.errors and run.after_snapshot == 0 and all(s == 200 for s in run.warmup_statuses)
                and all(n == 1 for n in run.closed_by_hook))
    init = max(run.init_ms) if run.init_ms else None
    hook = Row(GROUP, f"{run.environments} SnapStart environments at once: before-snapshot hook",
               f"{run.after_snapshot} open after the hook (each warm-up had opened one)", hook_met, init,
               connections_left=run.after_snapshot,
               detail=f"warm-up statuses {run.warmup_statuses}; hook closed {run.closed_by_hook} connection(s); "
                      f"slowest INIT {init or 0:.0f} ms" + _errors(run))
    stops = Row(GROUP, f"{run.environments} SnapStart environments restored, then stopped one by one",
                f"open: {_stops(run)}", run.stops_met, run.wall_ms, connections_left=run.left,
                detail=f"requests {run.statuses}; server dropped a stopped environment's connection within "
                       f"{max(run.settle_ms or [0]):.0f} ms" + _errors(run))
    return [hook, stops]


def on_demand_row(run: BurstRun) -> Row:
    return Row(GROUP, f"burst of {run.environments} on-demand environments, then stopped",
               f"open: {_stops(run)}", run.stops_met, run.wall_ms, connections_left=run.left,
               detail=f"requests {run.statuses}; INIT ms {[round(ms) for ms in run.init_ms]}; server dropped a stopped "
                      f"environment's connection within {max(run.settle_ms or [0]):.0f} ms"
                      + _errors(run))


def scenarios(fast: bool, workdir: Path) -> list[Row]:
    count = FAST_BURST if fast else FULL_BURST
    workdir.mkdir(parents=True, exist_ok=True)
    with PostgresServer() as pg:
        pg.start()
        rows = snapstart_rows(snapstart_burst(workdir, pg, count))
        rows.append(on_demand_row(on_demand_burst(workdir, pg, count)))
    return rows
