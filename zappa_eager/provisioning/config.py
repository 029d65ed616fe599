"""The ``provisioned_concurrency`` stage setting: its dataclasses and its validation.

Upstream's integer (fixed PC) still works; the object form (``min``/``max``/
``target_utilization``/cooldowns/``scheduled``) adds autoscaling. Every bad value is rejected
here, before any AWS client exists, with the setting, the value and the fix. Tooling module.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from zappa_eager.runtime.contract import snap_start_enabled
from zappa_eager.settings_keys import unknown_key_fix

T = TypeVar("T")

SETTING = "provisioned_concurrency"
OBJECT_KEYS = ("min", "max", "target_utilization", "scale_in_cooldown", "scale_out_cooldown", "scheduled")
ACTION_KEYS = ("name", "schedule", "min", "max", "timezone")
DEFAULT_TARGET_UTILIZATION = 0.7
_SCHEDULE_RE = re.compile(r"^(cron|rate|at)\(.+\)$")
_ACTION_NAME_RE = re.compile(
    r"^[^\s:/|\x00-\x1f\x7f-\x9f](?:[^:/|\x00-\x1f\x7f-\x9f]{0,254}[^\s:/|\x00-\x1f\x7f-\x9f])?$"
)
_EXAMPLE = '{"min": 1, "max": 10, "target_utilization": 0.7}'


class ProvisionedConcurrencyError(ValueError):
    """Bad ``provisioned_concurrency`` values, all of them; each message names the setting, the value and the fix."""

    def __init__(self, *messages: str) -> None:
        self.messages = list(messages)
        super().__init__("\n".join(messages))


class _Collector:
    """Runs independent checks, keeping every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def run(self, check: Callable[[], T], default: object) -> T:
        try:
            return check()
        except ProvisionedConcurrencyError as exc:
            self.messages += exc.messages
            return cast(T, default)  # the caller's stand-in of the checked type (an empty tuple...)

    def raise_any(self) -> None:
        if self.messages:
            raise ProvisionedConcurrencyError(*self.messages)


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
    found = _Collector()
    if snap_start_enabled(snap_start):
        found.messages.append(
            f"{SETTING} ({_show(value)}) and snap_start ({_show(snap_start)}) are both set in stage '{stage}': "
            "AWS Lambda cannot combine SnapStart with provisioned concurrency; remove one of the two."
        )
    reserved = lambda_concurrency if _is_int(lambda_concurrency) else None
    config: ProvisionedConcurrencyConfig | None = None
    if _is_int(value):
        config = found.run(lambda: _parse_fixed(value, stage, reserved), None)
    elif isinstance(value, Mapping):
        config = found.run(lambda: _parse_object(value, stage, reserved), None)
    else:
        found.messages.append(
            f"{SETTING} ({_show(value)}) in stage '{stage}' must be a positive integer or an object such as "
            f"{_EXAMPLE}: fix the value."
        )
    found.raise_any()
    return config


def _parse_fixed(value: int, stage: str, reserved: int | None) -> ProvisionedConcurrencyConfig:
    if value < 1:
        raise ProvisionedConcurrencyError(
            f"{SETTING} ({value}) must be at least 1 in stage '{stage}': Lambda cannot provision {value} "
            f"environments; set a positive integer or remove {SETTING}."
        )
    _check_reserved(SETTING, value, stage, reserved)
    return ProvisionedConcurrencyConfig(min=value, max=value)


def _parse_object(value: Mapping[str, Any], stage: str, reserved: int | None) -> ProvisionedConcurrencyConfig:
    found = _Collector()
    found.run(lambda: _check_keys(SETTING, value, OBJECT_KEYS, stage), None)
    low: int | None = found.run(lambda: _required_int(value, "min", stage), None)
    high: int | None = found.run(lambda: _required_int(value, "max", stage), None)
    if low is not None and low < 1:
        found.messages.append(
            f"{SETTING}.min ({low}) must be at least 1 in stage '{stage}': Lambda cannot allocate 0 provisioned "
            "environments and target tracking cannot scale out from zero (no utilization metric); to scale to zero "
            'off-hours add a scheduled action with "min": 0, "max": 0.'
        )
    elif low is not None and high is not None and low > high:
        found.messages.append(
            f"{SETTING}.min ({low}) is greater than {SETTING}.max ({high}) in stage '{stage}': set min <= max."
        )
    if high is not None:
        found.run(lambda: _check_reserved(f"{SETTING}.max", high, stage, reserved), None)
    config = ProvisionedConcurrencyConfig(
        min=low or 1,
        max=high or 1,
        target_utilization=found.run(lambda: _target_utilization(value, stage), DEFAULT_TARGET_UTILIZATION),
        scale_in_cooldown=found.run(lambda: _cooldown(value, "scale_in_cooldown", stage), None),
        scale_out_cooldown=found.run(lambda: _cooldown(value, "scale_out_cooldown", stage), None),
        scheduled=found.run(lambda: _scheduled(value.get("scheduled", []), stage, reserved), ()),
        autoscaling=True,
    )
    found.raise_any()
    return config


def _required_int(value: Mapping[str, Any], key: str, stage: str, where: str = SETTING) -> int:
    if key not in value:
        raise ProvisionedConcurrencyError(
            f"{where}.{key} is missing in stage '{stage}': add it to {_show(value)}, e.g. {_EXAMPLE}."
        )
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
    found = _Collector()
    parsed = [found.run(functools.partial(_scheduled_action, item, f"{SETTING}.scheduled[{i}]", stage, reserved), None)
              for i, item in enumerate(raw)]
    actions: tuple[ScheduledScaling, ...] = tuple(action for action in parsed if action is not None)
    found.raise_any()
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
    found = _Collector()
    found.run(lambda: _check_keys(where, item, ACTION_KEYS, stage), None)
    name = item.get("name")
    if not isinstance(name, str) or not _ACTION_NAME_RE.match(name):
        found.messages.append(
            f"{where}.name ({_show(name)}) is missing or invalid in stage '{stage}': use 1-256 characters without "
            "':', '/', '|' or surrounding spaces, e.g. \"business-hours\"."
        )
    schedule = item.get("schedule")
    if not isinstance(schedule, str) or not _SCHEDULE_RE.match(schedule.strip()):
        found.messages.append(
            f"{where}.schedule ({_show(schedule)}) is not a cron(...), rate(...) or at(...) expression in stage "
            f"'{stage}': e.g. \"cron(0 8 ? * MON-FRI *)\"."
        )
    low: int | None = found.run(lambda: _optional_int(item, "min", where, stage), None)
    high: int | None = found.run(lambda: _optional_int(item, "max", where, stage), None)
    if low is None and high is None and item.get("min") is None and item.get("max") is None:
        found.messages.append(
            f"{where} ({_show(name)}) sets neither min nor max in stage '{stage}': add at least one of them."
        )
    if low is not None and high is not None and low > high:
        found.messages.append(
            f"{where}.min ({low}) is greater than {where}.max ({high}) in stage '{stage}': set min <= max."
        )
    for key, number in (("min", low), ("max", high)):
        if number is not None:
            found.run(functools.partial(_check_reserved, f"{where}.{key}", number, stage, reserved), None)
    timezone = item.get("timezone")
    if timezone is not None and (not isinstance(timezone, str) or not timezone.strip()):
        found.messages.append(
            f"{where}.timezone ({_show(timezone)}) must be an IANA time zone name in stage '{stage}': "
            'e.g. "Europe/Paris".'
        )
    found.raise_any()
    assert isinstance(name, str) and isinstance(schedule, str)  # checked above
    return ScheduledScaling(name=name, schedule=schedule.strip(), min=low, max=high, timezone=timezone)


def _optional_int(item: Mapping[str, Any], key: str, where: str, stage: str) -> int | None:
    return None if item.get(key) is None else _non_negative_int(item[key], f"{where}.{key}", stage)


def _check_keys(where: str, value: Mapping[str, Any], allowed: tuple[str, ...], stage: str) -> None:
    """Each unknown key on its own, with the key it most likely meant (``maximum``: did you mean ``max``?)."""
    unknown = sorted(str(key) for key in value if key not in allowed)
    if unknown:
        raise ProvisionedConcurrencyError(*(
            f"{where} has an unknown key {_show(key)} in stage '{stage}': {unknown_key_fix(key, allowed)}."
            for key in unknown
        ))


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

