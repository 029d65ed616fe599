"""Alias routing: upstream's callers that it leaves on ``$LATEST`` are pointed at the PC alias.

Upstream binds schedules (keep-warm, ``events``), event sources and the function URL to the
unqualified function, i.e. ``$LATEST``, which never has provisioned concurrency. While
``route_callers_to_alias`` is active, thin wrappers over five upstream ``Zappa`` methods hand
the original the alias ARN instead; they are set with ``zappa_eager.patching.patched`` and so
removed exactly when the command ends. Tooling module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

import click
from botocore.exceptions import ClientError
from zappa.core import PROVISIONED_CONCURRENCY_LAMBDA_ALIAS

from zappa_eager.patching import patched
from zappa_eager.provisioning.aws import error_code, exists

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_lambda.type_defs import (
        CreateFunctionUrlConfigResponseTypeDef,
        UpdateFunctionUrlConfigResponseTypeDef,
    )

    FunctionUrlResponse = UpdateFunctionUrlConfigResponseTypeDef | CreateFunctionUrlConfigResponseTypeDef

#: The alias upstream maintains for provisioned concurrency; every PC caller should invoke it.
PC_ALIAS: str = PROVISIONED_CONCURRENCY_LAMBDA_ALIAS
#: Event sources Lambda polls (event source mappings); upstream never re-creates these on update.
PULL_SERVICES = ("dynamodb", "kinesis", "sqs")


def unqualified_arn(arn: str) -> str:
    return ":".join(arn.split(":")[:7])


def is_qualified_arn(arn: str) -> bool:
    return len(arn.split(":")) > 7


@contextlib.contextmanager
def route_callers_to_alias(zappa: Any, alias: str = PC_ALIAS) -> Iterator[None]:
    """While active, upstream's schedules, event sources and function URL target ``alias`` (re-entrant)."""
    if getattr(zappa, "_zappa_eager_routing", None) == alias:
        yield
        return
    routing = AliasRouting(zappa, alias)
    with contextlib.ExitStack() as stack:
        for name in AliasRouting.WRAPPED:
            wrap = getattr(routing, f"wrap_{name}")
            stack.enter_context(patched(zappa, name, wrap(getattr(zappa, name))))
        stack.enter_context(patched(zappa, "_zappa_eager_routing", alias))
        yield


class AliasRouting:
    """Thin wrappers over upstream ``Zappa`` methods; each delegates to the original with the alias ARN."""

    WRAPPED = (
        "schedule_events",
        "unschedule_events",
        "get_event_rules_for_lambda",
        "deploy_lambda_function_url",
        "update_lambda_function_url",
    )

    def __init__(self, zappa: Any, alias: str) -> None:
        self.zappa = zappa
        self.alias = alias
        self.upstream_unschedule_events: Callable[..., Any] = zappa.unschedule_events  # before it is wrapped

    @property
    def lambda_client(self) -> LambdaClient:
        return cast("LambdaClient", self.zappa.lambda_client)  # upstream is untyped

    def alias_arn(self, arn: str) -> str:
        return str(self.zappa._get_qualified_lambda_arn(unqualified_arn(arn), self.alias))

    def alias_name(self, name: str | None) -> str | None:
        return name if name is None or ":" in name else f"{name}:{self.alias}"

    # CloudWatch rules (keep-warm, `events` expressions) and event sources.
    def wrap_schedule_events(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def schedule_events(
            lambda_arn: str, lambda_name: str, events: list[dict[str, Any]], default: bool = True
        ) -> Any:
            base = unqualified_arn(lambda_arn)
            # What an earlier upstream schedule bound to the unqualified function ($LATEST).
            self.upstream_unschedule_events(
                events=events, lambda_arn=base, lambda_name=lambda_name, excluded_source_services=list(PULL_SERVICES)
            )
            self.repoint_pull_mappings(events, base)
            permission = self.wrap_create_event_permission(self.zappa.create_event_permission)
            with patched(self.zappa, "create_event_permission", permission):
                return original(self.alias_arn(base), lambda_name, events, default)

        return schedule_events

    def wrap_create_event_permission(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def create_event_permission(lambda_name: str, principal: str, source_arn: str) -> Any:
            return original(self.alias_name(lambda_name), principal, source_arn)

        return create_event_permission

    def wrap_unschedule_events(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def unschedule_events(
            events: list[dict[str, Any]],
            lambda_arn: str | None = None,
            lambda_name: str | None = None,
            excluded_source_services: list[str] | None = None,
        ) -> Any:
            if lambda_arn is None:
                return original(events, lambda_arn, lambda_name, excluded_source_services)
            if not is_qualified_arn(lambda_arn):
                original(events, lambda_arn, lambda_name, excluded_source_services)
            return original(events, self.alias_arn(lambda_arn), self.alias_name(lambda_name), excluded_source_services)

        return unschedule_events

    def wrap_get_event_rules_for_lambda(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def get_event_rules_for_lambda(lambda_arn: str) -> list[dict[str, Any]]:
            rules = list(original(lambda_arn=unqualified_arn(lambda_arn)))
            seen = {rule.get("Name") for rule in rules}
            rules += [r for r in original(lambda_arn=self.alias_arn(lambda_arn)) if r.get("Name") not in seen]
            return rules

        return get_event_rules_for_lambda

    def repoint_pull_mappings(self, events: list[dict[str, Any]], base_arn: str) -> None:
        """Move SQS/Kinesis/DynamoDB mappings from $LATEST to the alias in place (keeps stream positions)."""
        client = self.lambda_client
        target = self.alias_arn(base_arn)
        for event in events:
            source = event.get("event_source") or {}
            arn = source.get("arn")
            if not arn or self.zappa.service_from_arn(arn) not in PULL_SERVICES:
                continue
            mappings = client.list_event_source_mappings(EventSourceArn=arn, FunctionName=base_arn)
            for mapping in mappings.get("EventSourceMappings", []):
                if mapping.get("FunctionArn") != target:
                    client.update_event_source_mapping(UUID=mapping["UUID"], FunctionName=target)
                    click.echo(f"Event source {arn} now invokes the '{self.alias}' alias.")

    # Function URL: upstream creates it unqualified, i.e. on $LATEST, which has no PC.
    def wrap_deploy_lambda_function_url(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def deploy_lambda_function_url(function_name: str, function_url_config: dict[str, Any]) -> Any:
            return self.put_alias_function_url(function_name, function_url_config)

        return deploy_lambda_function_url

    def wrap_update_lambda_function_url(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def update_lambda_function_url(function_name: str, function_url_config: dict[str, Any]) -> Any:
            response = self.put_alias_function_url(function_name, function_url_config)
            self.warn_about_latest_url(function_name, response.get("FunctionUrl", ""))
            return response

        return update_lambda_function_url

    def put_alias_function_url(self, function_name: str, url_config: dict[str, Any]) -> FunctionUrlResponse:
        client = self.lambda_client
        kwargs: dict[str, Any] = {
            "FunctionName": unqualified_arn(function_name),
            "Qualifier": self.alias,
            "AuthType": url_config["authorizer"],
        }
        if url_config.get("cors"):
            kwargs["Cors"] = cors_from_settings(url_config["cors"])
        if exists(client.get_function_url_config, FunctionName=kwargs["FunctionName"], Qualifier=self.alias):
            response: FunctionUrlResponse = client.update_function_url_config(**kwargs)
        else:
            response = client.create_function_url_config(**kwargs)
        click.echo(f"function URL address ('{self.alias}' alias): {response['FunctionUrl']}")
        self.zappa.update_function_url_policy(self.alias_arn(function_name), url_config)
        return response

    def warn_about_latest_url(self, function_name: str, alias_url: str) -> None:
        client = self.lambda_client
        try:
            latest = client.get_function_url_config(FunctionName=unqualified_arn(function_name))
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            return
        click.echo(
            click.style("Warning!", fg="yellow", bold=True)
            + f" The function URL {latest['FunctionUrl']} invokes $LATEST, which has no provisioned concurrency. "
            f"Point clients at {alias_url}, then delete the old one "
            f"(aws lambda delete-function-url-config --function-name {unqualified_arn(function_name)})."
        )


def cors_from_settings(cors: Mapping[str, Any]) -> dict[str, Any]:
    """Upstream's ``function_url_config.cors`` keys, as the Lambda API spells them."""
    return {
        "AllowCredentials": cors["allowCredentials"],
        "AllowHeaders": cors["allowedHeaders"],
        "AllowMethods": cors["allowedMethods"],
        "AllowOrigins": cors["allowedOrigins"],
        "ExposeHeaders": cors["exposedResponseHeaders"],
        "MaxAge": cors["maxAge"],
    }
