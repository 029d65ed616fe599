"""Every stage key is checked: ours misspelt is an error naming the right key, upstream's misspelt a warning.

Through the real command (``EagerZappaCLI.handle`` in-process under the AWS tripwire of the
settings table, and the installed ``zappa`` console script in a subprocess), plus the contract
that the upstream key list is the one the installed zappa reads.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.reliability import badsettings
from zappa_eager.settings import EAGER_KEYS, check_stage
from zappa_eager.settings_keys import (
    UPSTREAM_STAGE_KEYS,
    check_stage_keys,
    closest,
    scan_upstream_keys,
    upstream_stage_keys,
)

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILES = ["zappa_settings.example.json", *sorted(
    str(path.relative_to(ROOT)) for path in ROOT.glob("examples/*/zappa_settings.json"))]
WARNING = "zappa-eager: warning:"


# -- upstream's keys -----------------------------------------------------------------------------

def test_the_upstream_key_list_is_what_the_installed_zappa_reads() -> None:
    """A zappa release that reads a new stage key fails here: add it to UPSTREAM_STAGE_KEYS."""
    scanned = scan_upstream_keys()
    assert scanned == UPSTREAM_STAGE_KEYS, (sorted(scanned - UPSTREAM_STAGE_KEYS),
                                            sorted(UPSTREAM_STAGE_KEYS - scanned))
    assert upstream_stage_keys() >= scanned
    assert not set(EAGER_KEYS) & UPSTREAM_STAGE_KEYS


def test_the_scan_finds_each_way_upstream_reads_a_key(tmp_path: Path) -> None:
    (tmp_path / "cli.py").write_text(
        'CUSTOM_SETTINGS = ["attach_policy"]\n'
        "class C:\n"
        "    def f(self, stage_config):\n"
        '        a = self.stage_config.get("slim_handler", False)\n'
        '        b = self.stage_config["project_name"]\n'
        '        c = "touch_path" in self.stage_config\n'
        '        if "PRIVATE" in self.stage_config.get("endpoint_configuration", []): pass\n'
        '        d = stage_config.get("runtime")\n'
        '        e = self.other.get("not_a_stage_key")\n'
        '        return self.zappa_settings[stage].get("extends")\n'
    )
    assert scan_upstream_keys(tmp_path) == {"attach_policy", "slim_handler", "project_name", "touch_path", "runtime",
                                            "endpoint_configuration", "extends"}  # not "PRIVATE": a value
    assert scan_upstream_keys(tmp_path / "missing") == frozenset()  # no source: the fixed list applies


def test_no_valid_upstream_key_ever_warns_or_fails() -> None:
    stage = {key: None for key in upstream_stage_keys()}
    assert check_stage_keys(stage, EAGER_KEYS) == []


@pytest.mark.parametrize("settings_file", SETTINGS_FILES)
def test_the_shipped_settings_files_have_no_unknown_key(settings_file: str) -> None:
    from zappa_eager.cli import EagerZappaCLI

    cli = EagerZappaCLI()
    cli.load_settings_file(str(ROOT / settings_file))
    for stage in cli.zappa_settings:
        cli.api_stage = stage
        assert check_stage_keys(cli.stage_config, EAGER_KEYS) == [], stage
        assert check_stage(cli.stage_config, stage, "python3.12").warnings == ()


@pytest.mark.parametrize(("key", "meant", "ours"), [
    ("eager_init_warmpu", "eager_init_warmup", True),
    ("eager_warmup", "eager_init_warmup", True),
    ("Eager_Init", "eager_init", True),
    ("eagerinit", "eager_init", True),
    ("eager_something_new", None, True),  # any eager_* key is ours; none is close: all are listed
    ("lean_kep", "lean_keep", True),
    ("bench_env", "bench_environment", True),
    ("compile_bytcode", "compile_bytecode", True),
    ("slim_handlr", "slim_handler", False),
    ("aws_regoin", "aws_region", False),
    ("snap_strat", "snap_start", False),
    ("keep_warmup", "keep_warm", False),
])
def test_a_misspelt_key_is_ours_or_upstreams_with_the_key_meant(key: str, meant: str | None, ours: bool) -> None:
    [unknown] = check_stage_keys({key: 1}, EAGER_KEYS)
    assert (unknown.key, unknown.suggestion, unknown.ours) == (key, meant, ours)


def test_unrelated_custom_keys_are_left_alone_as_upstream_does() -> None:
    assert check_stage_keys({"my_team": "web", "notes": "x", "owner": "ops", "api": 1, "lean": 2}, EAGER_KEYS) == []


def test_closest_prefers_a_close_spelling_then_a_shared_start() -> None:
    assert closest("maximum", ("min", "max", "scheduled")) == "max"
    assert closest("verb", ("method", "path", "headers", "body", "expect")) is None
    assert closest("timezon", ("name", "schedule", "min", "max", "timezone")) == "timezone"
    assert closest("memory", upstream_stage_keys(), 0.8) == "memory_size"
    assert closest("api", upstream_stage_keys(), 0.8) is None  # a start too short to say which key was meant


# -- through the real command ------------------------------------------------------------------

def stage(**keys: Any) -> dict[str, Any]:
    return {**badsettings.base_stage(), **keys}


@pytest.mark.parametrize("command", ["package", "deploy", "update"])
def test_a_misspelt_eager_key_fails_before_any_aws_call_naming_the_key_meant(command: str, tmp_path: Path) -> None:
    run = badsettings.run_command(command, stage(eager_init_warmpu=["/x"]), tmp_path)
    assert run.exit_code == 1 and run.aws_calls == [] and run.written == []
    assert ('Error: Unknown setting eager_init_warmpu = ["/x"] in stage \'dev\' of zappa_settings: zappa-eager has '
            "no such setting, and zappa would silently ignore it. Fix: did you mean `eager_init_warmup`?") in run.output


def test_every_problem_of_a_stage_is_one_error_with_json_values(tmp_path: Path) -> None:
    bad = stage(
        eager_warmup=["/x"],
        eager_init=None,
        eager_init_warmup="/healthz",
        eager_init_on_error=True,
        lean_keep="django",
        provisioned_concurrency={"min": 1, "max": 2, "maximum": 3},
        snap_start="PublishedVersions",
        runtime="python3.11",
        slim_handlr=True,
    )
    run = badsettings.run_command("package", bad, tmp_path)
    assert run.exit_code == 1 and run.aws_calls == [] and run.written == []
    error = run.output[run.output.index("Error: "):].splitlines()
    assert error[0] == "Error: 8 problems in stage 'dev' of zappa_settings (nothing was sent to AWS):"
    listed = [line.removeprefix("  - ") for line in error[1:9]]
    starts = [
        'Unknown setting eager_warmup = ["/x"]',
        "Invalid eager_init = null",
        'Invalid eager_init_warmup = "/healthz"',
        "Invalid eager_init_on_error = true",
        'Invalid lean_keep = "django"',
        'Invalid runtime = "python3.11"',
        'provisioned_concurrency ({"min": 1, "max": 2, "maximum": 3}) and snap_start ("PublishedVersions") are both '
        "set in stage 'dev'",
        'provisioned_concurrency has an unknown key "maximum" in stage \'dev\'',
    ]
    assert [line[:len(start)] for line, start in zip(listed, starts, strict=True)] == starts
    assert 'Fix: write it as a list: ["/healthz"].' in listed[2]
    assert "did you mean `max`?" in listed[7]
    assert run.output.count(WARNING) == 1  # the misspelt upstream key, even though the stage fails
    assert f"{WARNING} stage 'dev' sets `slim_handlr`" in run.output and "did you mean `slim_handler`?" in run.output


def test_a_misspelt_upstream_key_warns_once_and_the_command_goes_on(tmp_path: Path) -> None:
    run = badsettings.run_command("deploy", stage(slim_handlr=True, memory_siz=512), tmp_path)
    assert run.aws_calls == ["iam.GetRole"]  # not stopped: upstream ignores unknown keys, so we only warn
    assert run.output.count(WARNING) == 2
    assert "sets `slim_handlr`, which neither zappa nor zappa-eager reads (zappa ignores it); did you mean " \
           "`slim_handler`?" in run.output
    assert "did you mean `memory_size`?" in run.output


def test_a_stage_of_valid_upstream_keys_gets_no_warning(tmp_path: Path) -> None:
    valid = stage(memory_size=512, timeout_seconds=30, slim_handler=False, exclude=["*.gz"], environment_variables={},
                  aws_environment_variables={}, log_level="INFO", tags={"team": "web"}, runtime="python3.12",
                  use_precompiled_packages=False, delete_local_zip=True, touch=False, xray_tracing=False)
    run = badsettings.run_command("deploy", valid, tmp_path)
    assert run.aws_calls == ["iam.GetRole"]
    assert WARNING not in run.output and "Error" not in run.output


def test_warnings_are_printed_once_per_command_even_when_settings_load_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from zappa_eager.cli import EagerZappaCLI

    (tmp_path / "zappa_settings.json").write_text(json.dumps({"dev": stage(slim_handlr=True)}))
    monkeypatch.chdir(tmp_path)
    cli = EagerZappaCLI()
    cli.api_stage = "dev"
    with badsettings.aws_tripwire() as calls:
        cli.load_settings("zappa_settings.json")
        cli.load_settings("zappa_settings.json")
    captured = capsys.readouterr()
    assert calls == [] and captured.out == ""
    assert captured.err.count(WARNING) == 1 and captured.err.startswith(f"{WARNING} stage 'dev' sets `slim_handlr`")


def test_the_installed_zappa_script_rejects_a_misspelt_key_and_warns_on_stderr(tmp_path: Path) -> None:
    script = shutil.which("zappa", path=str(Path(sys.executable).parent))
    assert script is not None
    bad = stage(eager_init_warmpu=["/x"], eager_init_warmup_rounds="2", slim_handlr=True)
    (tmp_path / "zappa_settings.json").write_text(json.dumps({"dev": bad}))
    env = {**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}  # any AWS call would fail loudly
    done = subprocess.run([script, "package", "dev"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert sorted(os.listdir(tmp_path)) == ["zappa_settings.json"]  # no package written
    err = done.stderr
    assert "Error: 2 problems in stage 'dev' of zappa_settings (nothing was sent to AWS):" in err
    assert '  - Unknown setting eager_init_warmpu = ["/x"]: ' in err and "did you mean `eager_init_warmup`?" in err
    assert '  - Invalid eager_init_warmup_rounds = "2": expected a whole number from 1 to 10.' in err
    assert err.count(WARNING) == 1 and "did you mean `slim_handler`?" in err
    assert WARNING not in done.stdout
