"""INIT past the on-demand limit: the emulator cuts it and runs it again inside the first invoke, as
Lambda does, and zappa-eager's handler survives it (no half-unpacked project, no needless unpack).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import use_dummy_aws
from tests.emulator.conftest import nothing_left_running  # noqa: F401 - autouse: no process or thread leaks
from tests.reliability import initlimit
from tests.reliability.lab import Lab
from zappa_eager.emulator import Emulator, parse_report_line

#: A handler whose first INIT blocks past any limit; every INIT leaves its pid in /tmp/attempts,
#: so the test sees which INIT ran where. SECOND_INIT=raise makes the second INIT fail instead.
SLOW_ONCE = '''\
import os
import time

with open("/tmp/attempts", "a") as out:
    out.write(f"{os.getpid()}\\n")
with open("/tmp/attempts") as attempts:
    ATTEMPT = len(attempts.read().split())
if ATTEMPT == 1:
    time.sleep(3600)
elif os.environ.get("SECOND_INIT") == "raise":
    raise RuntimeError("second INIT failed")


def lambda_handler(event, context):
    return {"attempt": ATTEMPT, "pid": os.getpid()}
'''


@pytest.fixture
def slow_root(tmp_path: Path) -> Path:
    root = tmp_path / "task"
    root.mkdir()
    (root / "slow_once.py").write_text(SLOW_ONCE)
    return root


def test_an_on_demand_init_past_the_limit_runs_again_inside_the_first_invoke(slow_root: Path) -> None:
    with Emulator(slow_root, handler="slow_once.lambda_handler", init_timeout_s=1, timeout_s=20) as emu:
        env = emu.start_environment("on-demand")
        first = env.invoke({})
        assert first.ok and first.payload["attempt"] == 2, (first.error, env.logs())
        first_pid, second_pid = (env.tmp_dir / "attempts").read_text().split()  # one /tmp for both INITs
        assert first.payload["pid"] == int(second_pid) != int(first_pid)
        assert env.init_timed_out and env.init_duration_ms == 1000.0
        assert first.cold and first.init_duration_ms is None and first.reinit_duration_ms is not None
        report = parse_report_line(first.report_line)
        assert "Init Duration" not in report  # Lambda's REPORT after a cut INIT: the INIT is in the Duration
        assert float(report["Duration"]) >= first.reinit_duration_ms
        lines = env.log_lines()
        cut = next(i for i, line in enumerate(lines) if "Phase: init\tStatus: timeout" in line)
        start = next(i for i, line in enumerate(lines) if line.startswith(f"START RequestId: {first.request_id}"))
        again = next(i for i, line in enumerate(lines) if "Phase: invoke\tStatus: success" in line)
        assert lines[cut].startswith("INIT_REPORT Init Duration: 1000.00 ms") and cut < start < again
        assert sum(line.startswith("INIT_START") for line in lines) == 2
        warm = env.invoke({})  # the environment is warm now: no INIT of any kind
        assert warm.ok and not warm.cold and warm.payload["pid"] == int(second_pid)
        assert env.alive and env.invocations == 2


def test_a_second_init_that_fails_fails_the_invoke_with_its_error(slow_root: Path) -> None:
    with Emulator(slow_root, handler="slow_once.lambda_handler", init_timeout_s=1,
                  env={"SECOND_INIT": "raise"}) as emu:
        env = emu.start_environment("on-demand")
        result = env.invoke({})
        assert result.error_phase == "init" and result.error_type == "RuntimeError"
        assert result.error_message == "second INIT failed" and result.reinit_duration_ms is not None
        assert "Phase: invoke\tStatus: error\tError Type: RuntimeError" in env.logs()
        assert "Status: error" in result.report_line
        assert not env.alive and not env.usable
        replacement = emu.invoke({})  # Lambda routes the next request to a fresh environment
        assert replacement.environment != env.name and replacement.error_phase == "init"


def test_the_function_timeout_bounds_the_second_init(slow_root: Path) -> None:
    (slow_root / "slow_once.py").write_text(SLOW_ONCE.replace("if ATTEMPT == 1:", "if ATTEMPT >= 1:"))
    with Emulator(slow_root, handler="slow_once.lambda_handler", init_timeout_s=1, timeout_s=1.5) as emu:
        env = emu.start_environment("on-demand")
        result = env.invoke({})
        assert result.timed_out and result.error_type == "Sandbox.Timedout"
        assert "Task timed out after 1.50 seconds" in str(result.error_message)
        assert "Phase: invoke\tStatus: timeout" in env.logs() and not env.alive


# -- the scenarios of the reliability table (fast set: a 3 s limit) -------------------------------


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with pytest.MonkeyPatch.context() as patch:
        use_dummy_aws(patch)
        with initlimit.open_lab(tmp_path_factory.mktemp("reliability-limits"), fast=True) as running:
            yield running


@pytest.mark.e2e
@pytest.mark.parametrize("case", initlimit.CASES, ids=lambda case: case.name)
def test_init_limit_scenario_meets_its_goal(lab: Lab, case: initlimit.LimitCase) -> None:
    row = initlimit.run_case(lab, case, fast=True)
    assert row.met, row.detail
    assert row.tmp_left == [] and "served" in row.outcome
    assert "Init Duration" not in row.detail  # the REPORT line of the first request
