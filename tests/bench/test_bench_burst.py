"""Burst routing on a stand-in emulator: idle environment first, else a new on-demand one."""

from __future__ import annotations

import threading
from typing import Any

from zappa_eager.bench.burst import Router, run_burst
from zappa_eager.emulator import InvokeResult


class FakeEnvironment:
    def __init__(self, name: str, init_type: str, gate: threading.Barrier | None) -> None:
        self.name, self.init_type, self.gate = name, init_type, gate
        self.alive, self.stopped, self.invocations = True, False, 0

    def invoke(self, event: Any) -> InvokeResult:
        if self.gate is not None:
            self.gate.wait(10)  # every request holds its environment until all have one
        cold = self.init_type == "on-demand" and self.invocations == 0
        self.invocations += 1
        status = 500 if event["path"] == "/boom" else 200
        return InvokeResult(request_id="r", environment=self.name, payload={"statusCode": status, "body": ""},
                            init_duration_ms=50.0 if cold else None)

    def stop(self) -> None:
        self.stopped, self.alive = True, False


class FakeEmulator:
    def __init__(self, concurrent: int | None = None) -> None:
        self.environments: list[FakeEnvironment] = []
        self.gate = threading.Barrier(concurrent) if concurrent else None

    def start_environment(self, init_type: str = "on-demand") -> FakeEnvironment:
        environment = FakeEnvironment(f"env-{len(self.environments) + 1}", init_type, self.gate)
        self.environments.append(environment)
        return environment


def test_burst_uses_the_pre_initialized_environments_then_cold_starts() -> None:
    emulator = FakeEmulator(concurrent=6)
    requests = run_burst(emulator, "eager", lambda path: {"path": path}, requests=6, prewarmed=2,  # type: ignore[arg-type]
                         paths=["/", "/boom"])
    assert len(requests) == 6 and len(emulator.environments) == 6
    assert sum(r.prewarmed_first for r in requests) == 2 and sum(r.cold for r in requests) == 4
    assert {r.env for r in requests if r.prewarmed_first} == {"env-1", "env-2"}
    assert all(not (r.cold and r.prewarmed_first) for r in requests)
    assert sum(1 for r in requests if r.error == "HTTP 500") == 3
    assert min(r.t_ms for r in requests) == 0.0 and all(r.latency_ms >= 0 for r in requests)
    assert all(e.stopped for e in emulator.environments)


def test_router_reuses_an_idle_environment_before_starting_one() -> None:
    emulator = FakeEmulator()
    ready = emulator.start_environment("provisioned-concurrency")
    router = Router(emulator, [ready])  # type: ignore[arg-type]
    assert router.acquire() == (ready, True)
    second, first = router.acquire()  # all busy: a new on-demand environment
    assert second.name == "env-2" and not first
    router.release(ready)  # type: ignore[arg-type]
    assert router.acquire() == (ready, False)  # warm again, no longer its first request
    ready.alive = False
    router.release(ready)  # type: ignore[arg-type]
    assert router.acquire()[0].name == "env-3"  # a dead environment is never handed out
