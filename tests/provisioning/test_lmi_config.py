"""``managed_instances``: parsed into what the Lambda API takes (checked against botocore's model), or every problem."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from zappa_eager.provisioning import capacity_provider as cp
from zappa_eager.provisioning.lmi_config import (
    KEYS,
    SLIM_BASE_TMP_MB,
    SLIM_TMP_PER_PROCESS_MB,
    CapacityProviderSpec,
    ManagedInstancesConfig,
    ManagedInstancesError,
    parse_managed_instances,
    processes_per_environment,
)
from zappa_eager.settings import EAGER_KEYS, EagerSettingsError, check_stage

CP = "arn:aws:lambda:eu-west-1:123456789012:capacity-provider:web"
NET = {"subnets": ["subnet-0a", "subnet-0b"], "security_groups": ["sg-0a"]}
MODEL = botocore.session.get_session().get_service_model("lambda")


def parse(value: Any, **stage: Any) -> ManagedInstancesConfig | None:
    return parse_managed_instances({"runtime": "python3.13", "managed_instances": value, **stage}, "dev", "python3.11")


def errors(value: Any, **stage: Any) -> list[str]:
    with pytest.raises(ManagedInstancesError) as caught:
        parse(value, **stage)
    return caught.value.messages


def valid(operation: str, params: dict[str, Any]) -> None:
    report = ParamValidator().validate(params, MODEL.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


def test_absent_is_none_and_the_key_is_ours() -> None:
    assert parse_managed_instances({"runtime": "python3.13"}, "dev", "python3.13") is None
    assert "managed_instances" in EAGER_KEYS


def test_attach_form_gives_the_function_config_the_model_accepts() -> None:
    config = parse({"capacity_provider_arn": CP, "per_environment_max_concurrency": 32, "memory_gib_per_vcpu": 8})
    assert config is not None and config.create is None and config.capacity_provider_arn == CP
    function_config = config.function_config(CP)
    assert function_config == {"LambdaManagedInstancesCapacityProviderConfig": {
        "CapacityProviderArn": CP, "PerExecutionEnvironmentMaxConcurrency": 32,
        "ExecutionEnvironmentMemoryGiBPerVCpu": 8.0}}
    valid("UpdateFunctionConfiguration", {"FunctionName": "f", "CapacityProviderConfig": function_config})


def test_create_form_gives_create_capacity_provider_params_the_model_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse({**NET, "instance_types": ["m7g.large", "c7g.*"], "max_vcpus": 64, "scaling_mode": "manual",
                    "target_cpu_utilization": 55}, architecture="arm64")
    assert config is not None and config.create == CapacityProviderSpec(
        subnets=("subnet-0a", "subnet-0b"), security_groups=("sg-0a",), architecture="arm64",
        instance_types=("m7g.large", "c7g.*"), max_vcpus=64, scaling_mode="Manual", target_cpu_utilization=55.0)
    sent: dict[str, Any] = {}

    class Client:
        def create_capacity_provider(self, **params: Any) -> None:
            sent.update(params)

    cp.create(Client(), "web", config.create, "arn:aws:iam::123456789012:role/op", "app-dev", cp.Waiting())  # type: ignore[arg-type]
    valid("CreateCapacityProvider", sent)
    assert sent["InstanceRequirements"] == {"Architectures": ["arm64"], "AllowedInstanceTypes": ["m7g.large", "c7g.*"]}
    assert sent["CapacityProviderScalingConfig"]["ScalingPolicies"][0]["TargetValue"] == 55.0
    valid("UpdateCapacityProvider", {"CapacityProviderName": "web",
                                     "CapacityProviderScalingConfig": config.create.scaling_config()})


def test_auto_scaling_is_the_default_and_the_architecture_follows_the_stage() -> None:
    config = parse(NET)
    assert config is not None and config.create is not None
    assert config.create.scaling_config() == {"ScalingMode": "Auto"}
    assert config.create.architecture == "x86_64"


def test_every_problem_is_reported_at_once_in_the_usual_format() -> None:
    messages = errors({"subnets": "subnet-0a", "security_groups": [], "max_vcpus": 1, "memory_gib_per_vcpu": 3,
                       "scaling": "auto"}, runtime="python3.12", keep_warm=True)
    assert len(messages) == 7
    assert messages[0] == ("Unknown key managed_instances.scaling = \"auto\" in stage 'dev' of zappa_settings: "
                           "a managed_instances "
                           "object has no key \"scaling\". Fix: did you mean `scaling_mode`? (use only "
                           + ", ".join(KEYS) + ").")
    assert ("Invalid runtime = \"python3.12\" in stage 'dev' of zappa_settings: Lambda Managed Instances runs "
            "Python from python3.13. Fix: set \"runtime\": \"python3.13\" (or newer), or remove "
            "managed_instances.") in messages
    assert all(m.startswith(("Invalid ", "Unknown key ")) and ". Fix: " in m for m in messages)


def test_default_runtime_is_checked_when_the_stage_sets_none() -> None:
    with pytest.raises(ManagedInstancesError, match="runtime = \"python3.11\""):
        parse_managed_instances({"managed_instances": NET}, "dev", "python3.11")


def test_keep_warm_false_or_absent_is_fine_true_is_an_error() -> None:
    assert parse(NET, keep_warm=False) is not None
    assert parse(NET) is not None
    assert "keep_warm = true" in errors(NET, keep_warm=True)[0]


@pytest.mark.parametrize(("stage", "processes"), [
    ({}, 16),  # 512 MB at 2 GiB/vCPU: one vCPU, AWS's 16 processes per vCPU
    ({"memory_size": 8192}, 64),  # 4 vCPUs
    ({"memory_size": 8192, "managed_instances": {**NET, "memory_gib_per_vcpu": 8}}, 16),
    ({"managed_instances": {**NET, "per_environment_max_concurrency": 40}}, 40),
])
def test_processes_per_environment(stage: dict[str, Any], processes: int) -> None:
    full = {"runtime": "python3.13", "managed_instances": NET, **stage}
    config = parse_managed_instances(full, "dev", "python3.13")
    assert config is not None and processes_per_environment(full, config) == processes


def test_slim_handler_needs_tmp_for_every_process_of_an_environment() -> None:
    needed = SLIM_BASE_TMP_MB + SLIM_TMP_PER_PROCESS_MB * 32
    (message,) = errors({**NET, "per_environment_max_concurrency": 32}, slim_handler=True,
                        ephemeral_storage={"Size": needed - 1})
    assert f'"ephemeral_storage": {{"Size": {needed}}}' in message and "32 processes share one /tmp" in message
    assert parse({**NET, "per_environment_max_concurrency": 32}, slim_handler=True,
                 ephemeral_storage={"Size": needed}) is not None
    assert parse(NET, ephemeral_storage={"Size": 512}) is not None  # without slim_handler: nothing is unpacked


def test_check_stage_collects_lmi_problems_with_the_others() -> None:
    stage = {"runtime": "python3.13", "managed_instances": {**NET, "max_vcpus": 0}, "eager_init": "yes"}
    with pytest.raises(EagerSettingsError) as caught:
        check_stage(stage, "dev", "python3.13")
    text = str(caught.value)
    assert "2 problems in stage 'dev'" in text and "managed_instances.max_vcpus = 0" in text


def test_provisioned_concurrency_and_snap_start_are_refused() -> None:
    messages = errors(NET, provisioned_concurrency=2, snap_start="PublishedVersions")
    assert any(m.startswith("Invalid provisioned_concurrency = 2") for m in messages)
    assert any(m.startswith('Invalid snap_start = "PublishedVersions"') for m in messages)


def test_a_valid_stage_passes_every_check() -> None:
    stage = {"runtime": "python3.13", "managed_instances": {**NET, "per_environment_max_concurrency": 8},
             "slim_handler": True, "ephemeral_storage": {"Size": 1024}, "keep_warm": False}
    assert check_stage(stage, "dev", "python3.11").warnings == ()
