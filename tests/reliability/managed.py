"""Lambda Managed Instances: 16 runtime processes of a slim_handler stage INIT at once in one environment.

On LMI the Python runtime runs several processes per execution environment, each with its own
INIT, all at once, sharing one /tmp. The row runs the reliability site (slim_handler, its archive
in the loopback S3 behind the fault proxy, a warm-up of ``/``) in the emulator's managed
environment - the real ``awslambdaric`` forking 16 workers against one Runtime API - and checks:

* exactly one GET of the archive (the first process fetches it under the environment's lock, the
  others wait and reuse the complete folder);
* every process finishes its INIT, its init report names its process and the INIT type
  ``lambda-managed-instances`` and shows the warm-up ran, and every process answers requests, its
  first one about as fast as the warm ones after it;
* /tmp holds the one complete project folder: no partial folder, no lock file.

Tooling module.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.djangoapp import home_event
from tests.reliability.lab import ARCHIVE_URL, FAST_ARCHIVE, FULL_ARCHIVE, Lab, TmpState, inspect_tmp, served
from tests.reliability.rows import Checks, Row
from zappa_eager.emulator import InvokeResult
from zappa_eager.emulator.managed import EnvironmentMemory, ManagedEnvironment
from zappa_eager.runtime.contract import INIT_MANAGED_INSTANCES

GROUP = "managed-instances"
PROCESSES = 16
#: The stage: slim_handler (the Lab's), a warm-up of the page the requests ask for.
STAGE: dict[str, Any] = {"eager_init_warmup": ["/"]}
#: Rounds of PROCESSES concurrent requests at most, until every process has answered one.
MAX_ROUNDS = 12
#: Rounds at least: the first requests, then warm ones to compare them with.
MIN_ROUNDS = 3
#: A process's first request counts as warm when the median of the first ones stays within this
#: factor (plus a few ms of scheduling noise on a busy 2-core machine) of the median of the later ones.
WARM_FACTOR = 2.0
WARM_SLACK_MS = 15.0


@dataclass
class LmiRun:
    """What one managed environment of PROCESSES workers did, from its start to its last request."""

    gets: int
    ready: int
    init_ms: float  # the environment's INIT: the runtime's exec -> the first worker asking for an event
    all_ready_ms: float  # the exec -> the last worker ready
    workers: dict[int, float | None]  # pid -> its own INIT (ms)
    reports: list[dict[str, Any]]
    reused: int  # workers whose log says they reused the complete unpack
    first_ms: dict[int, float] = field(default_factory=dict)  # pid -> Duration of its first request
    later_ms: list[float] = field(default_factory=list)  # Durations of the requests after each one's first
    failed: list[str] = field(default_factory=list)
    memory: EnvironmentMemory | None = None
    tmp: TmpState | None = None

    def first_median(self) -> float:
        return statistics.median(self.first_ms.values()) if self.first_ms else 0.0

    def later_median(self) -> float:
        return statistics.median(self.later_ms) if self.later_ms else 0.0


def _round(env: ManagedEnvironment, count: int) -> list[InvokeResult]:
    """``count`` requests at once (one thread each), as Lambda routes concurrent calls to one environment."""
    results: list[InvokeResult | None] = [None] * count
    barrier = threading.Barrier(count)

    def call(index: int) -> None:
        barrier.wait()
        results[index] = env.invoke(home_event())

    threads = [threading.Thread(target=call, args=(i,), name=f"lmi-call-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [result for result in results if result is not None]


def serve_every_process(env: ManagedEnvironment, run: LmiRun, pids: set[int]) -> None:
    """Rounds of concurrent requests until each process in ``pids`` has answered one (and warm ones followed)."""
    for done in range(1, MAX_ROUNDS + 1):
        for result in _round(env, PROCESSES):
            if not served(result) or result.process is None:
                run.failed.append(f"{result.process}: {result.error_type or result.status_code}")
                continue
            if result.process in run.first_ms:
                run.later_ms.append(result.duration_ms)
            else:
                run.first_ms[result.process] = result.duration_ms
        if pids <= set(run.first_ms) and done >= MIN_ROUNDS:
            return


def sixteen_at_once(lab: Lab) -> LmiRun:
    """Start the managed environment, wait for every worker's INIT, then serve from every one of them."""
    before = len(lab.gets())
    with lab.emulator() as emu:
        env = emu.start_managed_environment(PROCESSES)
        ready = env.wait_ready() if env.alive else 0
        workers = env.workers()
        started = env.process.exec_started() if env.process is not None else 0.0
        last_ready = max((w.ready_at for w in workers if w.ready_at is not None), default=started)
        reports = [r for r in env.init_reports() if r.get("event") == "init"]
        reused = sum(1 for w in workers if any("reusing the complete unpack" in line
                                               for line in env.worker_logs(w.pid)))
        run = LmiRun(gets=len(lab.gets()) - before, ready=ready, init_ms=env.init_duration_ms or 0.0,
                     all_ready_ms=(last_ready - started) * 1000.0, workers={w.pid: w.init_ms for w in workers},
                     reports=reports, reused=reused)
        if env.alive:
            serve_every_process(env, run, {w.pid for w in workers if w.ready_at is not None})
        run.memory = env.memory()
        run.tmp = inspect_tmp(env, lab.project)
    return run


def judge(run: LmiRun) -> Checks:
    checks = Checks()
    checks.expect(run.gets == 1, f"{run.gets} GETs of the archive, not 1")
    checks.expect(run.ready == PROCESSES, f"{run.ready} of {PROCESSES} processes finished their INIT")
    report_pids = {r.get("process") for r in run.reports}
    checks.expect(len(run.reports) == PROCESSES and report_pids == set(run.workers),
                  f"{len(run.reports)} init reports for {len(report_pids)} processes, not one per process")
    checks.expect(all(r.get("ok") and r.get("init_type") == INIT_MANAGED_INSTANCES for r in run.reports),
                  "an init report failed or does not name lambda-managed-instances")
    checks.expect(all(r.get("warmup") and all(w.get("outcome") == "warmed" for w in r["warmup"])
                      for r in run.reports), "a process's INIT did not warm /")
    checks.expect(run.reused == PROCESSES - 1, f"{run.reused} processes reused the unpack, not {PROCESSES - 1}")
    checks.expect(not run.failed, f"requests failed: {run.failed[:3]}")
    checks.expect(set(run.first_ms) == set(run.workers),
                  f"{len(run.first_ms)} of {len(run.workers)} processes answered a request")
    checks.expect(run.first_median() <= WARM_FACTOR * run.later_median() + WARM_SLACK_MS,
                  f"first requests {run.first_median():.1f} ms vs warm ones {run.later_median():.1f} ms (median)")
    tmp = run.tmp
    checks.expect(tmp is not None and tmp.project_complete and tmp.clean,
                  f"/tmp: {'' if tmp is None else tmp.project_problem or tmp.leftovers}")
    return checks


def row(run: LmiRun, archive_mb: float) -> Row:
    checks = judge(run)
    memory = run.memory.as_dict() if run.memory is not None else {}
    inits = sorted(ms for ms in run.workers.values() if ms is not None)
    spread = f"{inits[0]:.0f}-{inits[-1]:.0f} ms" if inits else "-"
    outcome = (f"{run.gets} GET, {run.ready}/{PROCESSES} processes ready and served; /tmp holds one project"
               if checks.met else "; ".join(checks.problems))
    detail = (f"{ARCHIVE_URL} ({archive_mb:.1f} MB): environment INIT {run.init_ms:.0f} ms, all {run.ready} "
              f"ready after {run.all_ready_ms:.0f} ms, per-process INIT {spread}; {run.reused} reused the unpack; "
              f"first request median {run.first_median():.1f} ms vs warm {run.later_median():.1f} ms; "
              f"memory {memory}")
    return Row(group=GROUP, scenario=f"{PROCESSES} processes INIT at once on a slim stage",
               outcome=outcome, met=checks.met, time_ms=run.all_ready_ms,
               tmp_left=[] if run.tmp is None else run.tmp.leftovers, detail=checks.detail(detail))


def scenarios(fast: bool, workdir: Path) -> list[Row]:
    started = time.monotonic()
    with Lab(workdir, FAST_ARCHIVE if fast else FULL_ARCHIVE, name="lmi", stage=STAGE) as lab:
        run = sixteen_at_once(lab)
        rows = [row(run, lab.project.mb)]
    rows[0].detail += f" | scenario {time.monotonic() - started:.1f} s"
    return rows
