"""The runtime's typed contract: one reader of the INIT type, a state per build, the Lambda context protocol.

The generated settings keys are tested in test_contract.py; whole INITs in test_boot.py and test_on_error.py.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import get_args

import pytest

from zappa_eager.runtime import prime
from zappa_eager.runtime.boot import BootState
from zappa_eager.runtime.contract import (
    DEFAULT_INIT_TYPE,
    FAILED,
    INIT_TYPE_VARIABLE,
    INIT_TYPES,
    PHASES,
    PRE_INITIALIZED,
    REDIRECTED,
    WARMED,
    InitType,
    LambdaContext,
    Phase,
    WarmupOutcome,
    current_init_type,
)
from zappa_eager.runtime.report import InitReport
from zappa_eager.runtime.warmup import WarmupContext

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "zappa_eager" / "runtime"


def test_each_literal_type_and_its_tuple_of_values_agree() -> None:
    assert get_args(InitType) == INIT_TYPES and set(PRE_INITIALIZED) < set(INIT_TYPES)
    assert get_args(Phase) == PHASES == ("imports", "settings", "remote_env", "archive", "app", "warmup")
    assert get_args(WarmupOutcome) == (WARMED, REDIRECTED, FAILED) == ("warmed", "redirected", "failed")


# -- AWS_LAMBDA_INITIALIZATION_TYPE: one reader, one default ------------------------------------------------------

def test_only_the_contract_names_the_init_type_variable() -> None:
    """Every other runtime module asks ``current_init_type()``, so none can read it with a default of its own."""
    naming = {path.name for path in RUNTIME.glob("*.py")
              for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
              if isinstance(node, ast.Constant) and node.value == INIT_TYPE_VARIABLE}
    assert naming == {"contract.py"}


@pytest.mark.parametrize("value", [*INIT_TYPES, "a-type-lambda-adds-later"])
def test_a_set_variable_is_read_as_set_and_reported_as_set(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INIT_TYPE_VARIABLE, value)
    assert current_init_type() == value
    report = InitReport(phases_ms={}, total_ms=1.0, ok=True)
    assert report.as_dict()["init_type"] == value == json.loads(report.emf_line())["InitType"]


def test_unset_means_on_demand_for_the_decisions_and_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside Lambda the import runs while its caller waits: the runtime acts as on-demand and says so."""
    monkeypatch.delenv(INIT_TYPE_VARIABLE, raising=False)
    assert current_init_type() == DEFAULT_INIT_TYPE == "on-demand"
    assert prime.pre_initialized("init") is False
    report = InitReport(phases_ms={}, total_ms=1.0, ok=True)
    assert report.as_dict()["init_type"] == "on-demand" == json.loads(report.emf_line())["InitType"]


@pytest.mark.parametrize("value", INIT_TYPES)
def test_priming_reads_the_same_value(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INIT_TYPE_VARIABLE, value)
    assert prime.pre_initialized("init") is (value in PRE_INITIALIZED)
    assert prime.pre_initialized("lazy-rebuild") is False  # a caller waits for a rebuild, whatever the INIT type


# -- one state per build ------------------------------------------------------------------------------------------

def test_a_loader_leaves_its_phase_set_when_it_raises_and_app_when_it_returns() -> None:
    state = BootState()
    assert state.phase == "app" and state.timer.durations_ms == {}
    with state.loading("remote_env"):
        assert state.phase == "remote_env"
    assert state.phase == "app"
    with pytest.raises(OSError), state.loading("archive"):
        raise OSError("archive not found")
    assert state.phase == "archive"
    assert set(state.timer.durations_ms) == {"remote_env", "archive"}  # timed either way
    other = BootState()
    assert other.phase == "app" and other.timer.durations_ms == {} and other.timer is not state.timer


#: Two builds in one process through upstream's real ``LambdaHandler.__init__``: the first fails in
#: its remote-env loader (an S3 endpoint boto3 refuses, before any network), the second builds.
TWO_BUILDS = """
    import zappa.handler
    from zappa_eager.runtime.boot import BootState, EagerLambdaHandler, reset_upstream_singleton

    assert not {"state", "timer", "current_phase"} & set(vars(EagerLambdaHandler))  # nothing per build on the class
    first = BootState()
    try:
        EagerLambdaHandler("broken_settings", state=first)
    except ValueError as exc:
        assert "Invalid endpoint" in str(exc), exc
    else:
        raise AssertionError("the remote env loader did not raise")
    reset_upstream_singleton()
    assert first.phase == "remote_env" and first.timer.get("remote_env") > 0

    second = BootState()
    handler = EagerLambdaHandler("plain_settings", state=second)
    assert handler.state is second and second.phase == "app" and second.timer.durations_ms == {}
    assert first.phase == "remote_env" and list(first.timer.durations_ms) == ["remote_env"]
    # Upstream's lambda_handler calls cls() when global_handler is unset: the singleton keeps its build's state.
    again = zappa.handler.LambdaHandler()
    assert again is handler and again.state is second
"""

SETTINGS = """
LOG_LEVEL = None
PROJECT_NAME = "probe"
API_STAGE = "dev"
ENVIRONMENT_VARIABLES = {}
DJANGO_SETTINGS = None
"""


def test_each_build_has_its_own_state_and_the_handler_it_builds_keeps_it(tmp_path: Path) -> None:
    (tmp_path / "broken_settings.py").write_text(SETTINGS + 'REMOTE_ENV = "s3://bucket/env.json"\n')
    (tmp_path / "plain_settings.py").write_text(SETTINGS)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)]),
           "AWS_ENDPOINT_URL_S3": "not-a-url", "AWS_DEFAULT_REGION": "us-east-1"}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(TWO_BUILDS)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- the Lambda context -------------------------------------------------------------------------------------------

def test_lambdas_context_and_the_warmup_stand_in_both_satisfy_the_protocol() -> None:
    runtime_context = pytest.importorskip("awslambdaric.lambda_context")
    deadline_ms = int(time.time() * 1000) + 5_000
    real = runtime_context.LambdaContext("req-1", None, None, deadline_ms, "arn:aws:lambda:us-east-1:1:function:f")
    assert isinstance(real, LambdaContext)
    stand_in = WarmupContext(0)
    assert isinstance(stand_in, LambdaContext)
    assert stand_in.aws_request_id == "zappa-eager-warmup-0" and 0 < stand_in.get_remaining_time_in_millis() <= 10_000
    assert not isinstance(object(), LambdaContext)
