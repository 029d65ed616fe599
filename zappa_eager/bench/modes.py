"""The four ways a package can start, and what distinguishes them: packaging, handler.py, settings, env."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["upstream", "upstream-env", "eager", "eager+warmup"]
UPSTREAM: Mode = "upstream"
UPSTREAM_ENV: Mode = "upstream-env"
EAGER: Mode = "eager"
EAGER_WARMUP: Mode = "eager+warmup"

MODES: tuple[Mode, ...] = (UPSTREAM, UPSTREAM_ENV, EAGER, EAGER_WARMUP)

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

    @property
    def packaging(self) -> Packaging:
        """The upstream modes run upstream's package, so what packaging gains shows in the figures."""
        return EAGER_PACKAGING if self.eager else UPSTREAM_PACKAGING


MODE_SPECS: dict[Mode, ModeSpec] = {
    UPSTREAM: ModeSpec(UPSTREAM, eager=False, warmup=False, summary="upstream zappa: app built in the first request"),
    UPSTREAM_ENV: ModeSpec(UPSTREAM_ENV, eager=False, warmup=False, env={"INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT": "1"},
                           summary="upstream zappa + INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT=1"),
    EAGER: ModeSpec(EAGER, eager=True, warmup=False, summary="zappa-eager, no warm-up"),
    EAGER_WARMUP: ModeSpec(EAGER_WARMUP, eager=True, warmup=True, summary="zappa-eager with eager_init_warmup"),
}


def is_baseline(mode: Mode) -> bool:
    """``upstream`` and ``upstream-env``: what the bench compares against. Their requests hitting the
    function timeout, or their INIT the INIT limit, are measurements (the slowness the bench shows), not
    failures; zappa-eager's own modes failing is."""
    return not MODE_SPECS[mode].eager


def parse_modes(values: list[str] | None) -> tuple[Mode, ...]:
    """``["upstream,eager", "eager+warmup"]`` -> the chosen modes in canonical order."""
    if not values:
        return MODES
    chosen = {name.strip() for value in values for name in value.split(",") if name.strip()}
    unknown = sorted(chosen - set(MODES))
    if unknown:
        raise ValueError(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
    return tuple(mode for mode in MODES if mode in chosen)


def packagings_for(modes: Sequence[Mode]) -> tuple[Packaging, ...]:
    """The packagings ``modes`` need, in canonical order (only those get built)."""
    needed = {MODE_SPECS[mode].packaging for mode in modes}
    return tuple(packaging for packaging in PACKAGINGS if packaging in needed)
