"""Provisioned concurrency with autoscaling, as a cooperative mixin over upstream's ``ZappaCLI``.

``provisioned_concurrency`` keeps upstream's integer (fixed PC) and also accepts an object
(``min``/``max``/``target_utilization``/cooldowns/``scheduled``). Upstream zappa 0.63 already
puts PC on each new *version*, waits for READY and only then moves its ``provisioned-concurrency``
alias; this module hands upstream the integer it expects, keeps an Application Auto Scaling target
on the version the alias points to (moved along on update/rollback, removed on undeploy), shows it
in ``zappa status`` and routes the callers upstream leaves on ``$LATEST`` (function URL, schedules,
event sources) to the alias. Tooling module: never imported inside Lambda.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click
from botocore.exceptions import ClientError
from click import ClickException
from zappa.core import PROVISIONED_CONCURRENCY_LAMBDA_ALIAS

from zappa_eager.autoscaling import (
    AutoscalingState,
    apply_autoscaling,
    describe_autoscaling,
    function_targets,
    qualifier_of,
    remove_autoscaling,
    resource_id,
    set_suspended,
)

if TYPE_CHECKING:
    from zappa.cli import ZappaCLI as _CLIBase
else:
    _CLIBase = object

#: The alias upstream maintains for provisioned concurrency; every PC caller should invoke it.
PC_ALIAS: str = PROVISIONED_CONCURRENCY_LAMBDA_ALIAS
SETTING = "provisioned_concurrency"
OBJECT_KEYS = ("min", "max", "target_utilization", "scale_in_cooldown", "scale_out_cooldown", "scheduled")
ACTION_KEYS = ("name", "schedule", "min", "max", "timezone")
DEFAULT_TARGET_UTILIZATION = 0.7
#: How upstream's schedule() names the keep-warm event (and so its CloudWatch rule).
KEEP_WARM_EVENT = "zappa-keep-warm"
KEEP_WARM_FUNCTION = "handler.keep_warm_callback"
#: Event sources Lambda polls (event source mappings); upstream never re-creates these on update.
PULL_SERVICES = ("dynamodb", "kinesis", "sqs")
_SCHEDULE_RE = re.compile(r"^(cron|rate|at)\(.+\)$")
_ACTION_NAME_RE = re.compile(
    r"^[^\s:/|\x00-\x1f\x7f-\x9f](?:[^:/|\x00-\x1f\x7f-\x9f]{0,254}[^\s:/|\x00-\x1f\x7f-\x9f])?$"
)
_EXAMPLE = '{"min": 1, "max": 10, "target_utilization": 0.7}'


class ProvisionedConcurrencyError(ValueError):
    """A bad ``provisioned_concurrency`` value; the message names the setting, the value and the fix."""


# -- configuration -------------------------------------------------------------------------
@dataclass(frozen=True)
class ScheduledScaling:
    """One Application Auto Scaling scheduled action (changes the min/max range on a schedule)."""

    name: str
    schedule: str
    min: int | None = None
    max: int | None = None
    timezone: str | None = None

    def target_action(self) -> dict[str, int]:
        action: dict[str, int] = {}
        if self.min is not None:
            action["MinCapacity"] = self.min
        if self.max is not None:
            action["MaxCapacity"] = self.max
        return action


@dataclass(frozen=True)
class ProvisionedConcurrencyConfig:
    """The validated ``provisioned_concurrency`` of a stage; an integer is ``min == max`` without autoscaling."""

    min: int
    max: int
    target_utilization: float = DEFAULT_TARGET_UTILIZATION
    scale_in_cooldown: int | None = None
    scale_out_cooldown: int | None = None
    scheduled: tuple[ScheduledScaling, ...] = ()
    autoscaling: bool = False

    @property
    def initial(self) -> int:
        """The integer upstream's fixed-PC machinery gets (PC put on each new version before the alias moves)."""
        return self.min

    def clamp(self, value: int) -> int:
        return max(self.min, min(self.max, value))

    def describe(self) -> str:
        if not self.autoscaling:
            return f"{self.min} fixed"
        return f"{self.min}-{self.max} at {self.target_utilization:.0%} utilization"


def parse_provisioned_concurrency(
    value: Any,
    stage: str,
    lambda_concurrency: Any = None,
    snap_start: Any = None,
) -> ProvisionedConcurrencyConfig | None:
    """Validate a stage's ``provisioned_concurrency`` (int, object or null) before any AWS call."""
    if value is None:
        return None
    if _snap_start_enabled(snap_start):
        raise ProvisionedConcurrencyError(
            f"{SETTING} and snap_start ({_show(snap_start)}) are both set in stage '{stage}': "
            "AWS Lambda cannot combine SnapStart with provisioned concurrency; remove one of the two."
        )
    reserved = lambda_concurrency if _is_int(lambda_concurrency) else None
    if _is_int(value):
        return _parse_fixed(value, stage, reserved)
    if isinstance(value, Mapping):
        return _parse_object(value, stage, reserved)
    raise ProvisionedConcurrencyError(
        f"{SETTING} ({_show(value)}) in stage '{stage}' must be a positive integer or an object such as {_EXAMPLE}: "
        "fix the value."
    )


def _parse_fixed(value: int, stage: str, reserved: int | None) -> ProvisionedConcurrencyConfig:
    if value < 1:
        raise ProvisionedConcurrencyError(
            f"{SETTING} ({value}) must be at least 1 in stage '{stage}': Lambda cannot provision {value} "
            f"environments; set a positive integer or remove {SETTING}."
        )
    _check_reserved(SETTING, value, stage, reserved)
    return ProvisionedConcurrencyConfig(min=value, max=value)


def _parse_object(value: Mapping[str, Any], stage: str, reserved: int | None) -> ProvisionedConcurrencyConfig:
    _check_keys(SETTING, value, OBJECT_KEYS, stage)
    low = _required_int(value, "min", stage)
    high = _required_int(value, "max", stage)
    if low < 1:
        raise ProvisionedConcurrencyError(
            f"{SETTING}.min ({low}) must be at least 1 in stage '{stage}': Lambda cannot allocate 0 provisioned "
            "environments and target tracking cannot scale out from zero (no utilization metric); to scale to zero "
            'off-hours add a scheduled action with "min": 0, "max": 0.'
        )
    if low > high:
        raise ProvisionedConcurrencyError(
            f"{SETTING}.min ({low}) is greater than {SETTING}.max ({high}) in stage '{stage}': set min <= max."
        )
    _check_reserved(f"{SETTING}.max", high, stage, reserved)
    return ProvisionedConcurrencyConfig(
        min=low,
        max=high,
        target_utilization=_target_utilization(value, stage),
        scale_in_cooldown=_cooldown(value, "scale_in_cooldown", stage),
        scale_out_cooldown=_cooldown(value, "scale_out_cooldown", stage),
        scheduled=_scheduled(value.get("scheduled", []), stage, reserved),
        autoscaling=True,
    )


def _required_int(value: Mapping[str, Any], key: str, stage: str, where: str = SETTING) -> int:
    if key not in value:
        raise ProvisionedConcurrencyError(f"{where}.{key} is missing in stage '{stage}': add it, e.g. {_EXAMPLE}.")
    return _non_negative_int(value[key], f"{where}.{key}", stage)


def _non_negative_int(raw: Any, name: str, stage: str) -> int:
    if not _is_int(raw) or raw < 0:
        raise ProvisionedConcurrencyError(
            f"{name} ({_show(raw)}) must be a whole number >= 0 in stage '{stage}': "
            "use an integer count of environments."
        )
    return int(raw)


def _target_utilization(value: Mapping[str, Any], stage: str) -> float:
    raw = value.get("target_utilization", DEFAULT_TARGET_UTILIZATION)
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 < raw <= 1:
        raise ProvisionedConcurrencyError(
            f"{SETTING}.target_utilization ({_show(raw)}) must be a number greater than 0 and at most 1 in stage "
            f"'{stage}': use a fraction of the provisioned environments, e.g. 0.7 for 70%."
        )
    return float(raw)


def _cooldown(value: Mapping[str, Any], key: str, stage: str) -> int | None:
    raw = value.get(key)
    if raw is None:
        return None
    if not _is_int(raw) or raw < 0:
        raise ProvisionedConcurrencyError(
            f"{SETTING}.{key} ({_show(raw)}) must be a non-negative integer number of seconds in stage '{stage}': "
            "use e.g. 60, or leave it out for the AWS default."
        )
    return int(raw)


def _scheduled(raw: Any, stage: str, reserved: int | None) -> tuple[ScheduledScaling, ...]:
    if not isinstance(raw, list):
        raise ProvisionedConcurrencyError(
            f"{SETTING}.scheduled ({_show(raw)}) must be a list in stage '{stage}': use "
            '[{"name": "business-hours", "schedule": "cron(0 8 ? * MON-FRI *)", "min": 5, "max": 100}].'
        )
    actions = tuple(_scheduled_action(item, f"{SETTING}.scheduled[{i}]", stage, reserved) for i, item in enumerate(raw))
    names = [action.name for action in actions]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ProvisionedConcurrencyError(
            f"{SETTING}.scheduled has duplicate names {_show(duplicates)} in stage '{stage}': "
            "give each action a unique name."
        )
    return actions


def _scheduled_action(item: Any, where: str, stage: str, reserved: int | None) -> ScheduledScaling:
    if not isinstance(item, Mapping):
        raise ProvisionedConcurrencyError(
            f"{where} ({_show(item)}) must be an object in stage '{stage}': use "
            '{"name": "nights", "schedule": "cron(0 20 * * ? *)", "min": 1, "max": 5}.'
        )
    _check_keys(where, item, ACTION_KEYS, stage)
    name = item.get("name")
    if not isinstance(name, str) or not _ACTION_NAME_RE.match(name):
        raise ProvisionedConcurrencyError(
            f"{where}.name ({_show(name)}) is missing or invalid in stage '{stage}': use 1-256 characters without "
            "':', '/', '|' or surrounding spaces, e.g. \"business-hours\"."
        )
    schedule = item.get("schedule")
    if not isinstance(schedule, str) or not _SCHEDULE_RE.match(schedule.strip()):
        raise ProvisionedConcurrencyError(
            f"{where}.schedule ({_show(schedule)}) is not a cron(...), rate(...) or at(...) expression in stage "
            f"'{stage}': e.g. \"cron(0 8 ? * MON-FRI *)\"."
        )
    low = _optional_int(item, "min", where, stage)
    high = _optional_int(item, "max", where, stage)
    if low is None and high is None:
        raise ProvisionedConcurrencyError(
            f"{where} ({_show(name)}) sets neither min nor max in stage '{stage}': add at least one of them."
        )
    if low is not None and high is not None and low > high:
        raise ProvisionedConcurrencyError(
            f"{where}.min ({low}) is greater than {where}.max ({high}) in stage '{stage}': set min <= max."
        )
    for key, number in (("min", low), ("max", high)):
        if number is not None:
            _check_reserved(f"{where}.{key}", number, stage, reserved)
    timezone = item.get("timezone")
    if timezone is not None and (not isinstance(timezone, str) or not timezone.strip()):
        raise ProvisionedConcurrencyError(
            f"{where}.timezone ({_show(timezone)}) must be an IANA time zone name in stage '{stage}': "
            'e.g. "Europe/Paris".'
        )
    return ScheduledScaling(name=name, schedule=schedule.strip(), min=low, max=high, timezone=timezone)


def _optional_int(item: Mapping[str, Any], key: str, where: str, stage: str) -> int | None:
    return None if item.get(key) is None else _non_negative_int(item[key], f"{where}.{key}", stage)


def _check_keys(where: str, value: Mapping[str, Any], allowed: tuple[str, ...], stage: str) -> None:
    unknown = sorted(str(key) for key in value if key not in allowed)
    if unknown:
        raise ProvisionedConcurrencyError(
            f"{where} has unknown key(s) {_show(unknown)} in stage '{stage}': use only {', '.join(allowed)}."
        )


def _check_reserved(name: str, number: int, stage: str, reserved: int | None) -> None:
    if reserved is not None and number > reserved:
        raise ProvisionedConcurrencyError(
            f"{name} ({number}) is greater than lambda_concurrency ({reserved}) in stage '{stage}': reserved "
            f"concurrency caps provisioned concurrency; lower {name} or raise lambda_concurrency."
        )


def _show(value: Any) -> str:
    """Values as they are written in zappa_settings.json (hjson loads objects as OrderedDicts)."""
    return json.dumps(value, default=str)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _snap_start_enabled(snap_start: Any) -> bool:
    return bool(snap_start) and snap_start != "None"


# -- routing the callers upstream leaves on $LATEST ------------------------------------------
@contextlib.contextmanager
def patched(obj: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Iterator[None]:
    """Shadow ``obj.name`` with ``make(original)`` for the duration, then restore exactly what was there."""
    had_own = name in vars(obj)
    previous = vars(obj).get(name)
    setattr(obj, name, make(getattr(obj, name)))
    try:
        yield
    finally:
        if had_own:
            setattr(obj, name, previous)
        else:
            delattr(obj, name)


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
    routing = _AliasRouting(zappa, alias)
    with contextlib.ExitStack() as stack:
        for name in _AliasRouting.WRAPPED:
            stack.enter_context(patched(zappa, name, getattr(routing, f"wrap_{name}")))
        zappa._zappa_eager_routing = alias
        stack.callback(delattr, zappa, "_zappa_eager_routing")
        yield


class _AliasRouting:
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
            qualify_permission = patched(self.zappa, "create_event_permission", self.wrap_create_event_permission)
            with qualify_permission:
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
        client = self.zappa.lambda_client
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

    def put_alias_function_url(self, function_name: str, url_config: dict[str, Any]) -> dict[str, Any]:
        client = self.zappa.lambda_client
        kwargs: dict[str, Any] = {
            "FunctionName": unqualified_arn(function_name),
            "Qualifier": self.alias,
            "AuthType": url_config["authorizer"],
        }
        if url_config.get("cors"):
            kwargs["Cors"] = cors_from_settings(url_config["cors"])
        if _exists(client.get_function_url_config, FunctionName=kwargs["FunctionName"], Qualifier=self.alias):
            response: dict[str, Any] = client.update_function_url_config(**kwargs)
        else:
            response = client.create_function_url_config(**kwargs)
        click.echo(f"function URL address ('{self.alias}' alias): {response['FunctionUrl']}")
        self.zappa.update_function_url_policy(self.alias_arn(function_name), url_config)
        return response

    def warn_about_latest_url(self, function_name: str, alias_url: str) -> None:
        client = self.zappa.lambda_client
        try:
            latest = client.get_function_url_config(FunctionName=unqualified_arn(function_name))
        except ClientError as exc:
            if _error_code(exc) != "ResourceNotFoundException":
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


def _exists(call: Callable[..., Any], **kwargs: Any) -> bool:
    try:
        call(**kwargs)
    except ClientError as exc:
        if _error_code(exc) != "ResourceNotFoundException":
            raise
        return False
    return True


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_pc_wait_failure(exc: BaseException) -> bool:
    """Upstream's READY wait raises RuntimeError on timeout or FAILED status."""
    return isinstance(exc, RuntimeError) and "provisioned concurrency" in str(exc).lower()


# -- the mixin ---------------------------------------------------------------------------------
class ProvisionedConcurrencyMixin(_CLIBase):
    """Cooperative overrides of ``ZappaCLI``: every method calls ``super()``; place it before ``ZappaCLI``."""

    pc_config: ProvisionedConcurrencyConfig | None = None
    _pc_keep_warm_skipped: bool = False
    _pc_aas: Any = None

    # -- settings ------------------------------------------------------------------------
    def load_settings(self, settings_file: str | None = None, session: Any = None) -> Any:
        """Validate ``provisioned_concurrency`` first, then give upstream the integer it understands."""
        self.load_settings_file(settings_file)
        self.pc_config = None
        self._pc_keep_warm_skipped = False
        if self.api_stage in self.zappa_settings:
            self._pc_drop_own_overrides()
            self.pc_config = self._pc_parse_stage()
            if self.pc_config is not None:
                self._pc_override("provisioned_concurrency", self.pc_config.initial)
                if "keep_warm" not in self.stage_config:
                    self._pc_override("keep_warm", False)
                    self._pc_keep_warm_skipped = True
        return super().load_settings(settings_file, session)

    def _pc_parse_stage(self) -> ProvisionedConcurrencyConfig | None:
        stage = self.stage_config
        try:
            return parse_provisioned_concurrency(
                stage.get(SETTING),
                stage=self.api_stage,
                lambda_concurrency=stage.get("lambda_concurrency"),
                snap_start=stage.get("snap_start"),
            )
        except ProvisionedConcurrencyError as exc:
            raise ClickException(str(exc)) from exc

    def _pc_override(self, key: str, value: Any) -> None:
        self.override_stage_config_setting(key, value)
        owned: set[str] = self.__dict__.setdefault("_pc_owned_overrides", set())
        owned.add(key)

    def _pc_drop_own_overrides(self) -> None:
        """A second load_settings must read the user's object again, not the integer we handed upstream."""
        overrides = getattr(self, "_stage_config_overrides", {}).get(self.api_stage, {})
        for key in self.__dict__.pop("_pc_owned_overrides", set()):
            overrides.pop(key, None)

    # -- commands ------------------------------------------------------------------------
    def deploy(self, source_zip: str | None = None, docker_image_uri: str | None = None) -> Any:
        """Upstream creates the version, its PC and the alias; then attach autoscaling to that version."""
        if self.pc_config is None:
            return super().deploy(source_zip, docker_image_uri)
        with self._pc_routing():
            try:
                result = super().deploy(source_zip, docker_image_uri)
            except RuntimeError as exc:
                if not _is_pc_wait_failure(exc):
                    raise
                self._pc_recover(old_version=None, frozen=None)
                raise ClickException(self._pc_wait_failure_message(exc, None)) from exc
        self._pc_settle()
        return result

    def update(
        self, source_zip: str | None = None, no_upload: bool = False, docker_image_uri: str | None = None
    ) -> Any:
        """Upstream moves the alias only once the new version's PC is READY; autoscaling follows it."""
        if self.pc_config is None:
            return super().update(source_zip, no_upload, docker_image_uri)
        with self._pc_routing(), self._pc_moving_alias():
            return super().update(source_zip, no_upload, docker_image_uri)

    def rollback(self, revision: int) -> Any:
        """Rollback publishes a version and moves the alias like update does; autoscaling follows."""
        if self.pc_config is None:
            return super().rollback(revision)
        with self._pc_moving_alias():
            return super().rollback(revision)

    def undeploy(self, no_confirm: bool = False, remove_logs: bool = False) -> Any:
        """Remove the scaling policy, scheduled actions and targets before upstream deletes the function."""
        if self.pc_config is None:
            return super().undeploy(no_confirm, remove_logs)
        if not no_confirm:  # pragma: no cover - interactive; asked here so "n" leaves autoscaling alone
            if input("Are you sure you want to undeploy? [y/n] ") != "y":
                return None
        self._pc_remove_targets(keep=None)
        with self._pc_routing():
            return super().undeploy(no_confirm=True, remove_logs=remove_logs)

    def schedule(self) -> Any:
        if self.pc_config is None:
            return super().schedule()
        if self._pc_keep_warm_skipped:
            click.echo(
                click.style("Warning!", fg="yellow", bold=True)
                + f" keep_warm is skipped for stage '{self.api_stage}': provisioned concurrency "
                f"({self.pc_config.describe()}) keeps environments initialized, so a keep-warm ping only adds "
                'invocations. Set "keep_warm" explicitly in the stage to schedule it anyway.'
            )
            self._pc_remove_keep_warm_rule()
        with self._pc_routing():
            return super().schedule()

    def _pc_remove_keep_warm_rule(self) -> None:
        """Upstream only clears rules when it has events to schedule; drop the keep-warm rule of an earlier deploy."""
        event = {"name": KEEP_WARM_EVENT, "function": KEEP_WARM_FUNCTION}
        self.zappa.delete_rule(self.zappa.get_scheduled_event_name(event, KEEP_WARM_FUNCTION, self.lambda_name))

    def unschedule(self) -> Any:
        if self.pc_config is None:
            return super().unschedule()
        with self._pc_routing():
            return super().unschedule()

    def status(self, return_json: bool = False) -> Any:
        """Upstream's status plus allocated/requested PC, the scaling range and the utilization target."""
        if self.pc_config is None:
            return super().status(return_json)
        with self._pc_routing():
            if not return_json:
                result = super().status(return_json=False)
                for title, value in self._pc_status_lines(self._pc_status()):
                    label = click.style("\t" + title, fg="green") + ":"
                    click.echo(f"{label:<32}{value}")  # upstream's tabular_print layout
                return result
            captured = io.StringIO()
            with contextlib.redirect_stdout(captured):
                result = super().status(return_json=True)
            print(self._pc_merge_json(captured.getvalue(), self._pc_status()))
            return result

    # -- moving PC and autoscaling with the alias ---------------------------------------
    @contextlib.contextmanager
    def _pc_moving_alias(self) -> Iterator[None]:
        """Around an upstream step that publishes a version and moves the alias to it."""
        config = self._pc_config()
        old_version = self._pc_alias_version()
        frozen: str | None = None
        if config.autoscaling and old_version is not None:
            # Start the new version at the capacity autoscaling reached, so an update never shrinks a busy pool.
            requested = self._pc_requested(old_version)
            self.provisioned_concurrency = config.clamp(requested if requested is not None else config.min)
            frozen = self._pc_freeze(old_version)
        try:
            yield
        except BaseException as exc:
            self._pc_recover(old_version, frozen)
            if _is_pc_wait_failure(exc):
                raise ClickException(self._pc_wait_failure_message(exc, old_version)) from exc
            raise
        finally:
            self.provisioned_concurrency = config.initial
        self._pc_settle()

    def _pc_settle(self) -> None:
        """Autoscaling on the alias's version, and nothing left on any other version."""
        config = self._pc_config()
        version = self._pc_alias_version()
        if version is None:
            click.echo(
                click.style("Warning!", fg="yellow", bold=True) + f" No '{PC_ALIAS}' alias on {self.lambda_name}."
            )
            return
        keep = None
        if config.autoscaling:
            keep = apply_autoscaling(self._pc_autoscaling(), self.lambda_name, version, config)
            click.echo(f"Provisioned concurrency: {config.describe()} on {keep} ('{PC_ALIAS}' alias).")
        self._pc_remove_targets(keep=keep)

    def _pc_freeze(self, version: str) -> str | None:
        """Suspend scaling of the outgoing version so it cannot re-create PC upstream is about to delete."""
        target = resource_id(self.lambda_name, version)
        if target not in function_targets(self._pc_autoscaling(), self.lambda_name):
            return None
        set_suspended(self._pc_autoscaling(), target, True)
        return target

    def _pc_recover(self, old_version: str | None, frozen: str | None) -> None:
        """After a failed update: finish the move if the alias moved, else resume and release new PC."""
        try:
            if self._pc_alias_version() not in (None, old_version):
                self._pc_settle()
                return
            if frozen is not None:
                set_suspended(self._pc_autoscaling(), frozen, False)
            self._pc_release_unrouted(newer_than=old_version)
        except Exception as exc:  # never hide the original failure
            click.echo(
                click.style("Warning!", fg="yellow", bold=True) + f" Provisioned concurrency cleanup failed: {exc}"
            )

    def _pc_release_unrouted(self, newer_than: str | None) -> None:
        """Delete PC that upstream put on versions the alias never reached (billed while allocated)."""
        client = self.zappa.lambda_client
        routed = self._pc_alias_version()
        configs = client.list_provisioned_concurrency_configs(FunctionName=self.lambda_name)
        for item in configs.get("ProvisionedConcurrencyConfigs", []):
            qualifier = item["FunctionArn"].rsplit(":", 1)[-1]
            if not qualifier.isdigit() or qualifier == routed:
                continue
            if newer_than is None or int(qualifier) > int(newer_than):
                client.delete_provisioned_concurrency_config(FunctionName=self.lambda_name, Qualifier=qualifier)
                click.echo(f"Released provisioned concurrency of unused version {qualifier}.")

    def _pc_wait_failure_message(self, exc: BaseException, old_version: str | None) -> str:
        where = f"still points at version {old_version}" if old_version else "was not created"
        return (
            f"{exc}. The '{PC_ALIAS}' alias {where}, so no traffic reached the new version; the provisioned "
            f"concurrency put on it has been released. Check its INIT errors (zappa tail {self.api_stage}) and "
            f"the account's unreserved concurrency, then run zappa update {self.api_stage}."
        )

    def _pc_remove_targets(self, keep: str | None) -> None:
        """Deregister every PC target of the function except ``keep`` (with an integer PC: best effort)."""
        client = self._pc_autoscaling()
        try:
            for target in function_targets(client, self.lambda_name):
                if target != keep:
                    remove_autoscaling(client, target)
                    click.echo(f"Removed provisioned concurrency autoscaling of {target}.")
        except ClientError as exc:
            if self._pc_config().autoscaling:
                raise
            if "AccessDenied" not in _error_code(exc):
                click.echo(f"Could not check for leftover provisioned concurrency autoscaling: {exc}")

    # -- status ----------------------------------------------------------------------------
    def _pc_status(self) -> dict[str, Any]:
        config = self._pc_config()
        version = self._pc_alias_version()
        status: dict[str, Any] = {"alias": PC_ALIAS, "version": version, "configured": config.describe()}
        if version is not None:
            status.update(self._pc_allocation(version))
            status["autoscaling"] = None
            if config.autoscaling:
                state = describe_autoscaling(self._pc_autoscaling(), resource_id(self.lambda_name, version))
                status["autoscaling"] = _autoscaling_dict(state) if state else None
        if self.use_function_url:
            status["function_url"] = self._pc_function_url()
        return status

    def _pc_allocation(self, version: str) -> dict[str, Any]:
        try:
            response = self.zappa.lambda_client.get_provisioned_concurrency_config(
                FunctionName=self.lambda_name, Qualifier=version
            )
        except ClientError as exc:
            if "NotFound" not in _error_code(exc):
                raise
            return {"allocated": 0, "requested": 0, "available": 0, "status": "NONE"}
        return {
            "allocated": response.get("AllocatedProvisionedConcurrentExecutions", 0),
            "requested": response.get("RequestedProvisionedConcurrentExecutions", 0),
            "available": response.get("AvailableProvisionedConcurrentExecutions", 0),
            "status": response.get("Status", ""),
            "status_reason": response.get("StatusReason"),
        }

    def _pc_function_url(self) -> str | None:
        try:
            response = self.zappa.lambda_client.get_function_url_config(
                FunctionName=self.lambda_name, Qualifier=PC_ALIAS
            )
        except ClientError as exc:
            if _error_code(exc) != "ResourceNotFoundException":
                raise
            return None
        return str(response["FunctionUrl"])

    @staticmethod
    def _pc_status_lines(status: Mapping[str, Any]) -> list[tuple[str, Any]]:
        version = status.get("version")
        lines: list[tuple[str, Any]] = [("PC Configured", status["configured"])]
        if version is None:
            return [*lines, ("PC Alias", f"{status['alias']} (missing: run zappa update)")]
        lines.append(("PC Alias", f"{status['alias']} -> version {version}"))
        lines.append(
            ("PC Allocated / Requested", f"{status['allocated']} / {status['requested']} ({status['status']})")
        )
        scaling = status.get("autoscaling")
        if scaling:
            suffix = " (suspended)" if scaling["suspended"] else ""
            lines.append(("PC Scaling Range", f"{scaling['min']}-{scaling['max']}{suffix}"))
            target = scaling["target_utilization"]
            lines.append(("PC Target Utilization", "none" if target is None else f"{target:.0%}"))
            for action in scaling["scheduled"]:
                lines.append(
                    (
                        "PC Scheduled Action",
                        f"{action['name']}: {action['schedule']} (min {action['min']}, max {action['max']})",
                    )
                )
        if "function_url" in status:
            lines.append(("Function URL (PC alias)", status["function_url"] or "Not configured"))
        return lines

    @staticmethod
    def _pc_merge_json(upstream_output: str, status: dict[str, Any]) -> str:
        try:
            merged = json.loads(upstream_output)
        except ValueError:
            return upstream_output.rstrip("\n") + "\n" + json.dumps({"Provisioned Concurrency": status})
        merged["Provisioned Concurrency"] = status
        return json.dumps(merged)

    # -- small AWS helpers -----------------------------------------------------------------
    def _pc_config(self) -> ProvisionedConcurrencyConfig:
        if self.pc_config is None:  # pragma: no cover - guarded by every caller
            raise ClickException(f"{SETTING} is not set in stage '{self.api_stage}'.")
        return self.pc_config

    def _pc_routing(self) -> contextlib.AbstractContextManager[None]:
        return route_callers_to_alias(self.zappa, PC_ALIAS)

    def _pc_autoscaling(self) -> Any:
        """The Application Auto Scaling client, made through upstream's session (endpoint overrides apply)."""
        if self._pc_aas is None:
            self._pc_aas = self.zappa.boto_client("application-autoscaling")
        return self._pc_aas

    def _pc_alias_version(self) -> str | None:
        try:
            alias = self.zappa.lambda_client.get_alias(FunctionName=self.lambda_name, Name=PC_ALIAS)
        except ClientError as exc:
            if _error_code(exc) != "ResourceNotFoundException":
                raise
            return None
        return str(alias["FunctionVersion"])

    def _pc_requested(self, version: str) -> int | None:
        allocation = self._pc_allocation(version)
        return int(allocation["requested"]) if allocation["status"] != "NONE" else None


def _autoscaling_dict(state: AutoscalingState) -> dict[str, Any]:
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
