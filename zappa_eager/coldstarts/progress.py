"""A progress line on stderr while a long read runs (a week of a busy function is millions of lines)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from zappa_eager.coldstarts.options import iso

#: Seconds between two progress lines; reads shorter than this print none.
EVERY_S = 5.0


class ReadProgress:
    def __init__(self, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic,
                 every_s: float = EVERY_S) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.every_s = every_s
        self.started = clock()
        self.last = self.started
        self.shown = False

    def update(self, lines: int, versions: int, reached_ms: int | None, what: str) -> None:
        now = self.clock()
        if now - self.last < self.every_s:
            return
        self.last = now
        self.shown = True
        reached = f", up to {iso(reached_ms)}" if reached_ms else ""
        self.stream.write(f"zappa coldstarts: {what}: {lines:,} lines, {versions} version(s){reached} "
                          f"({now - self.started:.0f} s)\n")
        self.stream.flush()
