"""The runtime's contract: the generated ``zappa_settings.py`` keys, and the values INIT names and reports.

``zappa package`` appends the eager keys to upstream's generated settings module
(``settings.render_settings_lines`` through :func:`render_lines`); the runtime reads them once,
when INIT imports that module (:meth:`GeneratedSettings.from_module`). Both sides take the names,
choices and defaults from here, so they cannot drift apart. A key a package lacks (written by
hand, or built before the key existed) reads as the field's default below: what the runtime did
before the key existed, which is not always the stage setting's default.

Here too: the INIT types (read once, by :func:`current_init_type`), the phases and the warm-up
outcomes the init report names, and what the runtime uses of Lambda's context object
(:class:`LambdaContext`). The tooling imports them from here; this module imports nothing of it.
Runtime module: standard library only.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

EAGER_INIT = "EAGER_INIT"
EAGER_INIT_WARMUP = "EAGER_INIT_WARMUP"
EAGER_INIT_WARMUP_ROUNDS = "EAGER_INIT_WARMUP_ROUNDS"
EAGER_INIT_WARMUP_ON_DEMAND = "EAGER_INIT_WARMUP_ON_DEMAND"
EAGER_INIT_ON_ERROR = "EAGER_INIT_ON_ERROR"
EAGER_INIT_WARMUP_AFTER_RESTORE = "EAGER_INIT_WARMUP_AFTER_RESTORE"
EAGER_INIT_DEFER_IMPORTS = "EAGER_INIT_DEFER_IMPORTS"
SNAP_START = "SNAP_START"
#: Every key zappa-eager adds to the generated module, in the order the packager writes them.
GENERATED_KEYS = (EAGER_INIT, EAGER_INIT_WARMUP, EAGER_INIT_WARMUP_ROUNDS, EAGER_INIT_WARMUP_ON_DEMAND,
                  EAGER_INIT_ON_ERROR, EAGER_INIT_WARMUP_AFTER_RESTORE, EAGER_INIT_DEFER_IMPORTS, SNAP_START)
#: The generated settings module Lambda's task root holds (upstream's name).
SETTINGS_MODULE = "zappa_settings"

#: ``eager_init_on_error``: ``auto`` decides per INIT type and failure; ``lazy`` and ``raise`` are honoured as written.
OnError = Literal["auto", "lazy", "raise"]
ON_ERROR_AUTO: OnError = "auto"
ON_ERROR_LAZY: OnError = "lazy"
ON_ERROR_RAISE: OnError = "raise"
ON_ERROR_CHOICES: tuple[OnError, ...] = (ON_ERROR_AUTO, ON_ERROR_LAZY, ON_ERROR_RAISE)
#: The stage default, and what an absent key means: every package zappa-eager built renders the key
#: (those from before ``auto`` existed say ``"lazy"`` and keep it), so only hand-written settings lack it.
DEFAULT_ON_ERROR: OnError = ON_ERROR_AUTO

#: ``eager_init_warmup_on_demand``: the warm-up on an on-demand INIT, where a caller is already waiting.
WarmupOnDemand = Literal["skip", "once", "full"]
WARMUP_SKIP: WarmupOnDemand = "skip"
WARMUP_ONCE: WarmupOnDemand = "once"
WARMUP_FULL: WarmupOnDemand = "full"
WARMUP_ON_DEMAND_CHOICES: tuple[WarmupOnDemand, ...] = (WARMUP_SKIP, WARMUP_ONCE, WARMUP_FULL)
#: The stage default and what an absent key means: one pass. Lambda's proactive initialization also
#: reports ``on-demand`` and then idles until a request comes; one pass makes that request a warm one
#: for about 1 % more on a cold start a caller waits for (measured in docs/benchmarks.md, "The warm-up default").
DEFAULT_WARMUP_ON_DEMAND: WarmupOnDemand = WARMUP_ONCE

#: Passes over the warm-up list when ``EAGER_INIT_WARMUP_ROUNDS`` is absent: packages built before
#: ``eager_init_warmup_rounds`` existed sent the list once (the stage setting defaults to 2).
ABSENT_WARMUP_ROUNDS = 1

#: ``SNAP_START`` (and ``snap_start``) when SnapStart is off: Lambda's ``SnapStart.ApplyOn`` value,
#: which upstream passes through from the stage.
SNAP_START_OFF = "None"

_Choice = TypeVar("_Choice", bound=str)


def snap_start_enabled(value: object) -> bool:
    """True when a ``snap_start`` stage value, or the generated ``SNAP_START``, turns SnapStart on."""
    return bool(value) and value != SNAP_START_OFF


def _choice(value: object, choices: tuple[_Choice, ...], default: _Choice) -> _Choice:
    """An unknown value (a package from a newer release) falls back to the default rather than failing INIT."""
    for choice in choices:
        if value == choice:
            return choice
    return default


def _warmup_request(spec: object) -> Mapping[str, Any]:
    """A request object as rendered, or a bare path (hand-written settings) as a GET."""
    return spec if isinstance(spec, Mapping) else {"method": "GET", "path": str(spec)}


@dataclass(frozen=True)
class GeneratedSettings:
    """The eager keys of one generated settings module, read once; the defaults are what an absent key means."""

    enabled: bool = True
    warmup: tuple[Mapping[str, Any], ...] = ()
    warmup_rounds: int = ABSENT_WARMUP_ROUNDS
    warmup_on_demand: WarmupOnDemand = DEFAULT_WARMUP_ON_DEMAND
    on_error: OnError = DEFAULT_ON_ERROR
    warmup_after_restore: bool = False
    #: ``eager_init_defer_imports``: upstream's top-level boto3 import waits for its first use.
    defer_imports: bool = True
    snap_start: bool = False

    @classmethod
    def from_module(cls, settings: ModuleType) -> GeneratedSettings:
        """Read the keys from the imported ``zappa_settings`` module."""
        rounds = getattr(settings, EAGER_INIT_WARMUP_ROUNDS, None) or ABSENT_WARMUP_ROUNDS
        return cls(
            enabled=bool(getattr(settings, EAGER_INIT, True)),
            warmup=tuple(_warmup_request(spec) for spec in getattr(settings, EAGER_INIT_WARMUP, None) or ()),
            warmup_rounds=int(rounds),
            warmup_on_demand=_choice(str(getattr(settings, EAGER_INIT_WARMUP_ON_DEMAND, DEFAULT_WARMUP_ON_DEMAND)),
                                     WARMUP_ON_DEMAND_CHOICES, DEFAULT_WARMUP_ON_DEMAND),
            on_error=_choice(getattr(settings, EAGER_INIT_ON_ERROR, DEFAULT_ON_ERROR), ON_ERROR_CHOICES,
                             DEFAULT_ON_ERROR),
            warmup_after_restore=bool(getattr(settings, EAGER_INIT_WARMUP_AFTER_RESTORE, False)),
            defer_imports=bool(getattr(settings, EAGER_INIT_DEFER_IMPORTS, True)),
            snap_start=snap_start_enabled(getattr(settings, SNAP_START, None)),
        )


def defer_imports_setting(settings_name: str = SETTINGS_MODULE) -> bool:
    """``EAGER_INIT_DEFER_IMPORTS``, read before ``zappa.handler`` is imported (True when the module is missing:
    the settings phase then reports that, and the stand-ins cost nothing)."""
    try:
        settings = importlib.import_module(settings_name)
    except Exception:
        return True
    return bool(getattr(settings, EAGER_INIT, True)) and bool(getattr(settings, EAGER_INIT_DEFER_IMPORTS, True))


def render_lines(values: Mapping[str, object]) -> str:
    """The lines appended to the generated module: ``KEY=<Python literal>`` for every generated key, in order."""
    if set(values) != set(GENERATED_KEYS):
        missing = sorted(set(GENERATED_KEYS) - set(values))
        unknown = sorted(set(values) - set(GENERATED_KEYS))
        raise ValueError(f"render_lines needs exactly the keys {GENERATED_KEYS}: missing {missing}, unknown {unknown}")
    return "".join(f"{key}={values[key]!r}\n" for key in GENERATED_KEYS)


# -- What Lambda says about this INIT, and what the init report names ------------------------------------------

#: Lambda's variable naming how it started this environment's INIT.
INIT_TYPE_VARIABLE = "AWS_LAMBDA_INITIALIZATION_TYPE"
#: ``AWS_LAMBDA_INITIALIZATION_TYPE``'s values: a caller waits for an on-demand INIT; provisioned
#: concurrency, SnapStart and Lambda Managed Instances run INIT before any request is routed to the
#: environment. On Lambda Managed Instances the Python runtime runs several processes per environment
#: (``AWS_LAMBDA_MAX_CONCURRENCY``), each with its own INIT, all sharing one /tmp.
InitType = Literal["on-demand", "provisioned-concurrency", "snap-start", "lambda-managed-instances"]
INIT_ON_DEMAND: InitType = "on-demand"
INIT_PROVISIONED_CONCURRENCY: InitType = "provisioned-concurrency"
INIT_SNAP_START: InitType = "snap-start"
INIT_MANAGED_INSTANCES: InitType = "lambda-managed-instances"
INIT_TYPES: tuple[InitType, ...] = (INIT_ON_DEMAND, INIT_PROVISIONED_CONCURRENCY, INIT_SNAP_START,
                                    INIT_MANAGED_INSTANCES)
#: The INIT types no caller waits on.
PRE_INITIALIZED: tuple[InitType, ...] = (INIT_PROVISIONED_CONCURRENCY, INIT_SNAP_START, INIT_MANAGED_INSTANCES)
#: Lambda's variable naming how many requests one environment serves at once (set on Lambda Managed
#: Instances only); the Python runtime runs that many processes.
MAX_CONCURRENCY_VARIABLE = "AWS_LAMBDA_MAX_CONCURRENCY"
#: What an unset ``AWS_LAMBDA_INITIALIZATION_TYPE`` means. Lambda sets it in every environment; only an
#: import outside Lambda (a test or a script importing the handler) lacks it, and such an import runs
#: while its caller waits, as an on-demand INIT does. The runtime acts on that, and its report says so.
DEFAULT_INIT_TYPE: InitType = INIT_ON_DEMAND


def current_init_type() -> InitType | str:
    """This INIT's type: the one read of ``AWS_LAMBDA_INITIALIZATION_TYPE``, with the one default.

    One of :data:`INIT_TYPES` in Lambda, :data:`DEFAULT_INIT_TYPE` when unset. A value this release
    does not know (a type Lambda adds later) comes back as set: the init report names it as Lambda
    does; ``boot`` treats it as not on-demand (full warm-up, ``auto`` fails INIT) and ``prime`` as
    not pre-initialized (heap freeze only).
    """
    return os.environ.get(INIT_TYPE_VARIABLE, DEFAULT_INIT_TYPE)


#: The phases of one build, in the order they run; every init report carries all of them (0.0 when skipped).
Phase = Literal["imports", "settings", "remote_env", "archive", "app", "warmup"]
PHASES: tuple[Phase, ...] = ("imports", "settings", "remote_env", "archive", "app", "warmup")
#: The stages of the ``archive`` phase (slim_handler), each its own busy time; the report names them
#: ``archive_<stage>_ms``. They overlap (threads), so they need not add up to the phase.
ArchiveStage = Literal["download", "inflate", "write"]
ARCHIVE_STAGES: tuple[ArchiveStage, ...] = ("download", "inflate", "write")
#: A build of the handler: at INIT, or inside the first request after a lazy INIT failure.
BootEvent = Literal["init", "lazy-rebuild"]
#: What one init report is about: a build, or one of the SnapStart hooks.
ReportEvent = Literal["init", "lazy-rebuild", "before_snapshot", "after_restore"]

#: A warm-up's outcome: the view answered 2xx (or the status ``expect`` names), it redirected
#: elsewhere (the view behind the redirect did not run), or it failed (status and hint).
WarmupOutcome = Literal["warmed", "redirected", "failed"]
WARMED: WarmupOutcome = "warmed"
REDIRECTED: WarmupOutcome = "redirected"
FAILED: WarmupOutcome = "failed"


@runtime_checkable
class LambdaContext(Protocol):
    """What the runtime may use of Lambda's context object (``awslambdaric``'s ``LambdaContext``).

    The runtime only passes it on: to upstream's request path, which hands it to the app
    (``environ["lambda.context"]``, an ASGI scope's ``lambda.context``) and to an exception handler.
    Warm-up requests pass a stand-in (``warmup.WarmupContext``) with these members and Lambda's others.
    """

    @property
    def aws_request_id(self) -> str: ...

    @property
    def function_name(self) -> str: ...

    @property
    def memory_limit_in_mb(self) -> str: ...  # a string, as awslambdaric sets it from the environment

    def get_remaining_time_in_millis(self) -> int: ...
