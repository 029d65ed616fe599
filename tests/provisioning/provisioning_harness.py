"""Shared rig for the provisioned-concurrency tests: moto for AWS, botocore Stubber where moto falls short.

moto 5.2.5 models Lambda functions, versions, aliases, EventBridge, SQS and Application Auto Scaling,
but not Put/Get/Delete/ListProvisionedConcurrencyConfig nor function URLs with a qualifier. Those
operations go to a second, *stubbed* Lambda client (its Stubber checks every parameter against the
real service model); everything else goes to moto. Every call, on every client, is recorded in order.
Nothing reaches AWS: dummy credentials, and every client is created inside ``mock_aws``.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber
from zappa.cli import ZappaCLI

from zappa_eager.provisioning import ProvisionedConcurrencyMixin

REGION = "us-east-1"
ACCOUNT = "123456789012"
STAGE = "pc"
PROJECT = "pcapp"
FUNCTION = f"{PROJECT}-{STAGE}"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
ALIAS = "provisioned-concurrency"
ALIAS_ARN = f"{FUNCTION_ARN}:{ALIAS}"
DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}

#: Lambda operations moto 5.2.5 lacks (or lacks the Qualifier of): served by the stubbed client.
STUBBED_LAMBDA_OPS = frozenset(
    {
        "put_provisioned_concurrency_config",
        "get_provisioned_concurrency_config",
        "delete_provisioned_concurrency_config",
        "list_provisioned_concurrency_configs",
        "create_function_url_config",
        "get_function_url_config",
        "update_function_url_config",
        "delete_function_url_config",
        "list_function_url_configs",
    }
)

#: The operations that change PC, aliases, versions or autoscaling: what the sequence tests compare.
MUTATIONS = frozenset(
    {
        "CreateFunction",
        "UpdateFunctionCode",
        "PublishVersion",
        "PutProvisionedConcurrencyConfig",
        "GetProvisionedConcurrencyConfig",
        "DeleteProvisionedConcurrencyConfig",
        "CreateAlias",
        "UpdateAlias",
        "DeleteFunction",
        "RegisterScalableTarget",
        "PutScalingPolicy",
        "PutScheduledAction",
        "DeleteScalingPolicy",
        "DeleteScheduledAction",
        "DeregisterScalableTarget",
    }
)


class _CLI(ProvisionedConcurrencyMixin, ZappaCLI):  # type: ignore[misc]
    """The mixin composed as the lead's EagerZappaCLI composes it."""


@dataclass
class Call:
    operation: str
    params: dict[str, Any]

    def short(self) -> str:
        """``Operation(qualifier or resource)`` — enough to read a sequence at a glance."""
        p = self.params
        detail = p.get("Qualifier") or p.get("ResourceId") or p.get("FunctionVersion") or ""
        if self.operation == "RegisterScalableTarget" and p.get("SuspendedState", {}).get("DynamicScalingInSuspended"):
            detail += " suspend"
        if self.operation == "PutScheduledAction":
            detail += f" {p['ScheduledActionName']}"
        return f"{self.operation}({detail})" if detail else self.operation


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)

    def attach(self, client: Any) -> None:
        # before-parameter-build fires for every call, even when a Stubber answers it.
        client.meta.events.register("before-parameter-build.*.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append(Call(model.name, dict(params)))

    def names(self) -> list[str]:
        return [c.operation for c in self.calls]

    def mutations(self) -> list[str]:
        return [c.short() for c in self.calls if c.operation in MUTATIONS]

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.operation == operation]

    def clear(self) -> None:
        self.calls.clear()


class HybridLambdaClient:
    """A Lambda client: PC and function-URL operations to the stubbed client, the rest to moto."""

    def __init__(self, moto_client: Any, stubbed_client: Any) -> None:
        self._moto = moto_client
        self._stubbed = stubbed_client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stubbed if name in STUBBED_LAMBDA_OPS else self._moto, name)

    def get_function(self, FunctionName: str, **kwargs: Any) -> Any:  # noqa: N803 - boto3's keyword
        """moto cannot resolve upstream rollback's partial form ``function:NAME:VERSION``."""
        parts = FunctionName.split(":")
        if len(parts) == 3 and parts[0] == "function" and "Qualifier" not in kwargs:
            return self._moto.get_function(FunctionName=parts[1], Qualifier=parts[2])
        return self._moto.get_function(FunctionName=FunctionName, **kwargs)


@dataclass
class Rig:
    cli: _CLI
    stubber: Stubber
    recorder: Recorder
    settings_path: Path

    # -- stub shortcuts: each queues one expected call on the stubbed Lambda client ----------
    def expect_put_pc(self, version: str, count: int) -> None:
        self.stubber.add_response(
            "put_provisioned_concurrency_config",
            {"RequestedProvisionedConcurrentExecutions": count, "Status": "IN_PROGRESS"},
            {"FunctionName": _any(), "Qualifier": version, "ProvisionedConcurrentExecutions": count},
        )

    def expect_get_pc(self, version: str, count: int, status: str = "READY", reason: str | None = None) -> None:
        response: dict[str, Any] = {
            "RequestedProvisionedConcurrentExecutions": count,
            "AvailableProvisionedConcurrentExecutions": count if status == "READY" else 0,
            "AllocatedProvisionedConcurrentExecutions": count if status == "READY" else 0,
            "Status": status,
        }
        if reason:
            response["StatusReason"] = reason
        self.stubber.add_response(
            "get_provisioned_concurrency_config", response, {"FunctionName": FUNCTION, "Qualifier": version}
        )

    def expect_no_pc(self, version: str) -> None:
        self.stubber.add_client_error(
            "get_provisioned_concurrency_config",
            service_error_code="ProvisionedConcurrencyConfigNotFoundException",
            http_status_code=404,
            expected_params={"FunctionName": FUNCTION, "Qualifier": version},
        )

    def expect_delete_pc(self, version: str) -> None:
        self.stubber.add_response(
            "delete_provisioned_concurrency_config", {}, {"FunctionName": FUNCTION, "Qualifier": version}
        )

    def expect_list_pc(self, *versions: str) -> None:
        configs = [{"FunctionArn": f"{FUNCTION_ARN}:{v}", "Status": "READY"} for v in versions]
        self.stubber.add_response(
            "list_provisioned_concurrency_configs",
            {"ProvisionedConcurrencyConfigs": configs},
            {"FunctionName": FUNCTION},
        )

    def expect_no_function_urls(self) -> None:
        self.stubber.add_response(
            "list_function_url_configs", {"FunctionUrlConfigs": []}, {"FunctionName": _any(), "MaxItems": 50}
        )

    def zappa_deploy(self, zip_path: Path) -> None:
        self.cli.deploy(source_zip=str(zip_path))


def _any() -> Any:
    from botocore.stub import ANY

    return ANY


def write_settings(directory: Path, stage: dict[str, Any], extra_stages: dict[str, Any] | None = None) -> Path:
    base = {
        "project_name": PROJECT,
        "aws_region": REGION,
        "s3_bucket": "pcapp-bucket",
        "runtime": "python3.11",
        "apigateway_enabled": False,
        "touch": False,
    }
    settings = {STAGE: {**base, **stage}, **(extra_stages or {})}
    path = directory / "zappa_settings.json"
    path.write_text(json.dumps(settings))
    return path


def function_zip(directory: Path, body: str = "v1") -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("handler.py", f"def lambda_handler(event, context):\n    return {body!r}\n")
    path = directory / f"package-{body}.zip"
    path.write_bytes(buffer.getvalue())
    return path


def create_execution_role() -> None:
    boto3.client("iam", region_name=REGION).create_role(
        RoleName=f"{FUNCTION}-ZappaLambdaExecutionRole",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )


def make_rig(directory: Path, stage: dict[str, Any]) -> Rig:
    """Load settings through the mixin, then wire the hybrid Lambda client and recorders. Call inside mock_aws."""
    path = write_settings(directory, stage)
    cli = _CLI()
    cli.api_stage = STAGE
    cli.load_settings(str(path))
    recorder = Recorder()
    moto_lambda = cli.zappa.lambda_client
    stubbed_lambda = boto3.client("lambda", region_name=REGION)
    recorder.attach(moto_lambda)
    recorder.attach(stubbed_lambda)
    stubber = Stubber(stubbed_lambda)
    stubber.activate()
    cli.zappa.lambda_client = HybridLambdaClient(moto_lambda, stubbed_lambda)
    autoscaling = boto3.client("application-autoscaling", region_name=REGION)
    if cli.pc is not None:
        cli.pc.autoscaling = autoscaling
    recorder.attach(autoscaling)
    recorder.attach(cli.zappa.events_client)
    # Clients made later from upstream's session (event sources make their own) inherit this hook.
    cli.zappa.boto_session.events.register("before-parameter-build.*.*", recorder._record)
    return Rig(cli=cli, stubber=stubber, recorder=recorder, settings_path=path)
