"""Small Lambda API reads shared by alias routing, the deploy steps and ``zappa status``.

Each answers "not there" as ``None`` (or a zero allocation) and lets any other error through.
Tooling module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def exists(call: Callable[..., Any], **kwargs: Any) -> bool:
    """True when ``call(**kwargs)`` answers, False on ResourceNotFoundException."""
    try:
        call(**kwargs)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        return False
    return True


def alias_version(lambda_client: LambdaClient, function_name: str, alias: str) -> str | None:
    """The version ``alias`` points to, or None when the alias does not exist."""
    try:
        response = lambda_client.get_alias(FunctionName=function_name, Name=alias)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        return None
    return str(response["FunctionVersion"])


def pc_allocation(lambda_client: LambdaClient, function_name: str, version: str) -> dict[str, Any]:
    """Allocated/requested/available PC of one version, with ``status`` "NONE" when it has none."""
    try:
        response = lambda_client.get_provisioned_concurrency_config(FunctionName=function_name, Qualifier=version)
    except ClientError as exc:
        if "NotFound" not in error_code(exc):
            raise
        return {"allocated": 0, "requested": 0, "available": 0, "status": "NONE"}
    return {
        "allocated": response.get("AllocatedProvisionedConcurrentExecutions", 0),
        "requested": response.get("RequestedProvisionedConcurrentExecutions", 0),
        "available": response.get("AvailableProvisionedConcurrentExecutions", 0),
        "status": response.get("Status", ""),
        "status_reason": response.get("StatusReason"),
    }


def function_url(lambda_client: LambdaClient, function_name: str, qualifier: str) -> str | None:
    """The function URL of ``qualifier``, or None when it has none."""
    try:
        response = lambda_client.get_function_url_config(FunctionName=function_name, Qualifier=qualifier)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        return None
    return str(response["FunctionUrl"])
