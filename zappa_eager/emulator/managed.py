"""A Lambda Managed Instances execution environment: N runtime processes, one Runtime API, one /tmp.

On Lambda Managed Instances (LMI) the Python runtime serves concurrent requests with several
processes per execution environment: Lambda sets ``AWS_LAMBDA_MAX_CONCURRENCY`` (the function's
``PerExecutionEnvironmentMaxConcurrency``) and ``AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances``,
and ``awslambdaric`` forks that many workers (``MultiConcurrentRunner``), each of which imports the
handler - its own INIT - and then polls the one Runtime API for events. The environment's INIT is
over once one worker asks for an event; requests are served by the workers that are ready while
the others still INIT. They share /tmp. Logs are always in the JSON log format.

:class:`ManagedEnvironment` runs exactly that: the real ``awslambdaric`` in its multi-concurrent
mode (the emulator sets the variables; the runtime client forks the workers), in one sandbox
(:mod:`.isolation`: one private /tmp for all of them), against one Runtime API server that hands
each event to whichever worker waits in ``invocation/next``. What the emulator adds around it:

* each worker's stdout/stderr arrive on their own connection to a Unix socket the runtime client
  connects them to (``_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET``, as on LMI); the connecting
  process is known from the socket (``SO_PEERCRED``), so every line, every init report and the
  start of every worker's INIT are per process;
* which worker took an event is known from its TCP connection (``/proc/net/tcp`` -> the socket's
  inode -> the worker holding it): :attr:`InvokeResult.process`;
* per-process INIT (:meth:`ManagedEnvironment.workers`: the worker connecting its logs, right after
  the fork, to its first ``invocation/next``) and the memory of the whole environment (the sum over
  its processes of RSS, peak RSS and PSS - PSS splits pages the fork shares, RSS counts them in each).

As on LMI: at most N invokes at a time (one more raises :class:`EnvironmentBusy`, Lambda's
back-pressure); an invoke past its timeout fails but its worker is not killed (LMI does not enforce
timeouts); a worker that dies fails only its own invoke, the others go on serving.

Tooling only - never imported inside Lambda.
"""

from __future__ import annotations

import json
import math
import os
import socket
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from zappa_eager.runtime.contract import INIT_MANAGED_INSTANCES, MAX_CONCURRENCY_VARIABLE
from zappa_eager.runtime.report import parse_report_lines

from . import platform_log
from .config import FunctionConfig, Launch, check_user_env, lambda_environ
from .lifecycle import TIMEOUT_ERROR_TYPE, EnvironmentBusy, EnvironmentDead, ms
from .logcapture import LogCapture
from .platform_log import ReportStatus
from .process import RuntimeProcess, exit_error
from .result import InvokeResult
from .runtime_api import Invocation, PostedError, RuntimeAPIServer, RuntimeState, http_response

__all__ = ["EnvironmentMemory", "ManagedEnvironment", "Worker", "DEFAULT_PROCESSES"]

#: The Python runtime's default on LMI: 16 concurrent requests (processes) per vCPU; one vCPU here.
DEFAULT_PROCESSES = 16
#: Where awslambdaric looks for the socket that hands each worker its log stream.
LOG_SOCKET_VARIABLE = "_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET"
#: Functions on LMI always log in the JSON format.
LOG_FORMAT = {"AWS_LAMBDA_LOG_FORMAT": "JSON"}
#: How often a waiting invoke looks whether the worker holding its event died.
_LIVENESS_CHECK_S = 0.1
_UNIX_PATH_MAX = 107

ManagedStage = Literal["new", "init", "ready", "dead"]


@dataclass
class Worker:
    """One runtime process of the environment (perf_counter seconds)."""

    pid: int
    started_at: float | None = None  # connected its logs: right after the fork, before its INIT
    ready_at: float | None = None  # its first invocation/next: its INIT is over
    init_error: dict[str, Any] | None = None
    invocations: int = 0

    @property
    def init_ms(self) -> float | None:
        """Its own INIT: fork (logs connected) -> first ``invocation/next``."""
        return ms(self.started_at, self.ready_at)

    @property
    def alive(self) -> bool:
        return process_alive(self.pid)


@dataclass(frozen=True)
class EnvironmentMemory:
    """The whole environment's memory in MB: every runtime process (the forking parent and its workers)."""

    processes: int
    rss_mb: float  # sum of the resident sets (pages the fork shares are counted once per process)
    peak_rss_mb: float  # sum of each process's VmHWM
    pss_mb: float  # sum of the proportional sets: shared pages split between their sharers

    def as_dict(self) -> dict[str, float | int]:
        return {"processes": self.processes, "rss_mb": round(self.rss_mb, 1),
                "peak_rss_mb": round(self.peak_rss_mb, 1), "pss_mb": round(self.pss_mb, 1)}


def process_alive(pid: int) -> bool:
    """Running (not gone, not a zombie its parent has yet to reap)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for row in status:
                if row.startswith(field + ":"):
                    return int(row.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for row in rollup:
                if row.startswith("Pss:"):
                    return int(row.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def children_of(pid: int) -> list[int]:
    """The processes ``pid`` forked (its main thread's children)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as found:
            return [int(child) for child in found.read().split()]
    except (OSError, ValueError):
        return []


def tcp_client_pid(client_port: int, server_port: int, candidates: Iterable[int]) -> int | None:
    """Which of ``candidates`` holds the loopback TCP connection from ``client_port`` to ``server_port``."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as rows:
                next(rows, None)
                for row in rows:
                    fields = row.split()
                    if len(fields) < 10:
                        continue
                    local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
                    if int(local, 16) == client_port and int(remote, 16) == server_port:
                        inode = fields[9]
                        break
        except OSError:
            continue
        if inode is not None:
            break
    if inode is None or inode == "0":
        return None
    target = f"socket:[{inode}]"
    for pid in candidates:
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in descriptors:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                continue
    return None


class ManagedRuntimeState(RuntimeState):
    """The Runtime API state of N workers: a queue of events, who took which, each worker's INIT."""

    def __init__(self) -> None:
        super().__init__()
        self.queue: deque[Invocation] = deque()
        self.workers: dict[int, Worker] = {}
        self.taken_by: dict[str, int | None] = {}  # request id -> the worker that took it
        self.init_errors: list[PostedError] = []
        self.outstanding = 0  # invokes queued or in flight
        self.waiting = 0  # workers blocked in invocation/next

    def worker(self, pid: int) -> Worker:
        """The record of ``pid`` (created on first sight). Call with ``cond`` held."""
        found = self.workers.get(pid)
        if found is None:
            found = self.workers[pid] = Worker(pid)
        return found


class ManagedRuntimeAPIServer(RuntimeAPIServer):
    """The Runtime API for N workers: any waiting worker takes the next event; requests are traced to workers."""

    state: ManagedRuntimeState

    def __init__(self, state: ManagedRuntimeState, main_pid: Callable[[], int | None]) -> None:
        super().__init__(state)
        self._main_pid = main_pid  # a callable: the forking parent's pid, once spawned
        self._local = threading.local()
        self._pids: dict[int, int] = {}  # client port -> worker pid

    def _serve(self, conn: socket.socket) -> None:
        try:
            port = int(conn.getpeername()[1])
        except OSError:
            port = 0
        self._local.port = port
        try:
            super()._serve(conn)
        finally:
            with self._lock:
                self._pids.pop(port, None)

    def _caller(self) -> int | None:
        """The worker behind the request being served (looked up once per connection)."""
        port = getattr(self._local, "port", 0)
        with self._lock:
            known = self._pids.get(port)
        if known is not None or not port:
            return known
        main = self._main_pid()
        candidates = children_of(main) if main else []
        with self.state.cond:
            candidates += [pid for pid in self.state.workers if pid not in candidates]
        pid = tcp_client_pid(port, self.port, candidates)
        if pid is not None:
            with self._lock:
                self._pids[port] = pid
        return pid

    def _next(self, at: float) -> bytes | None:
        pid = self._caller()
        state = self.state
        with state.cond:
            if state.first_next_at is None:
                state.first_next_at = at
            if pid is not None:
                worker = state.worker(pid)
                if worker.ready_at is None:
                    worker.ready_at = at
            state.waiting += 1
            state.cond.notify_all()
            try:
                while not state.queue and not state.closed:
                    state.cond.wait()
            finally:
                state.waiting -= 1
            if state.closed or not state.queue:
                return None
            invocation = state.queue.popleft()
            state.inflight[invocation.request_id] = invocation
            state.taken_by[invocation.request_id] = pid
            if pid is not None:
                state.worker(pid).invocations += 1
            reply = http_response(200, invocation.event, invocation.next_response_headers())
            invocation.handed_out_at = time.perf_counter()
            state.cond.notify_all()
        return reply

    def _posted_error(self, phase: Literal["init", "restore"], body: bytes, headers: dict[str, str],
                      at: float) -> bytes:
        if phase != "init":
            return super()._posted_error(phase, body, headers, at)
        pid = self._caller()
        posted = PostedError(body, headers.get("lambda-runtime-function-error-type"), at)
        with self.state.cond:
            self.state.init_errors.append(posted)
            if self.state.init_error is None:
                self.state.init_error = posted
            if pid is not None:
                self.state.worker(pid).init_error = posted.as_dict()
            self.state.cond.notify_all()
        return http_response(202, b'{"status":"OK"}', [("Content-Type", "application/json")])


class LogSocket:
    """The Unix socket each worker connects its stdout and stderr to; lines are kept per process, in order."""

    def __init__(self, path: Path, state: ManagedRuntimeState, echo: Any = None, name: str = "lmi") -> None:
        if len(os.fsencode(path)) > _UNIX_PATH_MAX:
            raise ValueError(f"log socket path {path} is too long for a Unix socket; use a shorter base_dir")
        self.path = path
        self.state = state
        self.echo = echo
        self.name = name
        self.lines: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(path))
        os.chmod(path, 0o777)
        self._sock.listen(256)
        self._closing = False
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._accept_loop, name=f"zappa-emu-lmi-logs-{name}", daemon=True)
        self._accept.start()

    def _accept_loop(self) -> None:
        while not self._closing:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            at = time.perf_counter()
            pid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
            with self.state.cond:
                worker = self.state.worker(pid)
                if worker.started_at is None:
                    worker.started_at = at
                self.state.cond.notify_all()
            thread = threading.Thread(target=self._read, args=(conn, pid), name=f"zappa-emu-lmi-log-{pid}",
                                      daemon=True)
            with self._lock:
                self._conns.add(conn)
                self._threads.append(thread)
            thread.start()

    def _read(self, conn: socket.socket, pid: int) -> None:
        partial = b""
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                *complete, partial = (partial + chunk).split(b"\n")
                for raw in complete:
                    self._append(pid, raw.rstrip(b"\r").decode("utf-8", "replace"))
        except OSError:
            pass
        finally:
            if partial:
                self._append(pid, partial.decode("utf-8", "replace"))
            conn.close()

    def _append(self, pid: int, line: str) -> None:
        with self._lock:
            self.lines.append((pid, line))
        if self.echo is not None:
            try:
                self.echo.write(f"[{self.name}:{pid}] {line}\n")
            except (OSError, ValueError):
                self.echo = None

    def snapshot(self) -> list[tuple[int, str]]:
        with self._lock:
            return list(self.lines)

    def close(self) -> None:
        """Stop accepting; the readers end when their workers are gone (call after the processes died)."""
        self._closing = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._accept.join(5)
        with self._lock:
            threads, conns = list(self._threads), list(self._conns)
        for thread in threads:
            thread.join(5)
        for conn in conns:
            try:
                conn.close()
            except OSError:
                pass
        try:
            self.path.unlink()
        except OSError:
            pass


class ManagedEnvironment:
    """One LMI execution environment: ``processes`` workers of the real runtime client, one Runtime API, one /tmp.

    :meth:`start` returns once the environment's INIT is over (one worker asks for an event: Lambda
    routes to it from then on) - the others may still be in their INIT; :meth:`wait_ready` waits
    for all of them. :meth:`invoke` is thread-safe: up to ``processes`` at once.
    """

    def __init__(self, name: str, launch: Launch, processes: int = DEFAULT_PROCESSES,
                 env: dict[str, str] | None = None, env_dir: Path | None = None) -> None:
        if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
            raise ValueError(f"processes must be a whole number >= 1, not {processes!r}")
        check_user_env(env or {})
        self.name = name
        self.processes = processes
        self.config: FunctionConfig = launch.config
        self.init_type = INIT_MANAGED_INSTANCES
        self._launch = launch
        self._extra = dict(env or {})
        self._env_dir = env_dir or launch.sandbox.tmp_dir.parent
        self._logs = LogCapture(name, launch.echo)
        self.state = ManagedRuntimeState()
        self.process: RuntimeProcess | None = None
        self.server: ManagedRuntimeAPIServer | None = None
        self.log_socket: LogSocket | None = None
        self.reports: list[str] = []
        self.init_duration_ms: float | None = None
        self.init_error: dict[str, Any] | None = None
        self.dead_reason: str | None = None
        self._stage: ManagedStage = "new"
        self._stopped = False
        self.release_tmp_on_stop = False

    # -- state ------------------------------------------------------------------------------

    @property
    def stage(self) -> ManagedStage:
        if self._stage in ("init", "ready") and (self.process is None or self.process.exited):
            return "dead"
        return self._stage

    @property
    def alive(self) -> bool:
        return self.stage in ("init", "ready")

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def pid(self) -> int | None:
        """The forking parent (``python -m awslambdaric``)."""
        return None if self.process is None else self.process.pid

    @property
    def tmp_dir(self) -> Path:
        """The host directory that is the environment's /tmp, shared by every worker."""
        return self._launch.sandbox.tmp_dir

    def workers(self) -> list[Worker]:
        """Every worker seen so far (logs connected or Runtime API called), in pid order."""
        with self.state.cond:
            return [Worker(w.pid, w.started_at, w.ready_at, w.init_error, w.invocations)
                    for _, w in sorted(self.state.workers.items())]

    @property
    def ready_workers(self) -> int:
        with self.state.cond:
            return sum(1 for w in self.state.workers.values() if w.ready_at is not None)

    def worker_pids(self) -> list[int]:
        """The workers the runtime client forked (alive or not yet reaped)."""
        return [] if self.pid is None else children_of(self.pid)

    def memory(self) -> EnvironmentMemory:
        """The whole environment now: the forking parent plus every live worker."""
        pids = [] if self.pid is None else [self.pid, *self.worker_pids()]
        pids = [pid for pid in pids if process_alive(pid)]
        return EnvironmentMemory(
            processes=len(pids),
            rss_mb=sum(_status_kb(pid, "VmRSS") for pid in pids) / 1024.0,
            peak_rss_mb=sum(_status_kb(pid, "VmHWM") for pid in pids) / 1024.0,
            pss_mb=sum(_pss_kb(pid) for pid in pids) / 1024.0,
        )

    def logs(self) -> str:
        """The runtime client's own lines and platform lines, then every worker's lines (``[pid] line``)."""
        own = self._logs.text()
        workers = "\n".join(f"[{pid}] {line}" for pid, line in self._worker_lines())
        return f"{own}\n{workers}" if workers else own

    def worker_logs(self, pid: int) -> list[str]:
        return [line for who, line in self._worker_lines() if who == pid]

    def init_reports(self) -> list[dict[str, Any]]:
        """Every worker's ``zappa_eager_init`` objects (each names its ``process``), in the order logged."""
        return parse_report_lines("\n".join(line for _, line in self._worker_lines()))

    def _worker_lines(self) -> list[tuple[int, str]]:
        return [] if self.log_socket is None else self.log_socket.snapshot()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> ManagedEnvironment:
        """Spawn the runtime client and wait for the environment's INIT: one worker ready, or all of them failed."""
        if self._stage != "new":
            return self
        launch, sandbox, config = self._launch, self._launch.sandbox, self.config
        sandbox.prepare_tmp()
        self.server = ManagedRuntimeAPIServer(self.state, lambda: self.pid)
        self.server.start()
        self.log_socket = LogSocket(self._env_dir / "logs.sock", self.state, launch.echo, self.name)
        environ = lambda_environ(
            config, init_type=INIT_MANAGED_INSTANCES, api_address=self.server.address, task_root=sandbox.cwd,
            runtime_dir=launch.runtime_dir, tmp_dir=None if sandbox.isolated else sandbox.tmp_dir,
            extra={**LOG_FORMAT, **self._extra}, s3_endpoint=launch.s3_endpoint(),
        )
        environ[MAX_CONCURRENCY_VARIABLE] = str(self.processes)
        environ[LOG_SOCKET_VARIABLE] = str(self.log_socket.path)
        argv = [launch.python, "-S", "-m", "awslambdaric", config.handler]
        self._logs.add(platform_log.init_start_line(config.runtime_name))
        self._stage = "init"
        try:
            self.process = RuntimeProcess.spawn(self.name, sandbox, argv, environ, self._logs,
                                                self.state.mark_exited)
        except BaseException:
            self._die("spawn failed")
            raise
        self._await_init()
        return self

    def _await_init(self) -> None:
        state, process = self.state, self.process
        assert process is not None
        limit = self.config.init_limit_s(INIT_MANAGED_INSTANCES)
        deadline = process.spawned_at + limit
        with state.cond:
            while (state.first_next_at is None and not state.exited and not state.closed
                   and len(state.init_errors) < self.processes):
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                state.cond.wait(remaining)
            done_at, errors = state.first_next_at, list(state.init_errors)
        started = process.exec_started()
        if done_at is not None:
            self.init_duration_ms = ms(started, done_at)
            self._stage = "ready"
            self._logs.add(platform_log.init_report_line(self.init_duration_ms or 0.0, "success"))
            return
        self.init_duration_ms = ms(started, time.perf_counter())
        if errors:
            self.init_error = errors[0].as_dict()
            status: platform_log.InitStatus = "error"
        elif state.exited:
            self.init_error = exit_error(None, state.exit_code, sandboxed=process.sandboxed)
            status = "error"
        else:
            self.init_error = {"errorType": TIMEOUT_ERROR_TYPE,
                               "errorMessage": f"INIT phase timed out after {limit:.2f} seconds"}
            status = "timeout"
        self._logs.add(platform_log.init_report_line(self.init_duration_ms or 0.0, status,
                                                     str(self.init_error.get("errorType"))))
        self._die(f"init {status}: {self.init_error.get('errorType')}")
        process.kill()

    def wait_ready(self, count: int | None = None, timeout_s: float = 120.0) -> int:
        """Wait until ``count`` workers (all by default) finished their INIT - ready, failed or dead.

        Returns how many are ready. Raises TimeoutError when ``timeout_s`` passes first.
        """
        want = self.processes if count is None else count
        deadline = time.perf_counter() + timeout_s
        with self.state.cond:
            while True:
                workers = list(self.state.workers.values())
                ready = sum(1 for w in workers if w.ready_at is not None)
                settled = ready + sum(1 for w in workers if w.ready_at is None
                                      and (w.init_error is not None or not process_alive(w.pid)))
                if settled >= want or self.state.closed or self.state.exited:
                    return ready
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    raise TimeoutError(f"{self.name}: {ready} of {want} workers ready after {timeout_s:.0f} s")
                self.state.cond.wait(min(remaining, _LIVENESS_CHECK_S))

    def kill_worker(self, pid: int) -> None:
        """SIGKILL one worker (as the kernel's OOM killer would): the environment goes on with the others."""
        if pid not in self.worker_pids():
            raise ValueError(f"{pid} is not a worker of {self.name}")
        import signal

        os.kill(pid, signal.SIGKILL)
        with self.state.cond:
            self.state.cond.notify_all()

    def stop(self) -> None:
        """Kill every process of the environment, stop the Runtime API and the log readers. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._die(self.dead_reason or "stopped")
        if self.process is not None:
            self.process.kill()  # the whole process group: the parent and every worker it forked
        if self.server is not None:
            self.server.close()
        self.state.close()
        if self.log_socket is not None:
            self.log_socket.close()
        self._logs.close()
        if self.release_tmp_on_stop:
            self.release_tmp()

    def release_tmp(self) -> None:
        self._launch.sandbox.release_tmp()

    def _die(self, reason: str) -> None:
        self._stage = "dead"
        self.dead_reason = reason

    # -- invoking ---------------------------------------------------------------------------

    def invoke(self, event: Any, *, timeout_s: float | None = None) -> InvokeResult:
        """Hand one event to whichever worker asks first; wait for its outcome. Thread-safe.

        Raises :class:`EnvironmentBusy` when ``processes`` invokes are already queued or in flight,
        :class:`EnvironmentDead` when the environment is not (or no longer) serving.
        """
        called = time.perf_counter()
        timeout = timeout_s if timeout_s is not None else self.config.timeout_s
        if self.stage == "new":
            raise EnvironmentDead(f"{self.name} is not started")
        if not self.alive:
            raise EnvironmentDead(f"{self.name}: {self.dead_reason or 'runtime exited'}")
        request_id = str(uuid.uuid4())
        invocation = Invocation(
            request_id=request_id,
            event=event if isinstance(event, bytes) else json.dumps(event).encode("utf-8"),
            deadline_ms=int((time.time() + timeout) * 1000),
            function_arn=self.config.function_arn,
            trace_id=f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
        )
        state = self.state
        with state.cond:
            if state.outstanding >= self.processes:
                raise EnvironmentBusy(f"{self.name}: all {self.processes} processes are busy")
            state.outstanding += 1
            self._logs.add(platform_log.start_line(request_id, self.config.function_version))
            invocation.enqueued_at = time.perf_counter()
            state.queue.append(invocation)
            state.cond.notify_all()
            died = self._wait(invocation, timeout)
            state.outstanding -= 1
            pid = state.taken_by.pop(request_id, None)
        return self._result(invocation, pid, died, timeout, called)

    def _wait(self, invocation: Invocation, timeout: float) -> bool:
        """Wait (``cond`` held) for the outcome; True when the worker holding the event died first."""
        state = self.state
        while invocation.outcome is None and not state.exited and not state.closed:
            pid = state.taken_by.get(invocation.request_id)
            if pid is not None and not process_alive(pid):
                state.inflight.pop(invocation.request_id, None)
                return True
            start = invocation.handed_out_at or invocation.enqueued_at
            remaining = start + timeout - time.perf_counter()
            if remaining <= 0:
                break
            state.cond.wait(min(remaining, _LIVENESS_CHECK_S))
        if invocation.outcome is None:
            try:
                state.queue.remove(invocation)
            except ValueError:
                pass
            state.inflight.pop(invocation.request_id, None)
        return False

    def _result(self, invocation: Invocation, pid: int | None, died: bool, timeout: float,
                called: float) -> InvokeResult:
        now = time.perf_counter()
        peak_kb = 0 if pid is None else _status_kb(pid, "VmHWM")
        result = InvokeResult(request_id=invocation.request_id, environment=self.name,
                              memory_size_mb=self.config.memory_mb, process=pid,
                              max_memory_mb=math.ceil(peak_kb / 1024) if peak_kb else None)
        status: ReportStatus | None = None
        if invocation.outcome == "response":
            result.raw, result.content_type = invocation.body, invocation.content_type
            result.payload = _parse_json(invocation.body)
        elif invocation.outcome == "error":
            result.raw, result.content_type = invocation.body, invocation.content_type
            result.error = PostedError(invocation.body, invocation.error_type, now).as_dict()
            result.payload, result.error_phase, status = result.error, "invoke", "error"
        elif died or self.state.exited:
            code = None if self.process is None else self.process.exit_code
            result.error = exit_error(result.request_id, code, sandboxed=self._launch.sandbox.isolated)
            result.payload, result.error_phase, status = result.error, "invoke", "error"
        elif self.state.closed:
            raise EnvironmentDead(f"{self.name} was stopped during invoke {result.request_id}")
        else:  # LMI does not stop the worker: the invoke fails, the worker's late answer is refused
            message = f"Task timed out after {timeout:.2f} seconds"
            self._logs.add(platform_log.task_timed_out_line(result.request_id, message))
            result.error = {"errorType": TIMEOUT_ERROR_TYPE,
                            "errorMessage": f"RequestId: {result.request_id} Error: {message}"}
            result.payload, result.error_phase, result.timed_out, status = result.error, "invoke", True, "timeout"
        start = invocation.handed_out_at or invocation.enqueued_at
        result.duration_ms = ((invocation.finished_at or now) - start) * 1000.0
        report = platform_log.invoke_report(result, status, init_type=self.init_type, memory_mb=self.config.memory_mb)
        result.billed_duration_ms = report.billed_duration_ms
        result.report_line = report.line()
        self._logs.add(platform_log.end_line(result.request_id))
        self._logs.add(result.report_line)
        with self.state.cond:
            self.reports.append(result.report_line)
        self._launch.on_report(result.report_line)
        result.latency_ms = (time.perf_counter() - called) * 1000.0
        return result


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None
