"""The ``eager_*`` stage settings: parse and validate before any AWS call, then render.

Errors name the setting, the stage, the value and the fix, so that a typo in
zappa_settings.json fails on the developer's machine, not in an INIT log.
Tooling module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import distributions
from typing import Any
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from zappa_eager.contract import (
    DEFAULT_ON_ERROR,
    DEFAULT_WARMUP_ON_DEMAND,
    EAGER_INIT,
    EAGER_INIT_ON_ERROR,
    EAGER_INIT_WARMUP,
    EAGER_INIT_WARMUP_AFTER_RESTORE,
    EAGER_INIT_WARMUP_ON_DEMAND,
    EAGER_INIT_WARMUP_ROUNDS,
    ON_ERROR_CHOICES,
    SNAP_START,
    SNAP_START_OFF,
    WARMUP_ON_DEMAND_CHOICES,
    OnError,
    WarmupOnDemand,
    render_lines,
    snap_start_enabled,
)
from zappa_eager.packaging.bytecode import runtime_python

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
WARMUP_KEYS = ("method", "path", "headers", "body", "expect")
#: ``expect`` statuses: what an HTTP response can carry.
STATUS_RANGE = (100, 599)

#: Every stage key this package adds; all others belong to upstream.
EAGER_KEYS = ("eager_init", "eager_init_warmup", "eager_init_warmup_rounds", "eager_init_on_error",
              "eager_init_warmup_after_restore", "eager_init_warmup_on_demand", "compile_bytecode", "lean_package",
              "lean_keep", "bench_environment")

#: Default passes over ``eager_init_warmup``: the second pass runs what the first one filled
#: (a response served from the cache it just wrote, per-process caches read back). Always rendered;
#: a package without the key sends the list once (``contract.ABSENT_WARMUP_ROUNDS``).
DEFAULT_WARMUP_ROUNDS = 2
MAX_WARMUP_ROUNDS = 10


class EagerSettingsError(ValueError):
    """A bad ``eager_*`` value; the message says which, where, and how to fix it."""


@dataclass(frozen=True)
class WarmupRequest:
    method: str = "GET"
    path: str = "/"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    #: Statuses that count as warmed (``expect``); empty: 2xx warmed, 3xx redirected, the rest failed.
    expect: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"method": self.method, "path": self.path, "headers": dict(self.headers),
                                "body": self.body}
        if self.expect:  # only when set: packages without it render as before
            data["expect"] = list(self.expect)
        return data


@dataclass(frozen=True)
class EagerSettings:
    enabled: bool = True
    warmup: tuple[WarmupRequest, ...] = ()
    on_error: OnError = DEFAULT_ON_ERROR
    warmup_after_restore: bool = False
    warmup_rounds: int = DEFAULT_WARMUP_ROUNDS
    warmup_on_demand: WarmupOnDemand = DEFAULT_WARMUP_ON_DEMAND
    #: Packaging (tooling only, not rendered into zappa_settings.py): default on with eager_init.
    compile_bytecode: bool = True
    lean_package: bool = True
    lean_keep: tuple[str, ...] = ()


def _fail(stage: str, setting: str, value: Any, problem: str, fix: str) -> EagerSettingsError:
    return EagerSettingsError(
        f"Invalid {setting} = {_plain(value)!r} in stage '{stage}' of zappa_settings: {problem}. Fix: {fix}."
    )


def _plain(value: Any) -> Any:
    """zappa loads JSON objects as OrderedDicts; show them as the plain objects the user wrote."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _bool(stage_config: Mapping[str, Any], stage: str, key: str, default: bool) -> bool:
    value = stage_config.get(key, default)
    if not isinstance(value, bool):
        raise _fail(stage, key, value, "expected true or false", f'set "{key}": true or "{key}": false')
    return value


def _warmup_path(stage: str, setting: str, value: Any) -> str:
    fix = 'use a path such as "/healthz"'
    if isinstance(value, str) and ("://" in value or urlsplit(value).netloc):  # netloc: "//host/path"
        raise _fail(stage, setting, value, "expected a path, not a full URL", fix)
    if not isinstance(value, str) or not value.startswith("/"):
        raise _fail(stage, setting, value, "expected a URL path starting with '/'",
                    f'write it as "/{value}"' if isinstance(value, str) and value else fix)
    return value


def parse_warmup_request(stage: str, index: int, raw: Any) -> WarmupRequest:
    setting = f"eager_init_warmup[{index}]"
    if isinstance(raw, str):
        return WarmupRequest(path=_warmup_path(stage, setting, raw))
    if not isinstance(raw, Mapping):
        raise _fail(stage, setting, raw, "expected a path string or an object with method/path/headers/body/expect",
                    'use "/healthz" or {"method": "GET", "path": "/healthz"}')
    unknown = sorted(set(raw) - set(WARMUP_KEYS))
    if unknown:
        raise _fail(stage, setting, raw, f"unknown key(s) {', '.join(unknown)}",
                    f"use only {', '.join(WARMUP_KEYS)}")
    if "path" not in raw:
        raise _fail(stage, setting, raw, "missing 'path'", 'add "path": "/healthz"')
    method = raw.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
        raise _fail(stage, f"{setting}.method", method, "not an HTTP method", f"use one of {', '.join(HTTP_METHODS)}")
    headers = raw.get("headers", {}) or {}
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise _fail(stage, f"{setting}.headers", headers, "expected an object of string names to string values",
                    'use e.g. {"Accept": "application/json"}')
    body = raw.get("body")
    if body is not None and not isinstance(body, str):
        raise _fail(stage, f"{setting}.body", body, "expected a string or null", "serialize the body to a string")
    return WarmupRequest(
        method=method.upper(),
        path=_warmup_path(stage, f"{setting}.path", raw["path"]),
        headers=dict(headers),
        body=body,
        expect=_expect(stage, f"{setting}.expect", raw.get("expect")),
    )


def _expect(stage: str, setting: str, raw: Any) -> tuple[int, ...]:
    """``expect``: one HTTP status or a non-empty list of them; duplicates dropped, order kept."""
    if raw is None:
        return ()
    low, high = STATUS_RANGE
    fix = 'use e.g. "expect": 200, or "expect": [200, 302] to accept either'
    statuses = raw if isinstance(raw, list) else [raw]
    if not statuses:
        raise _fail(stage, setting, raw, "an empty list accepts no status", f"remove expect, or {fix}")
    for status in statuses:
        if isinstance(status, bool) or not isinstance(status, int):
            digits = status.strip() if isinstance(status, str) else ""
            raise _fail(stage, setting, raw, f"expected an HTTP status ({low} to {high}) or a list of them",
                        f"write the status as a number, without quotes: {digits}" if digits.isdigit() else fix)
        if not low <= status <= high:
            raise _fail(stage, setting, raw, f"{status} is not an HTTP status ({low} to {high})", fix)
    return tuple(dict.fromkeys(statuses))


def parse_eager_settings(stage_config: Mapping[str, Any], stage: str) -> EagerSettings:
    """Validate the eager keys of one stage; raises ``EagerSettingsError``."""
    enabled = _bool(stage_config, stage, "eager_init", True)
    raw_warmup = stage_config.get("eager_init_warmup", None)
    if raw_warmup is None:
        raw_warmup = []
    if isinstance(raw_warmup, str):
        raw_warmup = [raw_warmup]
    if not isinstance(raw_warmup, list):
        raise _fail(stage, "eager_init_warmup", raw_warmup, "expected a list of paths or request objects",
                    'use e.g. ["/healthz"]')
    warmup = tuple(parse_warmup_request(stage, i, item) for i, item in enumerate(raw_warmup))
    on_error = stage_config.get("eager_init_on_error", DEFAULT_ON_ERROR)
    if on_error not in ON_ERROR_CHOICES:
        raise _fail(stage, "eager_init_on_error", on_error, "not a known mode",
                    'use "auto" (the default: fail provisioned-concurrency and SnapStart INITs, retry on-demand '
                    'archive and remote-env failures on the first request), "lazy" (build again on the first '
                    'request) or "raise" (fail INIT)')
    after_restore = _bool(stage_config, stage, "eager_init_warmup_after_restore", False)
    if after_restore and not warmup:
        raise _fail(stage, "eager_init_warmup_after_restore", after_restore, "there are no warm-up requests to repeat",
                    "add eager_init_warmup requests or remove this setting")
    rounds = stage_config.get("eager_init_warmup_rounds", DEFAULT_WARMUP_ROUNDS)
    if isinstance(rounds, bool) or not isinstance(rounds, int) or not 1 <= rounds <= MAX_WARMUP_ROUNDS:
        raise _fail(stage, "eager_init_warmup_rounds", rounds,
                    f"expected a whole number from 1 to {MAX_WARMUP_ROUNDS}",
                    f'use e.g. "eager_init_warmup_rounds": {DEFAULT_WARMUP_ROUNDS} (1 sends each warm-up request once)')
    on_demand = stage_config.get("eager_init_warmup_on_demand", DEFAULT_WARMUP_ON_DEMAND)
    if on_demand not in WARMUP_ON_DEMAND_CHOICES:
        raise _fail(stage, "eager_init_warmup_on_demand", on_demand, "not a known mode",
                    'use "skip" (no warm-up while a caller waits), "once" (one pass) or "full" (every round)')
    compile_bytecode = _bool(stage_config, stage, "compile_bytecode", enabled)
    lean_package = _bool(stage_config, stage, "lean_package", enabled)
    lean_keep = parse_lean_keep(stage_config.get("lean_keep", []), stage, lean_package)
    parse_bench_environment(stage_config, stage)  # only `zappa bench` reads it; a typo fails every command
    return EagerSettings(enabled=enabled, warmup=warmup, on_error=on_error, warmup_after_restore=after_restore,
                         warmup_rounds=rounds, warmup_on_demand=on_demand, compile_bytecode=compile_bytecode,
                         lean_package=lean_package, lean_keep=lean_keep)


def parse_lean_keep(
    raw: Any, stage: str, lean_package: bool, installed: Iterable[str] | None = None
) -> tuple[str, ...]:
    """``lean_keep``: distribution names (as pip knows them) that the lean package must keep."""
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(item, str) and item.strip() for item in raw):
        raise _fail(stage, "lean_keep", raw, "expected a list of distribution names",
                    'use e.g. "lean_keep": ["numpy"] (names as in `pip list`)')
    if raw and not lean_package:
        raise _fail(stage, "lean_keep", raw, '"lean_package" is false: nothing is left out, nothing needs keeping',
                    'remove "lean_keep", or set "lean_package": true')
    if installed is None:
        installed = _installed_names()
    known = set(installed)
    unknown = [name for name in raw if canonicalize_name(name.strip()) not in known]
    if unknown:
        raise _fail(stage, "lean_keep", raw, f"{', '.join(unknown)} is not installed in this environment",
                    "use a name from `pip list`, or install it")
    return tuple(canonicalize_name(name.strip()) for name in raw)


#: Lambda's own rule for environment variable names.
ENV_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]+")
#: Variables ``zappa bench`` sets itself: its loopback S3, and what tells the ``upstream-env`` mode apart.
BENCH_OWNED_VARIABLES = frozenset({"AWS_ENDPOINT_URL_S3", "INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT"})


def parse_bench_environment(stage_config: Mapping[str, Any], stage: str) -> dict[str, str]:
    """``bench_environment``: variables for ``zappa bench`` only (local services), names to string values."""
    raw = stage_config.get("bench_environment")
    if raw is None:
        return {}
    fix = 'use e.g. "bench_environment": {"DATABASE_URL": "postgres://127.0.0.1:5432/bench"}'
    if not isinstance(raw, Mapping):
        raise _fail(stage, "bench_environment", raw, "expected an object of variable names to string values", fix)
    for name, value in raw.items():  # errors show the offending name or value, never the other values
        if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
            raise _fail(stage, "bench_environment", name, "not a valid environment variable name",
                        "use letters, digits and _, starting with a letter (at least two characters)")
        if not isinstance(value, str):
            scalar = isinstance(value, (int, float, bool))
            raise _fail(stage, f"bench_environment.{name}", value, "expected a string",
                        f'quote it: "{name}": "{json.dumps(value)}"' if scalar else fix)
    from zappa_eager.emulator.config import RESERVED  # only when set: every command loads these settings

    owned = sorted((RESERVED | BENCH_OWNED_VARIABLES).intersection(raw))
    if owned:
        raise _fail(stage, "bench_environment", owned, "set by Lambda or by zappa bench itself, not by the stage",
                    f"remove {', '.join(owned)}")
    return dict(raw)


def _installed_names() -> set[str]:
    return {canonicalize_name(dist.metadata["Name"] or "") for dist in distributions()}


#: ``snap_start`` values Lambda's ``SnapStart.ApplyOn`` accepts (upstream passes the value through).
SNAP_START_VALUES = ("PublishedVersions", SNAP_START_OFF)


def check_snap_start_runtime(stage_config: Mapping[str, Any], stage: str, default_runtime: str) -> None:
    """A ``snap_start`` Lambda accepts, on python3.12 or newer; fail here rather than in CreateFunction."""
    snap_start = stage_config.get("snap_start")
    if snap_start is None or snap_start is False or snap_start == "":
        return
    if not isinstance(snap_start, str) or snap_start not in SNAP_START_VALUES:
        raise _fail(stage, "snap_start", snap_start, 'AWS Lambda accepts "PublishedVersions" or "None"',
                    'set "snap_start": "PublishedVersions" to turn SnapStart on, or remove the setting')
    if not snap_start_enabled(snap_start):
        return
    runtime = str(stage_config.get("runtime") or default_runtime)
    version = runtime_python(runtime)
    if version is None:
        return  # not a Python runtime string we know; leave it to upstream/AWS
    if version < (3, 12):
        raise _fail(stage, "runtime", runtime, "SnapStart (snap_start) needs a python3.12 or newer runtime",
                    'set "runtime": "python3.12" (or newer), or remove snap_start')


def render_settings_lines(settings: EagerSettings, snap_start: str | None) -> str:
    """Lines appended to the generated zappa_settings.py: the keys of ``zappa_eager.contract``."""
    return render_lines({
        EAGER_INIT: settings.enabled,
        EAGER_INIT_WARMUP: [w.as_dict() for w in settings.warmup],
        EAGER_INIT_WARMUP_ROUNDS: settings.warmup_rounds,
        EAGER_INIT_WARMUP_ON_DEMAND: settings.warmup_on_demand,
        EAGER_INIT_ON_ERROR: settings.on_error,
        EAGER_INIT_WARMUP_AFTER_RESTORE: settings.warmup_after_restore,
        SNAP_START: str(snap_start or SNAP_START_OFF),
    })
