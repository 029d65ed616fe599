"""Phase 3 of ``zappa revert-to-upstream``: every caller zappa-eager pointed at the alias goes back to ``$LATEST``.

The reverse of ``routing``: EventBridge rules (``events`` expressions, an explicit keep-warm,
EventBridge event sources) keep their name, input and target id and only change the target
ARN, so no scheduled event is missed or doubled; SQS/Kinesis/DynamoDB mappings are re-pointed
in place (stream positions kept); S3/SNS subscriptions are swapped with upstream's own event
source code; the function URL of the alias is replaced by one on ``$LATEST`` (upstream's
``deploy_lambda_function_url``) when the stage enables it; then the alias's resource-policy
statements for those callers are removed. API Gateway is left to upstream's update (phase 4):
upstream itself points it at the alias while ``provisioned_concurrency`` is set. Each change is
found by reading AWS, so a rerun finds only what is left. Tooling module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

from botocore.exceptions import ClientError
from zappa.core import FUNCTION_URL_PUBLIC_PERMISSION_SIDS
from zappa.utilities import add_event_source, get_event_source_status, remove_event_source

from zappa_eager.provisioning.aws import error_code
from zappa_eager.provisioning.revert_plan import Change, Target
from zappa_eager.provisioning.routing import PC_ALIAS

#: Push sources upstream subscribes the function to (pull sources are event source mappings).
PUSH_SERVICES = ("s3", "sns")
#: Principals of the alias permissions that the callers moved here needed.
CALLER_PRINCIPALS = ("events.amazonaws.com", "s3.amazonaws.com", "sns.amazonaws.com")


def caller_changes(target: Target) -> tuple[list[Change], list[str]]:
    """The changes that move every caller off the alias, in order, and notes on what upstream's update does."""
    changes = [
        *rule_changes(target),
        *mapping_changes(target),
        *push_source_changes(target),
        *function_url_changes(target),
        *permission_changes(target),
    ]
    return changes, caller_notes(target)


# -- EventBridge rules -------------------------------------------------------------------------
def rule_changes(target: Target) -> Iterator[Change]:
    events = target.events_client
    for rule in _rule_names(events, target.alias_arn):
        targets = events.list_targets_by_rule(Rule=rule).get("Targets", [])
        on_latest = any(t.get("Arn") == target.function_arn for t in targets)
        for rule_target in targets:
            if rule_target.get("Arn") != target.alias_arn:
                continue
            if on_latest:  # upstream's update already added $LATEST next to it: each event runs twice
                yield Change(
                    f"EventBridge rule {rule}: target {rule_target['Id']} (the alias) removed; the rule also "
                    "invokes $LATEST, so each scheduled event ran twice",
                    partial(events.remove_targets, Rule=rule, Ids=[rule_target["Id"]]),
                )
            else:
                yield Change(
                    f"EventBridge rule {rule}: target {rule_target['Id']} from the alias to $LATEST "
                    "(same rule, input and target id; invoke permission added on $LATEST first)",
                    partial(retarget_rule, target, rule, rule_target),
                )


def retarget_rule(target: Target, rule: str, rule_target: dict[str, Any]) -> None:
    """Permission on $LATEST first, then the same target id with the unqualified ARN: one put, no gap, no double."""
    rule_arn = target.events_client.describe_rule(Name=rule)["Arn"]
    target.zappa.create_event_permission(target.function_name, "events.amazonaws.com", rule_arn)
    target.events_client.put_targets(Rule=rule, Targets=[{**rule_target, "Arn": target.function_arn}])


def _rule_names(events: Any, arn: str) -> list[str]:
    kwargs: dict[str, Any] = {"TargetArn": arn}
    names: list[str] = []
    while True:
        page = events.list_rule_names_by_target(**kwargs)
        names += page.get("RuleNames", [])
        if not page.get("NextToken"):
            return names
        kwargs["NextToken"] = page["NextToken"]


# -- SQS / Kinesis / DynamoDB mappings ---------------------------------------------------------
def mapping_changes(target: Target) -> Iterator[Change]:
    client = target.lambda_client
    kwargs: dict[str, Any] = {"FunctionName": target.alias_arn}
    while True:
        page = client.list_event_source_mappings(**kwargs)
        for mapping in page.get("EventSourceMappings", []):
            if mapping.get("FunctionArn") == target.function_arn:
                continue
            uuid = mapping["UUID"]
            yield Change(
                f"event source mapping {uuid} ({mapping.get('EventSourceArn')}): from the alias to $LATEST, "
                "in place (UpdateEventSourceMapping: stream position kept)",
                partial(client.update_event_source_mapping, UUID=uuid, FunctionName=target.function_arn),
            )
        if not page.get("NextMarker"):
            return
        kwargs["Marker"] = page["NextMarker"]


# -- S3 / SNS subscriptions ----------------------------------------------------------------------
def push_source_changes(target: Target) -> Iterator[Change]:
    session = target.zappa.boto_session
    for event in target.events:
        source = event.get("event_source") or {}
        arn = source.get("arn")
        if not arn or target.zappa.service_from_arn(arn) not in PUSH_SERVICES:
            continue
        function = str(event.get("function", ""))
        if get_event_source_status(source, target.alias_arn, function, session):
            yield Change(
                f"{target.zappa.service_from_arn(arn).upper()} source {arn}: the alias's subscription replaced by "
                "one on $LATEST (upstream's event source code)",
                partial(move_push_source, target, source, function),
            )


def move_push_source(target: Target, source: dict[str, Any], function: str) -> None:
    """Unsubscribe the alias, then subscribe $LATEST at once (both upstream's calls; the gap is one request)."""
    session = target.zappa.boto_session
    service = target.zappa.service_from_arn(source["arn"])
    remove_event_source(source, target.alias_arn, function, session)
    target.zappa.create_event_permission(target.function_name, f"{service}.amazonaws.com", source["arn"])
    add_event_source(source, target.function_arn, function, session)


# -- function URL ----------------------------------------------------------------------------------
def function_url_changes(target: Target) -> Iterator[Change]:
    client = target.lambda_client
    alias_url = _url(client, FunctionName=target.function_name, Qualifier=PC_ALIAS)
    if alias_url is None:
        return
    if target.cli.use_function_url and _url(client, FunctionName=target.function_name) is None:
        config = target.cli.function_url_config
        yield Change(
            f"function URL created on $LATEST (AuthType {config['authorizer']}, upstream's "
            "deploy_lambda_function_url): a NEW address, printed when made",
            partial(target.zappa.deploy_lambda_function_url, target.function_arn, config),
        )
    yield Change(
        f"function URL {alias_url} of the alias deleted: clients still using this address must move to the "
        "$LATEST URL",
        partial(_delete_alias_url, target),
    )


def _url(client: Any, **kwargs: Any) -> str | None:
    try:
        return str(client.get_function_url_config(**kwargs)["FunctionUrl"])
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        return None


def _delete_alias_url(target: Target) -> None:
    try:
        target.lambda_client.delete_function_url_config(FunctionName=target.function_name, Qualifier=PC_ALIAS)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise


# -- the alias's resource policy -------------------------------------------------------------------
def permission_changes(target: Target) -> Iterator[Change]:
    """Statements on the alias for the callers moved above (API Gateway's stay: upstream's, on the alias)."""
    for statement in alias_statements(target):
        sid = statement["Sid"]
        principal = statement.get("Principal")
        who = principal.get("Service", principal) if isinstance(principal, dict) else principal
        yield Change(
            f"alias permission {sid} ({statement.get('Action')} by {who}) removed",
            partial(_remove_permission, target, sid),
        )


def alias_statements(target: Target) -> list[dict[str, Any]]:
    try:
        policy = target.lambda_client.get_policy(FunctionName=target.function_name, Qualifier=PC_ALIAS)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        return []
    statements = json.loads(policy["Policy"]).get("Statement", [])
    return [s for s in statements if s.get("Resource") == target.alias_arn and _moved_caller(s)]


def _moved_caller(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    service = principal.get("Service") if isinstance(principal, dict) else None
    return (
        service in CALLER_PRINCIPALS
        or statement.get("Sid") in FUNCTION_URL_PUBLIC_PERMISSION_SIDS
        or statement.get("Action") == "lambda:InvokeFunctionUrl"
    )


def _remove_permission(target: Target, sid: str) -> None:
    try:
        target.lambda_client.remove_permission(FunctionName=target.function_name, StatementId=sid, Qualifier=PC_ALIAS)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise


# -- what upstream's update does with the rest --------------------------------------------------
def caller_notes(target: Target) -> list[str]:
    cli = target.cli
    notes = []
    if getattr(cli, "use_apigateway", False):
        where = f"the '{PC_ALIAS}' alias" if target.pc_integer is not None else "$LATEST"
        notes.append(
            f"API Gateway: left to upstream's update, which points its integration at {where} "
            "(upstream's own rule for provisioned_concurrency)."
        )
    if target.keep_warm_skipped:
        notes.append(
            "keep_warm: zappa-eager skipped it while provisioned concurrency was on; upstream's update schedules "
            'its keep-warm rule on $LATEST (upstream defaults keep_warm to true). Set "keep_warm": false in the '
            "stage first to keep it off."
        )
    return notes
