"""The emulated function: its configuration from the stage, its S3 objects, one emulator per mode.

The function looks like what ``zappa deploy`` would create: the stage's name, memory,
timeout and region, the variables ``bench.environment`` keeps, handler ``handler.lambda_handler``,
events from API Gateway (REST, Zappa's default) or a function URL. S3 (the slim_handler
archive, an empty remote_env file) is a moto server on 127.0.0.1, one per package: the upstream
and the eager package of a variant have different tarballs under the same S3 key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from zappa_eager.bench.modes import Mode, PackageOrigin, mode_spec
from zappa_eager.bench.variants import Package, Variant, settings_value
from zappa_eager.emulator import Emulator, events

#: Generous INIT limit: on a laptop, concurrent cold starts share a few cores (Lambda gives
#: each its own), and a killed INIT would only hide the figure we came to measure.
INIT_TIMEOUT_S = 120.0

#: The events the function gets: API Gateway REST (v1, Zappa's default) or a function URL.
EventKind = Literal["v1", "url"]


@dataclass(frozen=True)
class FunctionSpec:
    """What the emulated function looks like (from the stage settings)."""

    name: str
    stage: str
    memory_mb: int = 512
    timeout_s: float = 30.0
    region: str = "us-east-1"
    env: Mapping[str, str] = field(default_factory=dict)
    event_kind: EventKind = "v1"

    def event(self, path: str) -> dict[str, Any]:
        if self.event_kind == "url":
            return events.function_url("GET", path)
        return events.api_gateway_v1("GET", path, stage=self.stage)


def s3_objects(package: Package, settings: str) -> list[tuple[str, str, Path | bytes]]:
    """What the package reads from S3 during INIT: the slim_handler archive, a remote_env file."""
    objects: list[tuple[str, str, Path | bytes]] = []
    archive_url = settings_value(settings, "ARCHIVE_PATH")
    if package.archive is not None and isinstance(archive_url, str):
        bucket, _, key = archive_url.removeprefix("s3://").partition("/")
        objects.append((bucket, key, package.archive))
    remote_env = settings_value(settings, "REMOTE_ENV")
    if isinstance(remote_env, str) and remote_env.startswith("s3://"):
        bucket, _, key = remote_env.removeprefix("s3://").partition("/")
        objects.append((bucket, key, b"{}"))  # the real values stay in your bucket; the fetch is what costs
    return objects


def emulator_env(function: FunctionSpec, mode: Mode, s3_env: Mapping[str, str]) -> dict[str, str]:
    return {**function.env, **mode_spec(mode).env, **s3_env}


def open_emulators(stack: ExitStack, variant: Variant, modes: Sequence[Mode], function: FunctionSpec,
                   init_timeout_s: float = INIT_TIMEOUT_S) -> tuple[dict[Mode, Emulator], dict[Mode, dict[str, str]]]:
    """One emulator per mode (its own task root); the modes of one package share a loopback S3 if it needs one.

    Returns the emulators and, per mode, its S3 variables (``AWS_ENDPOINT_URL_S3``) for any further one.
    """
    emulators: dict[Mode, Emulator] = {}
    s3_envs: dict[PackageOrigin, dict[str, str]] = {}  # packaging -> the S3 variables of its modes
    for mode in modes:
        packaging = variant.package_for(mode).packaging
        s3_env = s3_envs.setdefault(packaging, {})
        objects = s3_objects(variant.package_for(mode), variant.settings[mode])
        emulator = stack.enter_context(Emulator(
            variant.task_roots[mode], handler="handler.lambda_handler", env=emulator_env(function, mode, s3_env),
            memory_mb=function.memory_mb, timeout_s=function.timeout_s, function_name=function.name,
            region=function.region, init_timeout_s=init_timeout_s, release_tmp_on_stop=True,
        ))
        if objects and not s3_env:
            s3_env["AWS_ENDPOINT_URL_S3"] = emulator.start_s3()
            for bucket, key, data in objects:
                emulator.s3_put(bucket, key, data)
        emulators[mode] = emulator
    return emulators, {mode: s3_envs[variant.package_for(mode).packaging] for mode in modes}
