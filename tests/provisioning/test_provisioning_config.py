"""``provisioned_concurrency`` parsing and validation: pure, then through the CLI's load_settings.

Every bad value must fail with a message naming the setting, the value, the stage and the fix,
and must fail before any AWS client exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from click import ClickException
from moto import mock_aws
from provisioning_harness import _CLI, ALIAS, DUMMY_ENV, STAGE, write_settings

from zappa_eager.provisioning import (
    ProvisionedConcurrencyConfig,
    ProvisionedConcurrencyError,
    ScheduledScaling,
    parse_provisioned_concurrency,
)


def parse(value: Any, **kwargs: Any) -> ProvisionedConcurrencyConfig | None:
    return parse_provisioned_concurrency(value, stage="pc", **kwargs)


# -- pure parsing -----------------------------------------------------------------------------
def test_none_means_no_provisioned_concurrency() -> None:
    assert parse(None) is None


def test_integer_is_fixed_pc_without_autoscaling() -> None:
    assert parse(3) == ProvisionedConcurrencyConfig(min=3, max=3, autoscaling=False)


def test_object_with_every_field() -> None:
    config = parse(
        {
            "min": 1,
            "max": 100,
            "target_utilization": 0.7,
            "scale_in_cooldown": 300,
            "scale_out_cooldown": 0,
            "scheduled": [
                {"name": "business-hours", "schedule": "cron(0 8 ? * MON-FRI *)", "min": 5, "max": 100},
                {"name": "nights", "schedule": "cron(0 20 * * ? *)", "min": 0, "max": 0, "timezone": "Europe/Paris"},
            ],
        },
        lambda_concurrency=100,
    )
    assert config == ProvisionedConcurrencyConfig(
        min=1,
        max=100,
        target_utilization=0.7,
        scale_in_cooldown=300,
        scale_out_cooldown=0,
        scheduled=(
            ScheduledScaling("business-hours", "cron(0 8 ? * MON-FRI *)", 5, 100),
            ScheduledScaling("nights", "cron(0 20 * * ? *)", 0, 0, "Europe/Paris"),
        ),
        autoscaling=True,
    )
    assert config.initial == 1
    assert config.scheduled[1].target_action() == {"MinCapacity": 0, "MaxCapacity": 0}


def test_object_defaults() -> None:
    config = parse({"min": 2, "max": 4})
    assert config is not None
    assert (config.target_utilization, config.scale_in_cooldown, config.scale_out_cooldown) == (0.7, None, None)
    assert config.scheduled == ()
    assert config.clamp(1) == 2 and config.clamp(9) == 4 and config.clamp(3) == 3


def test_config_is_frozen() -> None:
    config = parse(2)
    with pytest.raises(AttributeError):
        config.min = 5  # type: ignore[misc,union-attr]


BAD_VALUES: list[tuple[Any, dict[str, Any], str]] = [
    (
        {"min": 5, "max": 2},
        {},
        "provisioned_concurrency.min (5) is greater than provisioned_concurrency.max (2) in stage 'pc': "
        "set min <= max.",
    ),
    ({"min": 0, "max": 5}, {}, "provisioned_concurrency.min (0) must be at least 1 in stage 'pc'"),
    ({"min": -1, "max": 5}, {}, "provisioned_concurrency.min (-1) must be a whole number >= 0 in stage 'pc'"),
    ({"min": 1.5, "max": 5}, {}, "provisioned_concurrency.min (1.5) must be a whole number"),
    ({"min": True, "max": 5}, {}, "provisioned_concurrency.min (true) must be a whole number"),
    ({"max": 5}, {}, "provisioned_concurrency.min is missing in stage 'pc': add it"),
    ({"min": 1}, {}, "provisioned_concurrency.max is missing in stage 'pc'"),
    (
        {"min": 1, "max": 200},
        {"lambda_concurrency": 100},
        "provisioned_concurrency.max (200) is greater than lambda_concurrency (100) in stage 'pc': reserved "
        "concurrency caps provisioned concurrency; lower provisioned_concurrency.max or raise lambda_concurrency.",
    ),
    ({"min": 1, "max": 5, "target_utilization": 0}, {}, "provisioned_concurrency.target_utilization (0) must be"),
    ({"min": 1, "max": 5, "target_utilization": 70}, {}, "target_utilization (70) must be a number greater than 0"),
    ({"min": 1, "max": 5, "target_utilization": "0.7"}, {}, 'target_utilization ("0.7") must be a number'),
    ({"min": 1, "max": 5, "scale_in_cooldown": -1}, {}, "provisioned_concurrency.scale_in_cooldown (-1) must be"),
    ({"min": 1, "max": 5, "scale_out_cooldown": 1.5}, {}, "scale_out_cooldown (1.5) must be a non-negative integer"),
    ({"min": 1, "max": 5, "target_utilisation": 0.7}, {},
     "unknown key \"target_utilisation\" in stage 'pc': did you mean `target_utilization`?"),
    ({"min": 1, "maximum": 5}, {}, "unknown key \"maximum\" in stage 'pc': did you mean `max`?"),
    ({"min": 1, "max": 5, "scheduled": {"name": "x"}}, {}, 'provisioned_concurrency.scheduled ({"name": "x"}) must be'),
    ({"min": 1, "max": 5, "scheduled": ["nightly"]}, {}, 'provisioned_concurrency.scheduled[0] ("nightly") must be'),
    (
        {"min": 1, "max": 5, "scheduled": [{"schedule": "cron(0 8 * * ? *)", "min": 1}]},
        {},
        "provisioned_concurrency.scheduled[0].name (null) is missing or invalid",
    ),
    (
        {"min": 1, "max": 5, "scheduled": [{"name": "a:b", "schedule": "cron(0 8 * * ? *)", "min": 1}]},
        {},
        'scheduled[0].name ("a:b") is missing or invalid',
    ),
    (
        {"min": 1, "max": 5, "scheduled": [{"name": "a", "schedule": "every day", "min": 1}]},
        {},
        'provisioned_concurrency.scheduled[0].schedule ("every day") is not a cron(...), rate(...) or at(...)',
    ),
    (
        {"min": 1, "max": 5, "scheduled": [{"name": "a", "schedule": "rate(1 hour)"}]},
        {},
        'provisioned_concurrency.scheduled[0] ("a") sets neither min nor max',
    ),
    (
        {"min": 1, "max": 5, "scheduled": [{"name": "a", "schedule": "rate(1 hour)", "min": 9, "max": 3}]},
        {},
        "provisioned_concurrency.scheduled[0].min (9) is greater than provisioned_concurrency.scheduled[0].max (3)",
    ),
    (
        {"min": 1, "max": 5, "scheduled": [{"name": "a", "schedule": "rate(1 hour)", "max": 500}]},
        {"lambda_concurrency": 50},
        "provisioned_concurrency.scheduled[0].max (500) is greater than lambda_concurrency (50)",
    ),
    (
        {"min": 1, "max": 5, "scheduled": [{"name": "a", "schedule": "rate(1 hour)", "min": 1, "when": "now"}]},
        {},
        'provisioned_concurrency.scheduled[0] has an unknown key "when" in stage \'pc\': use only name, schedule',
    ),
    (
        {"min": 1, "max": 5, "scheduled": [{"name": "a", "schedule": "rate(1 hour)", "min": 1, "timezon": "UTC"}]},
        {},
        'scheduled[0] has an unknown key "timezon" in stage \'pc\': did you mean `timezone`?',
    ),
    (
        {
            "min": 1,
            "max": 5,
            "scheduled": [
                {"name": "a", "schedule": "rate(1 hour)", "min": 1},
                {"name": "a", "schedule": "rate(2 hours)", "min": 2},
            ],
        },
        {},
        'provisioned_concurrency.scheduled has duplicate names ["a"]',
    ),
    (
        {"min": 1, "max": 5, "scheduled": [{"name": "a", "schedule": "rate(1 hour)", "min": 1, "timezone": ""}]},
        {},
        'scheduled[0].timezone ("") must be an IANA time zone name',
    ),
    (0, {}, "provisioned_concurrency (0) must be at least 1 in stage 'pc'"),
    (True, {}, "provisioned_concurrency (true) in stage 'pc' must be a positive integer or an object"),
    ("5", {}, "provisioned_concurrency (\"5\") in stage 'pc' must be a positive integer or an object"),
    (8, {"lambda_concurrency": 4}, "provisioned_concurrency (8) is greater than lambda_concurrency (4)"),
    (
        {"min": 1, "max": 2},
        {"snap_start": "PublishedVersions"},
        "provisioned_concurrency ({\"min\": 1, \"max\": 2}) and snap_start (\"PublishedVersions\") are both set in "
        "stage 'pc': AWS Lambda cannot "
        "combine SnapStart with provisioned concurrency; remove one of the two.",
    ),
]


@pytest.mark.parametrize(("value", "context", "message"), BAD_VALUES)
def test_bad_values_are_rejected_with_setting_value_and_fix(value: Any, context: dict[str, Any], message: str) -> None:
    with pytest.raises(ProvisionedConcurrencyError) as error:
        parse(value, **context)
    assert message in str(error.value)


def test_every_problem_of_the_object_is_reported_together() -> None:
    value = {"min": 0, "max": "10", "target_utilisation": 0.7, "scale_in_cooldown": -1,
             "scheduled": [{"name": "a/b", "schedule": "daily", "min": 1}, {"name": "ok", "schedule": "rate(1 hour)"}]}
    with pytest.raises(ProvisionedConcurrencyError) as error:
        parse(value)
    assert [message.split(" in stage ")[0] for message in error.value.messages] == [
        'provisioned_concurrency has an unknown key "target_utilisation"',
        'provisioned_concurrency.max ("10") must be a whole number >= 0',
        "provisioned_concurrency.min (0) must be at least 1",
        "provisioned_concurrency.scale_in_cooldown (-1) must be a non-negative integer number of seconds",
        'provisioned_concurrency.scheduled[0].name ("a/b") is missing or invalid',
        'provisioned_concurrency.scheduled[0].schedule ("daily") is not a cron(...), rate(...) or at(...) expression',
        'provisioned_concurrency.scheduled[1] ("ok") sets neither min nor max',
    ]
    assert str(error.value) == "\n".join(error.value.messages)


def test_snap_start_none_string_is_off_as_upstream_spells_it() -> None:
    assert parse(2, snap_start="None") is not None


# -- through load_settings ------------------------------------------------------------------
@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    for key, value in DUMMY_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        yield tmp_path


def load(directory: Path, stage: dict[str, Any], extra_stages: dict[str, Any] | None = None) -> _CLI:
    cli = _CLI()
    cli.api_stage = STAGE
    cli.load_settings(str(write_settings(directory, stage, extra_stages)))
    return cli


@pytest.mark.parametrize(("value", "context", "message"), BAD_VALUES)
def test_load_settings_rejects_before_any_aws_client_exists(
    env: Path, monkeypatch: pytest.MonkeyPatch, value: Any, context: dict[str, Any], message: str
) -> None:
    created: list[str] = []
    real_create_client = botocore.session.Session.create_client

    def spy(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        created.append(service_name)
        return real_create_client(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", spy)

    with pytest.raises(ClickException) as error:
        load(env, {"provisioned_concurrency": value, **context})

    assert message in error.value.message
    assert created == []


def test_object_hands_upstream_its_integer_and_keeps_the_alias_machinery(env: Path) -> None:
    cli = load(env, {"provisioned_concurrency": {"min": 3, "max": 9}})
    assert cli.provisioned_concurrency == 3  # what upstream's create/update put on each new version
    assert cli.apigateway_lambda_qualifier == ALIAS
    assert cli.pc_config == ProvisionedConcurrencyConfig(min=3, max=9, autoscaling=True)


def test_reloading_settings_reads_the_object_again(env: Path) -> None:
    cli = load(env, {"provisioned_concurrency": {"min": 3, "max": 9}})
    cli.load_settings(str(env / "zappa_settings.json"))
    assert cli.pc_config is not None and cli.pc_config.autoscaling
    assert cli.provisioned_concurrency == 3


def test_integer_is_left_to_upstream(env: Path) -> None:
    cli = load(env, {"provisioned_concurrency": 4})
    assert cli.provisioned_concurrency == 4
    assert cli.pc_config == ProvisionedConcurrencyConfig(min=4, max=4)


def test_no_pc_changes_nothing(env: Path) -> None:
    cli = load(env, {})
    assert cli.pc_config is None and cli.provisioned_concurrency is None
    assert cli.stage_config.get("keep_warm", True) is True


def test_default_keep_warm_is_turned_off_when_pc_is_on(env: Path) -> None:
    cli = load(env, {"provisioned_concurrency": 2})
    assert cli.stage_config["keep_warm"] is False
    assert cli.pc.keep_warm_skipped


@pytest.mark.parametrize("keep_warm", [True, False])
def test_explicit_keep_warm_is_honoured(env: Path, keep_warm: bool) -> None:
    cli = load(env, {"provisioned_concurrency": 2, "keep_warm": keep_warm})
    assert cli.stage_config["keep_warm"] is keep_warm
    assert not cli.pc.keep_warm_skipped


def test_settings_inherited_through_extends(env: Path) -> None:
    base = {"project_name": "pcapp", "aws_region": "us-east-1", "s3_bucket": "b", "keep_warm": True}
    cli = load(
        env,
        {"extends": "base", "provisioned_concurrency": {"min": 1, "max": 4}},
        extra_stages={"base": {**base, "lambda_concurrency": 10}},
    )
    assert cli.pc_config is not None and cli.pc_config.max == 4
    assert cli.stage_config["keep_warm"] is True  # set explicitly, in the parent stage


def test_reserved_concurrency_from_the_parent_stage_is_checked(env: Path) -> None:
    with pytest.raises(ClickException, match=r"provisioned_concurrency.max \(40\) is greater than lambda_concurrency"):
        load(
            env,
            {"extends": "base", "provisioned_concurrency": {"min": 1, "max": 40}},
            extra_stages={"base": {"project_name": "pcapp", "aws_region": "us-east-1", "lambda_concurrency": 10}},
        )


def test_undefined_stage_still_gets_upstreams_message(env: Path) -> None:
    cli = _CLI()
    cli.api_stage = "nope"
    with pytest.raises(ClickException, match="Please define stage 'nope'"):
        cli.load_settings(str(write_settings(env, {"provisioned_concurrency": 2})))
