"""Lambda Managed Instances in the emulator: N runtime processes, one Runtime API, one shared /tmp (issue 21).

The real awslambdaric forks the workers (its multi-concurrent mode, switched on by
AWS_LAMBDA_MAX_CONCURRENCY as on LMI); each runs its own INIT; the emulator hands events to
whichever worker waits. The slim_handler tests run the reliability site against moto_server behind
the fault proxy, which counts the archive's GETs.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import use_dummy_aws
from tests.reliability import managed
from tests.reliability.djangoapp import home_event
from tests.reliability.faultproxy import Fault
from tests.reliability.lab import ARCHIVE_PATH, FAST_ARCHIVE, Lab, inspect_tmp, served
from zappa_eager.emulator import Emulator, EnvironmentBusy, EnvironmentDead, InvokeResult
from zappa_eager.emulator.managed import ManagedEnvironment, process_alive
from zappa_eager.runtime.archive import PARTIAL_PREFIX
from zappa_eager.runtime.envlock import lock_path


def wait_until(predicate: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    """Poll a condition the environment makes true (the deadline only stops a hang)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def concurrently(env: ManagedEnvironment, events: list[dict[str, Any]]) -> list[InvokeResult]:
    results: list[InvokeResult | None] = [None] * len(events)

    def call(index: int) -> None:
        results[index] = env.invoke(events[index])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(events))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [r for r in results if r is not None]


def lock_holder(path: str) -> int | None:
    """The process holding the flock on ``path`` (``/proc/locks``), if any."""
    try:
        inode = os.stat(path).st_ino
    except FileNotFoundError:
        return None
    with open("/proc/locks", encoding="ascii") as locks:
        for row in locks:
            fields = row.split()
            if "->" not in fields and fields[-3].endswith(f":{inode}"):
                return int(fields[4])
    return None


# -- the environment model (a tiny function) ---------------------------------------------------------------------

@pytest.mark.e2e
def test_requests_are_served_while_other_processes_still_init(task_root: Callable[..., Path]) -> None:
    root = task_root("lmi_gate.py")
    with Emulator(root, handler="lmi_gate.lambda_handler", timeout_s=20) as emu:
        env = emu.start_managed_environment(3)
        assert env.alive and env.init_duration_ms is not None
        assert env.ready_workers == 1  # the environment's INIT is over with the first process ready
        first = env.invoke({})
        assert first.ok and first.payload["role"] == "first" and first.process == first.payload["pid"]
        assert env.ready_workers == 1  # served while the two others are still in their INIT
        assert first.payload["init_type"] == "lambda-managed-instances"
        assert first.payload["max_concurrency"] == "3" and first.payload["log_format"] == "JSON"
        (env.tmp_dir / "release").write_text("go")  # the held INITs see it in the /tmp they share
        assert env.wait_ready() == 3
        workers = env.workers()
        assert len(workers) == 3 and all(w.init_ms is not None for w in workers)
        assert sorted(env.worker_pids()) == [w.pid for w in workers]
        # Three concurrent invokes that each hold their process: one per process, spread over the idle ones.
        results = concurrently(env, [{"sleep": 0.5, "write": f"from-{i}"} for i in range(3)])
        assert all(r.ok for r in results)
        assert sorted(r.process for r in results) == sorted(w.pid for w in workers)  # type: ignore[type-var]
        seen = env.invoke({}).payload["tmp"]
        assert {"from-0", "from-1", "from-2", "first", "release"} <= set(seen)  # one /tmp for all
        memory = env.memory()
        assert memory.processes == 4 and memory.rss_mb > memory.pss_mb > 0  # the parent and 3 workers
        assert len(env.reports) == 5 and all(line.startswith("REPORT RequestId: ") for line in env.reports)


@pytest.mark.e2e
def test_back_pressure_and_a_worker_dying_mid_request(task_root: Callable[..., Path]) -> None:
    root = task_root("lmi_gate.py")
    with Emulator(root, handler="lmi_gate.lambda_handler", timeout_s=30) as emu:
        env = emu.start_managed_environment(2)
        (env.tmp_dir / "release").write_text("go")
        assert env.wait_ready() == 2
        box: dict[str, InvokeResult] = {}

        def hold(index: int) -> None:
            try:
                box[str(index)] = env.invoke({"sleep": 30})
            except EnvironmentDead:  # the survivor's invoke, when the test stops the environment
                pass

        slow = [threading.Thread(target=hold, args=(i,)) for i in range(2)]
        for thread in slow:
            thread.start()
        wait_until(lambda: len(env.state.inflight) == 2, "both processes to hold an event")
        with pytest.raises(EnvironmentBusy):
            env.invoke({})  # Lambda's back-pressure: no process free, the call is refused
        with env.state.cond:
            victim = next(pid for pid in env.state.taken_by.values() if pid is not None)
        env.kill_worker(victim)
        wait_until(lambda: len(box) == 1, "the killed process's invoke to fail")
        (failed,) = box.values()
        assert failed.error_type == "Runtime.ExitError" and failed.process == victim
        assert env.alive and not process_alive(victim)  # the environment goes on with the other process
        env.stop()
        for thread in slow:
            thread.join(10)


# -- the done-criterion: a slim stage, 16 processes, one shared /tmp ------------------------------------------------

@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with pytest.MonkeyPatch.context() as patch:
        use_dummy_aws(patch)
        with Lab(tmp_path_factory.mktemp("lmi"), FAST_ARCHIVE, name="lmi", stage=managed.STAGE) as running:
            yield running


@pytest.mark.e2e
def test_sixteen_processes_init_at_once_with_one_download(lab: Lab) -> None:
    lab.faults.clear()
    run = managed.sixteen_at_once(lab)
    checks = managed.judge(run)
    assert checks.met, checks.problems
    assert run.gets == 1 and run.ready == managed.PROCESSES == len(run.workers)
    assert {r["process"] for r in run.reports} == set(run.workers)  # one init report per process, each its own
    assert all(r["init_type"] == "lambda-managed-instances" and r["warmup"][0]["outcome"] == "warmed"
               for r in run.reports)  # the warm-up ran in every process: its first request is a warm one
    assert run.reused == managed.PROCESSES - 1
    assert set(run.first_ms) == set(run.workers)  # every process answered
    assert run.tmp is not None and run.tmp.project_complete and run.tmp.leftovers == []
    assert run.memory is not None and run.memory.processes == managed.PROCESSES + 1


@pytest.mark.e2e
def test_a_process_killed_mid_unpack_leaves_nothing_the_others_trust(lab: Lab) -> None:
    lab.faults.clear()
    lab.faults.inject(Fault("throttle", path=ARCHIVE_PATH, rate_bps=256 * 1024))  # the first GET trickles
    before = len(lab.gets())
    with lab.emulator() as emu:
        started: dict[str, ManagedEnvironment] = {}
        starter = threading.Thread(target=lambda: started.update(env=emu.start_managed_environment(4)))
        starter.start()
        try:
            wait_until(lambda: bool(emu.managed) and emu.managed[0].pid is not None, "the environment to spawn")
            env = emu.managed[0]
            lock = lock_path(str(env.tmp_dir), "relsite")

            def partials() -> list[Path]:
                return [p for p in env.tmp_dir.iterdir() if p.name.startswith(PARTIAL_PREFIX)]

            def unpacking() -> bool:
                found = partials()
                return bool(found) and sum(len(n) for _, _, n in os.walk(found[0])) >= 20
            wait_until(unpacking, "the first process to be half-way through its unpack")
            holder = lock_holder(lock)
            assert holder is not None and holder in env.worker_pids()
            (half_done,) = partials()
            env.kill_worker(holder)  # mid-unpack: its partial folder stays behind, the kernel drops its lock
        finally:
            starter.join(120)
        assert env.alive
        assert env.wait_ready() == 3  # the three others: one fetched again, two reused
        assert not half_done.exists()  # the next lock holder removed what the dead one left
        gets = lab.gets()[before:]
        assert len(gets) == 2 and gets[0].body_bytes < (gets[0].content_length or 0)  # the trickle was abandoned
        reports = [r for r in env.init_reports() if r.get("event") == "init"]
        assert len(reports) == 3 and all(r["ok"] for r in reports) and holder not in {r["process"] for r in reports}
        pids = {w.pid for w in env.workers() if w.ready_at is not None}
        answered: set[int] = set()
        for _ in range(10):
            results = concurrently(env, [home_event() for _ in range(3)])
            assert all(served(r) for r in results), [r.error for r in results]
            answered |= {r.process for r in results if r.process is not None}
            if answered == pids:
                break
        assert answered == pids and holder not in answered
        tmp = inspect_tmp(env, lab.project)
        assert tmp.project_complete and tmp.leftovers == []  # one complete project, nothing partial, no lock file


# -- the benchmark's LMI mode ---------------------------------------------------------------------------------------

@pytest.mark.e2e
def test_bench_lmi_measures_every_process_and_the_whole_environment(task_root: Callable[..., Path]) -> None:
    from zappa_eager.bench.lmi import format_lmi, run_lmi
    from zappa_eager.emulator import events

    root = task_root("hello.py")
    with Emulator(root, handler="hello.lambda_handler") as emu:
        bench = run_lmi(emu, events.api_gateway_v1("GET", "/"), processes=3, rounds=2)
        assert emu.managed[0].stopped  # run_lmi stops what it started
    assert bench.init_error is None and not bench.failures
    assert bench.ready == 3 and len(bench.per_process) == 3
    assert all(p.init_ms is not None and p.init_ms > 0 for p in bench.per_process)
    assert bench.environment_init_ms is not None and bench.all_ready_ms is not None
    assert bench.all_ready_ms >= bench.environment_init_ms - 1  # the last process is ready after the first
    assert len(bench.warm_duration_ms) + len([p for p in bench.per_process if p.first_request_ms]) >= 6
    assert bench.memory_after_init["processes"] == 4 and float(bench.memory_after_init["pss_mb"]) > 0
    text = format_lmi(bench)
    assert "one environment of 3 processes (3 ready)" in text and "per-process INIT" in text
    assert "memory of the environment" in text
