"""The generated ``zappa_settings.py`` contract: the keys the packager writes and the runtime reads.

``zappa package`` appends these keys to upstream's generated settings module
(``settings.render_settings_lines`` through :func:`render_lines`); the runtime reads them once,
when INIT imports that module (:meth:`GeneratedSettings.from_module`). Both sides take the names,
choices and defaults from here, so they cannot drift apart. A key a package lacks (written by
hand, or built before the key existed) reads as the field's default below: what the runtime did
before the key existed, which is not always the stage setting's default. Runtime module:
standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal, TypeVar

EAGER_INIT = "EAGER_INIT"
EAGER_INIT_WARMUP = "EAGER_INIT_WARMUP"
EAGER_INIT_WARMUP_ROUNDS = "EAGER_INIT_WARMUP_ROUNDS"
EAGER_INIT_WARMUP_ON_DEMAND = "EAGER_INIT_WARMUP_ON_DEMAND"
EAGER_INIT_ON_ERROR = "EAGER_INIT_ON_ERROR"
EAGER_INIT_WARMUP_AFTER_RESTORE = "EAGER_INIT_WARMUP_AFTER_RESTORE"
SNAP_START = "SNAP_START"
#: Every key zappa-eager adds to the generated module, in the order the packager writes them.
GENERATED_KEYS = (EAGER_INIT, EAGER_INIT_WARMUP, EAGER_INIT_WARMUP_ROUNDS, EAGER_INIT_WARMUP_ON_DEMAND,
                  EAGER_INIT_ON_ERROR, EAGER_INIT_WARMUP_AFTER_RESTORE, SNAP_START)

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
#: The stage default and what an absent key means: inside the caller's wait a warm-up costs more than
#: it saves the request behind it (measured in docs/benchmarks.md).
DEFAULT_WARMUP_ON_DEMAND: WarmupOnDemand = WARMUP_SKIP

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
            snap_start=snap_start_enabled(getattr(settings, SNAP_START, None)),
        )


def render_lines(values: Mapping[str, object]) -> str:
    """The lines appended to the generated module: ``KEY=<Python literal>`` for every generated key, in order."""
    if set(values) != set(GENERATED_KEYS):
        missing = sorted(set(GENERATED_KEYS) - set(values))
        unknown = sorted(set(values) - set(GENERATED_KEYS))
        raise ValueError(f"render_lines needs exactly the keys {GENERATED_KEYS}: missing {missing}, unknown {unknown}")
    return "".join(f"{key}={values[key]!r}\n" for key in GENERATED_KEYS)
