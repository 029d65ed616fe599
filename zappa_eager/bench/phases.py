"""Seconds per phase of a run (packaging, task roots, measurements, burst...): where the time went."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class PhaseClock:
    """Wall-clock seconds per named phase; a phase entered twice adds up."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def as_dict(self) -> dict[str, float]:
        """Each phase, then ``total`` (since the clock started: includes what no phase covers)."""
        return {**{name: round(value, 1) for name, value in self.seconds.items()},
                "total": round(time.perf_counter() - self.started, 1)}
