"""An environment's lifecycle as Lambda runs it: INIT, the init limit, the SnapStart restore, death.

Init types (``AWS_LAMBDA_INITIALIZATION_TYPE``):

* ``on-demand`` - nothing runs until the first invoke; that invoke waits for INIT and its
  result (and REPORT line) carries the Init Duration.
* ``provisioned-concurrency`` - INIT runs when the environment is started; invokes find it warm.
* ``snap-start`` - INIT and the before-snapshot hooks run when the environment is started,
  then the runtime waits in ``restore/next`` (the snapshot is "taken"). The restore - answering
  ``restore/next``, after-restore hooks, first ``invocation/next`` - happens on the first
  invoke (as on Lambda) or at :meth:`Lifecycle.restore`. A real restore resumes a memory
  snapshot in a new microVM; here the same process simply continues, so Restore Duration
  covers the after-restore hooks and runtime hand-off only, and one snapshot cannot be
  restored twice: every SnapStart environment runs its own INIT.

Timings: INIT is measured from the ``exec`` of the runtime process (after the private /tmp is
set up) to its first ``invocation/next`` (``restore/next`` for SnapStart).

Limits: an on-demand INIT longer than the init limit (10 s) is cut as Lambda cuts it: the
runtime process is killed (``INIT_REPORT ... Phase: init Status: timeout``, stage
``REINIT_PENDING``) and INIT runs again in a fresh runtime process inside the first invoke,
under the function timeout, in the same environment - so the same /tmp (a "suppressed init").
A pre-initialized INIT past its limit (15 min) fails; after-restore hooks get 10 s. A killed,
crashed or init-failed environment is never revived (stage ``DEAD``).
"""

from __future__ import annotations

import time
from enum import Enum
from typing import Any

from . import platform_log
from .config import InitType, Launch, lambda_environ
from .logcapture import LogCapture
from .platform_log import InitStatus
from .process import RuntimeProcess, exit_error
from .runtime_api import RuntimeAPIServer, RuntimeState

#: SnapStart gives after-restore hooks 10 seconds.
RESTORE_LIMIT_S = 10.0
#: Lambda's errorType for a phase or an invoke that ran out of time.
TIMEOUT_ERROR_TYPE = "Sandbox.Timedout"


class EnvironmentDead(RuntimeError):
    """The environment was stopped, killed (timeout) or its runtime exited."""


class EnvironmentBusy(RuntimeError):
    """An environment handles one invoke at a time; Lambda would route to another one."""


class Stage(Enum):
    """Where an environment is. Only the ``LIVE`` stages have a runtime process that can serve."""

    NEW = "new"  # not spawned yet: an on-demand environment before its first invoke
    INIT = "init"  # the runtime process runs INIT
    REINIT_PENDING = "reinit pending"  # the init limit cut INIT; the next invoke runs it again
    REINIT = "reinit"  # INIT running again inside that invoke, under the function timeout
    SNAPSHOT = "snapshot"  # SnapStart: INIT and before-snapshot hooks done, the runtime waits in restore/next
    RESTORE = "restore"  # after-restore hooks running
    READY = "ready"  # waiting in invocation/next
    BUSY = "busy"  # the handler has an event
    DEAD = "dead"  # stopped, killed, exited, or INIT/restore failed: never revived (see ``dead_reason``)


LIVE = frozenset({Stage.INIT, Stage.REINIT, Stage.SNAPSHOT, Stage.RESTORE, Stage.READY, Stage.BUSY})


def ms(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else (end - start) * 1000.0


class Lifecycle:
    """One environment's runtime process, Runtime API and INIT/restore outcome; :attr:`stage` says where it is.

    The caller (:class:`~.environment.Environment`) serialises the calls: one thread at a time,
    except :meth:`stop`, which may come from any thread.
    """

    def __init__(self, name: str, init_type: InitType, launch: Launch, extra_env: dict[str, str],
                 logs: LogCapture) -> None:
        self.name = name
        self.init_type: InitType = init_type
        self.extra_env = extra_env
        self._launch = launch
        self._logs = logs
        self._stage = Stage.NEW
        self.state = RuntimeState()
        self.server: RuntimeAPIServer | None = None
        self.process: RuntimeProcess | None = None
        self.init_duration_ms: float | None = None
        self.reinit_duration_ms: float | None = None
        self.restore_duration_ms: float | None = None
        self.init_error: dict[str, Any] | None = None
        self.restore_error: dict[str, Any] | None = None
        #: The init limit cut the on-demand INIT (it then ran, or runs, again inside the first invoke).
        self.init_timed_out = False
        #: SnapStart: restored (or the runtime never waited for a restore).
        self.restored = False
        self.dead_reason: str | None = None
        self.stopped = False

    # -- state ------------------------------------------------------------------------------

    @property
    def stage(self) -> Stage:
        """The current stage; a live one whose runtime process has exited reads as ``DEAD``."""
        if self._stage in LIVE and self.process is not None and self.process.exited:
            return Stage.DEAD
        return self._stage

    @property
    def alive(self) -> bool:
        """The runtime process is running and usable."""
        return self.stage in LIVE

    @property
    def usable(self) -> bool:
        """Alive, or waiting for an invoke to run INIT (not spawned yet, or INIT cut by the init limit)."""
        return self.alive or self._stage in (Stage.NEW, Stage.REINIT_PENDING)

    def die(self, reason: str) -> None:
        self._stage = Stage.DEAD
        self.dead_reason = reason

    def begin_invoke(self) -> None:
        self._to(Stage.BUSY)

    def end_invoke(self) -> None:
        """The handler answered (response or error); the environment waits for the next event."""
        if self._stage is Stage.BUSY:
            self._to(Stage.READY)

    def peak_rss_mb(self) -> int | None:
        return None if self.process is None else self.process.peak_rss_mb()

    # -- INIT -------------------------------------------------------------------------------

    def spawn(self) -> None:
        """Start the runtime process for INIT (again after the init limit: fresh process and Runtime API, same /tmp)."""
        launch, sandbox, config = self._launch, self._launch.sandbox, self._launch.config
        sandbox.prepare_tmp()  # kept as it is when INIT runs again (same environment, same /tmp)
        if self.server is not None:
            self.server.close()
            self.state = RuntimeState()
        self.server = RuntimeAPIServer(self.state).start()
        environ = lambda_environ(
            config, init_type=self.init_type, api_address=self.server.address, task_root=sandbox.cwd,
            runtime_dir=launch.runtime_dir, tmp_dir=None if sandbox.isolated else sandbox.tmp_dir,
            extra=self.extra_env, s3_endpoint=launch.s3_endpoint(),
        )
        argv = [launch.python, "-S", "-m", "awslambdaric", config.handler]
        self._logs.add(platform_log.init_start_line(config.runtime_name))
        try:
            self.process = RuntimeProcess.spawn(self.name, sandbox, argv, environ, self._logs, self.state.mark_exited)
        except BaseException:
            self.die("spawn failed")
            raise
        self._to(Stage.REINIT if self._stage is Stage.REINIT_PENDING else Stage.INIT)

    def await_init(self) -> None:
        """Wait for INIT's end (first ``next``, or ``restore/next`` for SnapStart), an init error, exit or timeout."""
        state, snap, process = self.state, self.init_type == "snap-start", self._process()
        limit = self._launch.config.init_limit_s(self.init_type)
        deadline = process.spawned_at + limit
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
        started = process.exec_started()
        if closed and done_at is None:
            raise EnvironmentDead(f"{self.name} was stopped during INIT")
        if done_at is not None:
            self.init_duration_ms = ms(started, done_at)
            self.restored = snap and state.restore_next_at is None
            self._to(Stage.SNAPSHOT if snap and not self.restored else Stage.READY)
            return
        if init_error is not None:
            self.init_duration_ms = ms(started, init_error.at)
            self._fail_init(init_error.as_dict(), "error")
            process.wait_exit(5)  # awslambdaric exits(1) right after posting
            process.kill()
            return
        if exit_code is not None or state.exited:
            self.init_duration_ms = ms(started, time.perf_counter())
            self._fail_init(exit_error(None, exit_code, sandboxed=process.sandboxed), "error")
            return
        self.init_duration_ms = limit * 1000.0
        process.kill()
        if self.init_type == "on-demand":  # Lambda runs INIT again inside the first invoke
            self.init_timed_out = True
            self._to(Stage.REINIT_PENDING)
            self._logs.add(platform_log.init_report_line(self.init_duration_ms, "timeout"))
            return
        self._fail_init({"errorType": TIMEOUT_ERROR_TYPE,
                         "errorMessage": f"INIT phase timed out after {limit:.2f} seconds"}, "timeout")

    def reinit(self, deadline: float) -> tuple[dict[str, Any] | None, InitStatus]:
        """INIT again, in a fresh runtime process and the same /tmp, until ``deadline`` (the invoke's timeout).

        Returns ``(None, "success")`` once the runtime asks for the event; else the error and
        ``"error"`` (init error, runtime exit: the environment is dead) or ``(None, "timeout")``
        (the process is killed; the invoke times out).
        """
        self.spawn()
        state, process = self.state, self._process()
        with state.cond:
            while state.first_next_at is None and not (state.init_error or state.exited or state.closed):
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                state.cond.wait(remaining)
            first_next, init_error, exit_code, closed = (state.first_next_at, state.init_error, state.exit_code,
                                                         state.closed)
        started = process.exec_started()
        if closed and first_next is None:
            raise EnvironmentDead(f"{self.name} was stopped during INIT")
        if first_next is not None:
            self.reinit_duration_ms = ms(started, first_next)
            self._logs.add(platform_log.init_report_line(self.reinit_duration_ms or 0.0, "success", phase="invoke"))
            self._to(Stage.READY)
            return None, "success"
        self.reinit_duration_ms = ms(started, time.perf_counter())
        error: dict[str, Any] | None = None
        if init_error is not None:
            error = init_error.as_dict()
            process.wait_exit(5)  # awslambdaric exits(1) right after posting
        elif state.exited:
            error = exit_error(None, exit_code, sandboxed=process.sandboxed)
        process.kill()
        status: InitStatus = "timeout" if error is None else "error"
        error_type = TIMEOUT_ERROR_TYPE if error is None else str(error.get("errorType"))
        self._logs.add(platform_log.init_report_line(self.reinit_duration_ms or 0.0, status, error_type,
                                                     phase="invoke"))
        if error is not None:
            self.init_error = error
            self.die(f"init error: {error.get('errorType')}: {error.get('errorMessage')}")
        return error, status

    def _fail_init(self, error: dict[str, Any], status: InitStatus) -> None:
        self.init_error = error
        self.die(f"init {status}: {error.get('errorType')}: {error.get('errorMessage')}")
        self._logs.add(platform_log.init_report_line(self.init_duration_ms or 0.0, status,
                                                     str(error.get("errorType"))))

    # -- restore ----------------------------------------------------------------------------

    def restore(self) -> float | None:
        """SnapStart: answer ``restore/next`` and wait for the after-restore hooks; returns Restore Duration ms."""
        if self.init_type != "snap-start":
            raise ValueError(f"{self.name} is {self.init_type}, not snap-start")
        if self.restored or self.init_error is not None or self.restore_error is not None:
            return self.restore_duration_ms
        if not self.alive:
            raise EnvironmentDead(f"{self.name}: {self.dead_reason or 'not started'}")
        state, process = self.state, self._process()
        self._to(Stage.RESTORE)
        self._logs.add(platform_log.restore_start_line(self._launch.config.runtime_name))
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
            self.restore_duration_ms = ms(released, first_next)
            self._logs.add(platform_log.restore_report_line(self.restore_duration_ms or 0.0))
            self._to(Stage.READY)
            return self.restore_duration_ms
        self.restore_duration_ms = ms(released, time.perf_counter())
        if restore_error is not None:
            error = restore_error.as_dict()
        elif state.exited:
            error = exit_error(None, exit_code, sandboxed=process.sandboxed)
        else:
            error = {"errorType": TIMEOUT_ERROR_TYPE,
                     "errorMessage": f"Restore phase timed out after {RESTORE_LIMIT_S:.2f} seconds"}
        self.restore_error = error
        self.die(f"restore failed: {error.get('errorType')}")
        self._logs.add(platform_log.restore_report_line(self.restore_duration_ms or 0.0, str(error.get("errorType"))))
        process.kill()
        return self.restore_duration_ms

    # -- the end ----------------------------------------------------------------------------

    def timed_out(self, timeout_s: float) -> None:
        """Lambda's "Task timed out": the runtime process is killed and the environment is dead."""
        self.kill()
        self.die(f"timed out after {timeout_s:.2f} s")

    def kill(self) -> None:
        """SIGKILL the runtime's process group and wait until it is reaped."""
        if self.process is not None:
            self.process.kill()

    def stop(self) -> None:
        """Dead for good: kill the process, stop the Runtime API server, wake every waiter. Idempotent."""
        if self.stopped:
            return
        self.stopped = True
        self.die(self.dead_reason or "stopped")
        self.kill()
        if self.server is not None:
            self.server.close()
        self.state.close()

    # -- helpers ----------------------------------------------------------------------------

    def _to(self, stage: Stage) -> None:
        """Move on, unless the environment died meanwhile (:meth:`stop` from another thread): the dead stay dead."""
        if self._stage is not Stage.DEAD:
            self._stage = stage

    def _process(self) -> RuntimeProcess:
        if self.process is None:
            raise EnvironmentDead(f"{self.name}: not started")
        return self.process
