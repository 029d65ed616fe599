"""The ``eager_*`` stage settings: parse and validate before any AWS call, then render.

Errors name the setting, the stage, the value (as JSON, as written) and the fix, so that a
typo in zappa_settings.json fails on the developer's machine, not in an INIT log. Every
problem of a stage is collected into one ``EagerSettingsError``; wrong types are errors,
never converted. Unknown keys are sorted out by ``zappa_eager.settings_keys``. Tooling module.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import distributions
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from zappa_eager.packaging.bytecode import runtime_python
from zappa_eager.runtime.contract import (
    DEFAULT_ON_ERROR,
    DEFAULT_WARMUP_ON_DEMAND,
    EAGER_INIT,
    EAGER_INIT_DEFER_IMPORTS,
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
from zappa_eager.settings_keys import UnknownKey, check_stage_keys, unknown_key_fix

T = TypeVar("T")

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
WARMUP_KEYS = ("method", "path", "headers", "body", "expect")
#: ``expect`` statuses: what an HTTP response can carry.
STATUS_RANGE = (100, 599)

#: Every stage key this package adds; all others belong to upstream.
EAGER_KEYS = ("eager_init", "eager_init_warmup", "eager_init_warmup_rounds", "eager_init_on_error",
              "eager_init_warmup_after_restore", "eager_init_warmup_on_demand", "eager_init_defer_imports",
              "compile_bytecode", "lean_package", "lean_keep", "bench_environment", "managed_instances")

#: Default passes over ``eager_init_warmup``: the second pass runs what the first one filled
#: (a response served from the cache it just wrote, per-process caches read back). Always rendered;
#: a package without the key sends the list once (``contract.ABSENT_WARMUP_ROUNDS``).
DEFAULT_WARMUP_ROUNDS = 2
MAX_WARMUP_ROUNDS = 10


@dataclass(frozen=True)
class Problem:
    """One bad setting: its name, its value as written, what is wrong and how to fix it."""

    setting: str
    value: Any
    problem: str
    fix: str
    label: str = "Invalid"

    def line(self, stage: str | None = None) -> str:
        where = f" in stage '{stage}' of zappa_settings" if stage is not None else ""
        return f"{self.label} {self.setting} = {show(self.value)}{where}: {self.problem}. Fix: {self.fix}."


class EagerSettingsError(ValueError):
    """Every bad setting of a stage at once; each names the setting, shows its value (JSON) and the fix.

    ``problems`` are ``Problem``s, or whole messages from ``provisioned_concurrency``'s parser.
    """

    def __init__(self, stage: str, problems: Iterable[Problem | str]) -> None:
        self.stage = stage
        self.problems: list[Problem | str] = list(problems)
        #: Misspelt upstream keys of the same stage (``check_stage``): printed even when the stage fails.
        self.warnings: tuple[str, ...] = ()
        super().__init__(self.render())

    def render(self) -> str:
        if len(self.problems) == 1:
            only = self.problems[0]
            return only if isinstance(only, str) else only.line(self.stage)
        lines = [f"{len(self.problems)} problems in stage '{self.stage}' of zappa_settings (nothing was sent to AWS):"]
        lines += [f"  - {p if isinstance(p, str) else p.line()}" for p in self.problems]
        return "\n".join(lines)


def show(value: Any) -> str:
    """A value as it is written in zappa_settings.json: ``null``, ``true``, ``{"path": "/x"}``, never a repr."""
    return json.dumps(_plain(value), ensure_ascii=False, default=str)


def _plain(value: Any) -> Any:
    """zappa loads JSON objects as OrderedDicts; show them as the plain objects the user wrote."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


class _Collector:
    """Runs independent checks, keeping every problem instead of stopping at the first."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.problems: list[Problem | str] = []

    def run(self, check: Callable[[], T], default: object) -> T:
        try:
            return check()
        except EagerSettingsError as exc:
            self.problems += exc.problems
            return cast(T, default)  # the caller's stand-in of the checked type (an empty tuple...)

    def add(self, problem: Problem | str) -> None:
        self.problems.append(problem)

    def raise_any(self) -> None:
        if self.problems:
            raise EagerSettingsError(self.stage, self.problems)


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
    defer_imports: bool = True
    #: Packaging (tooling only, not rendered into zappa_settings.py): default on with eager_init.
    compile_bytecode: bool = True
    lean_package: bool = True
    lean_keep: tuple[str, ...] = ()


def _fail(stage: str, setting: str, value: Any, problem: str, fix: str) -> EagerSettingsError:
    return EagerSettingsError(stage, [Problem(setting, value, problem, fix)])


#: A key the stage does not set (``None`` is a value: JSON's ``null``, written by the user).
_ABSENT: Any = object()


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
    """One ``eager_init_warmup`` item; every problem of the item is reported together."""
    setting = f"eager_init_warmup[{index}]"
    if isinstance(raw, str):
        return WarmupRequest(path=_warmup_path(stage, setting, raw))
    if not isinstance(raw, Mapping):
        raise _fail(stage, setting, raw, "expected a path string or an object with method/path/headers/body/expect",
                    'use "/healthz" or {"method": "GET", "path": "/healthz"}')
    found = _Collector(stage)
    for key in raw:
        if key not in WARMUP_KEYS:
            found.add(Problem(f"{setting}.{key}", raw[key], f"a warm-up request has no key {show(key)}",
                              unknown_key_fix(str(key), WARMUP_KEYS), label="Unknown key"))
    if "path" not in raw:
        found.add(Problem(setting, raw, "missing 'path'", 'add "path": "/healthz"'))
        path = "/"
    else:
        path = found.run(lambda: _warmup_path(stage, f"{setting}.path", raw["path"]), "/")
    method = raw.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
        found.add(Problem(f"{setting}.method", method, "not an HTTP method", f"use one of {', '.join(HTTP_METHODS)}"))
    headers = raw.get("headers", {})
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        found.add(Problem(f"{setting}.headers", headers, "expected an object of string names to string values",
                          'use e.g. {"Accept": "application/json"}, or leave headers out'))
    body = raw.get("body")
    if body is not None and not isinstance(body, str):
        found.add(Problem(f"{setting}.body", body, "expected a string or null", "serialize the body to a string"))
    expect = found.run(lambda: _expect(stage, f"{setting}.expect", raw.get("expect", _ABSENT)), ())
    found.raise_any()
    return WarmupRequest(method=method.upper(), path=path, headers=dict(headers), body=body, expect=expect)


def _expect(stage: str, setting: str, raw: Any) -> tuple[int, ...]:
    """``expect``: one HTTP status or a non-empty list of them; duplicates dropped, order kept."""
    if raw is _ABSENT:
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


def _warmup_list(stage_config: Mapping[str, Any], stage: str) -> tuple[WarmupRequest, ...]:
    raw = stage_config.get("eager_init_warmup", [])
    if isinstance(raw, str):  # never silently wrapped: a list was meant, say so
        raise _fail(stage, "eager_init_warmup", raw, "expected a list of paths or request objects, not one string",
                    f"write it as a list: [{show(raw)}]")
    if not isinstance(raw, list):
        raise _fail(stage, "eager_init_warmup", raw, "expected a list of paths or request objects",
                    'use e.g. ["/healthz"], or [] for no warm-up')
    found = _Collector(stage)
    warmup = tuple(found.run(functools.partial(parse_warmup_request, stage, i, item), WarmupRequest())
                   for i, item in enumerate(raw))
    found.raise_any()
    return warmup


def _on_error(stage_config: Mapping[str, Any], stage: str) -> OnError:
    on_error = stage_config.get("eager_init_on_error", DEFAULT_ON_ERROR)
    if not isinstance(on_error, str) or on_error not in ON_ERROR_CHOICES:
        raise _fail(stage, "eager_init_on_error", on_error, "not a known mode",
                    'use "auto" (the default: fail provisioned-concurrency and SnapStart INITs, retry on-demand '
                    'archive and remote-env failures on the first request), "lazy" (build again on the first '
                    'request) or "raise" (fail INIT)')
    return on_error


def _rounds(stage_config: Mapping[str, Any], stage: str) -> int:
    rounds = stage_config.get("eager_init_warmup_rounds", DEFAULT_WARMUP_ROUNDS)
    if isinstance(rounds, bool) or not isinstance(rounds, int) or not 1 <= rounds <= MAX_WARMUP_ROUNDS:
        raise _fail(stage, "eager_init_warmup_rounds", rounds,
                    f"expected a whole number from 1 to {MAX_WARMUP_ROUNDS}",
                    f'use e.g. "eager_init_warmup_rounds": {DEFAULT_WARMUP_ROUNDS} (1 sends each warm-up request once)')
    return rounds


def _on_demand(stage_config: Mapping[str, Any], stage: str) -> WarmupOnDemand:
    on_demand = stage_config.get("eager_init_warmup_on_demand", DEFAULT_WARMUP_ON_DEMAND)
    if not isinstance(on_demand, str) or on_demand not in WARMUP_ON_DEMAND_CHOICES:
        raise _fail(stage, "eager_init_warmup_on_demand", on_demand, "not a known mode",
                    'use "skip" (no warm-up while a caller waits), "once" (one pass) or "full" (every round)')
    return on_demand


def _unknown_keys(stage_config: Mapping[str, Any], stage: str) -> list[UnknownKey]:
    """Keys that look like ours but are not (errors); the rest are upstream's business (warnings at most)."""
    unknown = check_stage_keys(stage_config, EAGER_KEYS)
    errors = [key for key in unknown if key.ours]
    if errors:
        raise EagerSettingsError(stage, [
            Problem(key.key, key.value, "zappa-eager has no such setting, and zappa would silently ignore it",
                    f"did you mean `{key.suggestion}`? Rename the key" if key.suggestion
                    else f"use one of {', '.join(EAGER_KEYS)}", label="Unknown setting")
            for key in errors
        ])
    return unknown


def parse_eager_settings(stage_config: Mapping[str, Any], stage: str) -> EagerSettings:
    """Validate the eager keys of one stage; raises ``EagerSettingsError`` listing every problem."""
    found = _Collector(stage)
    found.run(lambda: _unknown_keys(stage_config, stage), [])
    enabled = found.run(lambda: _bool(stage_config, stage, "eager_init", True), True)
    warmup = found.run(lambda: _warmup_list(stage_config, stage), ())
    on_error = found.run(lambda: _on_error(stage_config, stage), DEFAULT_ON_ERROR)
    after_restore = found.run(lambda: _bool(stage_config, stage, "eager_init_warmup_after_restore", False), False)
    if after_restore and not warmup and not stage_config.get("eager_init_warmup"):
        found.add(Problem("eager_init_warmup_after_restore", after_restore, "there are no warm-up requests to repeat",
                          "add eager_init_warmup requests or remove this setting"))
    rounds = found.run(lambda: _rounds(stage_config, stage), DEFAULT_WARMUP_ROUNDS)
    on_demand = found.run(lambda: _on_demand(stage_config, stage), DEFAULT_WARMUP_ON_DEMAND)
    defer_imports = found.run(lambda: _bool(stage_config, stage, "eager_init_defer_imports", True), True)
    compile_bytecode = found.run(lambda: _bool(stage_config, stage, "compile_bytecode", enabled), enabled)
    lean_package = found.run(lambda: _bool(stage_config, stage, "lean_package", enabled), enabled)
    lean_keep = found.run(lambda: parse_lean_keep(stage_config.get("lean_keep", []), stage, lean_package), ())
    found.run(lambda: parse_bench_environment(stage_config, stage), {})  # `zappa bench` reads it; a typo fails all
    found.raise_any()
    return EagerSettings(enabled=enabled, warmup=warmup, on_error=on_error, warmup_after_restore=after_restore,
                         warmup_rounds=rounds, warmup_on_demand=on_demand, defer_imports=defer_imports,
                         compile_bytecode=compile_bytecode,
                         lean_package=lean_package, lean_keep=lean_keep)


@dataclass(frozen=True)
class StageCheck:
    """A stage that passed: its eager settings, and the warnings (misspelt upstream keys) to print once."""

    eager: EagerSettings
    warnings: tuple[str, ...] = ()


def check_stage(stage_config: Mapping[str, Any], stage: str, default_runtime: str) -> StageCheck:
    """Everything zappa-eager checks in a stage, all problems in one ``EagerSettingsError``, before any AWS call.

    The eager keys, unknown keys that look like ours, ``snap_start`` against the runtime,
    ``provisioned_concurrency`` and ``managed_instances`` (their mixin parses them again afterwards,
    then without a problem).
    """
    from zappa_eager.provisioning.config import ProvisionedConcurrencyError, parse_provisioned_concurrency
    from zappa_eager.provisioning.lmi_config import ManagedInstancesError, parse_managed_instances

    warnings = tuple(key.warning(stage) for key in check_stage_keys(stage_config, EAGER_KEYS) if not key.ours)
    found = _Collector(stage)
    eager = found.run(lambda: parse_eager_settings(stage_config, stage), EagerSettings())
    found.run(lambda: check_snap_start_runtime(stage_config, stage, default_runtime), None)
    try:
        parse_provisioned_concurrency(stage_config.get("provisioned_concurrency"), stage,
                                      stage_config.get("lambda_concurrency"), stage_config.get("snap_start"))
    except ProvisionedConcurrencyError as exc:
        found.problems += exc.messages
    try:
        parse_managed_instances(stage_config, stage, default_runtime)
    except ManagedInstancesError as exc:
        found.problems += exc.messages
    try:
        found.raise_any()
    except EagerSettingsError as exc:
        exc.warnings = warnings
        raise
    return StageCheck(eager, warnings)


def parse_lean_keep(
    raw: Any, stage: str, lean_package: bool, installed: Iterable[str] | None = None
) -> tuple[str, ...]:
    """``lean_keep``: distribution names (as pip knows them) that the lean package must keep."""
    if isinstance(raw, str):  # never silently wrapped: a list was meant, say so
        raise _fail(stage, "lean_keep", raw, "expected a list of distribution names, not one string",
                    f"write it as a list: [{show(raw)}]")
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
    """``bench_environment``: variables for ``zappa bench`` only (local services), names to string values.

    Every bad name and value is reported; a message shows the offending name or value, never the others.
    """
    raw = stage_config.get("bench_environment", _ABSENT)
    if raw is _ABSENT:
        return {}
    fix = 'use e.g. "bench_environment": {"DATABASE_URL": "postgres://127.0.0.1:5432/bench"}'
    if not isinstance(raw, Mapping):
        raise _fail(stage, "bench_environment", raw, "expected an object of variable names to string values", fix)
    found = _Collector(stage)
    for name, value in raw.items():
        if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
            found.add(Problem("bench_environment", name, "not a valid environment variable name",
                              "use letters, digits and _, starting with a letter (at least two characters)"))
        elif not isinstance(value, str):
            scalar = isinstance(value, (int, float, bool))
            found.add(Problem(f"bench_environment.{name}", value, "expected a string",
                              f'quote it: "{name}": "{show(value)}"' if scalar else fix))
    from zappa_eager.emulator.config import RESERVED  # only when set: every command loads these settings

    owned = sorted((RESERVED | BENCH_OWNED_VARIABLES).intersection(raw))
    if owned:
        found.add(Problem("bench_environment", owned, "set by Lambda or by zappa bench itself, not by the stage",
                          f"remove {', '.join(owned)}"))
    found.raise_any()
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
    """Lines appended to the generated zappa_settings.py: the keys of ``zappa_eager.runtime.contract``."""
    return render_lines({
        EAGER_INIT: settings.enabled,
        EAGER_INIT_WARMUP: [w.as_dict() for w in settings.warmup],
        EAGER_INIT_WARMUP_ROUNDS: settings.warmup_rounds,
        EAGER_INIT_WARMUP_ON_DEMAND: settings.warmup_on_demand,
        EAGER_INIT_ON_ERROR: settings.on_error,
        EAGER_INIT_WARMUP_AFTER_RESTORE: settings.warmup_after_restore,
        EAGER_INIT_DEFER_IMPORTS: settings.defer_imports,
        SNAP_START: str(snap_start or SNAP_START_OFF),
    })
