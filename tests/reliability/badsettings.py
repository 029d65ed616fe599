"""Bad settings: every key zappa-eager owns, with wrong types and out-of-range values, rejected before AWS.

Each case writes a zappa_settings.json whose stage is valid except for one value, runs the
real ``zappa`` command in-process (``EagerZappaCLI.handle``: ``deploy``, ``update`` and
``package``) under moto's ``mock_aws``, with a tripwire on botocore's ``before-call`` event
that refuses - and records - any AWS operation. A case passes when the command exits with an
error that names the setting, shows the value and says how to fix it, with no AWS operation
attempted and no package written. A control runs ``deploy`` on the valid stage and must hit
the tripwire, which shows the tripwire works. Tooling module.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.rows import Row
from zappa_eager.patching import patched
from zappa_eager.provisioning.config import ACTION_KEYS, OBJECT_KEYS
from zappa_eager.settings import EAGER_KEYS, WARMUP_KEYS

GROUP = "settings"
STAGE = "dev"
COMMANDS = ("deploy", "update", "package")
PC = "provisioned_concurrency"
SCHEDULED = f"{PC}.scheduled"
WARMUP = "eager_init_warmup"


def base_stage() -> dict[str, Any]:
    """A stage every command accepts (deploy's first AWS step is then IAM: the control's tripwire)."""
    return {
        "project_name": "badsettings",
        "s3_bucket": "zappa-eager-badsettings",
        "aws_region": "us-east-1",
        "django_settings": "relsite.settings",
        "keep_warm": False,
    }


@dataclass(frozen=True)
class Case:
    """One bad value: the key it belongs to (the table row), the stage keys, what the message must say."""

    key: str  # the row: a top-level key, or a provisioned_concurrency sub-key
    stage: Mapping[str, Any]  # merged into base_stage()
    setting: str  # the setting the message must name (e.g. "eager_init_warmup[0].method")
    shown: str  # the value as the message must show it
    fix: str  # words of the fix the message must give
    kind: str = "type"  # "type" (wrong type), "range" (right type, value not allowed) or "key" (misspelt key)


def _pc(value: Any, **stage: Any) -> dict[str, Any]:
    return {PC: value, **stage}


def _action(**overrides: Any) -> dict[str, Any]:
    action: dict[str, Any] = {"name": "nights", "schedule": "cron(0 20 * * ? *)", "min": 1, "max": 2}
    action.update(overrides)
    return {PC: {"min": 1, "max": 4, "scheduled": [action]}}


def _warm(spec: Any) -> dict[str, Any]:
    return {WARMUP: [spec]}


R = "range"
PY312 = "python3.12"  # SnapStart for Python needs it; the cases about other values set it
SNAP_FIX = '"snap_start": "PublishedVersions"'
CASES: tuple[Case, ...] = (
    Case("eager_init", {"eager_init": "yes"}, "eager_init", '"yes"', 'set "eager_init": true'),
    Case("eager_init", {"eager_init": 1}, "eager_init", "1", "true or false"),
    Case(WARMUP, {WARMUP: {"path": "/"}}, WARMUP, '{"path": "/"}', '["/healthz"]'),
    Case(WARMUP, {WARMUP: 42}, WARMUP, "42", '["/healthz"]'),
    Case(WARMUP, _warm(42), f"{WARMUP}[0]", "42", '{"method": "GET", "path": "/healthz"}'),
    Case(WARMUP, _warm("healthz"), f"{WARMUP}[0]", '"healthz"', 'write it as "/healthz"', R),
    Case(WARMUP, _warm("https://example.com/healthz"), f"{WARMUP}[0]", '"https://example.com/healthz"',
         "a path such as", R),
    Case(WARMUP, _warm({"method": "GET"}), f"{WARMUP}[0]", '{"method": "GET"}', '"path": "/healthz"', R),
    Case(WARMUP, _warm({"path": "/", "verb": "GET"}), f"{WARMUP}[0].verb", '"GET"', "use only method", R),
    Case(WARMUP, _warm({"path": 7}), f"{WARMUP}[0].path", "7", '"/healthz"'),
    Case(WARMUP, _warm({"path": "/", "method": "FETCH"}), f"{WARMUP}[0].method", '"FETCH"', "use one of GET", R),
    Case(WARMUP, _warm({"path": "/", "method": 5}), f"{WARMUP}[0].method", "5", "use one of GET"),
    Case(WARMUP, _warm({"path": "/", "headers": {"X-Id": 1}}), f"{WARMUP}[0].headers", '{"X-Id": 1}',
         '{"Accept": "application/json"}'),
    Case(WARMUP, _warm({"path": "/", "body": {"a": 1}}), f"{WARMUP}[0].body", '{"a": 1}', "serialize the body"),
    Case("eager_init_warmup_rounds", {"eager_init_warmup_rounds": "2"}, "eager_init_warmup_rounds", '"2"',
         '"eager_init_warmup_rounds": 2'),
    Case("eager_init_warmup_rounds", {"eager_init_warmup_rounds": True}, "eager_init_warmup_rounds", "true",
         '"eager_init_warmup_rounds": 2'),
    Case("eager_init_warmup_rounds", {"eager_init_warmup_rounds": 1.5}, "eager_init_warmup_rounds", "1.5",
         "whole number from 1 to 10"),
    Case("eager_init_warmup_rounds", {"eager_init_warmup_rounds": 0}, "eager_init_warmup_rounds", "0",
         "1 sends each warm-up request once", R),
    Case("eager_init_warmup_rounds", {"eager_init_warmup_rounds": 11}, "eager_init_warmup_rounds", "11",
         "whole number from 1 to 10", R),
    Case("eager_init_on_error", {"eager_init_on_error": "ignore"}, "eager_init_on_error", '"ignore"',
         '"raise" (fail INIT)', R),
    Case("eager_init_on_error", {"eager_init_on_error": True}, "eager_init_on_error", "true", '"lazy"'),
    Case("eager_init_warmup_after_restore", {"eager_init_warmup_after_restore": "yes"},
         "eager_init_warmup_after_restore", '"yes"', '"eager_init_warmup_after_restore": true'),
    Case("eager_init_warmup_after_restore", {"eager_init_warmup_after_restore": True},
         "eager_init_warmup_after_restore", "true", "add eager_init_warmup requests", R),
    Case("eager_init_defer_imports", {"eager_init_defer_imports": "no"}, "eager_init_defer_imports", '"no"',
         '"eager_init_defer_imports": true'),
    Case("eager_init_warmup_on_demand", {"eager_init_warmup_on_demand": "always"}, "eager_init_warmup_on_demand",
         '"always"', '"skip"', R),
    Case("eager_init_warmup_on_demand", {"eager_init_warmup_on_demand": False}, "eager_init_warmup_on_demand",
         "false", '"once"'),
    Case("compile_bytecode", {"compile_bytecode": "yes"}, "compile_bytecode", '"yes"', '"compile_bytecode": true'),
    Case("compile_bytecode", {"compile_bytecode": 0}, "compile_bytecode", "0", '"compile_bytecode": false'),
    Case("lean_package", {"lean_package": "no"}, "lean_package", '"no"', '"lean_package": false'),
    Case("lean_package", {"lean_package": 1}, "lean_package", "1", '"lean_package": true'),
    Case("lean_keep", {"lean_keep": [1]}, "lean_keep", "[1]", '"lean_keep": ["numpy"]'),
    Case("lean_keep", {"lean_keep": {"numpy": True}}, "lean_keep", '{"numpy": true}', '"lean_keep": ["numpy"]'),
    Case("lean_keep", {"lean_keep": ["not-a-real-distribution-xyz"]}, "lean_keep", "not-a-real-distribution-xyz",
         "use a name from `pip list`", R),
    Case("lean_keep", {"lean_keep": ["django"], "lean_package": False}, "lean_keep", '["django"]',
         'remove "lean_keep"', R),
    Case(PC, _pc("5"), PC, '"5"', "positive integer or an object"),
    Case(PC, _pc(True), PC, "true", "positive integer or an object"),
    Case(PC, _pc(1.5), PC, "1.5", "positive integer or an object"),
    Case(PC, _pc(0), PC, "(0)", "set a positive integer", R),
    Case(PC, _pc(-1), PC, "(-1)", "set a positive integer", R),
    Case(PC, _pc(5, lambda_concurrency=2), PC, "(5)", "raise lambda_concurrency", R),
    Case(PC, _pc({"min": 1, "max": 2, "maximum": 3}), PC, '"maximum"', "did you mean `max`? (use only min, max", R),
    Case(f"{PC}.min", _pc({"max": 2}), f"{PC}.min", '{"max": 2}', "add it", R),
    Case(f"{PC}.min", _pc({"min": "1", "max": 2}), f"{PC}.min", '"1"', "integer count of environments"),
    Case(f"{PC}.min", _pc({"min": 0, "max": 2}), f"{PC}.min", "(0)", '"min": 0, "max": 0', R),
    Case(f"{PC}.min", _pc({"min": 5, "max": 2}), f"{PC}.min", "(5)", "set min <= max", R),
    Case(f"{PC}.max", _pc({"min": 1}), f"{PC}.max", '{"min": 1}', "add it", R),
    Case(f"{PC}.max", _pc({"min": 1, "max": "10"}), f"{PC}.max", '"10"', "integer count of environments"),
    Case(f"{PC}.max", _pc({"min": 1, "max": 10}, lambda_concurrency=5), f"{PC}.max", "(10)",
         "raise lambda_concurrency", R),
    Case(f"{PC}.target_utilization", _pc({"min": 1, "max": 2, "target_utilization": "70%"}),
         f"{PC}.target_utilization", '"70%"', "e.g. 0.7 for 70%"),
    Case(f"{PC}.target_utilization", _pc({"min": 1, "max": 2, "target_utilization": True}),
         f"{PC}.target_utilization", "true", "e.g. 0.7 for 70%"),
    Case(f"{PC}.target_utilization", _pc({"min": 1, "max": 2, "target_utilization": 0}),
         f"{PC}.target_utilization", "(0)", "e.g. 0.7 for 70%", R),
    Case(f"{PC}.target_utilization", _pc({"min": 1, "max": 2, "target_utilization": 1.5}),
         f"{PC}.target_utilization", "(1.5)", "e.g. 0.7 for 70%", R),
    Case(f"{PC}.scale_in_cooldown", _pc({"min": 1, "max": 2, "scale_in_cooldown": "60"}),
         f"{PC}.scale_in_cooldown", '"60"', "use e.g. 60"),
    Case(f"{PC}.scale_in_cooldown", _pc({"min": 1, "max": 2, "scale_in_cooldown": -1}),
         f"{PC}.scale_in_cooldown", "(-1)", "use e.g. 60", R),
    Case(f"{PC}.scale_out_cooldown", _pc({"min": 1, "max": 2, "scale_out_cooldown": 1.5}),
         f"{PC}.scale_out_cooldown", "(1.5)", "use e.g. 60"),
    Case(f"{PC}.scale_out_cooldown", _pc({"min": 1, "max": 2, "scale_out_cooldown": -5}),
         f"{PC}.scale_out_cooldown", "(-5)", "use e.g. 60", R),
    Case(SCHEDULED, _pc({"min": 1, "max": 2, "scheduled": {}}), SCHEDULED, "({})", '[{"name": "business-hours"'),
    Case(SCHEDULED, _pc({"min": 1, "max": 2, "scheduled": [1]}), f"{SCHEDULED}[0]", "(1)", '{"name": "nights"'),
    Case(SCHEDULED, _action(when="later"), f"{SCHEDULED}[0]", '"when"', "use only name, schedule", R),
    Case(SCHEDULED, _action(name=5), f"{SCHEDULED}[0].name", "(5)", 'e.g. "business-hours"'),
    Case(SCHEDULED, _action(name="a/b"), f"{SCHEDULED}[0].name", '"a/b"', 'e.g. "business-hours"', R),
    Case(SCHEDULED, _action(schedule=5), f"{SCHEDULED}[0].schedule", "(5)", 'e.g. "cron(0 8 ? * MON-FRI *)"'),
    Case(SCHEDULED, _action(schedule="daily"), f"{SCHEDULED}[0].schedule", '"daily"',
         'e.g. "cron(0 8 ? * MON-FRI *)"', R),
    Case(SCHEDULED, _action(min="1"), f"{SCHEDULED}[0].min", '"1"', "integer count of environments"),
    Case(SCHEDULED, _action(min=3, max=2), f"{SCHEDULED}[0].min", "(3)", "set min <= max", R),
    Case(SCHEDULED, _action(min=None, max=None), f"{SCHEDULED}[0]", '"nights"', "add at least one of them", R),
    Case(SCHEDULED, {**_action(max=9), "lambda_concurrency": 5}, f"{SCHEDULED}[0].max", "(9)",
         "raise lambda_concurrency", R),
    Case(SCHEDULED, _action(timezone=5), f"{SCHEDULED}[0].timezone", "(5)", 'e.g. "Europe/Paris"'),
    Case(SCHEDULED, {PC: {"min": 1, "max": 4, "scheduled": [
        {"name": "a", "schedule": "rate(1 hour)", "min": 1}, {"name": "a", "schedule": "rate(2 hours)", "min": 2}]}},
         SCHEDULED, '["a"]', "give each action a unique name", R),
    Case("snap_start", {"snap_start": "Always", "runtime": PY312}, "snap_start", '"Always"', SNAP_FIX, R),
    Case("snap_start", {"snap_start": True, "runtime": PY312}, "snap_start", "true", SNAP_FIX),
    Case("snap_start", {"snap_start": 1, "runtime": PY312}, "snap_start", "1", SNAP_FIX),
    Case("snap_start", {"snap_start": "PublishedVersions", "runtime": "python3.11"}, "runtime", '"python3.11"',
         '"runtime": "python3.12"', R),
    Case("snap_start", {"snap_start": "PublishedVersions", "runtime": PY312, PC: 2}, PC, "(2)",
         "remove one of the two", R),
)


def _extra_cases() -> tuple[Case, ...]:
    """Cases for keys added by others since this table was written, when they exist in this tree."""
    cases: list[Case] = []
    if "bench_environment" in EAGER_KEYS:
        key = "bench_environment"
        cases += [
            Case(key, {key: "DATABASE_URL=x"}, key, '"DATABASE_URL=x"', '"bench_environment": {"DATABASE_URL"'),
            Case(key, {key: {"DB_PORT": 5432}}, f"{key}.DB_PORT", "5432", 'quote it: "DB_PORT": "5432"'),
            Case(key, {key: {"1BAD": "x"}}, key, '"1BAD"', "starting with a letter", R),
            Case(key, {key: {"AWS_REGION": "eu-west-1"}}, key, '["AWS_REGION"]', "remove AWS_REGION", R),
        ]
    if "expect" in WARMUP_KEYS:
        cases += [
            Case(WARMUP, _warm({"path": "/", "expect": "200"}), f"{WARMUP}[0].expect", '"200"', "without quotes: 200"),
            Case(WARMUP, _warm({"path": "/", "expect": True}), f"{WARMUP}[0].expect", "true", '"expect": 200'),
            Case(WARMUP, _warm({"path": "/", "expect": 99}), f"{WARMUP}[0].expect", "99", '"expect": 200', R),
        ]
    if LMI in EAGER_KEYS:
        cases += _lmi_cases()
    return tuple(cases)


LMI = "managed_instances"
NET = {"subnets": ["subnet-0a"], "security_groups": ["sg-0a"]}
CP = "arn:aws:lambda:us-east-1:123456789012:capacity-provider:web"


def _lmi(value: Any, **stage: Any) -> dict[str, Any]:
    return {LMI: value, "runtime": "python3.13", **stage}


def _lmi_cases() -> list[Case]:
    """managed_instances (Lambda Managed Instances): the object, each sub-key, and what it cannot go with."""
    def sub(key: str, value: Any, shown: str, fix: str, kind: str = "type", **extra: Any) -> Case:
        return Case(f"{LMI}.{key}", _lmi({**NET, key: value, **extra}), f"{LMI}.{key}", shown, fix, kind)

    return [
        Case(LMI, _lmi(CP), LMI, f'"{CP}"', "attach a capacity provider with"),
        Case(LMI, _lmi({"capacity_provider_arn": CP, **NET}), LMI, '"subnets"', "keep capacity_provider_arn alone", R),
        Case(LMI, _lmi({}), f"{LMI}.subnets", "null", '"subnets": ["subnet-0abc"', R),
        Case(LMI, {LMI: NET, "runtime": "python3.12"}, "runtime", '"python3.12"', '"runtime": "python3.13"', R),
        Case(LMI, _lmi(NET, provisioned_concurrency=2), PC, "2", "remove provisioned_concurrency", R),
        Case(LMI, _lmi(NET, snap_start="PublishedVersions"), "snap_start", '"PublishedVersions"', "remove snap_start",
             R),
        Case(LMI, _lmi(NET, keep_warm=True), "keep_warm", "true", 'remove "keep_warm"', R),
        Case(LMI, _lmi(NET, slim_handler=True, ephemeral_storage={"Size": 512}), "ephemeral_storage",
             '{"Size": 512}', '"ephemeral_storage": {"Size": 768}', R),
        Case(f"{LMI}.capacity_provider_arn", _lmi({"capacity_provider_arn": 5}), f"{LMI}.capacity_provider_arn", "5",
             "aws lambda list-capacity-providers"),
        Case(f"{LMI}.capacity_provider_arn", _lmi({"capacity_provider_arn": "arn:aws:lambda:us-east-1:1:function:x"}),
             f"{LMI}.capacity_provider_arn", '"arn:aws:lambda:us-east-1:1:function:x"',
             "aws lambda list-capacity-providers", R),
        sub("subnets", "subnet-0a", '"subnet-0a"', 'write it as a list: ["subnet-0a"]'),
        sub("subnets", ["vpc-1"], '["vpc-1"]', 'use IDs such as "subnet-0abc"', R),
        sub("security_groups", 7, "7", 'use e.g. ["sg-0123"]'),
        sub("security_groups", ["subnet-0a"], '["subnet-0a"]', 'use IDs such as "sg-0123"', R),
        sub("operator_role_arn", 5, "5", "arn:aws:iam::123456789012:role/LambdaOperator"),
        sub("operator_role_arn", "arn:aws:iam::123456789012:user/bob", '"arn:aws:iam::123456789012:user/bob"',
            "leave it out for a generated role", R),
        sub("architectures", "arm64", '"arm64"', 'use e.g. ["arm64"]'),
        sub("architectures", ["arm64"], '["arm64"]', 'set "architecture": "arm64" in the stage too', R),
        sub("instance_types", "m7g.large", '"m7g.large"', '["m7g.large", "c7g.*"]'),
        sub("instance_types", ["m7g large"], '["m7g large"]', '["m7g.large", "c7g.*"]', R),
        sub("max_vcpus", "64", '"64"', '"max_vcpus": 64'),
        sub("max_vcpus", 1, "1", '"max_vcpus": 64', R),
        sub("scaling_mode", 1, "1", '"manual" with "target_cpu_utilization": 60'),
        sub("scaling_mode", "fast", '"fast"', '"manual" with "target_cpu_utilization": 60', R),
        sub("target_cpu_utilization", "60", '"60"', '"target_cpu_utilization": 60', scaling_mode="manual"),
        sub("target_cpu_utilization", 150, "150", '"target_cpu_utilization": 60', R, scaling_mode="manual"),
        sub("target_cpu_utilization", 60, "60", 'set "scaling_mode": "manual"', R),
        sub("per_environment_max_concurrency", "16", '"16"', "use e.g. 16"),
        sub("per_environment_max_concurrency", 0, "0", "use e.g. 16", R),
        sub("per_environment_max_concurrency", 1601, "1601", "use e.g. 16", R),
        sub("memory_gib_per_vcpu", "4", '"4"', "use 2 (compute), 4 (general purpose) or 8 (memory)"),
        sub("memory_gib_per_vcpu", 3, "3", "use 2 (compute), 4 (general purpose) or 8 (memory)", R),
    ]


def _lmi_rows() -> tuple[str, ...]:
    if LMI not in EAGER_KEYS:
        return ()
    from zappa_eager.provisioning.lmi_config import KEYS

    return tuple(f"{LMI}.{key}" for key in KEYS)


#: The row of misspelt keys: a stage key that looks like ours, or a key inside one of our objects.
MISSPELT = "misspelt keys"
K = "key"  # the kind of these cases: a wrong name, not a wrong value
MISSPELT_CASES: tuple[Case, ...] = (
    Case(MISSPELT, {"eager_init_warmpu": ["/x"]}, "eager_init_warmpu", '["/x"]', "did you mean `eager_init_warmup`?",
         K),
    Case(MISSPELT, {"eager_warmup": ["/x"]}, "eager_warmup", '["/x"]', "did you mean `eager_init_warmup`?", K),
    Case(MISSPELT, {"eager_init_on_eror": "raise"}, "eager_init_on_eror", '"raise"',
         "did you mean `eager_init_on_error`?", K),
    Case(MISSPELT, {"eager_everything": True}, "eager_everything", "true", "eager_init", K),
    Case(MISSPELT, {"lean_kep": ["django"]}, "lean_kep", '["django"]', "did you mean `lean_keep`?", K),
    Case(MISSPELT, {"compile_bytcode": False}, "compile_bytcode", "false", "did you mean `compile_bytecode`?", K),
    Case(MISSPELT, {"bench_enviroment": {"DB": "x"}}, "bench_enviroment", '{"DB": "x"}',
         "did you mean `bench_environment`?", K),
    Case(MISSPELT, _warm({"path": "/", "methd": "POST"}), f"{WARMUP}[0].methd", '"POST"', "did you mean `method`?",
         K),
    Case(MISSPELT, _pc({"min": 1, "max": 2, "target_utilisation": 0.5}), PC, '"target_utilisation"',
         "did you mean `target_utilization`?", K),
    Case(MISSPELT, _action(timezon="UTC"), f"{SCHEDULED}[0]", '"timezon"', "did you mean `timezone`?", K),
    Case(MISSPELT, {"managed_instances": {"subnet": ["subnet-0a"], "security_groups": ["sg-0a"]},
                    "runtime": "python3.13"}, "managed_instances.subnet", '["subnet-0a"]', "did you mean `subnets`?",
         K),
)


def all_cases() -> tuple[Case, ...]:
    return CASES + _extra_cases() + MISSPELT_CASES


def owned_keys() -> tuple[str, ...]:
    """Every row of the table: the eager keys, provisioned_concurrency and its sub-keys, snap_start, misspelt keys."""
    return (*EAGER_KEYS, PC, *(f"{PC}.{k}" for k in OBJECT_KEYS), *_lmi_rows(), "snap_start", MISSPELT)


def covered_subkeys() -> dict[str, set[str]]:
    """Sub-keys (warm-up request keys, scheduled-action keys) the cases put a bad value in."""
    found: dict[str, set[str]] = {WARMUP: set(), SCHEDULED: set()}
    for case in all_cases():
        for prefix in found:
            if case.setting.startswith(f"{prefix}[0]."):
                found[prefix].add(case.setting.rsplit(".", 1)[1])
    return found


def expected_subkeys() -> dict[str, set[str]]:
    return {WARMUP: set(WARMUP_KEYS), SCHEDULED: set(ACTION_KEYS)}


# -- running the CLI --------------------------------------------------------------------------

class AWSCallRefused(RuntimeError):
    """The tripwire: a command tried an AWS operation."""


@contextlib.contextmanager
def aws_tripwire() -> Iterator[list[str]]:
    """Refuse every AWS operation of every botocore session created inside; yields the ones attempted."""
    from botocore.handlers import BUILTIN_HANDLERS
    from moto import mock_aws

    attempted: list[str] = []

    def refuse(event_name: str = "", **_: Any) -> None:
        operation = event_name.removeprefix("before-call.")
        attempted.append(operation)
        raise AWSCallRefused(f"AWS call attempted: {operation}")

    entry = ("before-call", refuse)
    BUILTIN_HANDLERS.append(entry)
    try:
        with mock_aws():
            yield attempted
    finally:
        BUILTIN_HANDLERS.remove(entry)


#: What a value shown as Python prints that JSON never does (values must be shown as written).
PYTHON_REPR = re.compile(r"(?<![\w\"])(None|True|False)(?![\w\"])|[{\[]'")  # "None" quoted is snap_start's

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@contextlib.contextmanager
def loopback_only() -> Iterator[list[str]]:
    """Refuse (and record) every connection or name lookup beyond 127.0.0.1, AWS or not."""
    attempted: list[str] = []
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            attempted.append(f"connect {address[0]}:{address[1]}")
            raise ConnectionRefusedError(f"the settings table stays on 127.0.0.1, not {address[0]}")
        real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and str(host) not in LOOPBACK:
            attempted.append(f"resolve {host}")
            raise socket.gaierror(f"the settings table stays on 127.0.0.1, not {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    with patched(socket.socket, "connect", connect), patched(socket, "getaddrinfo", getaddrinfo):
        yield attempted


@dataclass
class CommandRun:
    command: str
    exit_code: int | None
    output: str
    aws_calls: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)  # files the command left in its directory
    refused: str | None = None  # the tripwire's message, when it fired
    network: list[str] = field(default_factory=list)  # connections beyond 127.0.0.1 attempted (refused)


def run_command(command: str, stage: Mapping[str, Any], workdir: Path) -> CommandRun:
    """``zappa COMMAND dev`` in-process, in ``workdir``, with ``stage`` as its settings."""
    from zappa_eager.cli import EagerZappaCLI

    workdir.mkdir(parents=True, exist_ok=True)
    settings = workdir / "zappa_settings.json"
    settings.write_text(json.dumps({STAGE: dict(stage)}))
    before = set(os.listdir(workdir))
    out = io.StringIO()
    cwd = os.getcwd()
    exit_code: int | None = 0
    refused = None
    cli = EagerZappaCLI()  # its check_for_update stays offline: the network guard below would record it
    with aws_tripwire() as calls, loopback_only() as network:
        os.chdir(workdir)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                cli.handle([command, STAGE, "-s", str(settings)])
        except SystemExit as exc:
            exit_code = exc.code if isinstance(exc.code, int) else 1
        except AWSCallRefused as exc:
            exit_code, refused = None, str(exc)
        finally:
            os.chdir(cwd)
    written = sorted(set(os.listdir(workdir)) - before)
    return CommandRun(command, exit_code, out.getvalue(), list(calls), written, refused, list(network))


@dataclass
class CaseResult:
    case: Case
    runs: list[CommandRun]

    def problems(self) -> list[str]:
        """What this case got wrong, per command (empty: rejected, named, shown, fixed, before AWS)."""
        found = []
        for run in self.runs:
            text = " ".join(run.output.split())  # click wraps nothing, but be safe with newlines
            checks = {
                "did not fail": run.exit_code not in (None, 0),
                "AWS call attempted": not run.aws_calls,
                "network beyond 127.0.0.1 attempted": not run.network,
                "wrote files": not run.written,
                f"setting {self.case.setting!r} not named": self.case.setting in text,
                f"value {self.case.shown!r} not shown": self.case.shown in text,
                f"fix {self.case.fix!r} not given": self.case.fix in text,
                "a value shown as a Python repr, not as JSON": not PYTHON_REPR.search(text),
            }
            found += [f"{run.command}: {what}" for what, ok in checks.items() if not ok]
        return found

    @property
    def message(self) -> str:
        lines = [line for line in self.runs[0].output.splitlines() if line.startswith("Error:")] if self.runs else []
        return lines[0] if lines else (self.runs[0].output.strip().splitlines() or [""])[-1]


def check_case(case: Case, workdir: Path, commands: tuple[str, ...] = COMMANDS) -> CaseResult:
    stage = {**base_stage(), **case.stage}
    return CaseResult(case, [run_command(command, stage, workdir / command) for command in commands])


def control(workdir: Path) -> CommandRun:
    """The valid stage: ``deploy`` must get as far as its first AWS operation (and be refused there)."""
    return run_command("deploy", base_stage(), workdir)


# -- the table ---------------------------------------------------------------------------------

def _key_row(key: str, results: list[CaseResult], ms: float) -> Row:
    if not results:
        return Row(GROUP, key, "no cases", False, ms)
    failed = [p for r in results for p in r.problems()]
    passed = sum(1 for r in results if not r.problems())
    kinds = "/".join(sorted({r.case.kind for r in results}))
    values = ", ".join(r.case.shown for r in results)
    commands = ", ".join(run.command for run in results[0].runs)
    outcome = f"{passed}/{len(results)} bad values ({kinds}) rejected before any AWS call by {commands}"
    detail = f"values: {values}; e.g. {results[0].message}"
    if failed:
        detail += "; problems: " + "; ".join(failed[:6])
    return Row(GROUP, key, outcome, not failed, ms, detail=detail)


def scenarios(fast: bool, workdir: Path) -> list[Row]:
    """One row per key (all cases; ``fast`` runs only ``deploy``), then the tripwire's control."""
    commands = ("deploy",) if fast else COMMANDS
    numbered = list(enumerate(all_cases()))
    rows = []
    for key in owned_keys():
        started = time.perf_counter()
        results = [check_case(c, workdir / f"case-{i}", commands) for i, c in numbered if c.key == key]
        rows.append(_key_row(key, results, (time.perf_counter() - started) * 1000.0))
    started = time.perf_counter()
    run = control(workdir / "control")
    rows.append(Row(GROUP, "valid stage (control)", f"deploy reached AWS: {', '.join(run.aws_calls) or 'never'}",
                    bool(run.aws_calls) and run.refused is not None, (time.perf_counter() - started) * 1000.0,
                    detail="the tripwire refused the first AWS operation of a valid deploy, so it is armed"))
    return rows
