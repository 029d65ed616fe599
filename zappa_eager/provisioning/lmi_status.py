"""What ``zappa status`` adds for Lambda Managed Instances: the capacity provider, its scaling, the alias's version.

``collect`` reads the state into a plain dict (the ``"Managed Instances"`` object of
``zappa status --json``); ``lines`` lays it out as upstream's table rows. Tooling module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from zappa_eager.provisioning import capacity_provider as cp
from zappa_eager.provisioning.aws import error_code

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

#: The key of our object in ``zappa status --json``.
JSON_KEY = "Managed Instances"


def collect(lambda_client: LambdaClient, function_name: str, provider_name: str, alias: str,
            *, version: str | None, configured: str) -> dict[str, Any]:
    """The capacity provider (state, scaling, instances) and the alias's version (state, config, environments)."""
    status: dict[str, Any] = {"configured": configured, "capacity_provider": None, "alias": alias, "version": version}
    provider = cp.get(lambda_client, provider_name)
    if provider is not None:
        scaling = provider.get("CapacityProviderScalingConfig") or {}
        policies = scaling.get("ScalingPolicies") or []
        requirements = provider.get("InstanceRequirements") or {}
        status["capacity_provider"] = {
            "arn": provider["CapacityProviderArn"],
            "state": provider["State"],
            "scaling_mode": scaling.get("ScalingMode", "Auto"),
            "max_vcpus": scaling.get("MaxVCpuCount"),
            "target_cpu_utilization": policies[0]["TargetValue"] if policies else None,
            "architectures": list(requirements.get("Architectures") or []),
            "instance_types": list(requirements.get("AllowedInstanceTypes") or []),
            "subnets": list(provider["VpcConfig"]["SubnetIds"]),
        }
    if version is not None:
        config = lambda_client.get_function_configuration(FunctionName=function_name, Qualifier=version)
        lmi = (config.get("CapacityProviderConfig") or {}).get("LambdaManagedInstancesCapacityProviderConfig") or {}
        status["version_state"] = config.get("State")
        status["per_environment_max_concurrency"] = lmi.get("PerExecutionEnvironmentMaxConcurrency")
        status["memory_gib_per_vcpu"] = lmi.get("ExecutionEnvironmentMemoryGiBPerVCpu")
        status["environments"] = _environments(lambda_client, function_name, version)
    return status


def _environments(lambda_client: LambdaClient, function_name: str, version: str) -> dict[str, Any] | None:
    try:
        response = lambda_client.get_function_scaling_config(FunctionName=function_name, Qualifier=version)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        return None
    applied = response.get("AppliedFunctionScalingConfig") or {}
    return {"min": applied.get("MinExecutionEnvironments"), "max": applied.get("MaxExecutionEnvironments")}


def lines(status: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``(title, value)`` rows for upstream's status table."""
    provider = status.get("capacity_provider")
    rows: list[tuple[str, Any]] = [("LMI Configured", status["configured"])]
    if provider is None:
        rows.append(("LMI Capacity Provider", "missing (run zappa deploy or update)"))
    else:
        scaling = provider["scaling_mode"]
        if provider["target_cpu_utilization"] is not None:
            scaling += f", CPU target {provider['target_cpu_utilization']:g}%"
        if provider["max_vcpus"] is not None:
            scaling += f", at most {provider['max_vcpus']} vCPUs"
        instances = ", ".join(provider["architectures"] + provider["instance_types"]) or "chosen by Lambda"
        rows += [
            ("LMI Capacity Provider", f"{provider['arn']} ({provider['state']})"),
            ("LMI Scaling", scaling),
            ("LMI Instances", instances),
        ]
    version = status.get("version")
    if version is None:
        return [*rows, ("LMI Alias", f"{status['alias']} (missing: run zappa update)")]
    rows.append(("LMI Alias", f"{status['alias']} -> version {version} ({status.get('version_state')})"))
    per_env = status.get("per_environment_max_concurrency")
    ratio = status.get("memory_gib_per_vcpu")
    if per_env is not None or ratio is not None:  # what the live version runs with
        rows.append(("LMI Per Environment", f"{per_env or 'AWS default'} concurrent, {ratio or 2:g} GiB per vCPU"))
    environments = status.get("environments")
    if environments:
        rows.append(("LMI Environments", f"min {environments['min']}, max {environments['max']}"))
    return rows

