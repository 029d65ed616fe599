"""What ``zappa status`` adds for provisioned concurrency: the alias, its PC and its autoscaling.

``collect`` reads the state from AWS into a plain dict (the ``"Provisioned Concurrency"`` object
of ``zappa status --json``); ``lines`` lays it out as upstream's table rows. Tooling module.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click

from zappa_eager.provisioning.autoscaling import AutoscalingState, describe_autoscaling, qualifier_of, resource_id
from zappa_eager.provisioning.aws import alias_version, function_url, pc_allocation
from zappa_eager.provisioning.config import ProvisionedConcurrencyConfig
from zappa_eager.provisioning.routing import PC_ALIAS

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_lambda import LambdaClient

#: The key of our object in ``zappa status --json``.
JSON_KEY = "Provisioned Concurrency"
T = TypeVar("T")


def collect(
    lambda_client: LambdaClient,
    autoscaling_client: ApplicationAutoScalingClient,
    function_name: str,
    config: ProvisionedConcurrencyConfig,
    *,
    with_function_url: bool,
) -> dict[str, Any]:
    """The alias's version, its allocated/requested PC, the live scaling range and the alias's function URL."""
    version = alias_version(lambda_client, function_name, PC_ALIAS)
    status: dict[str, Any] = {"alias": PC_ALIAS, "version": version, "configured": config.describe()}
    if version is not None:
        status.update(pc_allocation(lambda_client, function_name, version))
        status["autoscaling"] = None
        if config.autoscaling:
            state = describe_autoscaling(autoscaling_client, resource_id(function_name, version))
            status["autoscaling"] = autoscaling_dict(state) if state else None
    if with_function_url:
        status["function_url"] = function_url(lambda_client, function_name, PC_ALIAS)
    return status


def lines(status: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``(title, value)`` rows for upstream's status table."""
    version = status.get("version")
    rows: list[tuple[str, Any]] = [("PC Configured", status["configured"])]
    if version is None:
        return [*rows, ("PC Alias", f"{status['alias']} (missing: run zappa update)")]
    rows.append(("PC Alias", f"{status['alias']} -> version {version}"))
    rows.append(("PC Allocated / Requested", f"{status['allocated']} / {status['requested']} ({status['status']})"))
    scaling = status.get("autoscaling")
    if scaling:
        suffix = " (suspended)" if scaling["suspended"] else ""
        rows.append(("PC Scaling Range", f"{scaling['min']}-{scaling['max']}{suffix}"))
        target = scaling["target_utilization"]
        rows.append(("PC Target Utilization", "none" if target is None else f"{target:.0%}"))
        for action in scaling["scheduled"]:
            rows.append(
                (
                    "PC Scheduled Action",
                    f"{action['name']}: {action['schedule']} (min {action['min']}, max {action['max']})",
                )
            )
    if "function_url" in status:
        rows.append(("Function URL (PC alias)", status["function_url"] or "Not configured"))
    return rows


def merge_json(upstream_output: str, status: dict[str, Any], key: str = JSON_KEY) -> str:
    """Upstream's one JSON document with our object added (appended as a second one if it is not JSON)."""
    try:
        merged = json.loads(upstream_output)
    except ValueError:
        return upstream_output.rstrip("\n") + "\n" + json.dumps({key: status})
    merged[key] = status
    return json.dumps(merged)


def show_status(upstream: Callable[..., T], return_json: bool, status: Callable[[], dict[str, Any]],
                rows: Callable[[dict[str, Any]], list[tuple[str, str]]], key: str) -> T:
    """Upstream's ``zappa status``, then ours: rows in its tabular layout, or ``key`` added to its JSON document."""
    if not return_json:
        result = upstream(return_json=False)
        for title, value in rows(status()):
            label = click.style("\t" + title, fg="green") + ":"
            click.echo(f"{label:<32}{value}")  # upstream's tabular_print layout
        return result
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        result = upstream(return_json=True)
    print(merge_json(captured.getvalue(), status(), key))
    return result


def autoscaling_dict(state: AutoscalingState) -> dict[str, Any]:
    return {
        "resource_id": state.resource_id,
        "version": qualifier_of(state.resource_id),
        "min": state.min,
        "max": state.max,
        "suspended": state.suspended,
        "target_utilization": state.target_utilization,
        "scale_in_cooldown": state.scale_in_cooldown,
        "scale_out_cooldown": state.scale_out_cooldown,
        "scheduled": [{"name": a.name, "schedule": a.schedule, "min": a.min, "max": a.max} for a in state.scheduled],
    }
