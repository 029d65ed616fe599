"""A throw-away PostgreSQL server for tests (initdb + pg_ctl on 127.0.0.1), as a context manager.

The server is the reliability suite's (:class:`tests.reliability.postgres.PostgresServer`:
as root it runs as the ``postgres`` user, since ``initdb`` refuses root); tests that need to
stop and start it again or count connections use that class directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.reliability.postgres import PostgresServer


@contextmanager
def postgres_server() -> Iterator[int]:
    """Start a server, yield its port, stop it and delete its data."""
    with PostgresServer() as server:
        yield server.start().port
