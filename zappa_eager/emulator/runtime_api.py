"""The Lambda Runtime API (``/2018-06-01/runtime/...``) for one execution environment.

One server per environment, on its own 127.0.0.1 port, so environments never share state.
The server only records what the runtime (awslambdaric) says and when, in a
:class:`RuntimeState`; :mod:`.lifecycle` and :mod:`.environment` decide what it means.

Latency matters more than features here: every response goes out as ONE ``sendall``
(status line, headers and body in one buffer) on a ``TCP_NODELAY`` socket, because a
header segment followed by a body segment meets Nagle + delayed ACK on loopback and adds
~40 ms to every invoke. Keep-alive is supported (awslambdaric's native client reuses one
curl connection for ``next`` and ``response``).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Literal

from .wire import MAX_LINE, read_body, read_headers

PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "lambda-runtime-function-error-type"

#: How the runtime finished an invocation: ``/invocation/{id}/response`` or ``/invocation/{id}/error``.
Outcome = Literal["response", "error"]


@dataclass
class Invocation:
    """One event handed to the runtime and what came back."""

    request_id: str
    event: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str
    client_context: str | None = None
    cognito_identity: str | None = None
    enqueued_at: float = field(default_factory=time.perf_counter)
    handed_out_at: float | None = None
    finished_at: float | None = None
    outcome: Outcome | None = None
    body: bytes = b""
    content_type: str | None = None
    error_type: str | None = None

    def next_response_headers(self) -> list[tuple[str, str]]:
        headers = [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", self.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(self.deadline_ms)),
            ("Lambda-Runtime-Invoked-Function-Arn", self.function_arn),
            ("Lambda-Runtime-Trace-Id", self.trace_id),
        ]
        if self.client_context is not None:
            headers.append(("Lambda-Runtime-Client-Context", self.client_context))
        if self.cognito_identity is not None:
            headers.append(("Lambda-Runtime-Cognito-Identity", self.cognito_identity))
        return headers


@dataclass
class PostedError:
    """A body posted to ``/init/error`` or ``/restore/error``, with its arrival time."""

    body: bytes
    error_type: str | None
    at: float

    def as_dict(self) -> dict[str, object]:
        try:
            data = json.loads(self.body or b"{}")
        except ValueError:
            data = {"errorMessage": self.body.decode("utf-8", "replace")}
        if not isinstance(data, dict):
            data = {"errorMessage": str(data)}
        if self.error_type and "errorType" not in data:
            data["errorType"] = self.error_type
        return data


class RuntimeState:
    """What the runtime told us and when (``time.perf_counter`` seconds), under one condition."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.closed = False
        self.first_next_at: float | None = None
        self.restore_next_at: float | None = None
        self.restore_released_at: float | None = None
        self.init_error: PostedError | None = None
        self.restore_error: PostedError | None = None
        self.pending: Invocation | None = None
        self.inflight: dict[str, Invocation] = {}
        self.exited = False
        self.exit_code: int | None = None

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def mark_exited(self, code: int) -> None:
        """The runtime process was reaped (its watcher calls this)."""
        with self.cond:
            self.exited = True
            self.exit_code = code
            self.cond.notify_all()

    def release_restore(self) -> float:
        """Answer the runtime's pending ``restore/next`` (the emulated snapshot resume)."""
        with self.cond:
            self.restore_released_at = time.perf_counter()
            self.cond.notify_all()
            return self.restore_released_at


def http_response(status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None) -> bytes:
    """Status line, headers and body as one buffer: one write, one TCP segment."""
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    lines.extend(f"{name}: {value}" for name, value in headers or ())
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


_ACCEPTED = http_response(202, b'{"status":"OK"}', [("Content-Type", "application/json")])


def _error(status: int, error_type: str, message: str) -> bytes:
    body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
    return http_response(status, body, [("Content-Type", "application/json")])


class RuntimeAPIServer:
    """A tiny threaded HTTP/1.1 server speaking the Runtime API for one :class:`RuntimeState`."""

    def __init__(self, state: RuntimeState, host: str = "127.0.0.1") -> None:
        self.state = state
        self._sock = socket.create_server((host, 0))
        self.host, self.port = self._sock.getsockname()[:2]
        self._closing = False
        self._conns: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._accept_thread = threading.Thread(target=self._accept_loop, name=f"zappa-emu-api-{self.port}",
                                               daemon=True)

    @property
    def address(self) -> str:
        """What goes into ``AWS_LAMBDA_RUNTIME_API``."""
        return f"{self.host}:{self.port}"

    def start(self) -> RuntimeAPIServer:
        self._accept_thread.start()
        return self

    def close(self) -> None:
        """Stop accepting, wake long polls, drop connections and join every thread."""
        self._closing = True
        self.state.close()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._accept_thread.is_alive():
            self._accept_thread.join(5)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(5)

    # -- connection handling -------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closing:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            if self._closing:
                conn.close()
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(target=self._serve, args=(conn,), name=f"zappa-emu-conn-{self.port}",
                                      daemon=True)
            with self._lock:
                self._conns.add(conn)
                self._threads.add(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        rfile = conn.makefile("rb")
        try:
            while not self._closing:
                request_line = rfile.readline(MAX_LINE)
                if not request_line:
                    return
                if request_line in (b"\r\n", b"\n"):
                    continue
                parts = request_line.decode("latin-1").split()
                if len(parts) != 3:
                    conn.sendall(_error(400, "BadRequest", "malformed request line"))
                    return
                method, target, version = parts
                headers = read_headers(rfile)
                if headers.get("expect", "").lower() == "100-continue":
                    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = read_body(rfile, headers)
                received_at = time.perf_counter()
                reply = self._dispatch(method, target.split("?", 1)[0], headers, body, received_at)
                if reply is None:  # shutting down while long-polling
                    return
                conn.sendall(reply)
                if version == "HTTP/1.0" or headers.get("connection", "").lower() == "close":
                    return
        except (OSError, ValueError):
            return
        finally:
            rfile.close()
            conn.close()
            with self._lock:
                self._conns.discard(conn)
                self._threads.discard(threading.current_thread())

    # -- routes ----------------------------------------------------------------------------

    def _dispatch(self, method: str, path: str, headers: dict[str, str], body: bytes, at: float) -> bytes | None:
        if not path.startswith(PREFIX + "/"):
            return _error(404, "NotFound", f"unknown path {path}")
        route = path[len(PREFIX):]
        if method == "GET" and route == "/invocation/next":
            return self._next(at)
        if method == "GET" and route == "/restore/next":
            return self._restore_next(at)
        if method == "POST" and route == "/init/error":
            return self._posted_error("init", body, headers, at)
        if method == "POST" and route == "/restore/error":
            return self._posted_error("restore", body, headers, at)
        if method == "POST" and route.startswith("/invocation/"):
            request_id, _, kind = route[len("/invocation/"):].partition("/")
            if kind == "response":
                return self._finish(request_id, "response", body, headers, at)
            if kind == "error":
                return self._finish(request_id, "error", body, headers, at)
        return _error(404, "NotFound", f"unknown route {method} {path}")

    def _next(self, at: float) -> bytes | None:
        state = self.state
        with state.cond:
            if state.first_next_at is None:
                state.first_next_at = at
            state.cond.notify_all()
            while state.pending is None and not state.closed:
                state.cond.wait()
            if state.closed or state.pending is None:
                return None
            invocation, state.pending = state.pending, None
            state.inflight[invocation.request_id] = invocation
            reply = http_response(200, invocation.event, invocation.next_response_headers())
            invocation.handed_out_at = time.perf_counter()
            state.cond.notify_all()
        return reply

    def _restore_next(self, at: float) -> bytes | None:
        state = self.state
        with state.cond:
            state.restore_next_at = at
            state.cond.notify_all()
            while state.restore_released_at is None and not state.closed:
                state.cond.wait()
            if state.closed:
                return None
        return http_response(200)

    def _posted_error(self, phase: Literal["init", "restore"], body: bytes, headers: dict[str, str],
                      at: float) -> bytes:
        posted = PostedError(body, headers.get(ERROR_TYPE_HEADER), at)
        with self.state.cond:
            if phase == "init":
                if self.state.init_error is not None or self.state.first_next_at is not None:
                    return _error(403, "InvalidStateTransition", "init error after init completed")
                self.state.init_error = posted
            else:
                self.state.restore_error = posted
            self.state.cond.notify_all()
        return _ACCEPTED

    def _finish(self, request_id: str, kind: Outcome, body: bytes, headers: dict[str, str], at: float) -> bytes:
        with self.state.cond:
            invocation = self.state.inflight.pop(request_id, None)
            if invocation is None:
                return _error(400, "InvalidRequestID", f"unknown or finished request id {request_id}")
            invocation.finished_at = at
            invocation.outcome = kind
            invocation.body = body
            invocation.content_type = headers.get("content-type")
            invocation.error_type = headers.get(ERROR_TYPE_HEADER)
            self.state.cond.notify_all()
        return _ACCEPTED

