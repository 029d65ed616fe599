"""The emulator's own overhead must stay far below what it measures.

Guards the loopback regression: a response written as two TCP segments meets Nagle's
algorithm and delayed ACKs and costs ~40 ms per invoke.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

from zappa_eager.emulator import Emulator, events


def test_warm_invoke_of_a_trivial_handler_is_fast(task_root: Callable[..., Path]) -> None:
    with Emulator(task_root("hello.py"), handler="hello.trivial") as emu:
        env = emu.start_environment("provisioned-concurrency")
        event = events.api_gateway_v1("GET", "/healthz")
        env.invoke(event)
        results = [env.invoke(event) for _ in range(20)]
    assert all(r.ok and r.body == "ok" for r in results)
    durations = [r.duration_ms for r in results]
    latencies = [r.latency_ms for r in results]
    assert statistics.median(durations) < 20, durations
    assert statistics.median(latencies) < 20, latencies
