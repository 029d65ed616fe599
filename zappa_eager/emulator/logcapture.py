"""An environment's combined stdout/stderr: what CloudWatch Logs would hold for it.

A background thread keeps the pipe drained (a full pipe would block the function and skew
its timings). Reads happen only under the lock, on a non-blocking descriptor, so
:meth:`LogCapture.text` can drain whatever the process already wrote before answering and
platform lines (START/END/REPORT) land after the function output that preceded them.
"""

from __future__ import annotations

import os
import select
import threading
from typing import TextIO


class LogCapture:
    """Lines from one pipe, plus platform lines added by the emulator, in order."""

    def __init__(self, name: str, echo: TextIO | None = None) -> None:
        self.name = name
        self.echo = echo
        self._lines: list[str] = []
        self._partial = b""
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = False

    def attach(self, fd: int) -> None:
        """Own ``fd`` (the read end of the environment's stdout/stderr pipe) and start draining it.

        Attaching again (the runtime was started again after an INIT timeout) first reads what
        is left of the previous pipe and closes it; that process is gone, so its pump has ended.
        """
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            self._drain_locked()
            if self._fd is not None:
                os.close(self._fd)
            os.set_blocking(fd, False)
            self._fd = fd
        self._thread = threading.Thread(target=self._pump, name=f"zappa-emu-logs-{self.name}", daemon=True)
        self._thread.start()

    def add(self, line: str) -> None:
        """Append a platform line after everything the process has written so far."""
        with self._lock:
            self._drain_locked()
            self._append_locked(line)

    def lines(self) -> list[str]:
        with self._lock:
            self._drain_locked()
            return list(self._lines) + ([self._partial.decode("utf-8", "replace")] if self._partial else [])

    def text(self) -> str:
        return "\n".join(self.lines())

    def close(self) -> None:
        """Stop the pump after reading what is left (call once the process is gone)."""
        self._stop = True
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            self._drain_locked()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    # -- internals -------------------------------------------------------------------------

    def _pump(self) -> None:
        poller = select.poll()
        fd = self._fd
        assert fd is not None
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        while not self._stop:
            if not poller.poll(200):
                continue
            with self._lock:
                if self._drain_locked():
                    return

    def _drain_locked(self) -> bool:
        """Read everything available; True at end of file."""
        if self._fd is None:
            return True
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                return False
            except OSError:
                return True
            if not chunk:
                if self._partial:
                    self._append_locked(self._partial.decode("utf-8", "replace"))
                    self._partial = b""
                return True
            data = self._partial + chunk
            *complete, self._partial = data.split(b"\n")
            for raw in complete:
                self._append_locked(raw.rstrip(b"\r").decode("utf-8", "replace"))

    def _append_locked(self, line: str) -> None:
        self._lines.append(line)
        if self.echo is not None:
            try:
                self.echo.write(f"[{self.name}] {line}\n")
            except (OSError, ValueError):
                self.echo = None

