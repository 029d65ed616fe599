"""A plain-text progress bar on stderr (no dependency); one line per step when stderr is not a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.width = width
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()

    def bar(self, label: str = "") -> str:
        filled = round(self.width * min(self.done, self.total) / self.total)
        elapsed = time.monotonic() - self.started
        return (f"[{'#' * filled}{'-' * (self.width - filled)}] {self.done}/{self.total} "
                f"{elapsed:5.0f}s {label}").rstrip()

    def step(self, label: str = "") -> None:
        self.done += 1
        self._show(label)

    def note(self, text: str) -> None:
        """A message on its own line (the bar is redrawn after it)."""
        if self.interactive:
            self.stream.write("\r\033[K")
        self.stream.write(f"zappa bench: {text}\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()

    def _show(self, label: str) -> None:
        if self.interactive:
            self.stream.write("\r\033[K" + self.bar(label)[:200])
        else:
            self.stream.write(self.bar(label) + "\n")
        self.stream.flush()
