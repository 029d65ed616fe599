"""``zappa revert-to-upstream`` against moto, with botocore's Stubber for what moto lacks (PC, qualified URLs).

A stage is deployed by zappa-eager's own commands (autoscaled PC, an EventBridge schedule, an
SQS mapping, optionally a function URL, all on the alias, and zappa-eager's handler.py), then
reverted through ``EagerZappaCLI.handle`` as a user would run it. The upstream update inside
packages a real (tiny) project with upstream's packaging from a small virtualenv. The Stubber
checks the order and parameters of every PC and function-URL call against the service model.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
import zappa.handler
from botocore.stub import ANY, Stubber
from moto import mock_aws
from moto.awslambda.models import LambdaBackend, LambdaStorage, lambda_backends
from provisioning_harness import (
    ACCOUNT,
    ALIAS,
    ALIAS_ARN,
    DUMMY_ENV,
    FUNCTION,
    FUNCTION_ARN,
    REGION,
    STAGE,
    HybridLambdaClient,
    Recorder,
    write_settings,
)

from zappa_eager.cli import EagerZappaCLI
from zappa_eager.packaging.runtime_files import HANDLER_FILE
from zappa_eager.provisioning import revert_code

AUTOSCALED = {
    "min": 2,
    "max": 10,
    "target_utilization": 0.6,
    "scheduled": [{"name": "nights", "schedule": "cron(0 20 * * ? *)", "min": 1, "max": 4}],
}
V1 = "function:pcapp-pc:1"
NAMESPACE = {"ServiceNamespace": "lambda"}
#: What Application Auto Scaling creates with a target-tracking policy (moto does not model them).
ALARMS = (f"TargetTracking-{V1}-AlarmHigh-1a2b", f"TargetTracking-{V1}-AlarmLow-3c4d")


# -- the deployed zappa-eager stage -----------------------------------------------------------------
class AliasPolicyClient(HybridLambdaClient):
    """Also the alias's resource policy to the stubbed client: moto files a qualified permission on the function."""

    def get_policy(self, **kwargs: Any) -> Any:
        return (self._stubbed if "Qualifier" in kwargs else self._moto).get_policy(**kwargs)

    def remove_permission(self, **kwargs: Any) -> Any:
        return (self._stubbed if "Qualifier" in kwargs else self._moto).remove_permission(**kwargs)


class Rig:
    """An ``EagerZappaCLI`` wired like the provisioning harness: moto, plus a stubbed client for PC and URLs."""

    def __init__(self, directory: Path, stage: dict[str, Any]) -> None:
        self.directory = directory
        self.settings = write_settings(directory, stage)
        self.recorder = Recorder()
        self.stubbed = boto3.client("lambda", region_name=REGION)
        self.recorder.attach(self.stubbed)
        self.stubber = Stubber(self.stubbed)
        self.stubber.activate()
        self.cli = self.new_cli()
        self.cli.load_settings(str(self.settings))

    def new_cli(self) -> EagerZappaCLI:
        """A fresh CLI whose Zappa objects get the hybrid client (as ``handle`` builds one per command)."""
        rig = self

        class WiredCLI(EagerZappaCLI):
            def load_settings(self, settings_file: str | None = None, session: Any = None) -> Any:
                result = super().load_settings(settings_file or str(rig.settings), session)
                rig.wire(self)
                return result

        cli = WiredCLI()
        cli.api_stage = STAGE
        return cli

    def wire(self, cli: EagerZappaCLI) -> None:
        zappa = cli.zappa
        if not isinstance(zappa.lambda_client, HybridLambdaClient):
            self.recorder.attach(zappa.lambda_client)
            zappa.lambda_client = AliasPolicyClient(zappa.lambda_client, self.stubbed)
        zappa.boto_session.events.register("before-parameter-build.*.*", self.recorder._record)
        self.recorder.attach(zappa.events_client)

    # -- stubbed answers, in the order the code asks -------------------------------------------
    def pc_list(self, **versions: int) -> None:
        configs = [
            {"FunctionArn": f"{FUNCTION_ARN}:{v}", "RequestedProvisionedConcurrentExecutions": n, "Status": "READY"}
            for v, n in versions.items()
        ]
        self.stubber.add_response("list_provisioned_concurrency_configs", {"ProvisionedConcurrencyConfigs": configs},
                                  {"FunctionName": FUNCTION})

    def pc_get(self, version: str, count: int, status: str = "READY") -> None:
        ready = status == "READY"
        self.stubber.add_response(
            "get_provisioned_concurrency_config",
            {"RequestedProvisionedConcurrentExecutions": count, "AllocatedProvisionedConcurrentExecutions":
             count if ready else 0, "AvailableProvisionedConcurrentExecutions": count if ready else 0,
             "Status": status, **({} if ready else {"StatusReason": "FUNCTION_ERROR_INIT_FAILURE"})},
            {"FunctionName": FUNCTION, "Qualifier": version},
        )

    def pc_put(self, version: str, count: int) -> None:
        self.stubber.add_response(
            "put_provisioned_concurrency_config",
            {"RequestedProvisionedConcurrentExecutions": count, "Status": "IN_PROGRESS"},
            {"FunctionName": ANY, "Qualifier": version, "ProvisionedConcurrentExecutions": count},
        )

    def pc_delete(self, version: str) -> None:
        self.stubber.add_response("delete_provisioned_concurrency_config", {},
                                  {"FunctionName": FUNCTION, "Qualifier": version})

    def url_get(self, qualifier: str | None, url: str | None) -> None:
        params: dict[str, Any] = {"FunctionName": FUNCTION}
        if qualifier:
            params["Qualifier"] = qualifier
        if url is None:
            self.stubber.add_client_error("get_function_url_config", service_error_code="ResourceNotFoundException",
                                          http_status_code=404, expected_params=params)
            return
        arn = f"{FUNCTION_ARN}:{qualifier}" if qualifier else FUNCTION_ARN
        self.stubber.add_response("get_function_url_config", url_config(url, arn), params)

    def alias_policy(self, *statements: dict[str, Any]) -> None:
        params = {"FunctionName": FUNCTION, "Qualifier": ALIAS}
        if not statements:
            self.stubber.add_client_error("get_policy", service_error_code="ResourceNotFoundException",
                                          http_status_code=404, expected_params=params)
            return
        policy = {"Version": "2012-10-17", "Id": "default", "Statement": list(statements)}
        self.stubber.add_response("get_policy", {"Policy": json.dumps(policy), "RevisionId": "1"}, params)

    def remove_permission(self, sid: str) -> None:
        self.stubber.add_response("remove_permission", {},
                                  {"FunctionName": FUNCTION, "Qualifier": ALIAS, "StatementId": sid})

    def url_list(self, *configs: tuple[str, str]) -> None:
        listed = [url_config(url, arn) for url, arn in configs]
        self.stubber.add_response("list_function_url_configs", {"FunctionUrlConfigs": listed},
                                  {"FunctionName": ANY, "MaxItems": 50})


def url_config(url: str, arn: str, *, created: bool = False) -> dict[str, Any]:
    """A function URL as Lambda answers it (CreateFunctionUrlConfig's answer has no LastModifiedTime)."""
    config = {"FunctionUrl": url, "FunctionArn": arn, "AuthType": "NONE", "CreationTime": "2025-01-01T00:00:00Z"}
    return config if created else {**config, "LastModifiedTime": "2025-01-01T00:00:00Z"}


ALIAS_URL = "https://alias.lambda-url.us-east-1.on.aws/"
LATEST_URL = "https://latest.lambda-url.us-east-1.on.aws/"


def eager_package(directory: Path) -> Path:
    """What ``zappa package`` ships with eager init: zappa-eager's handler.py at the root."""
    path = directory / "eager-package.zip"
    with zipfile.ZipFile(path, "w") as package:
        package.writestr("handler.py", HANDLER_FILE.read_text())
        package.writestr("zappa_settings.py", "EAGER_INIT = True\n")
    return path


def serve_code_from_moto(url: str, timeout: float = 0) -> SimpleNamespace:
    """GetFunction's Code.Location, answered from moto's copy of the code (moto's URL is not reachable)."""
    storage = lambda_backends[ACCOUNT][REGION]._lambdas
    record = storage._functions[FUNCTION]
    for function in [record["latest"], *record["versions"]]:
        if url.endswith("/" + function.code.get("S3Key", "")):
            return SimpleNamespace(content=function.code_bytes, status_code=200, raise_for_status=lambda: None)
    raise AssertionError(f"no code behind {url}")


def code_of(qualifier: str | None = None) -> zipfile.ZipFile:
    client = boto3.client("lambda", region_name=REGION)
    kwargs = {"FunctionName": FUNCTION, **({"Qualifier": qualifier} if qualifier else {})}
    location = client.get_function(**kwargs)["Code"]["Location"]
    return zipfile.ZipFile(io.BytesIO(serve_code_from_moto(location).content))


def create_execution_role_as_upstream_does() -> None:
    """The role upstream's update reads back (its trust policy must name Lambda's principal)."""
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {
        "Service": ["apigateway.amazonaws.com", "lambda.amazonaws.com", "events.amazonaws.com"]}}]}
    boto3.client("iam", region_name=REGION).create_role(
        RoleName=f"{FUNCTION}-ZappaLambdaExecutionRole", AssumeRolePolicyDocument=json.dumps(trust))


def repoint_like_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto 5.2.5 lists mappings by the FunctionName they were *created* with, even after UpdateEventSourceMapping
    moved them; AWS lists them under the function they invoke. Without this, upstream's schedule would not find
    the mapping re-pointed to $LATEST and would add a second one: moto's gap, not the code's."""
    original = LambdaBackend.update_event_source_mapping

    def update_event_source_mapping(self: LambdaBackend, uuid: str, spec: dict[str, Any]) -> Any:
        mapping = original(self, uuid, spec)
        if mapping is not None and "FunctionName" in spec:
            mapping.function_name = spec["FunctionName"]
        return mapping

    monkeypatch.setattr(LambdaBackend, "update_event_source_mapping", update_event_source_mapping)


def versions_keep_their_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto 5.2.5 publishes a version as a shallow copy of $LATEST, so the next UpdateFunctionCode rewrites the
    version's Code.Location too; on AWS a published version's code never changes."""
    original = LambdaStorage.publish_version

    def publish_version(self: LambdaStorage, name_or_arn: str, description: str = "") -> Any:
        version = original(self, name_or_arn, description)
        if version is not None:
            version.code = dict(version.code)
        return version

    monkeypatch.setattr(LambdaStorage, "publish_version", publish_version)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    for key, value in DUMMY_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    project = tmp_path / "project"
    (project / "app").mkdir(parents=True)
    (project / "app" / "__init__.py").write_text("")
    (project / "app" / "tasks.py").write_text("def nightly(event, context):\n    return 'ran'\n")
    venv = tmp_path / "venv"  # upstream packages the active virtualenv's site-packages: keep it small
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    site.mkdir(parents=True)
    (site / "tiny_dependency.py").write_text("VALUE = 1\n")
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    monkeypatch.chdir(project)
    monkeypatch.setattr(revert_code.requests, "get", serve_code_from_moto)
    repoint_like_aws(monkeypatch)
    versions_keep_their_code(monkeypatch)
    with mock_aws():
        create_execution_role_as_upstream_does()
        boto3.client("s3", region_name=REGION).create_bucket(Bucket="pcapp-bucket")
        yield project


def sqs_queue_arn() -> str:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def deploy_eager(directory: Path, *, function_url: bool = False) -> Rig:
    """zappa-eager's deploy: PC 2 on version 1, autoscaling, the rule and the mapping on the alias."""
    queue = sqs_queue_arn()
    stage: dict[str, Any] = {
        "provisioned_concurrency": AUTOSCALED,
        "events": [
            {"function": "app.tasks.nightly", "expression": "rate(1 day)"},
            {"function": "app.tasks.consume", "event_source": {"arn": queue, "batch_size": 5}},
        ],
        "eager_init_warmup": ["/"],
    }
    if function_url:
        stage["function_url_enabled"] = True
    rig = Rig(directory, stage)
    rig.pc_put("1", 2)
    rig.pc_get("1", 2)
    if function_url:
        rig.stubber.add_client_error("get_function_url_config", service_error_code="ResourceNotFoundException",
                                     http_status_code=404, expected_params={"FunctionName": FUNCTION_ARN,
                                                                            "Qualifier": ALIAS})
        rig.stubber.add_response(
            "create_function_url_config", url_config(ALIAS_URL, ALIAS_ARN, created=True) | {"Cors": ANY_CORS},
            {"FunctionName": FUNCTION_ARN, "Qualifier": ALIAS, "AuthType": "NONE", "Cors": ANY},
        )
    rig.cli.deploy(source_zip=str(eager_package(directory)))
    rig.stubber.assert_no_pending_responses()
    if function_url:  # moto filed the alias's URL permissions on the function; AWS keeps them on the alias (stubbed)
        for sid in ("FunctionURLAllowPublicAccess", "FunctionURLAllowPublicAccessInvoke"):
            boto3.client("lambda", region_name=REGION).remove_permission(FunctionName=FUNCTION, StatementId=sid)
    aas = boto3.client("application-autoscaling", region_name=REGION)
    assert [t["ResourceId"] for t in aas.describe_scalable_targets(**NAMESPACE)["ScalableTargets"]] == [V1]
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    for name in ALARMS:  # moto's AAS does not create them: put them where AWS would
        cloudwatch.put_metric_alarm(AlarmName=name, MetricName="ProvisionedConcurrencyUtilization",
                                    Namespace="AWS/Lambda", Statistic="Average", Period=60, EvaluationPeriods=3,
                                    Threshold=0.6, ComparisonOperator="GreaterThanThreshold")
    rig.recorder.clear()
    return rig


ANY_CORS = {"AllowCredentials": False, "AllowHeaders": ["*"], "AllowMethods": ["*"], "AllowOrigins": ["*"],
            "ExposeHeaders": ["*"], "MaxAge": 0}


def statement(sid: str, principal: Any, action: str = "lambda:InvokeFunction") -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": action, "Resource": ALIAS_ARN}


#: The alias's policy after zappa-eager's deploy: the rule's permission, and API Gateway's (upstream's, kept).
EVENTS_PERMISSION = statement("EVENTS1", {"Service": "events.amazonaws.com"})
APIGATEWAY_PERMISSION = statement("APIGW1", {"Service": "apigateway.amazonaws.com"})


def expect_discovery(rig: Rig, *, pc: dict[str, int], alias_version: str, alias_url: str | None = None,
                     latest_url: str | None = None, url_enabled: bool = False,
                     policy: tuple[dict[str, Any], ...] = (APIGATEWAY_PERMISSION,)) -> None:
    """The stubbed reads of one plan, in phase order: PC list, URLs, the alias's policy, the alias version's PC."""
    rig.pc_list(**pc)
    rig.url_get(ALIAS, alias_url)
    if alias_url and url_enabled:
        rig.url_get(None, latest_url)
    rig.alias_policy(*policy)
    rig.pc_get(alias_version, pc.get(alias_version, 0))


def run(rig: Rig, *args: str) -> int:
    return int(rig.new_cli().handle(["revert-to-upstream", STAGE, *args]))


# -- the AWS state the tests compare ------------------------------------------------------------
def aws_state() -> dict[str, Any]:
    aas = boto3.client("application-autoscaling", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    lam = boto3.client("lambda", region_name=REGION)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    rules = {}
    for arn in (FUNCTION_ARN, ALIAS_ARN):
        for name in events.list_rule_names_by_target(TargetArn=arn)["RuleNames"]:
            rules[name] = sorted(t["Arn"] for t in events.list_targets_by_rule(Rule=name)["Targets"])
    with code_of() as package:
        handler = package.read("handler.py")
    return {
        "targets": [t["ResourceId"] for t in aas.describe_scalable_targets(**NAMESPACE)["ScalableTargets"]],
        "policies": [p["PolicyName"] for p in aas.describe_scaling_policies(**NAMESPACE)["ScalingPolicies"]],
        "actions": [a["ScheduledActionName"] for a in aas.describe_scheduled_actions(**NAMESPACE)["ScheduledActions"]],
        "alarms": [a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]],
        "rules": rules,
        "mappings": [m["FunctionArn"] for m in lam.list_event_source_mappings()["EventSourceMappings"]],
        "alias": lam.get_alias(FunctionName=FUNCTION, Name=ALIAS)["FunctionVersion"],
        "versions": [v["Version"] for v in lam.list_versions_by_function(FunctionName=FUNCTION)["Versions"]],
        "handler": handler,
    }


def rules_on_alias(state: dict[str, Any]) -> list[str]:
    return [name for name, arns in state["rules"].items() if ALIAS_ARN in arns]


# -- the tests ---------------------------------------------------------------------------------
def test_dry_run_lists_every_change_in_order_and_makes_none(aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = deploy_eager(aws)
    before = aws_state()
    expect_discovery(rig, pc={"1": 2}, alias_version="1", policy=(EVENTS_PERMISSION, APIGATEWAY_PERMISSION))
    capsys.readouterr()

    assert run(rig, "--dry-run") == 0

    rig.stubber.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert aws_state() == before
    mutating = {"Delete", "Deregister", "Put", "Update", "Add", "Remove", "Create", "Publish", "Register"}
    assert [c.operation for c in rig.recorder.calls if any(c.operation.startswith(m) for m in mutating)] == []
    reads = {"DescribeScalableTargets", "DescribeAlarms", "ListTargetsByRule", "GetFunction"}
    assert reads <= set(rig.recorder.names())  # the recorder saw every client the plan reads with
    phases = [out.index(f"{n}. ") for n in range(1, 5)]
    assert phases == sorted(phases)
    expected = [
        f"scaling policy zappa-eager-provisioned-concurrency on {V1}",
        f"scheduled action nights on {V1} deleted",
        f"scalable target {V1} deregistered",
        f"CloudWatch alarm {ALARMS[0]} deleted",
        f"CloudWatch alarm {ALARMS[1]} deleted",
        "EventBridge rule pcapp-pc-app.tasks.nightly: target",
        "event source mapping",
        "alias permission EVENTS1 (lambda:InvokeFunction by events.amazonaws.com) removed",
        "zappa update pc with eager_init off ($LATEST; version 1 ('provisioned-concurrency' alias)): ",
    ]
    assert all(text in out for text in expected), out
    positions = [out.index(text) for text in expected]
    assert positions == sorted(positions), out
    assert "[9] zappa update pc" in out and "[10]" not in out
    assert "APIGW1" not in out  # upstream's own permission for API Gateway on the alias stays
    assert "Dry run: nothing was changed" in out
    assert '"provisioned_concurrency": 2' in out and "eager_init_warmup" in out
    assert 'Set "keep_warm": false' in out


def test_full_run_leaves_aws_as_upstream_would_and_a_second_run_does_nothing(
        aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = deploy_eager(aws)
    queue_mapping = boto3.client("lambda", region_name=REGION).list_event_source_mappings()["EventSourceMappings"][0]
    expect_discovery(rig, pc={"1": 2}, alias_version="1", policy=(EVENTS_PERMISSION, APIGATEWAY_PERMISSION))
    rig.remove_permission("EVENTS1")
    # upstream's update: PC 2 on the new version (3: 2 is the code-only one), READY, alias moved, 1's released
    rig.pc_put("3", 2)
    rig.pc_get("3", 2)
    rig.pc_delete("1")
    rig.url_list()  # function_url_enabled off: upstream deletes whatever URL the function has (none)
    expect_discovery(rig, pc={"3": 2}, alias_version="3")  # the check after the run

    assert run(rig, "--yes") == 0

    rig.stubber.assert_no_pending_responses()
    state = aws_state()
    assert (state["targets"], state["policies"], state["actions"], state["alarms"]) == ([], [], [], [])
    assert rules_on_alias(state) == []
    assert state["rules"]["pcapp-pc-app.tasks.nightly"] == [FUNCTION_ARN]
    assert "pcapp-pc-zappa-keep-warm-handler.keep_warm_callback" in state["rules"]  # upstream's default, on $LATEST
    assert state["mappings"] == [FUNCTION_ARN]
    updates = rig.recorder.params("UpdateEventSourceMapping")
    assert {"UUID": queue_mapping["UUID"], "FunctionName": FUNCTION_ARN} in updates  # moved in place, not recreated
    assert rig.recorder.params("CreateEventSourceMapping") == []
    assert state["alias"] == "3"
    zappa_handler = Path(zappa.handler.__file__).read_bytes()
    assert state["handler"] == zappa_handler
    with code_of(state["alias"]) as package:
        assert package.read("handler.py") == zappa_handler
        assert not any(name.startswith("zappa_eager/") for name in package.namelist())
        assert b"EAGER_INIT" not in package.read("zappa_settings.py")
        assert "tiny_dependency.py" in package.namelist()  # upstream's packaging of the virtualenv
    out = capsys.readouterr().out
    assert "Done: 9 change(s) made" in out, out
    assert "pip uninstall -y zappa-eager" in out

    rig.recorder.clear()
    expect_discovery(rig, pc={"3": 2}, alias_version="3")

    assert run(rig, "--yes") == 0

    rig.stubber.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert "Nothing to do: pcapp-pc is already as upstream Zappa leaves it." in out
    assert out.count("nothing to do") == 4
    assert aws_state() == state
    assert [c.operation for c in rig.recorder.calls if c.operation.startswith(("Update", "Delete", "Put"))] == []


def test_the_alias_function_url_is_replaced_by_one_on_latest(aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = deploy_eager(aws, function_url=True)
    url_permissions = (statement("FunctionURLAllowPublicAccess", "*", "lambda:InvokeFunctionUrl"),
                       statement("FunctionURLAllowPublicAccessInvoke", "*"))
    expect_discovery(rig, pc={"1": 2}, alias_version="1", alias_url=ALIAS_URL, latest_url=None, url_enabled=True,
                     policy=(EVENTS_PERMISSION, APIGATEWAY_PERMISSION, *url_permissions))
    rig.stubber.add_response("create_function_url_config",
                             url_config(LATEST_URL, FUNCTION_ARN, created=True) | {"Cors": ANY_CORS},
                             {"FunctionName": FUNCTION_ARN, "AuthType": "NONE", "Cors": ANY})
    rig.stubber.add_response("delete_function_url_config", {}, {"FunctionName": FUNCTION, "Qualifier": ALIAS})
    for sid in ("EVENTS1", "FunctionURLAllowPublicAccess", "FunctionURLAllowPublicAccessInvoke"):
        rig.remove_permission(sid)
    rig.pc_put("3", 2)
    rig.pc_get("3", 2)
    rig.pc_delete("1")
    rig.url_list((LATEST_URL, FUNCTION_ARN))  # upstream's update finds only the $LATEST URL now ...
    rig.stubber.add_response("update_function_url_config", url_config(LATEST_URL, FUNCTION_ARN) | {"Cors": ANY_CORS},
                             {"FunctionName": FUNCTION_ARN, "AuthType": "NONE", "Cors": ANY})
    rig.pc_list(**{"3": 2})  # ... and the check after the run finds nothing left
    rig.url_get(ALIAS, None)
    rig.alias_policy(APIGATEWAY_PERMISSION)
    rig.pc_get("3", 2)

    assert run(rig, "--yes") == 0

    rig.stubber.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert out.index("function URL created on $LATEST") < out.index(f"function URL {ALIAS_URL} of the alias deleted")
    assert out.index("of the alias deleted") < out.index("zappa update pc with eager_init off")
    url_permissions = [p for p in rig.recorder.params("AddPermission") if "FunctionURL" in p["StatementId"]]
    assert url_permissions and {p["FunctionName"] for p in url_permissions} == {FUNCTION_ARN}
    assert out.index("alias permission FunctionURLAllowPublicAccess ") > out.index("of the alias deleted")


def test_an_error_midway_leaves_a_state_that_a_rerun_completes(aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = deploy_eager(aws)
    expect_discovery(rig, pc={"1": 2}, alias_version="1")
    rig.pc_put("3", 2)
    rig.pc_get("3", 2, status="FAILED")  # the new version's INIT fails: upstream's wait raises, the alias stays

    assert run(rig, "--yes") == 1

    rig.stubber.assert_no_pending_responses()
    out = capsys.readouterr()
    assert "has not moved" in out.err and "run zappa revert-to-upstream pc again" in out.err
    half = aws_state()
    assert half["targets"] == [] and rules_on_alias(half) == [] and half["alias"] == "1"
    assert half["handler"] == Path(zappa.handler.__file__).read_bytes()  # $LATEST has upstream's code already

    rig.recorder.clear()
    # The rerun lists only what is left: version 3's PC (nothing routes to it) and the alias's old code.
    expect_discovery(rig, pc={"1": 2, "3": 2}, alias_version="1")
    rig.stubber.add_response("delete_provisioned_concurrency_config", {}, {"FunctionName": FUNCTION,
                                                                           "Qualifier": "3"})
    rig.pc_put("5", 2)
    rig.pc_get("5", 2)
    rig.pc_delete("1")
    rig.url_list()
    expect_discovery(rig, pc={"5": 2}, alias_version="5")

    assert run(rig, "--yes") == 0

    rig.stubber.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert "[1] provisioned concurrency 2 of version 3 released" in out
    assert "[2] zappa update pc" in out and "[3]" not in out
    done = aws_state()
    assert done["alias"] == "5" and rules_on_alias(done) == []
    with code_of("5") as package:
        assert package.read("handler.py") == Path(zappa.handler.__file__).read_bytes()


def test_without_a_terminal_it_asks_for_yes_and_changes_nothing(aws: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    rig = deploy_eager(aws)
    before = aws_state()
    expect_discovery(rig, pc={"1": 2}, alias_version="1")

    assert run(rig) == 1

    assert "--yes" in capsys.readouterr().err
    assert aws_state() == before


def test_bad_provisioned_concurrency_option_fails_before_any_aws_call(aws: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    rig = Rig(aws, {"provisioned_concurrency": {"min": 1, "max": 5}, "lambda_concurrency": 5})
    rig.recorder.clear()

    assert run(rig, "--dry-run", "--provisioned-concurrency", "9") == 1

    err = capsys.readouterr().err
    assert "--provisioned-concurrency 9 must be at least 1 and at most lambda_concurrency (5)" in err
    assert rig.recorder.calls == []


def test_the_command_is_registered_with_one_line_of_help() -> None:
    from zappa_eager.cli import EXTRA_COMMANDS, load_command
    from zappa_eager.provisioning.revert import run_revert_command

    assert load_command("revert-to-upstream") is run_revert_command
    assert "--dry-run" in EXTRA_COMMANDS["revert-to-upstream"][0]


def test_a_failed_call_in_the_callers_phase_stops_there_and_a_rerun_finishes(
        aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = deploy_eager(aws)
    expect_discovery(rig, pc={"1": 2}, alias_version="1", policy=(EVENTS_PERMISSION, APIGATEWAY_PERMISSION))
    rig.stubber.add_client_error("remove_permission", service_error_code="ServiceException", http_status_code=500,
                                 expected_params={"FunctionName": FUNCTION, "Qualifier": ALIAS,
                                                  "StatementId": "EVENTS1"})

    assert run(rig, "--yes") == 1

    rig.stubber.assert_no_pending_responses()
    assert "change [8] failed" in capsys.readouterr().err
    half = aws_state()
    assert half["targets"] == [] and rules_on_alias(half) == [] and half["mappings"] == [FUNCTION_ARN]
    assert b"zappa_eager" in half["handler"]  # phase 4 never started
    assert rig.recorder.params("UpdateFunctionCode") == []

    expect_discovery(rig, pc={"1": 2}, alias_version="1", policy=(EVENTS_PERMISSION, APIGATEWAY_PERMISSION))
    rig.remove_permission("EVENTS1")
    rig.pc_put("3", 2)
    rig.pc_get("3", 2)
    rig.pc_delete("1")
    rig.url_list()
    expect_discovery(rig, pc={"3": 2}, alias_version="3")

    assert run(rig, "--yes") == 0

    rig.stubber.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert "[1] alias permission EVENTS1" in out and "[2] zappa update pc" in out and "[3]" not in out
    assert aws_state()["handler"] == Path(zappa.handler.__file__).read_bytes()


def test_a_stage_without_provisioned_concurrency_only_gets_upstreams_package(
        aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = Rig(aws, {"keep_warm": False})
    rig.cli.deploy(source_zip=str(eager_package(aws)))
    rig.stubber.add_response("list_provisioned_concurrency_configs", {"ProvisionedConcurrencyConfigs": []},
                             {"FunctionName": FUNCTION})
    rig.url_get(ALIAS, None)
    rig.alias_policy()
    rig.url_list()  # upstream's update: no function URL in the settings, none to delete
    rig.stubber.add_response("list_provisioned_concurrency_configs", {"ProvisionedConcurrencyConfigs": []},
                             {"FunctionName": FUNCTION})
    rig.url_get(ALIAS, None)
    rig.alias_policy()
    capsys.readouterr()

    assert run(rig, "--yes") == 0

    rig.stubber.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert "[1] zappa update pc with eager_init off ($LATEST)" in out and "[2]" not in out
    assert "provisioned_concurrency" not in out.split("Now edit", 1)[1]
    assert aws_state_without_alias()["handler"] == Path(zappa.handler.__file__).read_bytes()


def aws_state_without_alias() -> dict[str, Any]:
    with code_of() as package:
        return {"handler": package.read("handler.py")}


def test_an_sns_subscription_moves_from_the_alias_to_latest(aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="orders")["TopicArn"]
    source = {"arn": topic, "events": ["sns:Publish"]}
    rig = Rig(aws, {"provisioned_concurrency": 2, "keep_warm": False,
                    "events": [{"function": "app.tasks.nightly", "event_source": source}]})
    rig.pc_put("1", 2)
    rig.pc_get("1", 2)
    rig.cli.deploy(source_zip=str(eager_package(aws)))
    endpoints = [s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]]
    assert endpoints == [ALIAS_ARN]
    expect_discovery(rig, pc={"1": 2}, alias_version="1")
    rig.pc_put("3", 2)
    rig.pc_get("3", 2)
    rig.pc_delete("1")
    rig.url_list()
    expect_discovery(rig, pc={"3": 2}, alias_version="3")
    capsys.readouterr()

    assert run(rig, "--yes") == 0

    rig.stubber.assert_no_pending_responses()
    assert f"SNS source {topic}: the alias's subscription replaced by one on $LATEST" in capsys.readouterr().out
    endpoints = [s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]]
    assert endpoints == [FUNCTION_ARN]


def test_a_stage_that_is_not_deployed_is_a_clear_error(aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = Rig(aws, {"provisioned_concurrency": 2})

    assert run(rig, "--dry-run") == 1

    assert "pcapp-pc does not exist: stage 'pc' is not deployed" in capsys.readouterr().err


def test_a_rule_that_already_runs_twice_loses_its_alias_target(aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = deploy_eager(aws)
    events = boto3.client("events", region_name=REGION)
    rule = "pcapp-pc-app.tasks.nightly"
    (alias_target,) = events.list_targets_by_rule(Rule=rule)["Targets"]
    events.put_targets(Rule=rule, Targets=[{"Id": "upstream", "Arn": FUNCTION_ARN}])  # upstream's update ran first
    expect_discovery(rig, pc={"1": 2}, alias_version="1")
    rig.pc_put("3", 2)
    rig.pc_get("3", 2)
    rig.pc_delete("1")
    rig.url_list()
    expect_discovery(rig, pc={"3": 2}, alias_version="3")

    assert run(rig, "--yes") == 0

    rig.stubber.assert_no_pending_responses()
    assert "(the alias) removed; the rule also invokes $LATEST" in capsys.readouterr().out
    names = rig.recorder.names()
    assert rig.recorder.params("RemoveTargets")[0] == {"Rule": rule, "Ids": [alias_target["Id"]]}
    assert names.index("RemoveTargets") < names.index("UpdateFunctionCode")
    assert "PutTargets" not in names[: names.index("UpdateFunctionCode")]  # removed, not re-targeted to a 2nd $LATEST
    assert aws_state()["rules"][rule] == [FUNCTION_ARN]
