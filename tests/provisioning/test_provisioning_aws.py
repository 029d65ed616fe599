"""deploy / update / rollback / undeploy / status / schedule with provisioned concurrency, against moto + Stubber.

The sequences compare only the operations that change versions, aliases, PC or autoscaling (see
``MUTATIONS`` in the harness); the Stubber additionally enforces the order and the parameters of
every PC call. Nothing reaches AWS.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from click import ClickException
from moto import mock_aws
from provisioning_harness import (
    _CLI,
    ALIAS,
    ALIAS_ARN,
    DUMMY_ENV,
    FUNCTION,
    FUNCTION_ARN,
    REGION,
    STAGE,
    Rig,
    create_execution_role,
    function_zip,
    make_rig,
    write_settings,
)

from zappa_eager.provisioning.autoscaling import POLICY_NAME, describe_autoscaling

AUTOSCALED = {
    "min": 2,
    "max": 10,
    "target_utilization": 0.6,
    "scale_in_cooldown": 120,
    "scale_out_cooldown": 30,
    "scheduled": [
        {"name": "business-hours", "schedule": "cron(0 8 ? * MON-FRI *)", "min": 5, "max": 10},
        {"name": "nights", "schedule": "cron(0 20 * * ? *)", "min": 1, "max": 4},
    ],
}
V1 = "function:pcapp-pc:1"
V3 = "function:pcapp-pc:3"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    for key, value in DUMMY_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.chdir(tmp_path)  # upstream walks the cwd looking for websocket handlers
    with mock_aws():
        create_execution_role()
        yield tmp_path


def deployed(directory: Path, stage: dict[str, Any]) -> Rig:
    """A rig whose function is deployed (version 1, PC 'min' on it, alias on it), recorder cleared."""
    rig = make_rig(directory, stage)
    assert rig.cli.pc_config is not None
    initial = rig.cli.pc_config.initial
    rig.expect_put_pc("1", initial)
    rig.expect_get_pc("1", initial)
    rig.zappa_deploy(function_zip(directory))
    rig.stubber.assert_no_pending_responses()
    rig.recorder.clear()
    return rig


def alias_version(rig: Rig) -> str:
    return str(rig.cli.zappa.lambda_client.get_alias(FunctionName=FUNCTION, Name=ALIAS)["FunctionVersion"])


# -- deploy -----------------------------------------------------------------------------------
def test_deploy_puts_pc_waits_creates_alias_then_autoscaling(aws: Path) -> None:
    rig = make_rig(aws, {"provisioned_concurrency": AUTOSCALED})
    rig.expect_put_pc("1", 2)
    rig.expect_get_pc("1", 2)

    rig.zappa_deploy(function_zip(aws))

    rig.stubber.assert_no_pending_responses()
    assert rig.recorder.mutations() == [
        "CreateFunction",
        "PutProvisionedConcurrencyConfig(1)",
        "GetProvisionedConcurrencyConfig(1)",
        "CreateAlias(1)",
        f"RegisterScalableTarget({V1})",
        f"PutScalingPolicy({V1})",
        f"PutScheduledAction({V1} business-hours)",
        f"PutScheduledAction({V1} nights)",
    ]
    (target,) = rig.recorder.params("RegisterScalableTarget")
    assert target["ServiceNamespace"] == "lambda"
    assert target["ScalableDimension"] == "lambda:function:ProvisionedConcurrency"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 10)
    (policy,) = rig.recorder.params("PutScalingPolicy")
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 0.6,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "LambdaProvisionedConcurrencyUtilization"},
        "ScaleInCooldown": 120,
        "ScaleOutCooldown": 30,
    }
    actions = {a["ScheduledActionName"]: a for a in rig.recorder.params("PutScheduledAction")}
    assert actions["business-hours"]["Schedule"] == "cron(0 8 ? * MON-FRI *)"
    assert actions["business-hours"]["ScalableTargetAction"] == {"MinCapacity": 5, "MaxCapacity": 10}
    assert alias_version(rig) == "1"


def test_deploy_with_integer_keeps_upstream_fixed_pc_and_makes_no_autoscaling_call(aws: Path) -> None:
    rig = make_rig(aws, {"provisioned_concurrency": 3})
    rig.expect_put_pc("1", 3)
    rig.expect_get_pc("1", 3)

    rig.zappa_deploy(function_zip(aws))

    assert rig.recorder.mutations() == [
        "CreateFunction",
        "PutProvisionedConcurrencyConfig(1)",
        "GetProvisionedConcurrencyConfig(1)",
        "CreateAlias(1)",
    ]
    # Only a read to find targets left over from an earlier object form.
    assert [c.operation for c in rig.recorder.calls if c.params.get("ServiceNamespace")] == ["DescribeScalableTargets"]


# -- update -----------------------------------------------------------------------------------
def test_update_moves_alias_after_ready_and_autoscaling_follows(aws: Path) -> None:
    rig = deployed(aws, {"provisioned_concurrency": AUTOSCALED})
    rig.expect_get_pc("1", 4)  # autoscaling had scaled the live version to 4
    rig.expect_put_pc("3", 4)  # ... so the new version starts at 4, not at min
    rig.expect_get_pc("3", 4)  # upstream's READY wait
    rig.expect_delete_pc("1")
    rig.expect_no_function_urls()

    rig.cli.update(source_zip=str(function_zip(aws, "v2")))

    rig.stubber.assert_no_pending_responses()
    assert rig.recorder.mutations() == [
        "GetProvisionedConcurrencyConfig(1)",
        f"RegisterScalableTarget({V1} suspend)",
        "UpdateFunctionCode",
        "PublishVersion",
        "PutProvisionedConcurrencyConfig(3)",
        "GetProvisionedConcurrencyConfig(3)",
        "UpdateAlias(3)",
        "DeleteProvisionedConcurrencyConfig(1)",
        f"RegisterScalableTarget({V3})",
        f"PutScalingPolicy({V3})",
        f"PutScheduledAction({V3} business-hours)",
        f"PutScheduledAction({V3} nights)",
        f"DeleteScalingPolicy({V1})",
        f"DeleteScheduledAction({V1})",
        f"DeleteScheduledAction({V1})",
        f"DeregisterScalableTarget({V1})",
    ]
    assert alias_version(rig) == "3"
    state = describe_autoscaling(rig.cli.pc.autoscaling, V3)
    assert state is not None and (state.min, state.max, state.suspended) == (2, 10, False)
    assert state.target_utilization == 0.6
    assert describe_autoscaling(rig.cli.pc.autoscaling, V1) is None
    assert rig.cli.provisioned_concurrency == 2  # restored for the next command


def test_update_carry_over_is_clamped_to_the_new_range(aws: Path) -> None:
    rig = deployed(aws, {"provisioned_concurrency": AUTOSCALED})
    assert rig.cli.pc is not None
    rig.cli.pc.config = dataclasses.replace(rig.cli.pc.config, max=6)  # the stage lowered max since
    rig.expect_get_pc("1", 9)
    rig.expect_put_pc("3", 6)
    rig.expect_get_pc("3", 6)
    rig.expect_delete_pc("1")
    rig.expect_no_function_urls()

    rig.cli.update(source_zip=str(function_zip(aws, "v2")))

    rig.stubber.assert_no_pending_responses()


def test_update_pc_failure_keeps_alias_resumes_scaling_and_releases_new_pc(aws: Path) -> None:
    rig = deployed(aws, {"provisioned_concurrency": AUTOSCALED})
    rig.expect_get_pc("1", 2)
    rig.expect_put_pc("3", 2)
    rig.expect_get_pc("3", 2, status="FAILED", reason="FUNCTION_ERROR_INIT_FAILURE")
    rig.expect_list_pc("1", "3")
    rig.expect_delete_pc("3")

    with pytest.raises(ClickException) as failure:
        rig.cli.update(source_zip=str(function_zip(aws, "v2")))

    message = failure.value.message
    assert "FUNCTION_ERROR_INIT_FAILURE" in message
    assert f"'{ALIAS}' alias still points at version 1" in message
    rig.stubber.assert_no_pending_responses()
    assert alias_version(rig) == "1"
    state = describe_autoscaling(rig.cli.pc.autoscaling, V1)
    assert state is not None and not state.suspended
    assert "UpdateAlias" not in rig.recorder.names()


def test_update_failing_after_the_alias_moved_still_moves_autoscaling(aws: Path) -> None:
    rig = deployed(aws, {"provisioned_concurrency": AUTOSCALED})
    rig.expect_get_pc("1", 2)
    rig.expect_put_pc("3", 2)
    rig.expect_get_pc("3", 2)
    rig.expect_delete_pc("1")
    rig.stubber.add_client_error("list_function_url_configs", service_error_code="ServiceException")

    with pytest.raises(Exception, match="ServiceException"):
        rig.cli.update(source_zip=str(function_zip(aws, "v2")))

    assert alias_version(rig) == "3"
    assert describe_autoscaling(rig.cli.pc.autoscaling, V3) is not None
    assert describe_autoscaling(rig.cli.pc.autoscaling, V1) is None


def test_deploy_pc_failure_releases_pc_and_says_how_to_retry(aws: Path) -> None:
    rig = make_rig(aws, {"provisioned_concurrency": AUTOSCALED})
    rig.expect_put_pc("1", 2)
    rig.expect_get_pc("1", 2, status="FAILED", reason="FUNCTION_ERROR_INIT_FAILURE")
    rig.expect_list_pc("1")
    rig.expect_delete_pc("1")

    with pytest.raises(ClickException) as failure:
        rig.zappa_deploy(function_zip(aws))

    assert f"The '{ALIAS}' alias was not created" in failure.value.message
    assert "then run zappa update pc" in failure.value.message
    rig.stubber.assert_no_pending_responses()
    assert "RegisterScalableTarget" not in rig.recorder.names()


def test_rollback_moves_autoscaling_with_the_alias(aws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rig = deployed(aws, {"provisioned_concurrency": AUTOSCALED})
    rig.expect_get_pc("1", 2)
    rig.expect_put_pc("3", 2)
    rig.expect_get_pc("3", 2)
    rig.expect_delete_pc("1")
    rig.expect_no_function_urls()
    rig.cli.update(source_zip=str(function_zip(aws, "v2")))
    rig.recorder.clear()
    old_code = function_zip(aws, "v1").read_bytes()
    monkeypatch.setattr("zappa.core.requests.get", lambda url: SimpleNamespace(status_code=200, content=old_code))
    rig.expect_get_pc("3", 2)
    rig.expect_put_pc("4", 2)
    rig.expect_get_pc("4", 2)
    rig.expect_delete_pc("3")

    rig.cli.rollback(1)

    rig.stubber.assert_no_pending_responses()
    assert alias_version(rig) == "4"
    assert rig.recorder.mutations()[-4:] == [
        "DeleteScalingPolicy(function:pcapp-pc:3)",
        "DeleteScheduledAction(function:pcapp-pc:3)",
        "DeleteScheduledAction(function:pcapp-pc:3)",
        "DeregisterScalableTarget(function:pcapp-pc:3)",
    ]
    assert describe_autoscaling(rig.cli.pc.autoscaling, "function:pcapp-pc:4") is not None


# -- undeploy ---------------------------------------------------------------------------------
def test_undeploy_removes_scaling_before_upstream_deletes_the_function(aws: Path) -> None:
    rig = deployed(aws, {"provisioned_concurrency": AUTOSCALED})

    rig.cli.undeploy(no_confirm=True)

    assert rig.recorder.mutations() == [
        f"DeleteScalingPolicy({V1})",
        f"DeleteScheduledAction({V1})",
        f"DeleteScheduledAction({V1})",
        f"DeregisterScalableTarget({V1})",
        "DeleteFunction",
    ]
    aas = rig.cli.pc.autoscaling
    assert aas.describe_scalable_targets(ServiceNamespace="lambda")["ScalableTargets"] == []
    assert aas.describe_scaling_policies(ServiceNamespace="lambda")["ScalingPolicies"] == []
    assert aas.describe_scheduled_actions(ServiceNamespace="lambda")["ScheduledActions"] == []


def test_undeploy_with_integer_removes_targets_left_by_an_earlier_object_form(aws: Path) -> None:
    rig = deployed(aws, {"provisioned_concurrency": 2})
    aas = rig.cli.pc.autoscaling
    aas.register_scalable_target(
        ServiceNamespace="lambda",
        ResourceId=V1,
        ScalableDimension="lambda:function:ProvisionedConcurrency",
        MinCapacity=1,
        MaxCapacity=5,
    )
    rig.recorder.clear()

    rig.cli.undeploy(no_confirm=True)

    assert rig.recorder.mutations() == [f"DeregisterScalableTarget({V1})", "DeleteFunction"]


# -- status -----------------------------------------------------------------------------------
def test_status_shows_allocation_range_and_target(aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = deployed(aws, {"provisioned_concurrency": AUTOSCALED})
    capsys.readouterr()
    rig.expect_get_pc("1", 2)

    rig.cli.status()

    out = capsys.readouterr().out
    assert "Status for pcapp-pc" in out  # upstream's part is still there
    for expected in ("PC Alias", "provisioned-concurrency -> version 1", "2 / 2 (READY)", "2-10", "60%"):
        assert expected in out
    assert "business-hours: cron(0 8 ? * MON-FRI *) (min 5, max 10)" in out


def test_status_json_stays_one_document(aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = deployed(aws, {"provisioned_concurrency": AUTOSCALED})
    capsys.readouterr()
    rig.expect_get_pc("1", 3)

    rig.cli.status(return_json=True)

    status = json.loads(capsys.readouterr().out)
    assert status["Lambda Name"] == FUNCTION
    pc = status["Provisioned Concurrency"]
    assert (pc["version"], pc["allocated"], pc["requested"], pc["status"]) == ("1", 3, 3, "READY")
    assert pc["autoscaling"]["min"] == 2 and pc["autoscaling"]["max"] == 10
    assert pc["autoscaling"]["target_utilization"] == 0.6
    assert [a["name"] for a in pc["autoscaling"]["scheduled"]] == ["business-hours", "nights"]


# -- callers: keep-warm, events, event sources, function URL, API Gateway -----------------------
def rule_targets(rig: Rig) -> dict[str, list[str]]:
    events = rig.cli.zappa.events_client
    names: list[str] = []
    for arn in (FUNCTION_ARN, ALIAS_ARN):
        names += events.list_rule_names_by_target(TargetArn=arn)["RuleNames"]
    return {n: [t["Arn"] for t in events.list_targets_by_rule(Rule=n)["Targets"]] for n in names}


def test_keep_warm_is_skipped_with_a_warning_when_pc_is_on(aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = deployed(aws, {"provisioned_concurrency": AUTOSCALED})
    capsys.readouterr()

    rig.cli.schedule()

    assert "keep_warm is skipped for stage 'pc'" in capsys.readouterr().out
    assert rule_targets(rig) == {}


def test_explicit_keep_warm_is_honoured_and_targets_the_alias(aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = deployed(aws, {"provisioned_concurrency": AUTOSCALED, "keep_warm": True})
    capsys.readouterr()

    rig.cli.schedule()

    assert "keep_warm is skipped" not in capsys.readouterr().out
    targets = rule_targets(rig)
    assert list(targets.values()) == [[ALIAS_ARN]]
    assert "keep-warm" in next(iter(targets))
    (permission,) = rig.recorder.params("AddPermission")
    assert permission["FunctionName"] == f"{FUNCTION}:{ALIAS}"
    assert permission["Principal"] == "events.amazonaws.com"


def test_without_pc_keep_warm_stays_upstreams(aws: Path) -> None:
    rig = make_rig(aws, {})
    rig.zappa_deploy(function_zip(aws))

    assert list(rule_targets(rig).values()) == [[FUNCTION_ARN]]


def test_turning_pc_on_removes_the_keep_warm_rule_of_an_earlier_deploy(aws: Path) -> None:
    rig = make_rig(aws, {})
    rig.zappa_deploy(function_zip(aws))
    assert len(rule_targets(rig)) == 1
    cli = _CLI()
    cli.api_stage = STAGE
    cli.load_settings(str(write_settings(aws, {"provisioned_concurrency": 2})))

    cli.schedule()

    assert rule_targets(rig) == {}


def sqs_queue_arn() -> str:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def test_events_and_event_sources_invoke_the_alias(aws: Path) -> None:
    queue = sqs_queue_arn()
    events = [
        {"function": "app.tasks.nightly", "expression": "rate(1 day)"},
        {"function": "app.tasks.consume", "event_source": {"arn": queue, "batch_size": 5}},
    ]
    rig = make_rig(aws, {"provisioned_concurrency": AUTOSCALED, "events": events})
    rig.expect_put_pc("1", 2)
    rig.expect_get_pc("1", 2)

    rig.zappa_deploy(function_zip(aws))  # upstream's deploy schedules the events

    assert list(rule_targets(rig).values()) == [[ALIAS_ARN]]
    (mapping,) = rig.recorder.params("CreateEventSourceMapping")
    assert (mapping["FunctionName"], mapping["EventSourceArn"]) == (ALIAS_ARN, queue)
    assert {p["FunctionName"] for p in rig.recorder.params("AddPermission")} == {f"{FUNCTION}:{ALIAS}"}
    rig.recorder.clear()

    rig.cli.schedule()  # as `zappa update` does: the mapping is updated, still on the alias

    assert [p["FunctionName"] for p in rig.recorder.params("UpdateEventSourceMapping")] == [ALIAS_ARN]
    assert rig.recorder.params("CreateEventSourceMapping") == []
    assert list(rule_targets(rig).values()) == [[ALIAS_ARN]]


def test_existing_latest_mapping_is_repointed_in_place(aws: Path) -> None:
    queue = sqs_queue_arn()
    events = [{"function": "app.tasks.consume", "event_source": {"arn": queue}}]
    rig = deployed(aws, {"provisioned_concurrency": AUTOSCALED, "events": events})
    # What upstream alone would have created: a mapping on the unqualified function ($LATEST).
    legacy = rig.cli.zappa.lambda_client.create_event_source_mapping(FunctionName=FUNCTION_ARN, EventSourceArn=queue)
    rig.recorder.clear()

    rig.cli.schedule()

    updates = rig.recorder.params("UpdateEventSourceMapping")
    assert {"UUID": legacy["UUID"], "FunctionName": ALIAS_ARN} in updates
    assert all(p["FunctionName"] != FUNCTION_ARN for p in rig.recorder.params("CreateEventSourceMapping"))


def function_url_response(qualifier: str | None) -> dict[str, Any]:
    arn = f"{FUNCTION_ARN}:{qualifier}" if qualifier else FUNCTION_ARN
    url = f"https://{qualifier or 'latest'}.lambda-url.{REGION}.on.aws/"
    return {"FunctionUrl": url, "FunctionArn": arn, "AuthType": "NONE", "CreationTime": "2025-01-01T00:00:00Z"}


def updated_function_url(qualifier: str) -> dict[str, Any]:
    return {**function_url_response(qualifier), "LastModifiedTime": "2025-01-02T00:00:00Z"}


CORS = {
    "AllowCredentials": False,
    "AllowHeaders": ["*"],
    "AllowMethods": ["*"],
    "AllowOrigins": ["*"],
    "ExposeHeaders": ["*"],
    "MaxAge": 0,
}


def expect_new_alias_url(rig: Rig) -> None:
    rig.stubber.add_client_error(
        "get_function_url_config",
        service_error_code="ResourceNotFoundException",
        http_status_code=404,
        expected_params={"FunctionName": FUNCTION_ARN, "Qualifier": ALIAS},
    )
    rig.stubber.add_response(
        "create_function_url_config",
        {**function_url_response(ALIAS), "Cors": CORS},
        {"FunctionName": FUNCTION_ARN, "Qualifier": ALIAS, "AuthType": "NONE", "Cors": CORS},
    )


def test_function_url_is_created_on_the_alias(aws: Path) -> None:
    rig = make_rig(aws, {"provisioned_concurrency": AUTOSCALED, "function_url_enabled": True})
    rig.expect_put_pc("1", 2)
    rig.expect_get_pc("1", 2)
    expect_new_alias_url(rig)

    rig.zappa_deploy(function_zip(aws))

    rig.stubber.assert_no_pending_responses()
    permissions = rig.recorder.params("AddPermission")
    assert {p["FunctionName"] for p in permissions} == {ALIAS_ARN}
    assert {p["Action"] for p in permissions} == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}


def test_update_keeps_the_function_url_on_the_alias_and_flags_a_latest_url(
    aws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rig = make_rig(aws, {"provisioned_concurrency": 2, "function_url_enabled": True})
    rig.expect_put_pc("1", 2)
    rig.expect_get_pc("1", 2)
    expect_new_alias_url(rig)
    rig.zappa_deploy(function_zip(aws))
    rig.expect_put_pc("3", 2)  # an integer: no carry-over read, upstream's fixed PC
    rig.expect_get_pc("3", 2)
    rig.expect_delete_pc("1")
    rig.stubber.add_response(  # the alias URL from the deploy exists ...
        "get_function_url_config", updated_function_url(ALIAS), {"FunctionName": FUNCTION_ARN, "Qualifier": ALIAS}
    )
    rig.stubber.add_response(
        "update_function_url_config",
        {**updated_function_url(ALIAS), "Cors": CORS},
        {"FunctionName": FUNCTION_ARN, "Qualifier": ALIAS, "AuthType": "NONE", "Cors": CORS},
    )
    rig.stubber.add_response(  # ... and so does an old upstream URL on $LATEST
        "get_function_url_config",
        {**updated_function_url(ALIAS), **function_url_response(None)},
        {"FunctionName": FUNCTION_ARN},
    )
    capsys.readouterr()

    rig.cli.update(source_zip=str(function_zip(aws, "v2")))

    rig.stubber.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert "https://latest.lambda-url" in out and "invokes $LATEST" in out
    assert "update_lambda_function_url" not in vars(rig.cli.zappa)  # wrappers removed after the command


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_api_gateway_integration_invokes_the_alias(aws: Path, version: str) -> None:
    rig = make_rig(aws, {"provisioned_concurrency": AUTOSCALED, "apigateway_version": version})
    assert rig.cli.apigateway_lambda_qualifier == ALIAS

    template = rig.cli.zappa.create_stack_template(
        lambda_arn=FUNCTION_ARN,
        lambda_name=FUNCTION,
        api_key_required=False,
        iam_authorization=False,
        authorizer=None,
        apigateway_version=version,
        stage_name="pc",
        lambda_qualifier=rig.cli.apigateway_lambda_qualifier,
    )

    resources = json.loads(template.to_json())["Resources"]
    if version == "v1":
        uris = {
            r["Properties"]["Integration"]["Uri"] for r in resources.values() if r["Type"] == "AWS::ApiGateway::Method"
        }
        assert uris == {f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{ALIAS_ARN}/invocations"}
    else:
        (integration,) = [r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Integration"]
        assert integration["Properties"]["IntegrationUri"] == ALIAS_ARN
        (permission,) = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
        assert permission["Properties"]["FunctionName"] == ALIAS_ARN


def test_policy_name_is_stable() -> None:
    # Renaming it would orphan the policies of every deployed stage.
    assert POLICY_NAME == "zappa-eager-provisioned-concurrency"
