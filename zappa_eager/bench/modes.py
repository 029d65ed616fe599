"""The four ways a package can start, and what distinguishes them: handler.py, settings, env."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

UPSTREAM = "upstream"
UPSTREAM_ENV = "upstream-env"
EAGER = "eager"
EAGER_WARMUP = "eager+warmup"

MODES: tuple[str, ...] = (UPSTREAM, UPSTREAM_ENV, EAGER, EAGER_WARMUP)


@dataclass(frozen=True)
class ModeSpec:
    name: str
    eager: bool  # our handler.py and EAGER_* settings; False: upstream's handler.py, byte for byte
    warmup: bool  # eager_init_warmup requests during INIT
    env: Mapping[str, str] = field(default_factory=dict)  # extra Lambda environment variables
    summary: str = ""


MODE_SPECS: dict[str, ModeSpec] = {
    UPSTREAM: ModeSpec(UPSTREAM, eager=False, warmup=False, summary="upstream zappa: app built in the first request"),
    UPSTREAM_ENV: ModeSpec(UPSTREAM_ENV, eager=False, warmup=False, env={"INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT": "1"},
                           summary="upstream zappa + INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT=1"),
    EAGER: ModeSpec(EAGER, eager=True, warmup=False, summary="zappa-eager, no warm-up"),
    EAGER_WARMUP: ModeSpec(EAGER_WARMUP, eager=True, warmup=True, summary="zappa-eager with eager_init_warmup"),
}


def parse_modes(values: list[str] | None) -> tuple[str, ...]:
    """``["upstream,eager", "eager+warmup"]`` -> the chosen modes in canonical order."""
    if not values:
        return MODES
    chosen = {name.strip() for value in values for name in value.split(",") if name.strip()}
    unknown = sorted(chosen - set(MODES))
    if unknown:
        raise ValueError(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
    return tuple(mode for mode in MODES if mode in chosen)
