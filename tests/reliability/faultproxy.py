"""A small HTTP fault proxy on 127.0.0.1 between Lambda environments and the local S3 (moto_server).

Environments get ``AWS_ENDPOINT_URL_S3`` pointing here; every request is relayed to moto
unchanged unless a :class:`Fault` matches it, in which case the proxy does to it what S3 or
the network does in the wild: answer an S3 error (503 SlowDown, 403 AccessDenied...), reset
the connection or close it early after some of the body, stall, or trickle the body out.
Faults work at the HTTP/TCP level, so boto3, botocore and urllib3 in the environment meet
them exactly as they would meet the real thing. :attr:`FaultProxy.log` records what was
served, and whether the client gave up on a stall or a trickle (its read timeout fired, or
Lambda killed the process) before the proxy ended it.

Tooling only, never packaged for Lambda.
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from zappa_eager.emulator.wire import MAX_LINE, read_body, read_headers

#: What a fault does: answer an S3 error, reset (RST) or close (FIN) the connection after
#: ``after_bytes`` of the body, stall after them, or send the body at ``rate_bps``.
FAULT_KINDS = ("status", "reset", "cut", "stall", "throttle")
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer",
                         "upgrade", "content-length", "expect"})
_CHUNK = 1 << 16


@dataclass
class Fault:
    """One fault, applied to the next ``times`` requests that match ``method`` and ``path`` (a prefix).

    ``after_bytes`` is how much of the response body goes out before a ``reset``, ``cut`` or
    ``stall``; None means before the response headers (the request is never answered).
    """

    kind: str
    times: int = 1
    method: str = "GET"
    path: str | None = None
    status: int = 503
    code: str = "SlowDown"
    message: str = "Please reduce your request rate."
    after_bytes: int | None = 0
    stall_s: float = 60.0
    rate_bps: int = 1 << 20
    used: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}, not {self.kind!r}")
        if self.times < 1 or self.rate_bps < 1:
            raise ValueError("times and rate_bps must be >= 1")

    def matches(self, method: str, path: str) -> bool:
        return (self.used < self.times and method == self.method
                and (self.path is None or path.startswith(self.path)))


@dataclass(frozen=True)
class Served:
    """One request as the proxy handled it."""

    method: str
    path: str
    fault: str | None  # the fault kind applied, or None (relayed as is)
    status: int | None  # the status sent (None: no response headers went out)
    body_bytes: int  # body bytes sent
    content_length: int | None  # what the headers promised
    client_gave_up: bool = False  # the client closed the connection during a stall or trickle
    seconds: float = 0.0


def s3_error_body(code: str, message: str, resource: str) -> bytes:
    """An S3 REST error document, as S3 sends it (botocore reads Code and Message from it)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<Resource>{escape(resource)}</Resource><RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    ).encode()


class _ClientGone(Exception):
    """The client closed its end (or reset it) while we were sending or waiting."""


class FaultProxy:
    """Relays HTTP/1.1 to ``upstream`` (``http://127.0.0.1:PORT``), applying the faults injected."""

    def __init__(self, upstream: str, host: str = "127.0.0.1") -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError(f"upstream must be http://HOST:PORT, not {upstream!r}")
        self.upstream_host, self.upstream_port = parts.hostname, parts.port
        self.host = host
        self.log: list[Served] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._recorded = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._sock: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()

    # -- public API ----------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        if self._sock is None:
            raise RuntimeError("the fault proxy is not started")
        return f"http://{self.host}:{self._sock.getsockname()[1]}"

    def start(self) -> str:
        if self._sock is None:
            self._sock = socket.create_server((self.host, 0))
            self._accept_thread = threading.Thread(target=self._accept_loop, name="zappa-rel-proxy-accept",
                                                   daemon=True)
            self._accept_thread.start()
        return self.endpoint

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault (spent or not); requests are relayed as they are from now on."""
        with self._lock:
            self._faults.clear()

    def served(self, path: str | None = None, method: str = "GET") -> list[Served]:
        with self._lock:
            return [s for s in self.log if s.method == method and (path is None or s.path.startswith(path))]

    def wait_for(self, count: int, timeout_s: float = 30.0) -> list[Served]:
        """Wait until ``count`` requests are recorded; a request is recorded once the proxy is done with it
        (after a stall, when the client gave up or the stall ran out)."""
        with self._recorded:
            self._recorded.wait_for(lambda: len(self.log) >= count, timeout_s)
            return list(self.log)

    def stop(self) -> None:
        """Stop accepting, end stalls and open connections, and join every thread. Idempotent."""
        self._stopping.set()
        if self._sock is not None:
            _shutdown(self._sock)  # wakes the blocked accept(); close() alone does not
            self._sock.close()
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            _shutdown(conn)
        if self._accept_thread is not None:
            self._accept_thread.join(5)
        for thread in threads:
            thread.join(10)

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- connections -----------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), name="zappa-rel-proxy-conn", daemon=True)
            with self._lock:
                self._conns.add(conn)
                self._threads.add(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        rfile = conn.makefile("rb")
        try:
            while not self._stopping.is_set():
                request_line = rfile.readline(MAX_LINE)
                if not request_line:
                    return
                if request_line in (b"\r\n", b"\n"):
                    continue
                method, target, _version = request_line.decode("latin-1").split()
                headers = read_headers(rfile)
                if headers.get("expect", "").lower() == "100-continue":
                    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = read_body(rfile, headers)
                path = target.split("?", 1)[0]
                with self._lock:
                    fault = next((f for f in self._faults if f.matches(method, path)), None)
                    if fault is not None:
                        fault.used += 1
                if not self._handle(conn, method, target, path, headers, body, fault):
                    return
        except (OSError, ValueError, _ClientGone, http.client.HTTPException):
            return
        finally:
            rfile.close()
            try:
                conn.close()
            except OSError:
                pass
            with self._lock:
                self._conns.discard(conn)
                self._threads.discard(threading.current_thread())

    def _record(self, served: Served) -> None:
        with self._recorded:
            self.log.append(served)
            self._recorded.notify_all()

    # -- one request -------------------------------------------------------------------------

    def _handle(self, conn: socket.socket, method: str, target: str, path: str, headers: dict[str, str],
                body: bytes, fault: Fault | None) -> bool:
        """Answer one request; False when the connection must end (a fault closed it)."""
        started = time.monotonic()
        kind = None if fault is None else fault.kind
        if fault is not None and fault.kind == "status":
            payload = b"" if method == "HEAD" else s3_error_body(fault.code, fault.message, path)
            conn.sendall(_head(fault.status, _reason(fault.status),
                               [("Content-Type", "application/xml"), ("Content-Length", str(len(payload)))]) + payload)
            self._record(Served(method, path, kind, fault.status, len(payload), len(payload),
                                seconds=time.monotonic() - started))
            return True
        if fault is not None and fault.after_bytes is None:  # before any response
            gave_up = self._fail(conn, fault)
            self._record(Served(method, path, kind, None, 0, None, gave_up, time.monotonic() - started))
            return False

        upstream = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            forward = {k: v for k, v in headers.items() if k not in _HOP_BY_HOP}
            upstream.request(method, target, body=body if body or method in ("PUT", "POST") else None,
                             headers=forward)
            response = upstream.getresponse()
            out_headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            declared = response.getheader("content-length")
            if method == "HEAD" or response.status in (204, 304):
                length = int(declared) if declared is not None else 0
                payload = b""
            elif declared is None:  # chunked or until close: read it all, send it with a length
                payload = response.read()
                length = len(payload)
            else:
                length, payload = int(declared), b""
            out_headers.append(("Content-Length", str(length)))
            conn.sendall(_head(response.status, response.reason, out_headers))
            sent, gave_up, ended = self._relay(conn, response, payload, length if method != "HEAD" else 0, fault)
            self._record(Served(method, path, kind, response.status, sent, length, gave_up,
                                time.monotonic() - started))
            return not ended
        finally:
            upstream.close()

    def _relay(self, conn: socket.socket, response: http.client.HTTPResponse, payload: bytes, length: int,
               fault: Fault | None) -> tuple[int, bool, bool]:
        """Send the body; returns (bytes sent, client gave up, connection ended by a fault)."""
        stop_at = fault.after_bytes if fault is not None and fault.kind in ("reset", "cut", "stall") else None
        sent = 0
        buffered = memoryview(payload)
        while sent < length:
            want = min(_CHUNK, length - sent)
            if stop_at is not None:
                want = min(want, stop_at - sent)
                if want <= 0:
                    break
            if buffered:
                chunk, buffered = bytes(buffered[:want]), buffered[want:]
            else:
                chunk = response.read(want)
            if not chunk:
                break
            if fault is not None and fault.kind == "throttle":
                if self._wait(conn, len(chunk) / fault.rate_bps):
                    return sent, True, True
            try:
                conn.sendall(chunk)
            except OSError:
                return sent, True, True
            sent += len(chunk)
        if fault is not None and fault.kind in ("reset", "cut", "stall"):
            return sent, self._fail(conn, fault), True
        return sent, False, False

    def _fail(self, conn: socket.socket, fault: Fault) -> bool:
        """End the connection as the fault says; True if the client gave up first (during a stall)."""
        gave_up = False
        if fault.kind == "stall":
            gave_up = self._wait(conn, fault.stall_s)
        if fault.kind == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close -> RST
        else:
            _shutdown(conn)
        return gave_up

    def _wait(self, conn: socket.socket, seconds: float) -> bool:
        """Sleep ``seconds`` unless the proxy stops; True if the client closed its end meanwhile."""
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            readable, _, _ = select.select([conn], [], [], min(remaining, 0.05))
            if readable:
                try:
                    if not conn.recv(1, socket.MSG_PEEK):
                        return True
                except OSError:
                    return True
        return False


def _shutdown(sock: socket.socket) -> None:
    """Shut both directions (a thread blocked on the socket wakes up); one already gone is fine."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _head(status: int, reason: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers), "Connection: keep-alive", "", ""]
    return "\r\n".join(lines).encode("latin-1")

