"""The ``managed_instances`` stage setting (Lambda Managed Instances): its dataclasses and its validation.

The object either attaches the function to an existing capacity provider
(``capacity_provider_arn``) or describes one zappa-eager creates (``subnets``,
``security_groups``, ``operator_role_arn`` or a generated role, ``architectures``,
``instance_types``, ``max_vcpus``, ``scaling_mode``/``target_cpu_utilization``); both forms take
``per_environment_max_concurrency`` and ``memory_gib_per_vcpu``. Every problem of the stage is
reported at once, before any AWS client exists, as ``Invalid <setting> = <value> in stage '<stage>':
<problem>. Fix: <fix>.`` (the format of ``zappa_eager.settings.Problem``; this module returns the
lines, ``settings.check_stage`` collects them). Tooling module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from zappa_eager.packaging.bytecode import runtime_python
from zappa_eager.runtime.contract import snap_start_enabled
from zappa_eager.settings_keys import unknown_key_fix

SETTING = "managed_instances"
ATTACH_KEY = "capacity_provider_arn"
#: Keys that describe a capacity provider for zappa-eager to create.
CREATE_KEYS = ("subnets", "security_groups", "operator_role_arn", "architectures", "instance_types", "max_vcpus",
               "scaling_mode", "target_cpu_utilization")
#: Keys of the function's side (both forms).
FUNCTION_KEYS = ("per_environment_max_concurrency", "memory_gib_per_vcpu")
KEYS = (ATTACH_KEY, *CREATE_KEYS, *FUNCTION_KEYS)

#: Python runtimes Lambda Managed Instances supports start at python3.13.
MIN_PYTHON = (3, 13)
ARCHITECTURES = ("x86_64", "arm64")
SCALING_MODES: dict[str, Literal["Auto", "Manual"]] = {"auto": "Auto", "manual": "Manual"}
#: ``ExecutionEnvironmentMemoryGiBPerVCpu``: the ratios AWS offers (2:1 compute, 4:1 general, 8:1 memory).
MEMORY_RATIOS = (2, 4, 8)
DEFAULT_MEMORY_RATIO = 2
#: The Python runtime's default processes (= concurrent requests) per vCPU of an environment.
DEFAULT_PROCESSES_PER_VCPU = 16
MAX_PER_ENVIRONMENT = 1600
MAX_VCPUS = (2, 15000)
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5
#: ``slim_handler`` on LMI: /tmp must hold what upstream's default (512 MB) holds for one process, plus this much
#: scratch per process of the environment (they share one /tmp; the project is unpacked once per environment).
SLIM_BASE_TMP_MB = 512
SLIM_TMP_PER_PROCESS_MB = 16

_CP_ARN = re.compile(r"arn:aws[a-zA-Z-]*:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso[a-z]?))?-[a-z]+-\d:\d{12}"
                     r":capacity-provider:[a-zA-Z0-9_-]{1,64}")
_ROLE_ARN = re.compile(r"arn:aws[a-zA-Z-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@/-]+")
_SUBNET = re.compile(r"subnet-[0-9a-z]+")
_SECURITY_GROUP = re.compile(r"sg-[0-9a-zA-Z]+")
_INSTANCE_TYPE = re.compile(r"[a-zA-Z0-9.*-]{1,30}")
_ATTACH_EXAMPLE = '{"capacity_provider_arn": "arn:aws:lambda:us-east-1:123456789012:capacity-provider:web"}'
_CREATE_EXAMPLE = '{"subnets": ["subnet-0abc", "subnet-0def"], "security_groups": ["sg-0123"]}'


class ManagedInstancesError(ValueError):
    """Every bad ``managed_instances`` value of a stage; each line names the setting, the value and the fix."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__("\n".join(messages))


@dataclass(frozen=True)
class CapacityProviderSpec:
    """A capacity provider zappa-eager creates (and tags, and deletes on undeploy)."""

    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    #: None: zappa-eager creates an operator role with AWS's managed operator policy only.
    operator_role_arn: str | None = None
    architecture: str | None = None
    instance_types: tuple[str, ...] = ()
    max_vcpus: int | None = None
    scaling_mode: Literal["Auto", "Manual"] = "Auto"
    target_cpu_utilization: float | None = None

    def scaling_config(self) -> dict[str, Any]:
        """``CapacityProviderScalingConfig`` as CreateCapacityProvider/UpdateCapacityProvider take it."""
        config: dict[str, Any] = {"ScalingMode": self.scaling_mode}
        if self.max_vcpus is not None:
            config["MaxVCpuCount"] = self.max_vcpus
        if self.target_cpu_utilization is not None:
            config["ScalingPolicies"] = [{"PredefinedMetricType": "LambdaCapacityProviderAverageCPUUtilization",
                                          "TargetValue": self.target_cpu_utilization}]
        return config

    def instance_requirements(self) -> dict[str, Any]:
        requirements: dict[str, Any] = {}
        if self.architecture is not None:
            requirements["Architectures"] = [self.architecture]
        if self.instance_types:
            requirements["AllowedInstanceTypes"] = list(self.instance_types)
        return requirements


@dataclass(frozen=True)
class ManagedInstancesConfig:
    """The validated ``managed_instances`` of a stage: attach (``capacity_provider_arn``) or create (``create``)."""

    capacity_provider_arn: str | None = None
    create: CapacityProviderSpec | None = None
    per_environment_max_concurrency: int | None = None
    memory_gib_per_vcpu: float | None = None
    #: True when the stage did not set keep_warm and it was turned off for LMI.
    keep_warm_skipped: bool = field(default=False, compare=False)

    def function_config(self, capacity_provider_arn: str) -> dict[str, Any]:
        """``CapacityProviderConfig`` as CreateFunction/UpdateFunctionConfiguration take it."""
        config: dict[str, Any] = {"CapacityProviderArn": capacity_provider_arn}
        if self.per_environment_max_concurrency is not None:
            config["PerExecutionEnvironmentMaxConcurrency"] = self.per_environment_max_concurrency
        if self.memory_gib_per_vcpu is not None:
            config["ExecutionEnvironmentMemoryGiBPerVCpu"] = self.memory_gib_per_vcpu
        return {"LambdaManagedInstancesCapacityProviderConfig": config}

    def describe(self) -> str:
        where = self.capacity_provider_arn or "created by zappa-eager"
        per_env = self.per_environment_max_concurrency or f"{DEFAULT_PROCESSES_PER_VCPU}/vCPU (AWS default)"
        ratio = self.memory_gib_per_vcpu or DEFAULT_MEMORY_RATIO
        return f"capacity provider {where}; {per_env} concurrent per environment; {ratio:g} GiB per vCPU"


def _line(setting: str, value: Any, stage: str, problem: str, fix: str) -> str:
    """One problem, in the words of ``zappa_eager.settings.Problem.line``."""
    return f"Invalid {setting} = {_show(value)} in stage '{stage}' of zappa_settings: {problem}. Fix: {fix}."


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Checker:
    """Collects every problem of one stage's ``managed_instances``."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.messages: list[str] = []

    def add(self, setting: str, value: Any, problem: str, fix: str) -> None:
        self.messages.append(_line(setting, value, self.stage, problem, fix))

    def id_list(self, raw: Mapping[str, Any], key: str, pattern: re.Pattern[str], most: int, example: str
                ) -> tuple[str, ...]:
        value = raw.get(key)
        setting = f"{SETTING}.{key}"
        if value is None:
            self.add(setting, value, f"a capacity provider to create needs {key}",
                     f'add e.g. "{key}": [{example}], or attach an existing one with "{ATTACH_KEY}"')
            return ()
        if isinstance(value, str):
            self.add(setting, value, "expected a list, not one string", f"write it as a list: [{_show(value)}]")
            return ()
        if not isinstance(value, list) or not value or len(value) > most:
            self.add(setting, value, f"expected a list of 1 to {most} IDs", f"use e.g. [{example}]")
            return ()
        bad = [item for item in value if not isinstance(item, str) or not pattern.fullmatch(item)]
        if bad:
            self.add(setting, value, f"{_show(bad)} is not an ID of that kind", f"use IDs such as {example}")
            return ()
        return tuple(value)


def parse_managed_instances(stage_config: Mapping[str, Any], stage: str, default_runtime: str
                            ) -> ManagedInstancesConfig | None:
    """Validate a stage's ``managed_instances`` and what it cannot be combined with; None when not set."""
    raw = stage_config.get(SETTING)
    if raw is None:
        return None
    check = _Checker(stage)
    if not isinstance(raw, Mapping):
        check.add(SETTING, raw, "expected an object",
                  f"attach a capacity provider with {_ATTACH_EXAMPLE} or describe one with {_CREATE_EXAMPLE}")
        raise ManagedInstancesError(check.messages)
    for key in raw:
        if key not in KEYS:
            check.messages.append(f"Unknown key {SETTING}.{key} = {_show(raw[key])} in stage '{stage}' of "
                                  f"zappa_settings: a managed_instances object has no key {_show(key)}. "
                                  f"Fix: {unknown_key_fix(str(key), KEYS)}.")
    arn = _attach(check, raw)
    create = None if arn is not None else _create(check, raw, stage_config)
    config = ManagedInstancesConfig(
        capacity_provider_arn=arn,
        create=create,
        per_environment_max_concurrency=_per_environment(check, raw),
        memory_gib_per_vcpu=_memory_ratio(check, raw),
    )
    _combinations(check, stage_config, default_runtime, config)
    if check.messages:
        raise ManagedInstancesError(check.messages)
    return config


def _attach(check: _Checker, raw: Mapping[str, Any]) -> str | None:
    if ATTACH_KEY not in raw:
        return None
    value = raw[ATTACH_KEY]
    if not isinstance(value, str) or not _CP_ARN.fullmatch(value):
        check.add(f"{SETTING}.{ATTACH_KEY}", value, "not a capacity provider ARN",
                  "use the ARN `aws lambda list-capacity-providers` shows, "
                  "e.g. arn:aws:lambda:us-east-1:123456789012:capacity-provider:web")
    both = [key for key in CREATE_KEYS if key in raw]
    if both:
        check.add(SETTING, {key: raw[key] for key in (ATTACH_KEY, *both)},
                  f"{ATTACH_KEY} attaches an existing capacity provider, {', '.join(both)} describe one to create",
                  f"keep {ATTACH_KEY} alone, or remove it to let zappa-eager create the capacity provider")
    return value if isinstance(value, str) else None


def _create(check: _Checker, raw: Mapping[str, Any], stage_config: Mapping[str, Any]) -> CapacityProviderSpec:
    subnets = check.id_list(raw, "subnets", _SUBNET, MAX_SUBNETS, '"subnet-0abc", "subnet-0def"')
    groups = check.id_list(raw, "security_groups", _SECURITY_GROUP, MAX_SECURITY_GROUPS, '"sg-0123"')
    role = raw.get("operator_role_arn")
    if role is not None and (not isinstance(role, str) or not _ROLE_ARN.fullmatch(role)):
        check.add(f"{SETTING}.operator_role_arn", role, "not an IAM role ARN",
                  "use e.g. arn:aws:iam::123456789012:role/LambdaOperator, or leave it out for a generated role "
                  "with AWS's AWSLambdaManagedEC2ResourceOperator policy only")
        role = None
    scaling_mode, target = _scaling(check, raw)
    return CapacityProviderSpec(
        subnets=subnets,
        security_groups=groups,
        operator_role_arn=role,
        architecture=_architecture(check, raw, stage_config),
        instance_types=_instance_types(check, raw),
        max_vcpus=_max_vcpus(check, raw),
        scaling_mode=scaling_mode,
        target_cpu_utilization=target,
    )


def _architecture(check: _Checker, raw: Mapping[str, Any], stage_config: Mapping[str, Any]) -> str | None:
    stage_arch = stage_config.get("architecture", "x86_64")
    if "architectures" not in raw:
        return stage_arch if isinstance(stage_arch, str) and stage_arch in ARCHITECTURES else None
    value = raw["architectures"]
    setting = f"{SETTING}.architectures"
    if not isinstance(value, list) or len(value) != 1 or value[0] not in ARCHITECTURES:
        check.add(setting, value, 'expected a list of one architecture, "x86_64" or "arm64"',
                  'use e.g. ["arm64"], or leave it out to follow the stage\'s "architecture"')
        return None
    if value[0] != stage_arch:
        check.add(setting, value, f'the function is built for "architecture": {_show(stage_arch)}',
                  f'set "architecture": {_show(value[0])} in the stage too, or remove {setting}')
        return None
    return str(value[0])


def _instance_types(check: _Checker, raw: Mapping[str, Any]) -> tuple[str, ...]:
    value = raw.get("instance_types", [])
    if not isinstance(value, list) or len(value) > 400 or not all(
        isinstance(item, str) and _INSTANCE_TYPE.fullmatch(item) for item in value
    ):
        check.add(f"{SETTING}.instance_types", value, "expected a list of EC2 instance types (wildcards allowed)",
                  'use e.g. ["m7g.large", "c7g.*"], or leave it out to let Lambda choose')
        return ()
    return tuple(value)


def _max_vcpus(check: _Checker, raw: Mapping[str, Any]) -> int | None:
    value = raw.get("max_vcpus")
    low, high = MAX_VCPUS
    if value is not None and (not _is_int(value) or not low <= value <= high):
        check.add(f"{SETTING}.max_vcpus", value, f"expected a whole number from {low} to {high}",
                  'use e.g. "max_vcpus": 64 (the most vCPUs the capacity provider may run), or leave it out')
        return None
    return None if value is None else int(value)


def _scaling(check: _Checker, raw: Mapping[str, Any]) -> tuple[Literal["Auto", "Manual"], float | None]:
    mode = raw.get("scaling_mode", "auto")
    target = raw.get("target_cpu_utilization")
    if not isinstance(mode, str) or mode.lower() not in SCALING_MODES:
        check.add(f"{SETTING}.scaling_mode", mode, 'expected "auto" or "manual"',
                  'use "auto" (Lambda picks the CPU target) or "manual" with "target_cpu_utilization": 60')
        return "Auto", None
    api_mode = SCALING_MODES[mode.lower()]
    if api_mode == "Auto":
        if target is not None:
            check.add(f"{SETTING}.target_cpu_utilization", target, '"scaling_mode" "auto" sets its own CPU target',
                      'set "scaling_mode": "manual" to keep this target, or remove target_cpu_utilization')
        return api_mode, None
    if not isinstance(target, (int, float)) or isinstance(target, bool) or not 0 < target <= 100:
        check.add(f"{SETTING}.target_cpu_utilization", target,
                  '"scaling_mode": "manual" needs a CPU target, a percentage above 0 and at most 100',
                  'add e.g. "target_cpu_utilization": 60')
        return api_mode, None
    return api_mode, float(target)


def _per_environment(check: _Checker, raw: Mapping[str, Any]) -> int | None:
    value = raw.get("per_environment_max_concurrency")
    if value is not None and (not _is_int(value) or not 1 <= value <= MAX_PER_ENVIRONMENT):
        check.add(f"{SETTING}.per_environment_max_concurrency", value,
                  f"expected a whole number from 1 to {MAX_PER_ENVIRONMENT} (Python: one process per request)",
                  'use e.g. 16, or leave it out for AWS\'s default (16 per vCPU)')
        return None
    return None if value is None else int(value)


def _memory_ratio(check: _Checker, raw: Mapping[str, Any]) -> float | None:
    value = raw.get("memory_gib_per_vcpu")
    if value is not None and (not _is_number(value) or value not in MEMORY_RATIOS):
        check.add(f"{SETTING}.memory_gib_per_vcpu", value, "expected 2, 4 or 8 (GiB of memory per vCPU)",
                  "use 2 (compute), 4 (general purpose) or 8 (memory), or leave it out for 2")
        return None
    return None if value is None else float(value)


def processes_per_environment(stage_config: Mapping[str, Any], config: ManagedInstancesConfig) -> int:
    """How many Python processes share one environment's /tmp: the setting, else 16 per vCPU of its memory."""
    if config.per_environment_max_concurrency is not None:
        return config.per_environment_max_concurrency
    memory = stage_config.get("memory_size", 512)
    memory_mb = memory if _is_number(memory) else 512
    vcpus = max(1, int(memory_mb / 1024 / (config.memory_gib_per_vcpu or DEFAULT_MEMORY_RATIO)))
    return DEFAULT_PROCESSES_PER_VCPU * vcpus


def slim_tmp_needed_mb(processes: int) -> int:
    """/tmp a slim_handler stage needs on LMI: upstream's default for the project, plus scratch per process."""
    return SLIM_BASE_TMP_MB + SLIM_TMP_PER_PROCESS_MB * processes


def _combinations(check: _Checker, stage_config: Mapping[str, Any], default_runtime: str,
                  config: ManagedInstancesConfig) -> None:
    runtime = str(stage_config.get("runtime") or default_runtime)
    version = runtime_python(runtime)
    if version is not None and version < MIN_PYTHON:
        check.add("runtime", runtime, "Lambda Managed Instances runs Python from python3.13",
                  'set "runtime": "python3.13" (or newer), or remove managed_instances')
    snap_start = stage_config.get("snap_start")
    if snap_start_enabled(snap_start):
        check.add("snap_start", snap_start, "SnapStart does not apply to Lambda Managed Instances",
                  "remove snap_start, or remove managed_instances")
    if stage_config.get("provisioned_concurrency") is not None:
        check.add("provisioned_concurrency", stage_config["provisioned_concurrency"],
                  "a function on Lambda Managed Instances has no provisioned concurrency: its capacity provider "
                  "keeps environments ready", "remove provisioned_concurrency, or remove managed_instances")
    if stage_config.get("keep_warm") is True:
        check.add("keep_warm", True, "Lambda Managed Instances never starts an environment for a request, "
                  "so a keep-warm ping only adds invocations",
                  'remove "keep_warm" (zappa-eager turns it off on LMI) or set it to false')
    if stage_config.get("slim_handler") is True:
        _slim_tmp(check, stage_config, config)


def _slim_tmp(check: _Checker, stage_config: Mapping[str, Any], config: ManagedInstancesConfig) -> None:
    storage = stage_config.get("ephemeral_storage", {"Size": SLIM_BASE_TMP_MB})
    size = storage.get("Size") if isinstance(storage, Mapping) else None
    if not isinstance(size, int) or isinstance(size, bool):
        return  # upstream's own business (it passes the value to Lambda)
    processes = processes_per_environment(stage_config, config)
    needed = slim_tmp_needed_mb(processes)
    if size < needed:
        check.add("ephemeral_storage", storage,
                  f"slim_handler on Lambda Managed Instances: {processes} processes share one /tmp, which must hold "
                  f"the project once ({SLIM_BASE_TMP_MB} MB) and {SLIM_TMP_PER_PROCESS_MB} MB of scratch per "
                  f"process: {needed} MB", f'set "ephemeral_storage": {{"Size": {needed}}} or more (up to 10240), '
                  "or lower managed_instances.per_environment_max_concurrency")
