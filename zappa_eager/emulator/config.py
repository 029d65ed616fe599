"""The function's configuration, what an environment needs from its emulator, and the process environment.

The process environment is built from scratch (nothing leaks from the tooling's ``os.environ``),
with Lambda's reserved variables, dummy credentials, and the user's variables.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

# ``AWS_LAMBDA_INITIALIZATION_TYPE``: how an environment's INIT is started (see :mod:`.lifecycle`). The runtime
# defines the values; the emulator's modules import them from here.
from zappa_eager.runtime.contract import INIT_TYPES as INIT_TYPES
from zappa_eager.runtime.contract import InitType as InitType

from .isolation import Sandbox


def init_type_of(value: str) -> InitType:
    """``value`` as an :data:`InitType`, or a ValueError naming the choices."""
    if value not in INIT_TYPES:
        raise ValueError(f"init_type must be one of {', '.join(INIT_TYPES)}, not {value!r}")
    return value

#: Lambda refuses these as user environment variables; the emulator owns PYTHONPATH as well.
RESERVED = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "PYTHONPATH",
})

DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "AWS_SESSION_TOKEN": "testing"}


@dataclass
class FunctionConfig:
    """Everything that is the same for all environments of one function."""

    task_root: Path
    handler: str = "handler.lambda_handler"
    env: dict[str, str] = field(default_factory=dict)
    memory_mb: int = 512
    timeout_s: float = 30.0
    function_name: str = "function"
    function_version: str = "$LATEST"
    region: str = "us-east-1"
    account_id: str = "123456789012"
    #: None -> Lambda's limits: 10 s for on-demand, 15 min for pre-initialized environments. An
    #: on-demand INIT cut at this limit runs again inside the first invoke, under ``timeout_s``.
    init_timeout_s: float | None = None
    #: Size of each environment's /tmp in MB (Lambda's ephemeral storage, 512-10240 there; any
    #: size here, so tests can fill it). None: no limit of its own (a tmpfs capped at Lambda's
    #: 10,240 MB where mounting works, else the host disk's free space).
    ephemeral_storage_mb: int | None = None

    def __post_init__(self) -> None:
        check_user_env(self.env)
        if self.init_timeout_s is not None and not self.init_timeout_s > 0:
            raise ValueError(f"init_timeout_s must be a positive number of seconds, not {self.init_timeout_s!r}")
        size = self.ephemeral_storage_mb
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ValueError(f"ephemeral_storage_mb must be a whole number of MB >= 1, not {size!r}")

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    @property
    def runtime_name(self) -> str:
        return f"python{sys.version_info.major}.{sys.version_info.minor}"

    def init_limit_s(self, init_type: InitType) -> float:
        if self.init_timeout_s is not None:
            return self.init_timeout_s
        return 10.0 if init_type == "on-demand" else 900.0


@dataclass
class Launch:
    """What an environment needs from its emulator."""

    config: FunctionConfig
    sandbox: Sandbox
    runtime_dir: Path
    python: str
    s3_endpoint: Callable[[], str | None]
    on_report: Callable[[str], None]
    echo: TextIO | None = None


def check_user_env(env: Mapping[str, str]) -> None:
    clash = sorted(RESERVED.intersection(env))
    if clash:
        raise ValueError(f"reserved environment variables cannot be set: {', '.join(clash)}")
    for key, value in env.items():
        if not isinstance(value, str):
            raise TypeError(f"environment variable {key} must be a str, got {type(value).__name__}")


def lambda_environ(config: FunctionConfig, *, init_type: InitType, api_address: str, task_root: Path,
                   runtime_dir: Path, tmp_dir: Path | None, extra: Mapping[str, str],
                   s3_endpoint: str | None) -> dict[str, str]:
    """Variables of one environment's runtime process, as Lambda sets them (tmp_dir: TMPDIR fallback)."""
    root = str(task_root)
    environ: dict[str, str] = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LD_LIBRARY_PATH": f"{root}:{root}/lib",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        **DUMMY_CREDENTIALS,
    }
    if s3_endpoint:
        environ["AWS_ENDPOINT_URL_S3"] = s3_endpoint
    if tmp_dir is not None:
        environ["TMPDIR"] = str(tmp_dir)
    environ.update(config.env)
    environ.update(extra)
    stream = time.strftime("%Y/%m/%d", time.gmtime()) + f"/[{config.function_version}]{secrets.token_hex(16)}"
    environ.update({
        "_HANDLER": config.handler,
        "LAMBDA_TASK_ROOT": root,
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "PYTHONPATH": os.pathsep.join([root, str(runtime_dir)]),
        "AWS_LAMBDA_RUNTIME_API": api_address,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime_name}",
        "AWS_LAMBDA_FUNCTION_NAME": config.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": config.function_version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": init_type,
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_REGION": config.region,
        "AWS_DEFAULT_REGION": config.region,
    })
    return environ
