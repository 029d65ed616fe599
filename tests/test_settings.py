"""The eager_* stage settings: every bad value is rejected with setting, value and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zappa_eager.settings import (
    EagerSettingsError,
    WarmupRequest,
    check_snap_start_runtime,
    parse_eager_settings,
    render_settings_lines,
)


def test_defaults_are_eager_with_no_warmup_and_auto_errors() -> None:
    settings = parse_eager_settings({}, "dev")
    assert settings.enabled is True and settings.warmup == () and settings.on_error == "auto"
    assert settings.warmup_rounds == 2


def test_packaging_steps_default_on_with_eager_init_and_off_without() -> None:
    eager = parse_eager_settings({"lean_keep": ["Django"]}, "dev")
    assert eager.compile_bytecode and eager.lean_package and eager.lean_keep == ("django",)
    upstream = parse_eager_settings({"eager_init": False}, "dev")
    assert not upstream.compile_bytecode and not upstream.lean_package
    explicit = parse_eager_settings({"eager_init": False, "compile_bytecode": True}, "dev")
    assert explicit.compile_bytecode and not explicit.lean_package


def test_warmup_accepts_paths_and_request_objects() -> None:
    settings = parse_eager_settings(
        {
            "eager_init_warmup": [
                "/healthz",
                {"method": "post", "path": "/api/ping?x=1", "headers": {"Accept": "application/json"}, "body": "{}"},
            ]
        },
        "dev",
    )
    assert settings.warmup == (
        WarmupRequest(path="/healthz"),
        WarmupRequest(method="POST", path="/api/ping?x=1", headers={"Accept": "application/json"}, body="{}"),
    )


@pytest.mark.parametrize(
    ("config", "setting", "fix"),
    [
        ({"eager_init": "yes"}, "eager_init", 'set "eager_init": true'),
        ({"eager_init": 1}, "eager_init", "true or false"),
        ({"eager_init_warmup": {"path": "/"}}, "eager_init_warmup", '["/healthz"]'),
        ({"eager_init_warmup": ["healthz"]}, "eager_init_warmup[0]", 'write it as "/healthz"'),
        ({"eager_init_warmup": ["https://example.com/healthz"]}, "eager_init_warmup[0]", "a path such as"),
        ({"eager_init_warmup": [42]}, "eager_init_warmup[0]", '{"method": "GET", "path": "/healthz"}'),
        ({"eager_init_warmup": [{"method": "GET"}]}, "eager_init_warmup[0]", '"path": "/healthz"'),
        ({"eager_init_warmup": [{"path": "/", "verb": "GET"}]}, "eager_init_warmup[0].verb", "use only method"),
        ({"eager_init_warmup": [{"path": "/", "methd": "GET"}]}, "eager_init_warmup[0].methd", "did you mean `method`"),
        ({"eager_init_warmup": "/healthz"}, "eager_init_warmup", 'write it as a list: ["/healthz"]'),
        ({"eager_init_warmup": None}, "eager_init_warmup", "[] for no warm-up"),
        ({"eager_init_warmup": [{"path": "/", "headers": None}]}, "eager_init_warmup[0].headers", "leave headers out"),
        ({"eager_init": None}, "eager_init", 'set "eager_init": true'),
        ({"lean_keep": "django"}, "lean_keep", 'write it as a list: ["django"]'),
        ({"lean_keep": None}, "lean_keep", '"lean_keep": ["numpy"]'),
        ({"bench_environment": None}, "bench_environment", '"bench_environment": {"DATABASE_URL"'),
        ({"eager_init_warmup": [{"path": "/", "method": "FETCH"}]}, "eager_init_warmup[0].method", "GET, HEAD"),
        ({"eager_init_warmup": [{"path": "/", "headers": {"X": 1}}]}, "eager_init_warmup[0].headers", "Accept"),
        ({"eager_init_warmup": [{"path": "/", "body": {"a": 1}}]}, "eager_init_warmup[0].body", "serialize"),
        ({"eager_init_on_error": "ignore"}, "eager_init_on_error", '"lazy"'),
        ({"eager_init_warmup_after_restore": "true"}, "eager_init_warmup_after_restore", "true or false"),
        ({"eager_init_warmup_after_restore": True}, "eager_init_warmup_after_restore", "add eager_init_warmup"),
        ({"eager_init_warmup_rounds": 0}, "eager_init_warmup_rounds", '"eager_init_warmup_rounds": 2'),
        ({"eager_init_warmup_rounds": 11}, "eager_init_warmup_rounds", "from 1 to 10"),
        ({"eager_init_warmup_rounds": "2"}, "eager_init_warmup_rounds", "from 1 to 10"),
        ({"eager_init_warmup_rounds": True}, "eager_init_warmup_rounds", "from 1 to 10"),
        ({"eager_init_warmup_rounds": 1.5}, "eager_init_warmup_rounds", "from 1 to 10"),
        ({"eager_init_warmup_on_demand": "always"}, "eager_init_warmup_on_demand", '"once" (one pass)'),
        ({"eager_init_warmup_on_demand": True}, "eager_init_warmup_on_demand", '"skip"'),
        ({"compile_bytecode": "yes"}, "compile_bytecode", 'set "compile_bytecode": true'),
        ({"lean_package": 0}, "lean_package", "true or false"),
        ({"lean_keep": {"numpy": True}}, "lean_keep", '"lean_keep": ["numpy"]'),
        ({"lean_keep": ["numpy", 3]}, "lean_keep", "names as in `pip list`"),
        ({"lean_keep": ["no-such-distribution-xyz"]}, "lean_keep", "install it"),
        ({"lean_package": False, "lean_keep": ["django"]}, "lean_keep", 'set "lean_package": true'),
    ],
)
def test_bad_values_name_setting_value_and_fix(config: dict[str, Any], setting: str, fix: str) -> None:
    with pytest.raises(EagerSettingsError) as raised:
        parse_eager_settings(config, "prod")
    message = str(raised.value)
    assert f" {setting} = " in message and message.startswith(("Invalid ", "Unknown key "))
    assert "stage 'prod'" in message
    assert fix in message
    assert "None" not in message and "True" not in message and "'" not in message.split(" in stage ")[0]


def test_values_are_shown_as_json_as_written() -> None:
    for config, shown in [
        ({"eager_init": None}, "Invalid eager_init = null in stage"),
        ({"eager_init_on_error": True}, "Invalid eager_init_on_error = true in stage"),
        ({"eager_init_warmup": {"path": "/x"}}, 'Invalid eager_init_warmup = {"path": "/x"} in stage'),
        ({"eager_init_warmup": ["/ok", {"path": "/", "body": {"a": [1, None]}}]},
         'Invalid eager_init_warmup[1].body = {"a": [1, null]} in stage'),
    ]:
        with pytest.raises(EagerSettingsError) as raised:
            parse_eager_settings(config, "prod")
        assert str(raised.value).startswith(shown), str(raised.value)


def test_a_string_warmup_is_an_error_not_a_list_of_one() -> None:
    with pytest.raises(EagerSettingsError) as raised:
        parse_eager_settings({"eager_init_warmup": "/x"}, "dev")
    assert str(raised.value) == (
        "Invalid eager_init_warmup = \"/x\" in stage 'dev' of zappa_settings: expected a list of paths or request "
        "objects, not one string. Fix: write it as a list: [\"/x\"]."
    )


def test_every_problem_of_a_stage_is_reported_together() -> None:
    config = {
        "eager_init": "yes",
        "eager_init_warmup": ["healthz", {"path": "/", "method": "FETCH", "expect": "200"}],
        "eager_init_warmup_rounds": 0,
        "lean_keep": "django",
        "bench_environment": {"PORT": 5432, "1BAD": "x"},
    }
    with pytest.raises(EagerSettingsError) as raised:
        parse_eager_settings(config, "dev")
    message = str(raised.value)
    lines = message.splitlines()
    assert lines[0] == "8 problems in stage 'dev' of zappa_settings (nothing was sent to AWS):"
    assert lines[1:] == [
        '  - Invalid eager_init = "yes": expected true or false. Fix: set "eager_init": true or "eager_init": false.',
        "  - Invalid eager_init_warmup[0] = \"healthz\": expected a URL path starting with '/'. "
        'Fix: write it as "/healthz".',
        '  - Invalid eager_init_warmup[1].method = "FETCH": not an HTTP method. '
        "Fix: use one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS.",
        '  - Invalid eager_init_warmup[1].expect = "200": expected an HTTP status (100 to 599) or a list of them. '
        "Fix: write the status as a number, without quotes: 200.",
        "  - Invalid eager_init_warmup_rounds = 0: expected a whole number from 1 to 10. "
        'Fix: use e.g. "eager_init_warmup_rounds": 2 (1 sends each warm-up request once).',
        '  - Invalid lean_keep = "django": expected a list of distribution names, not one string. '
        'Fix: write it as a list: ["django"].',
        "  - Invalid bench_environment.PORT = 5432: expected a string. Fix: quote it: \"PORT\": \"5432\".",
        '  - Invalid bench_environment = "1BAD": not a valid environment variable name. '
        "Fix: use letters, digits and _, starting with a letter (at least two characters).",
    ]


def test_rendered_lines_are_python_literals() -> None:
    settings = parse_eager_settings(
        {"eager_init_warmup": [{"path": "/it's", "headers": {"X-Quote": '"'}}], "eager_init_on_error": "raise",
         "eager_init_warmup_rounds": 3}, "dev"
    )
    namespace: dict[str, Any] = {}
    exec(render_settings_lines(settings, "PublishedVersions"), namespace)  # noqa: S102 - our own output
    assert namespace["EAGER_INIT"] is True
    assert namespace["EAGER_INIT_WARMUP"] == [
        {"method": "GET", "path": "/it's", "headers": {"X-Quote": '"'}, "body": None}
    ]
    assert namespace["EAGER_INIT_ON_ERROR"] == "raise"
    assert namespace["EAGER_INIT_WARMUP_ROUNDS"] == 3
    assert namespace["SNAP_START"] == "PublishedVersions"


def test_snap_start_needs_python_312_or_newer() -> None:
    check_snap_start_runtime({"snap_start": "PublishedVersions", "runtime": "python3.12"}, "snap", "python3.11")
    check_snap_start_runtime({"snap_start": "None"}, "snap", "python3.11")
    with pytest.raises(EagerSettingsError) as raised:
        check_snap_start_runtime({"snap_start": "PublishedVersions"}, "snap", "python3.11")
    assert "Invalid runtime = \"python3.11\" in stage 'snap'" in str(raised.value)
    assert 'set "runtime": "python3.12"' in str(raised.value)


def test_cli_rejects_bad_eager_settings_before_creating_any_aws_client(tmp_path, monkeypatch) -> None:
    import json

    import click
    import zappa.core

    from zappa_eager.cli import EagerZappaCLI

    def no_aws(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an AWS client was created before validation")

    monkeypatch.setattr(zappa.core.Zappa, "__init__", no_aws)
    monkeypatch.chdir(tmp_path)
    for stage, message in [
        ({"eager_init_warmup": ["healthz"]}, 'Invalid eager_init_warmup[0] = "healthz"'),
        ({"eager_init_on_error": "explode"}, 'Invalid eager_init_on_error = "explode"'),
        ({"snap_start": "PublishedVersions", "runtime": "python3.11"}, 'Invalid runtime = "python3.11"'),
    ]:
        (tmp_path / "zappa_settings.json").write_text(json.dumps({"dev": {"s3_bucket": "b", **stage}}))
        cli = EagerZappaCLI()
        cli.api_stage = "dev"
        with pytest.raises(click.ClickException) as raised:
            cli.load_settings("zappa_settings.json")
        assert message in raised.value.message


ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("settings_file", ["zappa_settings.example.json", "examples/django_app/zappa_settings.json",
                                           "examples/flask_app/zappa_settings.json",
                                           "examples/fastapi_app/zappa_settings.json"])
def test_shipped_settings_files_pass_validation(settings_file: str) -> None:
    """Every stage of the settings files we tell users to copy is valid, ``extends`` resolved as upstream does."""
    from zappa_eager.cli import EagerZappaCLI
    from zappa_eager.provisioning import parse_provisioned_concurrency
    from zappa_eager.provisioning.lmi_config import parse_managed_instances

    cli = EagerZappaCLI()
    cli.load_settings_file(str(ROOT / settings_file))
    stages = list(cli.zappa_settings)
    assert stages
    for stage in stages:
        cli.api_stage = stage
        config = cli.stage_config
        parse_eager_settings(config, stage)
        check_snap_start_runtime(config, stage, "python3.12")
        parse_provisioned_concurrency(config.get("provisioned_concurrency"), stage, config.get("lambda_concurrency"),
                                      config.get("snap_start"))
        lmi = parse_managed_instances(config, stage, "python3.12")
        assert (lmi is not None) is ("managed_instances" in config), stage
