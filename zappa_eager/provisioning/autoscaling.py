"""Application Auto Scaling steps for Lambda provisioned concurrency.

Provisioned concurrency (PC) lives on a published *version* (upstream zappa's model: the
``provisioned-concurrency`` alias is only moved once the new version's PC is READY), so the
scalable target is ``function:NAME:VERSION`` for the version the alias points to. These are
plain functions over an ``application-autoscaling`` client so they can be tested with moto;
``zappa_eager.provisioning.deploy`` decides when to call them. Tooling module: never imported in Lambda.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypedDict

from botocore.exceptions import ClientError

from zappa_eager.provisioning.config import ProvisionedConcurrencyConfig

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_application_autoscaling.literals import ScalableDimensionType, ServiceNamespaceType
    from mypy_boto3_application_autoscaling.type_defs import (
        SuspendedStateTypeDef,
        TargetTrackingScalingPolicyConfigurationTypeDef,
    )

SERVICE_NAMESPACE: Final = "lambda"
SCALABLE_DIMENSION: Final = "lambda:function:ProvisionedConcurrency"
PREDEFINED_METRIC: Final = "LambdaProvisionedConcurrencyUtilization"
POLICY_NAME = "zappa-eager-provisioned-concurrency"



class _Target(TypedDict):
    """The keyword arguments naming Lambda PC in every Application Auto Scaling call."""

    ServiceNamespace: ServiceNamespaceType
    ScalableDimension: ScalableDimensionType


_TARGET: _Target = {"ServiceNamespace": SERVICE_NAMESPACE, "ScalableDimension": SCALABLE_DIMENSION}
_NOT_FOUND = ("ObjectNotFoundException", "ValidationException")


@dataclass(frozen=True)
class ScheduledActionState:
    """A scheduled action as AWS reports it (for ``zappa status``)."""

    name: str
    schedule: str
    min: int | None
    max: int | None


@dataclass(frozen=True)
class AutoscalingState:
    """What Application Auto Scaling currently holds for one scalable target."""

    resource_id: str
    min: int
    max: int
    suspended: bool
    target_utilization: float | None
    scale_in_cooldown: int | None
    scale_out_cooldown: int | None
    scheduled: tuple[ScheduledActionState, ...]


def resource_id(function_name: str, qualifier: str) -> str:
    """The scalable-target id of a function version (or alias)."""
    return f"function:{function_name}:{qualifier}"


def qualifier_of(target_id: str) -> str:
    """The version/alias part of ``function:NAME:QUALIFIER``."""
    return target_id.rsplit(":", 1)[-1]


def function_targets(client: ApplicationAutoScalingClient, function_name: str) -> list[str]:
    """Every PC scalable target registered for ``function_name`` (any qualifier)."""
    prefix = resource_id(function_name, "")
    return [
        t["ResourceId"]
        for t in _paginate(client, "describe_scalable_targets", "ScalableTargets", **_TARGET)
        if t["ResourceId"].startswith(prefix)
    ]


def policy_configuration(config: ProvisionedConcurrencyConfig) -> TargetTrackingScalingPolicyConfigurationTypeDef:
    """Target tracking on PC utilization, with the cooldowns only when the stage sets them."""
    body: TargetTrackingScalingPolicyConfigurationTypeDef = {
        "TargetValue": config.target_utilization,
        "PredefinedMetricSpecification": {"PredefinedMetricType": PREDEFINED_METRIC},
    }
    if config.scale_in_cooldown is not None:
        body["ScaleInCooldown"] = config.scale_in_cooldown
    if config.scale_out_cooldown is not None:
        body["ScaleOutCooldown"] = config.scale_out_cooldown
    return body


def apply_autoscaling(client: ApplicationAutoScalingClient, function_name: str, qualifier: str,
                      config: ProvisionedConcurrencyConfig) -> str:
    """Register the target (resumed), put the target-tracking policy, sync the scheduled actions."""
    target_id = resource_id(function_name, qualifier)
    client.register_scalable_target(
        ResourceId=target_id,
        MinCapacity=config.min,
        MaxCapacity=config.max,
        SuspendedState=_suspended_state(False),
        **_TARGET,
    )
    client.put_scaling_policy(
        PolicyName=POLICY_NAME,
        ResourceId=target_id,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=policy_configuration(config),
        **_TARGET,
    )
    _sync_scheduled_actions(client, target_id, config)
    return target_id


def set_suspended(client: ApplicationAutoScalingClient, target_id: str, suspended: bool) -> None:
    """Freeze (or resume) scaling of a target, e.g. while its version is being replaced."""
    client.register_scalable_target(ResourceId=target_id, SuspendedState=_suspended_state(suspended), **_TARGET)


def remove_autoscaling(client: ApplicationAutoScalingClient, target_id: str) -> None:
    """Delete the policies and scheduled actions, then deregister the target (each step idempotent)."""
    for policy in _policies(client, target_id):
        _ignore_missing(client.delete_scaling_policy, PolicyName=policy["PolicyName"], ResourceId=target_id, **_TARGET)
    for action in _scheduled_actions(client, target_id):
        _ignore_missing(
            client.delete_scheduled_action,
            ScheduledActionName=action["ScheduledActionName"],
            ResourceId=target_id,
            **_TARGET,
        )
    _ignore_missing(client.deregister_scalable_target, ResourceId=target_id, **_TARGET)


def target_policies(client: ApplicationAutoScalingClient, target_id: str) -> list[dict[str, Any]]:
    """The scaling policies of one target (with the ``Alarms`` AWS created for them)."""
    return _policies(client, target_id)


def target_scheduled_actions(client: ApplicationAutoScalingClient, target_id: str) -> list[dict[str, Any]]:
    return _scheduled_actions(client, target_id)


def delete_policy(client: ApplicationAutoScalingClient, target_id: str, name: str) -> None:
    """Delete one scaling policy (AWS deletes the alarms it created with it); gone already is success."""
    _ignore_missing(client.delete_scaling_policy, PolicyName=name, ResourceId=target_id, **_TARGET)


def delete_scheduled_action(client: ApplicationAutoScalingClient, target_id: str, name: str) -> None:
    _ignore_missing(client.delete_scheduled_action, ScheduledActionName=name, ResourceId=target_id, **_TARGET)


def deregister_target(client: ApplicationAutoScalingClient, target_id: str) -> None:
    _ignore_missing(client.deregister_scalable_target, ResourceId=target_id, **_TARGET)


def alarm_prefix(function_name: str) -> str:
    """How Application Auto Scaling names the alarms of a target-tracking policy on any of the function's targets."""
    return f"TargetTracking-{resource_id(function_name, '')}"


def describe_autoscaling(client: ApplicationAutoScalingClient, target_id: str) -> AutoscalingState | None:
    """The target's range, policy and scheduled actions, or None when it is not registered."""
    targets = client.describe_scalable_targets(ResourceIds=[target_id], **_TARGET)["ScalableTargets"]
    target = next((t for t in targets if t["ResourceId"] == target_id), None)
    if target is None:
        return None
    tracking: dict[str, Any] = next(
        (
            p.get("TargetTrackingScalingPolicyConfiguration", {})
            for p in _policies(client, target_id)
            if p["PolicyName"] == POLICY_NAME
        ),
        {},
    )
    suspended = target.get("SuspendedState") or {}
    return AutoscalingState(
        resource_id=target_id,
        min=target["MinCapacity"],
        max=target["MaxCapacity"],
        suspended=any(bool(v) for v in suspended.values()),
        target_utilization=tracking.get("TargetValue"),
        scale_in_cooldown=tracking.get("ScaleInCooldown"),
        scale_out_cooldown=tracking.get("ScaleOutCooldown"),
        scheduled=tuple(_action_state(a) for a in _scheduled_actions(client, target_id)),
    )


# -- helpers ---------------------------------------------------------------------------------
def _sync_scheduled_actions(client: ApplicationAutoScalingClient, target_id: str,
                            config: ProvisionedConcurrencyConfig) -> None:
    """Put the configured actions and delete the ones the stage no longer lists."""
    wanted = {action.name for action in config.scheduled}
    for action in config.scheduled:
        kwargs: dict[str, Any] = {
            "ScheduledActionName": action.name,
            "ResourceId": target_id,
            "Schedule": action.schedule,
            "ScalableTargetAction": action.target_action(),
        }
        if action.timezone:
            kwargs["Timezone"] = action.timezone
        client.put_scheduled_action(**kwargs, **_TARGET)
    for existing in _scheduled_actions(client, target_id):
        if existing["ScheduledActionName"] not in wanted:
            _ignore_missing(
                client.delete_scheduled_action,
                ScheduledActionName=existing["ScheduledActionName"],
                ResourceId=target_id,
                **_TARGET,
            )


def _policies(client: ApplicationAutoScalingClient, target_id: str) -> list[dict[str, Any]]:
    # Filter on the exact id: moto matches ResourceId as a substring ("function:f:1" in "...:12").
    found = _paginate(client, "describe_scaling_policies", "ScalingPolicies", ResourceId=target_id, **_TARGET)
    return [p for p in found if p["ResourceId"] == target_id]


def _scheduled_actions(client: ApplicationAutoScalingClient, target_id: str) -> list[dict[str, Any]]:
    found = _paginate(client, "describe_scheduled_actions", "ScheduledActions", ResourceId=target_id, **_TARGET)
    return [a for a in found if a["ResourceId"] == target_id]


def _action_state(action: dict[str, Any]) -> ScheduledActionState:
    target_action = action.get("ScalableTargetAction") or {}
    return ScheduledActionState(
        name=action["ScheduledActionName"],
        schedule=action.get("Schedule", ""),
        min=target_action.get("MinCapacity"),
        max=target_action.get("MaxCapacity"),
    )


def _paginate(client: ApplicationAutoScalingClient, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    return [item for page in _pages(client, operation, **kwargs) for item in page.get(key, [])]


def _pages(client: ApplicationAutoScalingClient, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    method = getattr(client, operation)
    while True:
        page = method(**kwargs)
        yield page
        token = page.get("NextToken")
        if not token:
            return
        kwargs["NextToken"] = token


def _suspended_state(suspended: bool) -> SuspendedStateTypeDef:
    return {
        "DynamicScalingInSuspended": suspended,
        "DynamicScalingOutSuspended": suspended,
        "ScheduledScalingSuspended": suspended,
    }


def _ignore_missing(call: Callable[..., object], **kwargs: Any) -> None:
    """Deleting something already gone is success (AAS reports it as ObjectNotFound/Validation)."""
    try:
        call(**kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _NOT_FOUND:
            raise
