"""One runtime process: spawned in its sandbox, timed from its exec, watched until it exits, killed with its group.

An environment runs one of these at a time (two when the init limit cut INIT and the first
invoke runs it again in a fresh process). The process knows nothing of Lambda's lifecycle:
:mod:`.lifecycle` decides what its exit means.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from .isolation import Sandbox
from .logcapture import LogCapture

#: The sandbox wrapper's exit status when it could not set up the mounts (isolation.py's _WRAPPER).
SANDBOX_SETUP_FAILED = 97


class RuntimeProcess:
    """A spawned ``python -m awslambdaric`` (inside its sandbox wrapper) and the thread that reaps it."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], spawned_at: float, sandboxed: bool,
                 on_exit: Callable[[int], None]) -> None:
        self.name = name
        self.popen = popen
        self.sandboxed = sandboxed
        self.spawned_at = spawned_at
        #: When the sandbox wrapper exec'd the runtime (the wrapper writes a byte); Init Duration starts here.
        self.exec_at: float | None = None if sandboxed else spawned_at
        self.exit_code: int | None = None
        self._on_exit = on_exit
        self._exec_seen = threading.Event()
        if not sandboxed:
            self._exec_seen.set()
        self._last_rss_mb: int | None = None
        self._watcher: threading.Thread | None = None

    @classmethod
    def spawn(cls, name: str, sandbox: Sandbox, argv: list[str], environ: dict[str, str], logs: LogCapture,
              on_exit: Callable[[int], None]) -> RuntimeProcess:
        """Start ``argv`` in ``sandbox`` with stdout+stderr into ``logs``; ``on_exit(code)`` runs when it is reaped."""
        command = sandbox.command(argv)
        log_r, log_w = os.pipe()
        marker_r, marker_w = os.pipe() if sandbox.isolated else (-1, -1)
        spawned_at = time.perf_counter()
        try:
            popen = subprocess.Popen(
                command, stdin=marker_w if sandbox.isolated else subprocess.DEVNULL, stdout=log_w, stderr=log_w,
                env=environ, cwd=sandbox.tmp_dir.parent if sandbox.isolated else sandbox.cwd,
                start_new_session=True, close_fds=True,
            )
        except BaseException:
            os.close(log_r)
            if sandbox.isolated:
                os.close(marker_r)
            raise
        finally:
            os.close(log_w)
            if sandbox.isolated:
                os.close(marker_w)
        process = cls(name, popen, spawned_at, sandbox.isolated, on_exit)
        logs.attach(log_r)
        process._watcher = threading.Thread(target=process._watch, args=(marker_r,), name=f"zappa-emu-wait-{name}",
                                            daemon=True)
        process._watcher.start()
        return process

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def exited(self) -> bool:
        """Reaped by the watcher (set before ``on_exit`` runs)."""
        return self.exit_code is not None

    def exec_started(self) -> float:
        """When the runtime was exec'd (the spawn time if that was never seen); waits up to 5 s for the marker."""
        self._exec_seen.wait(5)
        return self.exec_at if self.exec_at is not None else self.spawned_at

    def wait_exit(self, timeout: float) -> None:
        """Wait for the watcher to reap the process (awslambdaric exits by itself after posting an init error)."""
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout)

    def kill(self) -> None:
        """SIGKILL the whole process group (the runtime and anything it started) and wait until it is reaped."""
        if self.popen.returncode is None and not self.exited:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.wait_exit(10)

    def peak_rss_mb(self) -> int | None:
        """VmHWM in MB while the process runs; afterwards the last value read (None if never read)."""
        if not self.exited:
            value = peak_rss_mb(self.popen.pid)
            if value is not None:
                self._last_rss_mb = value
        return self._last_rss_mb

    def _watch(self, marker_fd: int) -> None:
        """Timestamp the runtime's exec, then reap the process and report its exit."""
        if marker_fd >= 0:
            try:
                if os.read(marker_fd, 1):
                    self.exec_at = time.perf_counter()
            except OSError:
                pass
            os.close(marker_fd)
            self._exec_seen.set()
        code = self.popen.wait()
        self.exit_code = code
        self._on_exit(code)


def peak_rss_mb(pid: int) -> int | None:
    """The process's peak resident set (VmHWM) in MB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for row in status:
                if row.startswith("VmHWM:"):
                    return math.ceil(int(row.split()[1]) / 1024)
    except (OSError, ValueError, IndexError):
        return None
    return None


def exit_error(request_id: str | None, exit_code: int | None, *, sandboxed: bool) -> dict[str, Any]:
    """Lambda's ``Runtime.ExitError`` for a runtime that exited (or was killed) with ``exit_code``."""
    if exit_code is not None and exit_code < 0:
        how = f"signal: {signal.Signals(-exit_code).name.lower().removeprefix('sig')}"
    else:
        how = f"exit status {exit_code}"
    if exit_code == SANDBOX_SETUP_FAILED and sandboxed:
        how += " (sandbox setup failed; see logs)"
    prefix = f"RequestId: {request_id} " if request_id else ""
    return {"errorType": "Runtime.ExitError", "errorMessage": f"{prefix}Error: Runtime exited with error: {how}"}
