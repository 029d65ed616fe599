"""HTTP/1.1 on 127.0.0.1, read by hand: the Runtime API server and the reliability fault proxy.

Both need the raw request (to answer long polls, or to cut a response mid-stream), which
``http.server`` hides; this is the one reader of header blocks and bodies they share, and the one
way to pick a free loopback port. Tooling module.
"""

from __future__ import annotations

import socket
from typing import BinaryIO

MAX_LINE = 65536


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_headers(rfile: BinaryIO) -> dict[str, str]:
    """Header lines up to the blank line, names lower-cased."""
    headers: dict[str, str] = {}
    while True:
        line = rfile.readline(MAX_LINE)
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()


def read_body(rfile: BinaryIO, headers: dict[str, str]) -> bytes:
    """The body ``headers`` announce: chunked (trailers skipped) or ``Content-Length`` bytes."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int(rfile.readline(MAX_LINE).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(rfile.read(size))
            rfile.readline(MAX_LINE)
    length = int(headers.get("content-length", "0") or 0)
    return rfile.read(length) if length else b""
