"""One execution environment: a fresh runtime process (the real awslambdaric), its lifecycle, its invokes.

Lifecycles (``AWS_LAMBDA_INITIALIZATION_TYPE``):

* ``on-demand`` - nothing runs until the first invoke; that invoke waits for INIT and its
  result (and REPORT line) carries the Init Duration.
* ``provisioned-concurrency`` - INIT runs at :meth:`Environment.start`; invokes find it warm.
* ``snap-start`` - INIT and the before-snapshot hooks run at :meth:`Environment.start`, then
  the runtime waits in ``restore/next`` (the snapshot is "taken"). The restore - answering
  ``restore/next``, after-restore hooks, first ``invocation/next`` - happens on the first
  invoke (as on Lambda) or at :meth:`Environment.restore`. A real restore resumes a memory
  snapshot in a new microVM; here the same process simply continues, so Restore Duration
  covers the after-restore hooks and runtime hand-off only, and one snapshot cannot be
  restored twice: every SnapStart environment runs its own INIT.

Timings: INIT is measured from the ``exec`` of the runtime process (after the private
/tmp is set up) to its first ``invocation/next`` (``restore/next`` for SnapStart). Duration
is from the event handed out on ``invocation/next`` to the response received.

Limits: the function timeout kills the environment (``Sandbox.Timedout``, like Lambda's
"Task timed out after X seconds"). An INIT longer than the init limit (10 s on-demand) kills
it too and fails that invoke; Lambda would instead retry INIT inside the invoke, under the
function timeout - not emulated. A killed, crashed or init-failed environment is never
revived: start a new one (or use :meth:`Emulator.invoke`, which routes like Lambda does).
"""

from __future__ import annotations

import json
import math
import os
import secrets
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from . import report as platform
from .config import INIT_TYPES, FunctionConfig, check_user_env, lambda_environ
from .isolation import Sandbox
from .logcapture import LogCapture, find_init_reports
from .result import InvokeResult
from .runtime_api import Invocation, PostedError, RuntimeAPIServer, RuntimeState

#: SnapStart gives after-restore hooks 10 seconds.
RESTORE_LIMIT_S = 10.0
#: Lambda's errorType for a phase or an invoke that ran out of time.
TIMEOUT_ERROR_TYPE = "Sandbox.Timedout"


class EnvironmentDead(RuntimeError):
    """The environment was stopped, killed (timeout) or its runtime exited."""


class EnvironmentBusy(RuntimeError):
    """An environment handles one invoke at a time; Lambda would route to another one."""


@dataclass
class Launch:
    """What an environment needs from its emulator."""

    config: FunctionConfig
    sandbox: Sandbox
    runtime_dir: Path
    python: str
    s3_endpoint: Callable[[], str | None]
    on_report: Callable[[str], None]
    echo: TextIO | None = None


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


def _ms(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else (end - start) * 1000.0


def _iso_now() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


class Environment:
    """One sandbox: a runtime process, its Runtime API server, its /tmp and its logs."""

    def __init__(self, name: str, init_type: str, launch: Launch, env: dict[str, str] | None = None) -> None:
        check_user_env(env or {})
        if init_type not in INIT_TYPES:
            raise ValueError(f"init_type must be one of {', '.join(INIT_TYPES)}, not {init_type!r}")
        self.name = name
        self.init_type = init_type
        self.extra_env = dict(env or {})
        self._launch = launch
        self.config = launch.config
        self.state = RuntimeState()
        self.server: RuntimeAPIServer | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._logs = LogCapture(name, launch.echo)
        self.reports: list[str] = []
        self.spawned_at: float | None = None
        self.exec_at: float | None = None
        self.init_duration_ms: float | None = None
        self.restore_duration_ms: float | None = None
        self.init_error: dict[str, Any] | None = None
        self.restore_error: dict[str, Any] | None = None
        self.restored = False
        self.dead_reason: str | None = None
        self.stopped = False
        self.invocations = 0
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._exec_seen = threading.Event()
        self._last_rss_mb: int | None = None

    # -- public state -----------------------------------------------------------------------

    @property
    def tmp_dir(self) -> Path:
        """The host directory that is this environment's /tmp."""
        return self._launch.sandbox.tmp_dir

    @property
    def isolated_tmp(self) -> bool:
        return self._launch.sandbox.isolated

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    @property
    def api_address(self) -> str | None:
        return None if self.server is None else self.server.address

    @property
    def alive(self) -> bool:
        """The runtime process is running and usable."""
        return self.proc is not None and not self.state.exited and self.dead_reason is None

    @property
    def usable(self) -> bool:
        """Alive, or on-demand and not spawned yet."""
        return self.alive or (self.proc is None and not self.stopped)

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    @property
    def spawn_overhead_ms(self) -> float | None:
        """Time spent creating the sandbox (namespace, mounts) before the runtime exec'd."""
        return _ms(self.spawned_at, self.exec_at)

    def logs(self) -> str:
        """Everything the environment wrote (stdout+stderr) plus platform lines, as CloudWatch would show."""
        return self._logs.text()

    def log_lines(self) -> list[str]:
        return self._logs.lines()

    def init_reports(self) -> list[dict[str, Any]]:
        """Every ``zappa_eager_init`` object logged so far (init, before_snapshot, after_restore...)."""
        return find_init_reports(self._logs.lines())

    def init_report(self) -> dict[str, Any] | None:
        """The first ``zappa_eager_init`` object (the INIT one), or None."""
        reports = self.init_reports()
        return reports[0] if reports else None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, *, restore: bool = False) -> Environment:
        """Spawn and wait for INIT (SnapStart: until the snapshot point; ``restore=True`` restores too)."""
        with self._lock:
            self.start_locked(restore=restore)
        return self

    def start_locked(self, *, restore: bool = False) -> None:
        """:meth:`start` for a caller that already holds the environment (see :meth:`reserve`)."""
        if self.proc is None and not self.stopped:
            self._spawn()
            self._await_init()
        if restore and self.init_type == "snap-start" and self.init_error is None:
            self._restore()

    def reserve(self) -> None:
        """Take the environment for a sequence of calls (``*_locked``), then :meth:`release` it."""
        self._lock.acquire()

    def release(self) -> None:
        self._lock.release()

    def restore(self) -> float | None:
        """SnapStart: answer ``restore/next`` and wait for the after-restore hooks; returns ms."""
        with self._lock:
            return self._restore()

    def stop(self) -> None:
        """Kill the process group, reap it, stop the server and the log pump. Idempotent."""
        if self.stopped:
            return
        self.stopped = True
        self.dead_reason = self.dead_reason or "stopped"
        self._kill()
        if self._watcher is not None:
            self._watcher.join(10)
        if self.server is not None:
            self.server.close()
        self.state.close()
        self._logs.close()

    def invoke(self, event: Any, *, timeout_s: float | None = None, client_context: dict[str, Any] | None = None,
               cognito_identity: dict[str, Any] | None = None) -> InvokeResult:
        """Send one event (dict -> JSON; bytes as is) and wait for the outcome.

        Returns an :class:`InvokeResult` for handler results *and* for function errors (init
        error, handler exception, timeout, runtime exit). Raises :class:`EnvironmentBusy` if an
        invoke is in progress, :class:`EnvironmentDead` if the environment was stopped or killed.
        """
        if not self._lock.acquire(blocking=False):
            raise EnvironmentBusy(f"{self.name} is handling another invoke")
        try:
            return self._invoke(event, timeout_s, client_context, cognito_identity)
        finally:
            self._lock.release()

    def invoke_locked(self, event: Any, *, timeout_s: float | None = None,
                      client_context: dict[str, Any] | None = None,
                      cognito_identity: dict[str, Any] | None = None) -> InvokeResult:
        """:meth:`invoke` for a caller that already holds the environment (see :meth:`reserve`)."""
        return self._invoke(event, timeout_s, client_context, cognito_identity)

    # -- spawning and INIT ------------------------------------------------------------------

    def _spawn(self) -> None:
        launch, sandbox = self._launch, self._launch.sandbox
        sandbox.tmp_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(sandbox.tmp_dir, 0o1777)
        self.server = RuntimeAPIServer(self.state).start()
        environ = lambda_environ(
            self.config, init_type=self.init_type, api_address=self.server.address, task_root=sandbox.cwd,
            runtime_dir=launch.runtime_dir, tmp_dir=None if sandbox.isolated else sandbox.tmp_dir,
            extra=self.extra_env, s3_endpoint=launch.s3_endpoint(),
        )
        command = sandbox.command([launch.python, "-S", "-m", "awslambdaric", self.config.handler])
        log_r, log_w = os.pipe()
        marker_r, marker_w = os.pipe() if sandbox.isolated else (-1, -1)
        self._logs.add(platform.init_start_line(self.config.runtime_name))
        self.spawned_at = time.perf_counter()
        try:
            self.proc = subprocess.Popen(
                command, stdin=marker_w if sandbox.isolated else subprocess.DEVNULL, stdout=log_w, stderr=log_w,
                env=environ, cwd=sandbox.tmp_dir.parent if sandbox.isolated else sandbox.cwd,
                start_new_session=True, close_fds=True,
            )
        except BaseException:
            os.close(log_r)
            if sandbox.isolated:
                os.close(marker_r)
            self.dead_reason = "spawn failed"
            raise
        finally:
            os.close(log_w)
            if sandbox.isolated:
                os.close(marker_w)
        if not sandbox.isolated:
            self.exec_at = self.spawned_at
            self._exec_seen.set()
        self._logs.attach(log_r)
        self._watcher = threading.Thread(target=self._watch, args=(marker_r,), name=f"zappa-emu-wait-{self.name}",
                                         daemon=True)
        self._watcher.start()

    def _watch(self, marker_fd: int) -> None:
        """Timestamp the runtime's exec, then reap the process and tell the waiters."""
        assert self.proc is not None
        if marker_fd >= 0:
            try:
                if os.read(marker_fd, 1):
                    self.exec_at = time.perf_counter()
            except OSError:
                pass
            os.close(marker_fd)
            self._exec_seen.set()
        code = self.proc.wait()
        with self.state.cond:
            self.state.exited = True
            self.state.exit_code = code
            self.state.cond.notify_all()

    def _init_started(self) -> float:
        self._exec_seen.wait(5)
        start = self.exec_at if self.exec_at is not None else self.spawned_at
        assert start is not None
        return start

    def _await_init(self) -> None:
        """Wait for INIT's end (first ``next``, or ``restore/next`` for SnapStart), an init error, exit or timeout."""
        state, snap = self.state, self.init_type == "snap-start"
        limit = self.config.init_limit_s(self.init_type)
        assert self.spawned_at is not None
        deadline = self.spawned_at + limit
        with state.cond:
            while True:
                # A runtime that ignores SnapStart goes straight to invocation/next: INIT is over all the same.
                done_at = (state.restore_next_at or state.first_next_at) if snap else state.first_next_at
                if done_at is not None or state.init_error or state.exited or state.closed:
                    break
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                state.cond.wait(remaining)
            init_error, exit_code, closed = state.init_error, state.exit_code, state.closed
        started = self._init_started()
        if closed and done_at is None:
            raise EnvironmentDead(f"{self.name} was stopped during INIT")
        if done_at is not None:
            self.init_duration_ms = _ms(started, done_at)
            self.restored = snap and state.restore_next_at is None
            return
        if init_error is not None:
            self.init_duration_ms = _ms(started, init_error.at)
            self._fail_init(init_error.as_dict(), "error")
            if self._watcher is not None:  # awslambdaric exits(1) right after posting
                self._watcher.join(5)
            self._kill()
            return
        if exit_code is not None or state.exited:
            self.init_duration_ms = _ms(started, time.perf_counter())
            self._fail_init(self._exit_error(None, exit_code), "error")
            return
        self.init_duration_ms = limit * 1000.0
        self._kill()
        self._fail_init({"errorType": TIMEOUT_ERROR_TYPE,
                         "errorMessage": f"INIT phase timed out after {limit:.2f} seconds"}, "timeout")

    def _fail_init(self, error: dict[str, Any], status: str) -> None:
        self.init_error = error
        self.dead_reason = f"init {status}: {error.get('errorType')}: {error.get('errorMessage')}"
        self._logs.add(platform.init_report_line(self.init_duration_ms or 0.0, status, str(error.get("errorType"))))

    def _restore(self) -> float | None:
        if self.init_type != "snap-start":
            raise ValueError(f"{self.name} is {self.init_type}, not snap-start")
        if self.restored or self.init_error is not None or self.restore_error is not None:
            return self.restore_duration_ms
        if not self.alive:
            raise EnvironmentDead(f"{self.name}: {self.dead_reason or 'not started'}")
        self._logs.add(f"RESTORE_START Runtime Version: {self.config.runtime_name}")
        state = self.state
        released = state.release_restore()
        deadline = released + RESTORE_LIMIT_S
        with state.cond:
            while state.first_next_at is None and not (state.restore_error or state.exited or state.closed):
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                state.cond.wait(remaining)
            first_next, restore_error, exit_code = state.first_next_at, state.restore_error, state.exit_code
        if first_next is not None:
            self.restored = True
            self.restore_duration_ms = _ms(released, first_next)
            self._logs.add(f"RESTORE_REPORT Restore Duration: {self.restore_duration_ms:.2f} ms")
            return self.restore_duration_ms
        self.restore_duration_ms = _ms(released, time.perf_counter())
        if restore_error is not None:
            error = restore_error.as_dict()
        elif state.exited:
            error = self._exit_error(None, exit_code)
        else:
            error = {"errorType": TIMEOUT_ERROR_TYPE,
                     "errorMessage": f"Restore phase timed out after {RESTORE_LIMIT_S:.2f} seconds"}
        self.restore_error = error
        self.dead_reason = f"restore failed: {error.get('errorType')}"
        self._logs.add(f"RESTORE_REPORT Restore Duration: {self.restore_duration_ms or 0.0:.2f} ms\tStatus: error"
                       f"\tError Type: {error.get('errorType')}")
        self._kill()
        return self.restore_duration_ms

    # -- invoking ---------------------------------------------------------------------------

    def _invoke(self, event: Any, timeout_s: float | None, client_context: dict[str, Any] | None,
                cognito_identity: dict[str, Any] | None) -> InvokeResult:
        called = time.perf_counter()
        request_id = str(uuid.uuid4())
        if self.stopped:
            raise EnvironmentDead(f"{self.name} is stopped")
        init_ms = restore_ms = None
        if self.proc is None:
            self._spawn()
            self._await_init()
            if self.init_type == "on-demand":
                init_ms = self.init_duration_ms
        if self.init_error is not None:
            return self._failed(request_id, called, self.init_error, "init", init_ms, None)
        if self.init_type == "snap-start" and not self.restored:
            if self.restore_error is None:
                restore_ms = self._restore()
            if self.restore_error is not None:
                return self._failed(request_id, called, self.restore_error, "restore", init_ms, restore_ms)
        if not self.alive:
            raise EnvironmentDead(f"{self.name}: {self.dead_reason or 'runtime exited'}")

        timeout = timeout_s if timeout_s is not None else self.config.timeout_s
        invocation = Invocation(
            request_id=request_id,
            event=event if isinstance(event, bytes) else json.dumps(event).encode("utf-8"),
            deadline_ms=int((time.time() + timeout) * 1000),
            function_arn=self.config.function_arn,
            trace_id=_trace_id(),
            client_context=None if client_context is None else json.dumps(client_context),
            cognito_identity=None if cognito_identity is None else json.dumps(cognito_identity),
        )
        self._logs.add(platform.start_line(request_id, self.config.function_version))
        state = self.state
        with state.cond:
            invocation.enqueued_at = time.perf_counter()
            state.pending = invocation
            state.cond.notify_all()
            while invocation.outcome is None and not state.exited and not state.closed:
                # The clock starts when the runtime takes the event (or now, if it never does).
                remaining = (invocation.handed_out_at or invocation.enqueued_at) + timeout - time.perf_counter()
                if remaining <= 0:
                    break
                state.cond.wait(remaining)
            if state.pending is invocation:
                state.pending = None
            if invocation.outcome is None:
                state.inflight.pop(request_id, None)
            exited, closed, exit_code = state.exited, state.closed, state.exit_code
        now = time.perf_counter()
        self.invocations += 1
        self._rss()
        started = invocation.handed_out_at or invocation.enqueued_at
        result = InvokeResult(request_id=request_id, environment=self.name, init_duration_ms=init_ms,
                              restore_duration_ms=restore_ms, memory_size_mb=self.config.memory_mb)
        status = None
        if invocation.outcome == "response":
            result.raw, result.content_type = invocation.body, invocation.content_type
            result.payload = _parse_json(invocation.body)
        elif invocation.outcome == "error":
            result.raw, result.content_type = invocation.body, invocation.content_type
            result.error = PostedError(invocation.body, invocation.error_type, now).as_dict()
            result.payload, result.error_phase, status = result.error, "invoke", "error"
        elif closed and not exited:
            raise EnvironmentDead(f"{self.name} was stopped during invoke {request_id}")
        elif exited:
            result.error, result.error_phase, status = self._exit_error(request_id, exit_code), "invoke", "error"
            result.payload = result.error
            self.dead_reason = f"runtime exited during invoke ({exit_code})"
        else:
            self._kill()
            self.dead_reason = f"timed out after {timeout:.2f} s"
            message = f"Task timed out after {timeout:.2f} seconds"
            self._logs.add(f"{_iso_now()} {request_id} {message}")
            result.error = {"errorType": TIMEOUT_ERROR_TYPE,
                            "errorMessage": f"RequestId: {request_id} Error: {message}"}
            result.payload, result.error_phase, result.timed_out, status = result.error, "invoke", True, "timeout"
        finished = invocation.finished_at or now
        result.duration_ms = (finished - started) * 1000.0
        self._close_invoke(result, status, called)
        return result

    def _failed(self, request_id: str, called: float, error: dict[str, Any], phase: str,
                init_ms: float | None, restore_ms: float | None) -> InvokeResult:
        """The result of an invoke that never reached the handler (INIT or restore failed)."""
        result = InvokeResult(request_id=request_id, environment=self.name, error=dict(error), payload=dict(error),
                              error_phase=phase, init_duration_ms=init_ms, restore_duration_ms=restore_ms,
                              memory_size_mb=self.config.memory_mb)
        self._rss()
        self._logs.add(platform.start_line(request_id, self.config.function_version))
        self._close_invoke(result, "error", called)
        return result

    def _close_invoke(self, result: InvokeResult, status: str | None, called: float) -> None:
        """Billing, memory, END + REPORT lines, latency."""
        billed = platform.billed_ms(result.duration_ms)
        if self.init_type == "on-demand" and result.init_duration_ms is not None:
            billed += math.ceil(result.init_duration_ms)  # INIT is billed for on-demand (since Aug 2025)
        result.billed_duration_ms = billed
        result.max_memory_mb = self._last_rss_mb
        report = platform.Report(
            request_id=result.request_id, duration_ms=result.duration_ms, billed_duration_ms=billed,
            memory_size_mb=self.config.memory_mb, max_memory_used_mb=self._last_rss_mb or 0,
            init_duration_ms=result.init_duration_ms, restore_duration_ms=result.restore_duration_ms,
            billed_restore_duration_ms=None if result.restore_duration_ms is None
            else platform.billed_ms(result.restore_duration_ms),
            status=status, error_type=result.error_type if status else None,
        )
        result.report_line = report.line()
        self._logs.add(platform.end_line(result.request_id))
        self._logs.add(result.report_line)
        self.reports.append(result.report_line)
        self._launch.on_report(result.report_line)
        result.latency_ms = (time.perf_counter() - called) * 1000.0

    # -- helpers ----------------------------------------------------------------------------

    def _rss(self) -> int | None:
        if self.proc is not None and not self.state.exited:
            value = platform.peak_rss_mb(self.proc.pid)
            if value is not None:
                self._last_rss_mb = value
        return self._last_rss_mb

    def _exit_error(self, request_id: str | None, exit_code: int | None) -> dict[str, Any]:
        if exit_code is not None and exit_code < 0:
            how = f"signal: {signal.Signals(-exit_code).name.lower().removeprefix('sig')}"
        else:
            how = f"exit status {exit_code}"
        if exit_code == 97 and self.isolated_tmp:
            how += " (sandbox setup failed; see logs)"
        prefix = f"RequestId: {request_id} " if request_id else ""
        return {"errorType": "Runtime.ExitError", "errorMessage": f"{prefix}Error: Runtime exited with error: {how}"}

    def _kill(self) -> None:
        """SIGKILL the whole process group (the runtime and anything it started)."""
        proc = self.proc
        if proc is not None and proc.returncode is None and not self.state.exited:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if proc is not None and self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(10)
        if self.dead_reason is None and proc is not None:
            self.dead_reason = "killed"


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None
