"""The ``eager_*`` stage settings: parse and validate before any AWS call, then render.

Errors name the setting, the stage, the value and the fix, so that a typo in
zappa_settings.json fails on the developer's machine, not in an INIT log.
Tooling module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import distributions
from typing import Any
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from zappa_eager.boot import DEFAULT_WARMUP_ON_DEMAND, WARMUP_ON_DEMAND_CHOICES

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ON_ERROR_CHOICES = ("lazy", "raise")
WARMUP_KEYS = ("method", "path", "headers", "body")

#: Every stage key this package adds; all others belong to upstream.
EAGER_KEYS = ("eager_init", "eager_init_warmup", "eager_init_warmup_rounds", "eager_init_on_error",
              "eager_init_warmup_after_restore", "eager_init_warmup_on_demand", "compile_bytecode", "lean_package",
              "lean_keep")

#: Default passes over ``eager_init_warmup``: the second pass runs what the first one filled
#: (a response served from the cache it just wrote, per-process caches read back).
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

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "headers": dict(self.headers), "body": self.body}


@dataclass(frozen=True)
class EagerSettings:
    enabled: bool = True
    warmup: tuple[WarmupRequest, ...] = ()
    on_error: str = "lazy"
    warmup_after_restore: bool = False
    warmup_rounds: int = DEFAULT_WARMUP_ROUNDS
    warmup_on_demand: str = DEFAULT_WARMUP_ON_DEMAND
    #: Packaging (tooling only, not rendered into zappa_settings.py): default on with eager_init.
    compile_bytecode: bool = True
    lean_package: bool = True
    lean_keep: tuple[str, ...] = ()


def _fail(stage: str, setting: str, value: Any, problem: str, fix: str) -> EagerSettingsError:
    return EagerSettingsError(
        f"Invalid {setting} = {value!r} in stage '{stage}' of zappa_settings: {problem}. Fix: {fix}."
    )


def _bool(stage_config: Mapping[str, Any], stage: str, key: str, default: bool) -> bool:
    value = stage_config.get(key, default)
    if not isinstance(value, bool):
        raise _fail(stage, key, value, "expected true or false", f'set "{key}": true or "{key}": false')
    return value


def _warmup_path(stage: str, setting: str, value: Any) -> str:
    if isinstance(value, str) and "://" in value:
        raise _fail(stage, setting, value, "expected a path, not a full URL", 'use a path such as "/healthz"')
    if not isinstance(value, str) or not value.startswith("/"):
        fix = f'write it as "/{value}"' if isinstance(value, str) and value else 'use a path such as "/healthz"'
        raise _fail(stage, setting, value, "expected a URL path starting with '/'", fix)
    if urlsplit(value).netloc:
        raise _fail(stage, setting, value, "expected a path, not a full URL", 'use a path such as "/healthz"')
    return value


def parse_warmup_request(stage: str, index: int, raw: Any) -> WarmupRequest:
    setting = f"eager_init_warmup[{index}]"
    if isinstance(raw, str):
        return WarmupRequest(path=_warmup_path(stage, setting, raw))
    if not isinstance(raw, Mapping):
        raise _fail(stage, setting, raw, "expected a path string or an object with method/path/headers/body",
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
    )


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
    on_error = stage_config.get("eager_init_on_error", "lazy")
    if on_error not in ON_ERROR_CHOICES:
        raise _fail(stage, "eager_init_on_error", on_error, "not a known mode",
                    'use "lazy" (build again on the first request) or "raise" (fail INIT)')
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


def _installed_names() -> set[str]:
    return {canonicalize_name(dist.metadata["Name"] or "") for dist in distributions()}


def check_snap_start_runtime(stage_config: Mapping[str, Any], stage: str, default_runtime: str) -> None:
    """SnapStart for Python exists from python3.12 on; fail here rather than in CreateFunction."""
    snap_start = stage_config.get("snap_start")
    if not snap_start or snap_start == "None":
        return
    runtime = str(stage_config.get("runtime") or default_runtime)
    version = runtime.removeprefix("python")
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return  # not a Python runtime string we know; leave it to upstream/AWS
    if (major, minor) < (3, 12):
        raise _fail(stage, "runtime", runtime, "SnapStart (snap_start) needs a python3.12 or newer runtime",
                    'set "runtime": "python3.12" (or newer), or remove snap_start')


def render_settings_lines(settings: EagerSettings, snap_start: str | None) -> str:
    """Lines appended to the generated zappa_settings.py (Python literals via repr)."""
    return (
        f"EAGER_INIT={settings.enabled!r}\n"
        f"EAGER_INIT_WARMUP={[w.as_dict() for w in settings.warmup]!r}\n"
        f"EAGER_INIT_WARMUP_ROUNDS={settings.warmup_rounds!r}\n"
        f"EAGER_INIT_WARMUP_ON_DEMAND={settings.warmup_on_demand!r}\n"
        f"EAGER_INIT_ON_ERROR={settings.on_error!r}\n"
        f"EAGER_INIT_WARMUP_AFTER_RESTORE={settings.warmup_after_restore!r}\n"
        f"SNAP_START={str(snap_start or 'None')!r}\n"
    )
