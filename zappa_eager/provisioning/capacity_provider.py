"""Capacity provider calls for Lambda Managed Instances: create or attach, wait until active, tag, delete.

What zappa-eager creates carries ``OWNER_TAG`` (the capacity provider, and the generated operator
role); undeploy deletes only what carries it, and a capacity provider only once no function version
of another function runs on it. Every call goes through the clients passed in (upstream's session:
endpoint overrides apply). Tooling module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import click
from botocore.exceptions import ClientError
from click import ClickException

from zappa_eager.provisioning.aws import error_code
from zappa_eager.provisioning.lmi_config import CapacityProviderSpec

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient

#: The tag (key) on everything zappa-eager creates for LMI; its value is the function name of the stage.
OWNER_TAG = "zappa-eager:lmi-stage"
#: AWS's managed policy with the least the operator role needs (EC2 instances, ENIs, volumes of LMI only).
OPERATOR_POLICY_ARN = "arn:aws:iam::aws:policy/AWSLambdaManagedEC2ResourceOperator"
OPERATOR_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
#: Capacity provider and role names are at most 64 characters.
NAME_LIMIT = 64
#: A new operator role takes a few seconds to be usable by Lambda (IAM is eventually consistent).
ROLE_RETRIES = 6


@dataclass(frozen=True)
class Waiting:
    """How long to poll, and how to pause between polls (tests pass a sleep that records instead of waiting)."""

    interval: float = 5.0
    timeout: float = 900.0
    sleep: Callable[[float], None] = time.sleep

    def rounds(self) -> Iterator[int]:
        attempts = max(1, int(self.timeout / self.interval) if self.interval > 0 else 1000)
        for attempt in range(attempts):
            if attempt:
                self.sleep(self.interval)
            yield attempt


def provider_name(function_name: str) -> str:
    return function_name[:NAME_LIMIT]


def operator_role_name(function_name: str) -> str:
    suffix = "-LMIOperator"
    return function_name[: NAME_LIMIT - len(suffix)] + suffix


def name_of(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def get(lambda_client: LambdaClient, name: str) -> dict[str, Any] | None:
    """The capacity provider (``CapacityProvider`` of GetCapacityProvider), or None when there is none."""
    try:
        response = lambda_client.get_capacity_provider(CapacityProviderName=name)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        return None
    return dict(response["CapacityProvider"])


def wait_active(lambda_client: LambdaClient, name: str, waiting: Waiting) -> dict[str, Any]:
    """Poll GetCapacityProvider until ``Active``; ``Failed`` (or the timeout) is an error naming the fix."""
    provider: dict[str, Any] | None = None
    for _ in waiting.rounds():
        provider = get(lambda_client, name)
        state = None if provider is None else provider["State"]
        if state == "Active":
            assert provider is not None
            return provider
        if state in ("Failed", "Deleting", None):
            raise ClickException(
                f"Capacity provider {name} is {state or 'missing'}: check its subnets, security groups and operator "
                "role (aws lambda get-capacity-provider), fix managed_instances, then run the command again."
            )
    raise ClickException(f"Capacity provider {name} is still {provider and provider['State']} after "
                         f"{waiting.timeout:.0f} s; run the command again once it is Active.")


def ensure_operator_role(iam: IAMClient, function_name: str) -> tuple[str, bool]:
    """The generated operator role's ARN (created, tagged and given AWS's operator policy if missing); created?"""
    name = operator_role_name(function_name)
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"], False
    except ClientError as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
    role = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(OPERATOR_TRUST),
        Description=f"Lambda Managed Instances operator role of {function_name} (zappa-eager)",
        Tags=[{"Key": OWNER_TAG, "Value": function_name}],
    )
    iam.attach_role_policy(RoleName=name, PolicyArn=OPERATOR_POLICY_ARN)
    click.echo(f"Created operator role {name} (policy AWSLambdaManagedEC2ResourceOperator only).")
    return role["Role"]["Arn"], True


def create(lambda_client: LambdaClient, name: str, spec: CapacityProviderSpec, role_arn: str, function_name: str,
           waiting: Waiting) -> None:
    """CreateCapacityProvider, tagged as ours; retried while a just-created operator role is not usable yet."""
    params: dict[str, Any] = {
        "CapacityProviderName": name,
        "VpcConfig": {"SubnetIds": list(spec.subnets), "SecurityGroupIds": list(spec.security_groups)},
        "PermissionsConfig": {"CapacityProviderOperatorRoleArn": role_arn},
        "CapacityProviderScalingConfig": spec.scaling_config(),
        "Tags": {OWNER_TAG: function_name},
    }
    if spec.instance_requirements():
        params["InstanceRequirements"] = spec.instance_requirements()
    for attempt in range(ROLE_RETRIES):
        try:
            lambda_client.create_capacity_provider(**params)
            click.echo(f"Creating capacity provider {name}..")
            return
        except ClientError as exc:
            retry = error_code(exc) == "InvalidParameterValueException" and "role" in str(exc).lower()
            if not retry or attempt == ROLE_RETRIES - 1:
                raise
            waiting.sleep(waiting.interval)


def update_scaling(lambda_client: LambdaClient, provider: Mapping[str, Any], spec: CapacityProviderSpec) -> bool:
    """UpdateCapacityProvider when the stage's scaling differs from the live one; True when it was updated."""
    wanted = spec.scaling_config()
    live = dict(provider.get("CapacityProviderScalingConfig") or {})
    if all(live.get(key) == value for key, value in wanted.items()):
        return False
    lambda_client.update_capacity_provider(CapacityProviderName=name_of(provider["CapacityProviderArn"]),
                                           CapacityProviderScalingConfig=cast(Any, wanted))
    click.echo(f"Updated the scaling of capacity provider {name_of(provider['CapacityProviderArn'])}.")
    return True


def owner(lambda_client: LambdaClient, arn: str) -> str | None:
    """The stage (function name) that created the capacity provider, or None when zappa-eager did not."""
    tags = lambda_client.list_tags(Resource=arn).get("Tags", {})
    return tags.get(OWNER_TAG)


def function_versions(lambda_client: LambdaClient, name: str) -> list[tuple[str, str]]:
    """``(function version ARN, state)`` of every function version on the capacity provider, all pages."""
    versions: list[tuple[str, str]] = []
    kwargs: dict[str, Any] = {"CapacityProviderName": name}
    while True:
        response = lambda_client.list_function_versions_by_capacity_provider(**kwargs)
        versions += [(item["FunctionArn"], item["State"]) for item in response.get("FunctionVersions", [])]
        marker = response.get("NextMarker")
        if not marker:
            return versions
        kwargs["Marker"] = marker


def function_of(version_arn: str) -> str:
    """``arn:...:function:NAME:3`` -> ``NAME``."""
    return version_arn.split(":")[6]


def delete_when_unused(lambda_client: LambdaClient, name: str, function_name: str, waiting: Waiting) -> bool:
    """Delete the capacity provider once only versions of ``function_name`` (being deleted) are gone from it.

    False (and it stays) when a version of another function runs on it, or ours are still there at the timeout.
    """
    for _ in waiting.rounds():
        versions = function_versions(lambda_client, name)
        others = sorted({function_of(arn) for arn, _ in versions} - {function_name})
        if others:
            click.echo(f"Capacity provider {name} stays: {', '.join(others)} still run on it.")
            return False
        if not versions:
            lambda_client.delete_capacity_provider(CapacityProviderName=name)
            click.echo(f"Deleted capacity provider {name}.")
            return True
    click.echo(f"Capacity provider {name} stays: versions of {function_name} were still being deleted; "
               f"delete it later with aws lambda delete-capacity-provider --capacity-provider-name {name}.")
    return False


def delete_operator_role(iam: IAMClient, function_name: str) -> bool:
    """Delete the generated operator role if it is there and tagged as this stage's; True when deleted."""
    name = operator_role_name(function_name)
    try:
        tags = iam.list_role_tags(RoleName=name).get("Tags", [])
    except ClientError as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
        return False
    if {"Key": OWNER_TAG, "Value": function_name} not in tags:
        return False
    iam.detach_role_policy(RoleName=name, PolicyArn=OPERATOR_POLICY_ARN)
    iam.delete_role(RoleName=name)
    click.echo(f"Deleted operator role {name}.")
    return True
