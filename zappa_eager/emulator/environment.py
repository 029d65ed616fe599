"""One execution environment: its lifecycle, its invokes, its logs and REPORT lines.

:mod:`.lifecycle` runs the runtime process through INIT and restore (and says how each init
type behaves), :mod:`.process` spawns and watches it, :mod:`.platform_log` bills and writes the
platform lines. This module hands events to the runtime and turns what comes back into an
:class:`InvokeResult`.

Duration is from the event handed out on ``invocation/next`` to the response received. The
function timeout kills the environment (``Sandbox.Timedout``, like Lambda's "Task timed out
after X seconds"). When the init limit cut an on-demand INIT, the first invoke runs INIT again
before the handler: that invoke's REPORT has no Init Duration, its Duration covers the second
INIT and the handler (``InvokeResult.reinit_duration_ms`` says how much was INIT). A dead
environment is never revived: start a new one (or use :meth:`Emulator.invoke`, which routes
like Lambda does).
"""

from __future__ import annotations

import json
import secrets
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from zappa_eager.runtime.report import parse_report_lines

from . import platform_log
from .config import FunctionConfig, InitType, Launch, check_user_env, init_type_of
from .lifecycle import TIMEOUT_ERROR_TYPE, EnvironmentBusy, EnvironmentDead, Lifecycle, Stage, ms
from .logcapture import LogCapture
from .platform_log import ReportStatus
from .process import exit_error
from .result import ErrorPhase, InvokeResult
from .runtime_api import Invocation, PostedError, RuntimeState

__all__ = ["Environment", "EnvironmentBusy", "EnvironmentDead"]


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


class Environment:
    """One sandbox: a runtime process, its Runtime API server, its /tmp and its logs."""

    def __init__(self, name: str, init_type: str, launch: Launch, env: dict[str, str] | None = None) -> None:
        check_user_env(env or {})
        self.name = name
        self.config: FunctionConfig = launch.config
        self._launch = launch
        self._logs = LogCapture(name, launch.echo)
        self.lifecycle = Lifecycle(name, init_type_of(init_type), launch, dict(env or {}), self._logs)
        self.reports: list[str] = []
        self.invocations = 0
        self._lock = threading.Lock()

    # -- public state -----------------------------------------------------------------------

    @property
    def init_type(self) -> InitType:
        return self.lifecycle.init_type

    @property
    def stage(self) -> Stage:
        return self.lifecycle.stage

    @property
    def alive(self) -> bool:
        """The runtime process is running and usable."""
        return self.lifecycle.alive

    @property
    def usable(self) -> bool:
        """Alive, or on-demand and not spawned yet (or waiting to run its cut INIT again)."""
        return self.lifecycle.usable

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    @property
    def stopped(self) -> bool:
        return self.lifecycle.stopped

    @property
    def dead_reason(self) -> str | None:
        return self.lifecycle.dead_reason

    @property
    def init_duration_ms(self) -> float | None:
        return self.lifecycle.init_duration_ms

    @property
    def init_error(self) -> dict[str, Any] | None:
        return self.lifecycle.init_error

    @property
    def init_timed_out(self) -> bool:
        """The init limit cut the on-demand INIT; the first invoke ran (or runs) it again."""
        return self.lifecycle.init_timed_out

    @property
    def restore_duration_ms(self) -> float | None:
        return self.lifecycle.restore_duration_ms

    @property
    def restored(self) -> bool:
        return self.lifecycle.restored

    @property
    def state(self) -> RuntimeState:
        """What the runtime told the Runtime API (the current process's)."""
        return self.lifecycle.state

    @property
    def proc(self) -> subprocess.Popen[bytes] | None:
        process = self.lifecycle.process
        return None if process is None else process.popen

    @property
    def pid(self) -> int | None:
        process = self.lifecycle.process
        return None if process is None else process.pid

    @property
    def spawn_overhead_ms(self) -> float | None:
        """Time spent creating the sandbox (namespace, mounts) before the runtime exec'd."""
        process = self.lifecycle.process
        return None if process is None else ms(process.spawned_at, process.exec_at)

    @property
    def tmp_dir(self) -> Path:
        """The host directory that is this environment's /tmp."""
        return self._launch.sandbox.tmp_dir

    def logs(self) -> str:
        """Everything the environment wrote (stdout+stderr) plus platform lines, as CloudWatch would show."""
        return self._logs.text()

    def log_lines(self) -> list[str]:
        return self._logs.lines()

    def init_reports(self) -> list[dict[str, Any]]:
        """Every ``zappa_eager_init`` object logged so far (init, before_snapshot, after_restore...)."""
        return parse_report_lines(self._logs.text())

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
        life = self.lifecycle
        if life.stage is Stage.NEW:
            life.spawn()
            life.await_init()
        if restore and life.init_type == "snap-start" and life.init_error is None:
            life.restore()

    def reserve(self) -> None:
        """Take the environment for a sequence of calls (``*_locked``), then :meth:`release` it."""
        self._lock.acquire()

    def release(self) -> None:
        self._lock.release()

    def restore(self) -> float | None:
        """SnapStart: answer ``restore/next`` and wait for the after-restore hooks; returns ms."""
        with self._lock:
            return self.lifecycle.restore()

    def release_tmp(self) -> None:
        """Unmount a sized /tmp (``ephemeral_storage_mb``); the emulator calls it when it closes."""
        self._launch.sandbox.release_tmp()

    def stop(self) -> None:
        """Kill the process group, reap it, stop the server and the log pump. Idempotent."""
        if self.lifecycle.stopped:
            return
        self.lifecycle.stop()
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

    # -- invoking ---------------------------------------------------------------------------

    def _invoke(self, event: Any, timeout_s: float | None, client_context: dict[str, Any] | None,
                cognito_identity: dict[str, Any] | None) -> InvokeResult:
        called = time.perf_counter()
        request_id = str(uuid.uuid4())
        life = self.lifecycle
        if life.stopped:
            raise EnvironmentDead(f"{self.name} is stopped")
        init_ms = restore_ms = None
        if life.stage is Stage.NEW:
            life.spawn()
            life.await_init()
            if life.init_type == "on-demand" and not life.init_timed_out:
                init_ms = life.init_duration_ms
        if life.init_error is not None:
            return self._failed(request_id, called, life.init_error, "init", init_ms, None)
        timeout = timeout_s if timeout_s is not None else self.config.timeout_s
        budget_start: float | None = None  # the clock of an invoke that runs the cut INIT again
        budget_wall = time.time()
        if life.stage is Stage.REINIT_PENDING:
            self._logs.add(platform_log.start_line(request_id, self.config.function_version))
            budget_start = time.perf_counter()
            error, init_status = life.reinit(budget_start + timeout)
            if init_status != "success":
                return self._reinit_failed(request_id, called, budget_start, timeout, error)
        if life.init_type == "snap-start" and not life.restored:
            if life.restore_error is None:
                restore_ms = life.restore()
            if life.restore_error is not None:
                return self._failed(request_id, called, life.restore_error, "restore", init_ms, restore_ms)
        if not life.alive:
            raise EnvironmentDead(f"{self.name}: {life.dead_reason or 'runtime exited'}")

        invocation = Invocation(
            request_id=request_id,
            event=event if isinstance(event, bytes) else json.dumps(event).encode("utf-8"),
            deadline_ms=int(((budget_wall if budget_start is not None else time.time()) + timeout) * 1000),
            function_arn=self.config.function_arn,
            trace_id=_trace_id(),
            client_context=None if client_context is None else json.dumps(client_context),
            cognito_identity=None if cognito_identity is None else json.dumps(cognito_identity),
        )
        if budget_start is None:
            self._logs.add(platform_log.start_line(request_id, self.config.function_version))
        state = life.state
        life.begin_invoke()
        with state.cond:
            invocation.enqueued_at = time.perf_counter()
            state.pending = invocation
            state.cond.notify_all()
            while invocation.outcome is None and not state.exited and not state.closed:
                # The clock starts when the runtime takes the event (or now, if it never does); with
                # INIT run again inside this invoke, when that INIT started.
                clock = budget_start if budget_start is not None else (invocation.handed_out_at
                                                                         or invocation.enqueued_at)
                remaining = clock + timeout - time.perf_counter()
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
        started = budget_start if budget_start is not None else (invocation.handed_out_at or invocation.enqueued_at)
        result = InvokeResult(request_id=request_id, environment=self.name, init_duration_ms=init_ms,
                              restore_duration_ms=restore_ms, memory_size_mb=self.config.memory_mb,
                              reinit_duration_ms=life.reinit_duration_ms if budget_start is not None else None,
                              max_memory_mb=life.peak_rss_mb())
        status: ReportStatus | None = None
        if invocation.outcome == "response":
            result.raw, result.content_type = invocation.body, invocation.content_type
            result.payload = _parse_json(invocation.body)
            life.end_invoke()
        elif invocation.outcome == "error":
            result.raw, result.content_type = invocation.body, invocation.content_type
            result.error = PostedError(invocation.body, invocation.error_type, now).as_dict()
            result.payload, result.error_phase, status = result.error, "invoke", "error"
            life.end_invoke()
        elif closed and not exited:
            raise EnvironmentDead(f"{self.name} was stopped during invoke {request_id}")
        elif exited:
            result.error = exit_error(request_id, exit_code, sandboxed=self._launch.sandbox.isolated)
            result.payload, result.error_phase, status = result.error, "invoke", "error"
            life.die(f"runtime exited during invoke ({exit_code})")
        else:
            self._timed_out(result, timeout)
            status = "timeout"
        finished = invocation.finished_at or now
        result.duration_ms = (finished - started) * 1000.0
        self._close_invoke(result, status, called)
        return result

    def _timed_out(self, result: InvokeResult, timeout: float) -> None:
        """Lambda's "Task timed out": the environment is killed and the invoke fails."""
        self.lifecycle.timed_out(timeout)
        message = f"Task timed out after {timeout:.2f} seconds"
        self._logs.add(platform_log.task_timed_out_line(result.request_id, message))
        result.error = {"errorType": TIMEOUT_ERROR_TYPE,
                        "errorMessage": f"RequestId: {result.request_id} Error: {message}"}
        result.payload, result.error_phase, result.timed_out = result.error, "invoke", True

    def _reinit_failed(self, request_id: str, called: float, budget_start: float, timeout: float,
                       error: dict[str, Any] | None) -> InvokeResult:
        """The invoke whose second INIT failed (init error, runtime exit) or ran out of the function timeout."""
        result = InvokeResult(request_id=request_id, environment=self.name, memory_size_mb=self.config.memory_mb,
                              reinit_duration_ms=self.lifecycle.reinit_duration_ms,
                              max_memory_mb=self.lifecycle.peak_rss_mb())
        if error is None:
            self._timed_out(result, timeout)
        else:
            result.error, result.payload, result.error_phase = dict(error), dict(error), "init"
        result.duration_ms = (time.perf_counter() - budget_start) * 1000.0
        self._close_invoke(result, "timeout" if error is None else "error", called)
        return result

    def _failed(self, request_id: str, called: float, error: dict[str, Any], phase: ErrorPhase,
                init_ms: float | None, restore_ms: float | None) -> InvokeResult:
        """The result of an invoke that never reached the handler (INIT or restore failed)."""
        result = InvokeResult(request_id=request_id, environment=self.name, error=dict(error), payload=dict(error),
                              error_phase=phase, init_duration_ms=init_ms, restore_duration_ms=restore_ms,
                              memory_size_mb=self.config.memory_mb, max_memory_mb=self.lifecycle.peak_rss_mb())
        self._logs.add(platform_log.start_line(request_id, self.config.function_version))
        self._close_invoke(result, "error", called)
        return result

    def _close_invoke(self, result: InvokeResult, status: ReportStatus | None, called: float) -> None:
        """Billing, END + REPORT lines, latency."""
        report = platform_log.invoke_report(result, status, init_type=self.init_type, memory_mb=self.config.memory_mb)
        result.billed_duration_ms = report.billed_duration_ms
        result.report_line = report.line()
        self._logs.add(platform_log.end_line(result.request_id))
        self._logs.add(result.report_line)
        self.reports.append(result.report_line)
        self._launch.on_report(result.report_line)
        result.latency_ms = (time.perf_counter() - called) * 1000.0


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None
