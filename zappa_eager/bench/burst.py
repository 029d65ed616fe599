"""The burst: K requests arrive at once at a function with P pre-initialized environments.

This is the CloudWatch picture of a traffic spike on provisioned concurrency: P requests
land on pre-initialized environments (fast with eager init, slow on upstream, which still
builds the app in that first request), the others find every environment busy and wait
for an on-demand cold start. Routing is Lambda's: an idle environment if there is one,
else a new one; an environment serves one request at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from zappa_eager.bench.modes import Mode
from zappa_eager.bench.records import BurstRequest
from zappa_eager.bench.runner import failure
from zappa_eager.emulator import Emulator, Environment


@dataclass
class Router:
    """Hands each request an idle environment, or a new on-demand one when all are busy."""

    emulator: Emulator
    idle: list[Environment] = field(default_factory=list)
    served: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self) -> tuple[Environment, bool]:
        """(environment, True if it is a pre-initialized one serving its first request)."""
        with self.lock:
            while self.idle:
                environment = self.idle.pop(0)
                if environment.alive:
                    first = environment.name not in self.served
                    self.served.add(environment.name)
                    return environment, first
            environment = self.emulator.start_environment("on-demand")  # spawned by its first invoke
            self.served.add(environment.name)
            return environment, False

    def release(self, environment: Environment) -> None:
        with self.lock:
            self.idle.append(environment)


def run_burst(emulator: Emulator, mode: Mode, event: Callable[[str], dict[str, Any]], *, requests: int,
              prewarmed: int, paths: Sequence[str]) -> list[BurstRequest]:
    """Fire ``requests`` concurrent requests at ``prewarmed`` pre-initialized environments."""
    router = Router(emulator, [emulator.start_environment("provisioned-concurrency") for _ in range(prewarmed)])
    gate = threading.Barrier(requests)
    # t_ms holds each request's perf_counter start (ms) until the burst is over, then its offset from the first.
    records: list[BurstRequest | None] = [None] * requests

    def one(index: int) -> None:
        path = paths[index % len(paths)]
        gate.wait()
        started = time.perf_counter()
        environment, first = router.acquire()
        try:
            result = environment.invoke(event(path))
        except Exception as exc:  # a dead environment is a failed request, not a crashed benchmark
            latency_ms = (time.perf_counter() - started) * 1000.0
            records[index] = BurstRequest(mode=mode, t_ms=started * 1000.0, latency_ms=latency_ms,
                                          env=environment.name, cold=False, prewarmed_first=first, status=None,
                                          error=f"{type(exc).__name__}: {exc}"[:300])
            return
        router.release(environment)
        latency_ms = (time.perf_counter() - started) * 1000.0
        records[index] = BurstRequest(mode=mode, t_ms=started * 1000.0, latency_ms=latency_ms, env=environment.name,
                                      cold=result.init_duration_ms is not None, prewarmed_first=first,
                                      status=result.status_code, error=failure(result), timed_out=result.timed_out,
                                      init_limit=result.reinit_duration_ms is not None)

    threads = [threading.Thread(target=one, args=(i,), name=f"zappa-bench-burst-{i}") for i in range(requests)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for environment in list(emulator.environments):
            environment.stop()
    done = [record for record in records if record is not None]
    origin = min((record.t_ms for record in done), default=0.0)
    for record in done:
        record.t_ms -= origin
    return done
