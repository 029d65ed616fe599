"""The ways a package can start, and what distinguishes them: packaging, handler.py, settings, env.

Four fixed modes, plus ``eager+warmup[<value>]`` (``--warmup-on-demand``): ``eager+warmup`` with
``eager_init_warmup_on_demand`` set to ``<value>`` instead of the stage's, so the values can be
measured side by side; and ``floor`` on request (``--modes ...,floor``): zappa-eager's package with
``floor_handler.py`` as its handler, the app behind the thinnest adapter, so ``eager`` minus
``floor`` is what zappa-eager's runtime costs on top of the app.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from zappa_eager.runtime.contract import WARMUP_ON_DEMAND_CHOICES, WarmupOnDemand

#: A mode's name: one of ``MODES``, or ``eager+warmup[<eager_init_warmup_on_demand>]`` (``warmup_mode``).
Mode = str
UPSTREAM: Mode = "upstream"
UPSTREAM_ENV: Mode = "upstream-env"
EAGER: Mode = "eager"
EAGER_WARMUP: Mode = "eager+warmup"
FLOOR: Mode = "floor"

#: The modes a run measures unless ``--modes`` says otherwise.
MODES: tuple[Mode, ...] = (UPSTREAM, UPSTREAM_ENV, EAGER, EAGER_WARMUP)
#: Every fixed mode, in the order tables list them; ``floor`` only when asked for.
ALL_MODES: tuple[Mode, ...] = (UPSTREAM, UPSTREAM_ENV, FLOOR, EAGER, EAGER_WARMUP)

#: How a mode's package is built: upstream's ``create_package`` (``eager_init: false``: no
#: bytecode compile, no lean selection) or zappa-eager's (eager init on).
Packaging = Literal["upstream", "eager"]
UPSTREAM_PACKAGING: Packaging = "upstream"
EAGER_PACKAGING: Packaging = "eager"
PACKAGINGS: tuple[Packaging, ...] = (UPSTREAM_PACKAGING, EAGER_PACKAGING)
#: Where a measured package comes from: one of the packagings, or ``given`` with ``--zip`` (one for every mode).
PackageOrigin = Literal["upstream", "eager", "given"]


@dataclass(frozen=True)
class ModeSpec:
    name: Mode
    eager: bool  # our handler.py and EAGER_* settings; False: upstream's handler.py, byte for byte
    warmup: bool  # eager_init_warmup requests during INIT
    env: Mapping[str, str] = field(default_factory=dict)  # extra Lambda environment variables
    summary: str = ""
    warmup_on_demand: WarmupOnDemand | None = None  # eager_init_warmup_on_demand for this mode; None: the stage's
    floor: bool = False  # zappa-eager's package, floor_handler.py as handler.py (no zappa at run time)

    @property
    def packaging(self) -> Packaging:
        """The upstream modes run upstream's package, so what packaging gains shows in the figures."""
        return EAGER_PACKAGING if self.eager or self.floor else UPSTREAM_PACKAGING


MODE_SPECS: dict[Mode, ModeSpec] = {
    UPSTREAM: ModeSpec(UPSTREAM, eager=False, warmup=False, summary="upstream zappa: app built in the first request"),
    UPSTREAM_ENV: ModeSpec(UPSTREAM_ENV, eager=False, warmup=False, env={"INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT": "1"},
                           summary="upstream zappa + INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT=1"),
    EAGER: ModeSpec(EAGER, eager=True, warmup=False, summary="zappa-eager, no warm-up"),
    EAGER_WARMUP: ModeSpec(EAGER_WARMUP, eager=True, warmup=True, summary="zappa-eager with eager_init_warmup"),
    FLOOR: ModeSpec(FLOOR, eager=False, warmup=False, floor=True,
                    summary="the app alone behind the thinnest adapter, zappa-eager's package: the floor"),
}


_WARMUP_MODE = re.compile(r"eager\+warmup\[([a-z]+)\]")


def warmup_mode(value: str) -> Mode:
    """``eager+warmup`` with ``eager_init_warmup_on_demand`` = ``value``: ``eager+warmup[value]``."""
    if value not in WARMUP_ON_DEMAND_CHOICES:
        raise ValueError(f"unknown eager_init_warmup_on_demand {value!r}; choose from "
                         f"{', '.join(WARMUP_ON_DEMAND_CHOICES)}")
    return f"{EAGER_WARMUP}[{value}]"


def mode_spec(mode: Mode) -> ModeSpec:
    """The spec of a fixed mode, or of an ``eager+warmup[<value>]`` one; KeyError for any other name."""
    if mode in MODE_SPECS:
        return MODE_SPECS[mode]
    match = _WARMUP_MODE.fullmatch(mode)
    value = next((choice for choice in WARMUP_ON_DEMAND_CHOICES if match and choice == match.group(1)), None)
    if value is None:
        raise KeyError(mode)
    return dataclasses.replace(MODE_SPECS[EAGER_WARMUP], name=mode, warmup_on_demand=value,
                               summary=f"zappa-eager with eager_init_warmup, eager_init_warmup_on_demand {value!r}")


def is_eager(mode: Mode) -> bool:
    return mode_spec(mode).eager


def is_baseline(mode: Mode) -> bool:
    """``upstream``, ``upstream-env`` and ``floor``: what the bench compares against. Their requests hitting the
    function timeout, or their INIT the INIT limit, are measurements (the slowness the bench shows), not
    failures; zappa-eager's own modes failing is."""
    return not mode_spec(mode).eager


def parse_modes(values: list[str] | None) -> tuple[Mode, ...]:
    """``["upstream,eager", "eager+warmup"]`` -> the chosen modes in canonical order."""
    if not values:
        return MODES
    chosen = {name.strip() for value in values for name in value.split(",") if name.strip()}
    unknown = sorted(chosen - set(ALL_MODES))
    if unknown:
        raise ValueError(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(ALL_MODES)}")
    return tuple(mode for mode in ALL_MODES if mode in chosen)


def parse_warmup_on_demand(values: list[str] | None) -> tuple[str, ...]:
    """``["skip,once", "full"]`` -> the ``eager_init_warmup_on_demand`` values, in canonical order."""
    chosen = {name.strip() for value in values or [] for name in value.split(",") if name.strip()}
    unknown = sorted(chosen - set(WARMUP_ON_DEMAND_CHOICES))
    if unknown:
        raise ValueError(f"unknown eager_init_warmup_on_demand value(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(WARMUP_ON_DEMAND_CHOICES)}")
    return tuple(value for value in WARMUP_ON_DEMAND_CHOICES if value in chosen)


def with_warmup_modes(modes: Sequence[Mode], values: Sequence[str]) -> tuple[Mode, ...]:
    """``modes`` then one ``eager+warmup[<value>]`` per value (measured in the same rounds, alternated)."""
    return (*modes, *(warmup_mode(value) for value in values if warmup_mode(value) not in modes))


def packagings_for(modes: Sequence[Mode]) -> tuple[Packaging, ...]:
    """The packagings ``modes`` need, in canonical order (only those get built)."""
    needed = {mode_spec(mode).packaging for mode in modes}
    return tuple(packaging for packaging in PACKAGINGS if packaging in needed)
