"""The pre-initialized scenario on the real emulator: idle gap, first, warm, idle gap, idle-warm."""

from __future__ import annotations

import re
from pathlib import Path

from zappa_eager.bench.function import FunctionSpec
from zappa_eager.bench.records import EnvSample
from zappa_eager.bench.runner import Clock, measure_pre_initialized
from zappa_eager.emulator import Emulator

#: Prints, at each invoke, the seconds since the previous one began (or since INIT, for the first).
HANDLER = '''
import time

_since = time.monotonic()


def lambda_handler(event, context):
    global _since
    now = time.monotonic()
    print(f"gap {event['path']} {now - _since:.4f}", flush=True)
    _since = now
    return {"statusCode": 200, "headers": {}, "body": "ok"}
'''


def test_first_and_idle_warm_requests_follow_the_same_idle_gap(tmp_path: Path) -> None:
    root = tmp_path / "task"
    root.mkdir()
    (root / "gaps.py").write_text(HANDLER)
    function = FunctionSpec(name="gaps", stage="dev")
    sample = EnvSample(mode="eager", variant="slim_off", round=1)
    with Emulator(root, handler="gaps.lambda_handler", function_name="gaps", timeout_s=30) as emulator:
        measure_pre_initialized(emulator, function, sample, ["/", "/b"], warm=3, clock=Clock(), idle_s=0.3)
        logs = emulator.environments[0].logs()
    assert sample.errors == []
    assert [(r.kind, r.path) for r in sample.requests] == [
        ("first", "/"), ("warm", "/b"), ("warm", "/"), ("warm", "/b"), ("idle-warm", "/")]
    assert sample.first_ms is not None and len(sample.warm_ms) == 3
    assert sample.idle_warm_ms == sample.requests[-1].latency_ms
    gaps = [(path, float(seconds)) for path, seconds in re.findall(r"gap (\S+) ([\d.]+)", logs)]
    assert len(gaps) == 5
    assert gaps[0][1] >= 0.3 and gaps[-1][1] >= 0.3  # the function idled before the first and the idle-warm request


def test_no_idle_warm_request_after_the_environment_died(tmp_path: Path) -> None:
    root = tmp_path / "task"
    root.mkdir()
    (root / "gaps.py").write_text(HANDLER.replace("    global _since\n", "    global _since\n"
                                                  "    if event['path'] == '/b':\n        import os; os._exit(3)\n"))
    sample = EnvSample(mode="eager", variant="slim_off", round=1)
    with Emulator(root, handler="gaps.lambda_handler", function_name="gaps", timeout_s=30) as emulator:
        measure_pre_initialized(emulator, FunctionSpec(name="gaps", stage="dev"), sample, ["/", "/b"], warm=2,
                                clock=Clock(), idle_s=0.0)
    assert [r.kind for r in sample.requests] == ["first", "warm"]  # the second warm request found it dead
    assert sample.idle_warm_ms is None and len(sample.errors) == 2
    assert sample.errors[0].startswith("warm /b: Runtime.ExitError")
