"""deploy / update / rollback / undeploy / status on Lambda Managed Instances, against moto + Stubber.

moto (5.x) has IAM, S3, Lambda functions, versions and aliases, but none of the capacity provider API
nor function scaling configs: those go to a *stubbed* Lambda client whose Stubber checks each call's
parameters against botocore's service model and enforces their order. moto's Lambda calls go through
botocore too, so CreateFunction's and UpdateFunctionConfiguration's ``CapacityProviderConfig`` are
validated against the same model. Every call on every client is recorded in order. Nothing reaches AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import ANY
from click import ClickException
from moto import mock_aws
from provisioning_harness import (
    _CLI,
    ACCOUNT,
    DUMMY_ENV,
    FUNCTION,
    FUNCTION_ARN,
    REGION,
    STAGE,
    STUBBED_LAMBDA_OPS,
    HybridLambdaClient,
    Recorder,
    create_execution_role,
    function_zip,
    write_settings,
)

from zappa_eager.provisioning import capacity_provider as cp
from zappa_eager.provisioning.managed_instances import ALIAS

CP_NAME = FUNCTION
CP_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:capacity-provider:{CP_NAME}"
ROLE_NAME = cp.operator_role_name(FUNCTION)
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
SUBNETS = ["subnet-0aaa", "subnet-0bbb"]
GROUPS = ["sg-0123"]
CREATE = {"subnets": SUBNETS, "security_groups": GROUPS, "architectures": ["x86_64"], "instance_types": ["m7i.large"],
          "max_vcpus": 32, "scaling_mode": "manual", "target_cpu_utilization": 60,
          "per_environment_max_concurrency": 8, "memory_gib_per_vcpu": 4}
SCALING = {"ScalingMode": "Manual", "MaxVCpuCount": 32,
           "ScalingPolicies": [{"PredefinedMetricType": "LambdaCapacityProviderAverageCPUUtilization",
                                "TargetValue": 60.0}]}
FUNCTION_CONFIG = {"LambdaManagedInstancesCapacityProviderConfig": {
    "CapacityProviderArn": CP_ARN, "PerExecutionEnvironmentMaxConcurrency": 8,
    "ExecutionEnvironmentMemoryGiBPerVCpu": 4.0,
}}

#: Lambda operations moto lacks: the capacity provider API, function scaling configs, and tags of a capacity provider.
LMI_STUBBED = frozenset({
    "create_capacity_provider", "get_capacity_provider", "update_capacity_provider", "delete_capacity_provider",
    "list_function_versions_by_capacity_provider", "list_tags", "put_function_scaling_config",
    "get_function_scaling_config",
}) | STUBBED_LAMBDA_OPS
#: What the sequence tests compare: every LMI call, and those that make, publish, route or delete the function.
SEQUENCE = frozenset({
    "CreateCapacityProvider", "GetCapacityProvider", "UpdateCapacityProvider", "DeleteCapacityProvider",
    "ListFunctionVersionsByCapacityProvider", "ListTags", "PutFunctionScalingConfig", "GetFunctionScalingConfig",
    "CreateRole", "AttachRolePolicy", "DetachRolePolicy", "DeleteRole", "CreateFunction", "UpdateFunctionCode",
    "UpdateFunctionConfiguration", "PublishVersion", "CreateAlias", "UpdateAlias", "DeleteFunction",
})


class LmiLambdaClient(HybridLambdaClient):
    def __getattr__(self, name: str) -> Any:
        return getattr(self._stubbed if name in LMI_STUBBED else self._moto, name)


def provider(state: str = "Active", scaling: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"CapacityProvider": {
        "CapacityProviderArn": CP_ARN, "State": state,
        "VpcConfig": {"SubnetIds": SUBNETS, "SecurityGroupIds": GROUPS},
        "PermissionsConfig": {"CapacityProviderOperatorRoleArn": ROLE_ARN},
        "InstanceRequirements": {"Architectures": ["x86_64"], "AllowedInstanceTypes": ["m7i.large"]},
        "CapacityProviderScalingConfig": SCALING if scaling is None else scaling,
    }}


class Rig:
    def __init__(self, cli: _CLI, stubber: Any, recorder: Recorder, sleeps: list[float]) -> None:
        self.cli = cli
        self.stubber = stubber
        self.recorder = recorder
        self.sleeps = sleeps

    def sequence(self) -> list[str]:
        out = []
        for call in self.recorder.calls:
            if call.operation in SEQUENCE:
                detail = call.params.get("Qualifier") or call.params.get("FunctionVersion") or ""
                out.append(f"{call.operation}({detail})" if detail else call.operation)
        return out

    def expect(self, operation: str, response: dict[str, Any], params: dict[str, Any]) -> None:
        self.stubber.add_response(operation, response, params)

    def expect_missing(self, operation: str, params: dict[str, Any]) -> None:
        self.stubber.add_client_error(operation, service_error_code="ResourceNotFoundException",
                                      http_status_code=404, expected_params=params)

    def expect_get(self, state: str = "Active", scaling: dict[str, Any] | None = None) -> None:
        self.expect("get_capacity_provider", provider(state, scaling), {"CapacityProviderName": CP_NAME})

    def expect_versions(self, *versions: tuple[str, str]) -> None:
        self.expect("list_function_versions_by_capacity_provider",
                    {"CapacityProviderArn": CP_ARN,
                     "FunctionVersions": [{"FunctionArn": arn, "State": state} for arn, state in versions]},
                    {"CapacityProviderName": CP_NAME})

    def expect_ours(self, owner: str = FUNCTION) -> None:
        self.expect("list_tags", {"Tags": {cp.OWNER_TAG: owner}}, {"Resource": CP_ARN})

    def expect_no_function_urls(self) -> None:
        """Upstream's update asks for the function's URLs (moto lacks the call)."""
        self.expect("list_function_url_configs", {"FunctionUrlConfigs": []}, {"FunctionName": ANY, "MaxItems": 50})

    def expect_retire(self, version: str) -> None:
        self.expect("put_function_scaling_config", {"FunctionState": "Active"},
                    {"FunctionName": FUNCTION, "Qualifier": version,
                     "FunctionScalingConfig": {"MinExecutionEnvironments": 0, "MaxExecutionEnvironments": 0}})


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    for key, value in DUMMY_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        create_execution_role()
        _add_aws_managed_operator_policy()
        yield tmp_path


def _add_aws_managed_operator_policy() -> None:
    """AWS's AWSLambdaManagedEC2ResourceOperator exists in every account; moto's policy list predates it."""
    from moto.iam.models import AWSManagedPolicy, iam_backends

    backend = iam_backends[ACCOUNT]["global"]
    policy = AWSManagedPolicy.from_data("AWSLambdaManagedEC2ResourceOperator", ACCOUNT, "us-east-1", {
        "Path": "/", "DefaultVersionId": "v1", "CreateDate": "2025-11-30T00:00:00+00:00",
        "UpdateDate": "2025-11-30T00:00:00+00:00",
        "Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances",
                                                              "Resource": "*"}]},
    })
    backend.managed_policies[policy.arn] = policy


def make_rig(directory: Path, managed_instances: dict[str, Any], **stage: Any) -> Rig:
    from botocore.stub import Stubber

    path = write_settings(directory, {"runtime": "python3.13", "managed_instances": managed_instances, **stage})
    cli = _CLI()
    cli.api_stage = STAGE
    cli.load_settings(str(path))
    assert cli.lmi is not None
    recorder = Recorder()
    moto_lambda = cli.zappa.lambda_client
    stubbed = boto3.client("lambda", region_name=REGION)
    recorder.attach(moto_lambda)
    recorder.attach(stubbed)
    recorder.attach(cli.zappa.iam_client)
    stubber = Stubber(stubbed)
    stubber.activate()
    cli.zappa.lambda_client = LmiLambdaClient(moto_lambda, stubbed)
    sleeps: list[float] = []
    cli.lmi.waiting = cp.Waiting(interval=5.0, timeout=60.0, sleep=sleeps.append)
    return Rig(cli, stubber, recorder, sleeps)


def deployed(directory: Path, managed_instances: dict[str, Any] | None = None, **stage: Any) -> Rig:
    rig = make_rig(directory, CREATE if managed_instances is None else managed_instances, **stage)
    rig.expect_missing("get_capacity_provider", {"CapacityProviderName": CP_NAME})
    rig.expect("create_capacity_provider", provider("Pending"), ANY_CREATE)
    rig.expect_get("Active")
    rig.cli.deploy(source_zip=str(function_zip(directory)))
    rig.stubber.assert_no_pending_responses()
    rig.recorder.clear()
    return rig


ANY_CREATE: dict[str, Any] = {
    "CapacityProviderName": CP_NAME,
    "VpcConfig": {"SubnetIds": SUBNETS, "SecurityGroupIds": GROUPS},
    "PermissionsConfig": {"CapacityProviderOperatorRoleArn": ROLE_ARN},
    "CapacityProviderScalingConfig": SCALING,
    "InstanceRequirements": {"Architectures": ["x86_64"], "AllowedInstanceTypes": ["m7i.large"]},
    "Tags": {cp.OWNER_TAG: FUNCTION},
}


def alias_version(rig: Rig) -> str:
    return str(rig.cli.zappa.lambda_client.get_alias(FunctionName=FUNCTION, Name=ALIAS)["FunctionVersion"])


# -- deploy -----------------------------------------------------------------------------------
def test_deploy_creates_role_and_provider_waits_then_function_version_alias(aws: Path) -> None:
    rig = make_rig(aws, CREATE)
    rig.expect_missing("get_capacity_provider", {"CapacityProviderName": CP_NAME})
    rig.expect("create_capacity_provider", provider("Pending"), ANY_CREATE)
    rig.expect_get("Pending")
    rig.expect_get("Active")

    rig.cli.deploy(source_zip=str(function_zip(aws)))

    rig.stubber.assert_no_pending_responses()
    assert rig.sequence() == [
        "GetCapacityProvider", "CreateRole", "AttachRolePolicy", "CreateCapacityProvider",
        "GetCapacityProvider", "GetCapacityProvider",  # Pending, then Active
        "CreateFunction", "PublishVersion", "CreateAlias(1)",
    ]
    assert rig.sleeps == [5.0]  # one pause between the two polls
    (create,) = rig.recorder.params("CreateFunction")
    assert create["Publish"] is False  # one version, published once the configuration is final
    assert create["CapacityProviderConfig"] == FUNCTION_CONFIG
    assert alias_version(rig) == "1"
    iam = boto3.client("iam", region_name=REGION)
    role = iam.get_role(RoleName=ROLE_NAME)["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    policies = iam.list_attached_role_policies(RoleName=ROLE_NAME)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in policies] == [cp.OPERATOR_POLICY_ARN]  # nothing more than AWS's operator policy
    assert iam.list_role_policies(RoleName=ROLE_NAME)["PolicyNames"] == []


def test_deploy_attaches_an_existing_provider_without_creating_anything(aws: Path) -> None:
    rig = make_rig(aws, {"capacity_provider_arn": CP_ARN})
    rig.expect_get("Active")

    rig.cli.deploy(source_zip=str(function_zip(aws)))

    rig.stubber.assert_no_pending_responses()
    assert rig.sequence() == ["GetCapacityProvider", "CreateFunction", "PublishVersion", "CreateAlias(1)"]
    (create,) = rig.recorder.params("CreateFunction")
    assert create["CapacityProviderConfig"] == {
        "LambdaManagedInstancesCapacityProviderConfig": {"CapacityProviderArn": CP_ARN}}


def test_deploy_with_a_given_operator_role_creates_no_role(aws: Path) -> None:
    given = f"arn:aws:iam::{ACCOUNT}:role/TeamOperator"
    rig = make_rig(aws, {**CREATE, "operator_role_arn": given})
    rig.expect_missing("get_capacity_provider", {"CapacityProviderName": CP_NAME})
    rig.expect("create_capacity_provider", provider("Pending"),
               {**ANY_CREATE, "PermissionsConfig": {"CapacityProviderOperatorRoleArn": given}})
    rig.expect_get("Active")

    rig.cli.deploy(source_zip=str(function_zip(aws)))

    rig.stubber.assert_no_pending_responses()
    assert "CreateRole" not in rig.sequence()


def test_deploy_stops_before_the_function_when_the_provider_fails(aws: Path) -> None:
    rig = make_rig(aws, CREATE)
    rig.expect_missing("get_capacity_provider", {"CapacityProviderName": CP_NAME})
    rig.expect("create_capacity_provider", provider("Pending"), ANY_CREATE)
    rig.expect_get("Failed")

    with pytest.raises(ClickException, match="pcapp-pc is Failed: check its subnets"):
        rig.cli.deploy(source_zip=str(function_zip(aws)))

    assert "CreateFunction" not in rig.sequence()


def test_create_is_retried_while_a_new_operator_role_is_not_usable_yet(aws: Path) -> None:
    rig = make_rig(aws, CREATE)
    rig.expect_missing("get_capacity_provider", {"CapacityProviderName": CP_NAME})
    rig.stubber.add_client_error("create_capacity_provider", service_error_code="InvalidParameterValueException",
                                 service_message="The operator role cannot be assumed by Lambda",
                                 http_status_code=400, expected_params=ANY_CREATE)
    rig.expect("create_capacity_provider", provider("Pending"), ANY_CREATE)
    rig.expect_get("Active")

    rig.cli.deploy(source_zip=str(function_zip(aws)))

    rig.stubber.assert_no_pending_responses()
    assert rig.sequence().count("CreateCapacityProvider") == 2


def test_a_provider_of_that_name_that_is_not_ours_is_never_changed(aws: Path) -> None:
    rig = make_rig(aws, CREATE)
    rig.expect_get("Active", scaling={"ScalingMode": "Auto"})
    rig.expect_ours(owner="someone-else")

    with pytest.raises(ClickException, match=f'capacity_provider_arn": "{CP_ARN}"'):
        rig.cli.deploy(source_zip=str(function_zip(aws)))

    rig.stubber.assert_no_pending_responses()
    assert rig.sequence() == ["GetCapacityProvider", "ListTags"]


# -- update and rollback ----------------------------------------------------------------------
def test_update_publishes_once_moves_the_alias_and_retires_the_old_version(aws: Path) -> None:
    rig = deployed(aws)
    rig.expect_get("Active")  # scaling as configured: no UpdateCapacityProvider
    rig.expect_ours()
    rig.expect_no_function_urls()
    rig.expect_retire("1")

    rig.cli.update(source_zip=str(function_zip(aws, "v2")))

    rig.stubber.assert_no_pending_responses()
    assert rig.sequence() == [
        "GetCapacityProvider", "ListTags",
        "UpdateFunctionCode", "UpdateFunctionConfiguration",
        "PublishVersion", "UpdateAlias(2)", "PutFunctionScalingConfig(1)",
    ]
    (code,) = rig.recorder.params("UpdateFunctionCode")
    assert code["Publish"] is False
    (configuration,) = rig.recorder.params("UpdateFunctionConfiguration")
    assert configuration["CapacityProviderConfig"] == FUNCTION_CONFIG
    assert alias_version(rig) == "2"


def test_update_whose_version_fails_to_start_leaves_the_alias_where_it_was(
    aws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import WaiterError

    rig = deployed(aws)
    rig.expect_get("Active")
    rig.expect_ours()
    rig.expect_no_function_urls()

    def failed(function_name: str, version: str) -> None:
        raise WaiterError("PublishedVersionActive", "Waiter encountered a terminal failure state", {})

    monkeypatch.setattr(rig.cli.zappa, "wait_until_lambda_function_version_is_active", failed)
    with pytest.raises(ClickException, match="Version 2 did not become Active.*alias did not move"):
        rig.cli.update(source_zip=str(function_zip(aws, "v2")))

    rig.stubber.assert_no_pending_responses()
    assert alias_version(rig) == "1"
    assert "UpdateAlias" not in " ".join(rig.sequence()) and "PutFunctionScalingConfig" not in rig.sequence()


def test_update_applies_changed_scaling_to_our_provider(aws: Path) -> None:
    rig = deployed(aws)
    rig.expect_get("Active", scaling={"ScalingMode": "Auto"})
    rig.expect_ours()
    rig.expect("update_capacity_provider", provider("Active"),
               {"CapacityProviderName": CP_NAME, "CapacityProviderScalingConfig": SCALING})
    rig.expect_get("Active")
    rig.expect_no_function_urls()
    rig.expect_retire("1")

    rig.cli.update(source_zip=str(function_zip(aws, "v2")))

    rig.stubber.assert_no_pending_responses()
    assert rig.sequence()[:4] == ["GetCapacityProvider", "ListTags", "UpdateCapacityProvider", "GetCapacityProvider"]


def test_rollback_publishes_the_old_code_and_moves_the_alias(aws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rig = deployed(aws)
    rig.expect_get("Active")
    rig.expect_ours()
    rig.expect_no_function_urls()
    rig.expect_retire("1")
    rig.cli.update(source_zip=str(function_zip(aws, "v2")))
    rig.recorder.clear()
    old_code = function_zip(aws, "v1").read_bytes()
    monkeypatch.setattr("zappa.core.requests.get", lambda url: SimpleNamespace(status_code=200, content=old_code))
    rig.expect_get("Active")
    rig.expect_retire("2")

    rig.cli.rollback(1)

    rig.stubber.assert_no_pending_responses()
    assert rig.sequence() == ["GetCapacityProvider", "UpdateFunctionCode", "PublishVersion", "UpdateAlias(3)",
                              "PutFunctionScalingConfig(2)"]
    assert rig.recorder.params("UpdateFunctionCode")[0]["Publish"] is False
    assert alias_version(rig) == "3"


# -- undeploy ---------------------------------------------------------------------------------
def test_undeploy_deletes_our_provider_once_our_versions_are_gone_then_the_role(aws: Path) -> None:
    rig = deployed(aws)
    rig.expect_get("Active")
    rig.expect_ours()
    rig.expect_versions((f"{FUNCTION_ARN}:1", "Deleting"))
    rig.expect_versions()
    rig.expect("delete_capacity_provider", provider("Deleting"), {"CapacityProviderName": CP_NAME})

    rig.cli.undeploy(no_confirm=True)

    rig.stubber.assert_no_pending_responses()
    assert rig.sequence() == [
        "DeleteFunction", "GetCapacityProvider", "ListTags", "ListFunctionVersionsByCapacityProvider",
        "ListFunctionVersionsByCapacityProvider", "DeleteCapacityProvider", "DetachRolePolicy", "DeleteRole",
    ]
    with pytest.raises(Exception, match="NoSuchEntity|cannot be found"):
        boto3.client("iam", region_name=REGION).get_role(RoleName=ROLE_NAME)


def test_undeploy_leaves_a_provider_zappa_eager_did_not_create(aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = make_rig(aws, {"capacity_provider_arn": CP_ARN})
    rig.expect_get("Active")
    rig.cli.deploy(source_zip=str(function_zip(aws)))
    rig.recorder.clear()
    rig.expect_get("Active")
    rig.expect("list_tags", {"Tags": {"team": "web"}}, {"Resource": CP_ARN})

    rig.cli.undeploy(no_confirm=True)

    rig.stubber.assert_no_pending_responses()
    assert rig.sequence() == ["DeleteFunction", "GetCapacityProvider", "ListTags"]
    assert "zappa-eager did not create it" in capsys.readouterr().out


def test_undeploy_leaves_our_provider_while_another_function_runs_on_it(aws: Path) -> None:
    rig = deployed(aws)
    rig.expect_get("Active")
    rig.expect_ours()
    rig.expect_versions((f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other-app:4", "Active"))

    rig.cli.undeploy(no_confirm=True)

    rig.stubber.assert_no_pending_responses()
    assert "DeleteCapacityProvider" not in rig.sequence() and "DeleteRole" not in rig.sequence()
    boto3.client("iam", region_name=REGION).get_role(RoleName=ROLE_NAME)  # still there


# -- status -----------------------------------------------------------------------------------
def expect_status_reads(rig: Rig) -> None:
    rig.expect_get("Active")
    rig.expect("get_function_scaling_config",
               {"FunctionArn": f"{FUNCTION_ARN}:1",
                "AppliedFunctionScalingConfig": {"MinExecutionEnvironments": 3, "MaxExecutionEnvironments": 12}},
               {"FunctionName": FUNCTION, "Qualifier": "1"})


def test_status_shows_provider_scaling_and_the_alias_version(aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = deployed(aws)
    capsys.readouterr()
    expect_status_reads(rig)

    rig.cli.status()

    rig.stubber.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert "Status for pcapp-pc" in out  # upstream's part is still there
    for expected in (f"{CP_ARN} (Active)", "Manual, CPU target 60%, at most 32 vCPUs", "x86_64, m7i.large",
                     f"{ALIAS} -> version 1 (Active)", "min 3, max 12",
                     "capacity provider created by zappa-eager; 8 concurrent per environment; 4 GiB per vCPU"):
        assert expected in out
    # moto keeps no CapacityProviderConfig on a version: the live per-environment row needs AWS's answer.
    assert "LMI Per Environment" not in out


def test_status_json_stays_one_document(aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = deployed(aws)
    capsys.readouterr()
    expect_status_reads(rig)

    rig.cli.status(return_json=True)

    status = json.loads(capsys.readouterr().out)
    assert status["Lambda Name"] == FUNCTION
    lmi = status["Managed Instances"]
    assert lmi["capacity_provider"]["state"] == "Active" and lmi["capacity_provider"]["max_vcpus"] == 32
    assert (lmi["version"], lmi["environments"]) == ("1", {"min": 3, "max": 12})
    assert lmi["configured"].endswith("8 concurrent per environment; 4 GiB per vCPU")


# -- callers ----------------------------------------------------------------------------------
def test_keep_warm_is_off_and_api_gateway_targets_the_alias(aws: Path) -> None:
    rig = make_rig(aws, {"capacity_provider_arn": CP_ARN})
    assert rig.cli.stage_config["keep_warm"] is False
    assert rig.cli.apigateway_lambda_qualifier == ALIAS
    template = rig.cli.zappa.create_stack_template(
        lambda_arn=FUNCTION_ARN, lambda_name=FUNCTION, api_key_required=False, iam_authorization=False,
        authorizer=None, apigateway_version="v2", stage_name=STAGE,
        lambda_qualifier=rig.cli.apigateway_lambda_qualifier,
    )
    resources = json.loads(template.to_json())["Resources"]
    (integration,) = [r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Integration"]
    assert integration["Properties"]["IntegrationUri"] == f"{FUNCTION_ARN}:{ALIAS}"


def test_events_are_scheduled_on_the_alias(aws: Path) -> None:
    events = [{"function": "app.tick", "expression": "rate(5 minutes)"}]
    rig = make_rig(aws, {"capacity_provider_arn": CP_ARN}, events=events)
    rig.expect_get("Active")
    rig.cli.deploy(source_zip=str(function_zip(aws)))
    rules = boto3.client("events", region_name=REGION)
    names = [r["Name"] for r in rules.list_rules()["Rules"]]
    targets = [t["Arn"] for name in names for t in rules.list_targets_by_rule(Rule=name)["Targets"]]
    assert targets and all(arn == f"{FUNCTION_ARN}:{ALIAS}" for arn in targets)


def test_revert_to_upstream_refuses_an_lmi_stage_before_any_aws_call(
    aws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from zappa_eager.provisioning.revert import run_revert_command

    write_settings(aws, {"runtime": "python3.13", "managed_instances": {"capacity_provider_arn": CP_ARN}})
    cli = _CLI()
    calls: list[str] = []
    import botocore.session

    original = botocore.session.Session.create_client

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-call.*.*", lambda event_name, **_: calls.append(event_name))
        return client

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session.Session, "create_client", counting)
        code = run_revert_command(cli, [STAGE, "--dry-run"])

    assert code == 1
    assert "runs on Lambda Managed Instances" in capsys.readouterr().err
    assert calls == []  # refused before any AWS call
