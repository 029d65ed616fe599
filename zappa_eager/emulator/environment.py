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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

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


@dataclass
class _Call:
    """One invoke's bookkeeping, from :meth:`Environment.invoke` to its result."""

    request_id: str
    called: float  # perf_counter at invoke(): latency_ms counts from here
    timeout: float  # the function timeout (or the caller's) in seconds
    init_ms: float | None = None  # the INIT this invoke waited for, if it reports one
    restore_ms: float | None = None  # the SnapStart restore this invoke waited for
    reinit_at: float | None = None  # perf_counter when this invoke started the INIT the init limit cut, again
    reinit_wall: float | None = None  # time.time() at that moment

    def clock_start(self, invocation: Invocation) -> float:
        """Where Duration and the timeout count from: the runtime taking the event (or its enqueueing, if it
        never does); with INIT run again inside this invoke, when that INIT started."""
        if self.reinit_at is not None:
            return self.reinit_at
        return invocation.handed_out_at or invocation.enqueued_at

    def deadline_ms(self) -> int:
        """Lambda-Runtime-Deadline-Ms: the timeout from now, or from when INIT started again inside this invoke."""
        start = self.reinit_wall if self.reinit_wall is not None else time.time()
        return int((start + self.timeout) * 1000)


class _Ending(NamedTuple):
    """How the runtime stood when the wait for the handler ended."""

    exited: bool
    closed: bool
    exit_code: int | None


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
        #: Free the environment's /tmp (unmount its tmpfs) as soon as it stops, not when the emulator
        #: closes: for callers that never look at a stopped environment's files (``zappa bench``).
        self.release_tmp_on_stop = False
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
        """Unmount a tmpfs /tmp (its files go with it); the emulator calls it when it closes."""
        self._launch.sandbox.release_tmp()

    def stop(self) -> None:
        """Kill the process group, reap it, stop the server and the log pump. Idempotent."""
        if self.lifecycle.stopped:
            return
        self.lifecycle.stop()
        self._logs.close()
        if self.release_tmp_on_stop:
            self.release_tmp()

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
        call = _Call(request_id=str(uuid.uuid4()), called=time.perf_counter(),
                     timeout=timeout_s if timeout_s is not None else self.config.timeout_s)
        if self.lifecycle.stopped:
            raise EnvironmentDead(f"{self.name} is stopped")
        for step in (self._ensure_initialized, self._reinit_inside_invoke, self._restore_snapshot):
            failed = step(call)
            if failed is not None:
                return failed
        if not self.lifecycle.alive:
            raise EnvironmentDead(f"{self.name}: {self.lifecycle.dead_reason or 'runtime exited'}")
        invocation = Invocation(
            request_id=call.request_id,
            event=event if isinstance(event, bytes) else json.dumps(event).encode("utf-8"),
            deadline_ms=call.deadline_ms(),
            function_arn=self.config.function_arn,
            trace_id=_trace_id(),
            client_context=None if client_context is None else json.dumps(client_context),
            cognito_identity=None if cognito_identity is None else json.dumps(cognito_identity),
        )
        if call.reinit_at is None:  # an invoke that runs INIT again logged its START before that INIT
            self._logs.add(platform_log.start_line(call.request_id, self.config.function_version))
        ending = self._wait_for_response(call, invocation)
        return self._result(call, invocation, ending)

    def _ensure_initialized(self, call: _Call) -> InvokeResult | None:
        """Run INIT if nobody has yet (an on-demand environment's first invoke); the result if INIT failed.

        Only that first invoke reports the Init Duration, and not when the init limit cut the
        INIT: then this invoke runs INIT again (:meth:`_reinit_inside_invoke`) and reports none.
        """
        life = self.lifecycle
        if life.stage is Stage.NEW:
            life.spawn()
            life.await_init()
            if life.init_type == "on-demand" and not life.init_timed_out:
                call.init_ms = life.init_duration_ms
        if life.init_error is not None:
            return self._failed(call, life.init_error, "init")
        return None

    def _reinit_inside_invoke(self, call: _Call) -> InvokeResult | None:
        """After the init limit cut INIT: run it again, same /tmp, on this invoke's clock; the result if that failed."""
        life = self.lifecycle
        if life.stage is not Stage.REINIT_PENDING:
            return None
        call.reinit_wall = time.time()
        self._logs.add(platform_log.start_line(call.request_id, self.config.function_version))
        started = call.reinit_at = time.perf_counter()
        error, init_status = life.reinit(started + call.timeout)
        if init_status == "success":
            return None
        return self._reinit_failed(call, started, error)

    def _restore_snapshot(self, call: _Call) -> InvokeResult | None:
        """SnapStart: restore before the first event (its Restore Duration goes to this invoke); the result if the
        restore failed (now or on an earlier invoke)."""
        life = self.lifecycle
        if life.init_type != "snap-start" or life.restored:
            return None
        if life.restore_error is None:
            call.restore_ms = life.restore()
        if life.restore_error is not None:
            return self._failed(call, life.restore_error, "restore")
        return None

    def _wait_for_response(self, call: _Call, invocation: Invocation) -> _Ending:
        """Hand the event to the runtime and wait for its answer, its exit, :meth:`stop` or the timeout."""
        life = self.lifecycle
        state = life.state
        life.begin_invoke()
        with state.cond:
            invocation.enqueued_at = time.perf_counter()
            state.pending = invocation
            state.cond.notify_all()
            while invocation.outcome is None and not state.exited and not state.closed:
                remaining = call.clock_start(invocation) + call.timeout - time.perf_counter()
                if remaining <= 0:
                    break
                state.cond.wait(remaining)
            if state.pending is invocation:
                state.pending = None
            if invocation.outcome is None:
                state.inflight.pop(call.request_id, None)
            return _Ending(exited=state.exited, closed=state.closed, exit_code=state.exit_code)

    def _result(self, call: _Call, invocation: Invocation, ending: _Ending) -> InvokeResult:
        """The invoke's result, REPORT line and Duration, once the wait for the handler is over."""
        now = time.perf_counter()
        self.invocations += 1
        started = call.clock_start(invocation)
        life = self.lifecycle
        result = InvokeResult(request_id=call.request_id, environment=self.name, init_duration_ms=call.init_ms,
                              restore_duration_ms=call.restore_ms, memory_size_mb=self.config.memory_mb,
                              reinit_duration_ms=life.reinit_duration_ms if call.reinit_at is not None else None,
                              max_memory_mb=life.peak_rss_mb())
        status = self._outcome(result, invocation, ending, call.timeout, now)
        result.duration_ms = ((invocation.finished_at or now) - started) * 1000.0
        self._close_invoke(result, status, call.called)
        return result

    def _outcome(self, result: InvokeResult, invocation: Invocation, ending: _Ending, timeout: float,
                 now: float) -> ReportStatus | None:
        """Fill ``result`` from what the handler (or its end) gave; the REPORT status (None: success)."""
        life = self.lifecycle
        if invocation.outcome == "response":
            result.raw, result.content_type = invocation.body, invocation.content_type
            result.payload = _parse_json(invocation.body)
            life.end_invoke()
            return None
        if invocation.outcome == "error":
            result.raw, result.content_type = invocation.body, invocation.content_type
            result.error = PostedError(invocation.body, invocation.error_type, now).as_dict()
            result.payload, result.error_phase = result.error, "invoke"
            life.end_invoke()
            return "error"
        if ending.closed and not ending.exited:
            raise EnvironmentDead(f"{self.name} was stopped during invoke {result.request_id}")
        if ending.exited:
            result.error = exit_error(result.request_id, ending.exit_code, sandboxed=self._launch.sandbox.isolated)
            result.payload, result.error_phase = result.error, "invoke"
            life.die(f"runtime exited during invoke ({ending.exit_code})")
            return "error"
        self._timed_out(result, timeout)
        return "timeout"

    def _timed_out(self, result: InvokeResult, timeout: float) -> None:
        """Lambda's "Task timed out": the environment is killed and the invoke fails."""
        self.lifecycle.timed_out(timeout)
        message = f"Task timed out after {timeout:.2f} seconds"
        self._logs.add(platform_log.task_timed_out_line(result.request_id, message))
        result.error = {"errorType": TIMEOUT_ERROR_TYPE,
                        "errorMessage": f"RequestId: {result.request_id} Error: {message}"}
        result.payload, result.error_phase, result.timed_out = result.error, "invoke", True

    def _reinit_failed(self, call: _Call, started: float, error: dict[str, Any] | None) -> InvokeResult:
        """The invoke whose second INIT failed (init error, runtime exit) or ran out of the function timeout."""
        result = InvokeResult(request_id=call.request_id, environment=self.name, memory_size_mb=self.config.memory_mb,
                              reinit_duration_ms=self.lifecycle.reinit_duration_ms,
                              max_memory_mb=self.lifecycle.peak_rss_mb())
        if error is None:
            self._timed_out(result, call.timeout)
        else:
            result.error, result.payload, result.error_phase = dict(error), dict(error), "init"
        result.duration_ms = (time.perf_counter() - started) * 1000.0
        self._close_invoke(result, "timeout" if error is None else "error", call.called)
        return result

    def _failed(self, call: _Call, error: dict[str, Any], phase: ErrorPhase) -> InvokeResult:
        """The result of an invoke that never reached the handler (INIT or restore failed)."""
        result = InvokeResult(request_id=call.request_id, environment=self.name, error=dict(error),
                              payload=dict(error), error_phase=phase, init_duration_ms=call.init_ms,
                              restore_duration_ms=call.restore_ms, memory_size_mb=self.config.memory_mb,
                              max_memory_mb=self.lifecycle.peak_rss_mb())
        self._logs.add(platform_log.start_line(call.request_id, self.config.function_version))
        self._close_invoke(result, "error", call.called)
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
