"""The pre-initialized and proactive scenarios on the real emulator: idle gap, first, warm, idle gap, idle-warm."""

from __future__ import annotations

import re
from pathlib import Path

from zappa_eager.bench.function import FunctionSpec
from zappa_eager.bench.records import EnvSample
from zappa_eager.bench.runner import Clock, measure_pre_initialized, measure_proactive
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


def test_proactive_environment_initializes_on_demand_before_its_first_request(tmp_path: Path) -> None:
    root = tmp_path / "task"
    root.mkdir()
    (root / "gaps.py").write_text("import os\nprint('init type', os.environ['AWS_LAMBDA_INITIALIZATION_TYPE'], "
                                  "flush=True)\n" + HANDLER)
    sample = EnvSample(mode="eager", variant="slim_off", round=1)
    with Emulator(root, handler="gaps.lambda_handler", function_name="gaps", timeout_s=30) as emulator:
        measure_proactive(emulator, FunctionSpec(name="gaps", stage="dev"), sample, ["/", "/b"], warm=2,
                          clock=Clock(), idle_s=0.3)
        logs = emulator.environments[0].logs()
    assert sample.errors == [] and "init type on-demand" in logs
    assert [(r.kind, r.path) for r in sample.requests] == [
        ("proactive-first", "/"), ("proactive-warm", "/b"), ("proactive-warm", "/"), ("proactive-idle-warm", "/")]
    assert sample.proactive_init_ms is not None and sample.proactive_init_ms > 0
    assert sample.proactive_first_ms == sample.requests[0].latency_ms
    assert sample.proactive_idle_warm_ms == sample.requests[-1].latency_ms
    assert sample.proactive_warm_median_ms is not None and sample.first_ms is None  # its own fields only
    gaps = [float(seconds) for _, seconds in re.findall(r"gap (\S+) ([\d.]+)", logs)]
    assert gaps[0] >= 0.3 and gaps[-1] >= 0.3  # INIT ran ahead: the first request came after the idle gap
