"""A throw-away PostgreSQL server (initdb + pg_ctl on 127.0.0.1) that can stop and start again on the same port.

The app-load scenarios need a database that is down while an environment starts and comes
back afterwards; the load and connection scenarios need to count the backends the
environments left open (``pg_stat_activity``). The tests' server (tests/pgserver.py) is this
one too. ``initdb`` refuses to run as root (pytest-postgresql cannot run it there, and CI runs
as root), so as root the server runs as the ``postgres`` user (``runuser``). Tooling module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from zappa_eager.emulator.wire import free_port

#: Client backends other than the one asking (the count excludes its own connection).
COUNT_SQL = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries are missing or the server would not start."""



class PostgresServer:
    """``initdb`` once, then ``start``/``stop`` at will on one loopback port; ``close`` deletes everything."""

    def __init__(self, base_dir: Path | None = None) -> None:
        self.initdb, self.pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
        if not self.initdb or not self.pg_ctl:
            raise PostgresUnavailable("PostgreSQL's initdb and pg_ctl must be on PATH (apt-get install postgresql)")
        self.base = Path(tempfile.mkdtemp(prefix="zappa-eager-pg-", dir=base_dir))
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = [shutil.which("runuser") or "runuser", "-u", "postgres", "--"]
            shutil.chown(self.base, "postgres", "postgres")
        self.data = self.base / "data"
        self.port = free_port()
        self.running = False
        self._initialized = False

    @property
    def url(self) -> str:
        """What an app's ``DATABASE_URL`` would say (valid while the server is stopped, too)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*self.as_user, *args], capture_output=True, timeout=120)

    def init(self) -> PostgresServer:
        if not self._initialized:
            assert self.initdb is not None
            done = self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
            if done.returncode != 0:
                raise PostgresUnavailable(f"initdb failed: {done.stderr.decode(errors='replace')[-500:]}")
            self._initialized = True
        return self

    def start(self) -> PostgresServer:
        """Start (``pg_ctl -w``: returns once it accepts connections)."""
        self.init()
        if not self.running:
            assert self.pg_ctl is not None
            options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
            done = self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.base / "log"), "-o", options, "-w",
                             "start")
            if done.returncode != 0:
                log = (self.base / "log").read_text(errors="replace")[-800:] if (self.base / "log").exists() else ""
                raise PostgresUnavailable(f"pg_ctl start failed on port {self.port}: {log}")
            self.running = True
        return self

    def stop(self) -> None:
        """Stop now (``-m fast``: open connections are closed, as a database failover would)."""
        if self.running:
            assert self.pg_ctl is not None
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")
            self.running = False

    def close(self) -> None:
        if self._initialized:
            assert self.pg_ctl is not None
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.running = False
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- counting connections ---------------------------------------------------------------

    def connections(self) -> int:
        """Client connections open right now, not counting the one this query uses."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             connect_timeout=5) as conn:
            row = conn.execute(COUNT_SQL).fetchone()
        assert row is not None
        return int(row[0])

    def settle(self, expected: int, timeout_s: float = 5.0) -> tuple[int, float]:
        """Poll until at most ``expected`` connections remain (a killed client's backend needs a
        moment to notice the closed socket); returns the last count and the ms it took."""
        started = time.perf_counter()
        deadline = started + timeout_s
        count = self.connections()
        while count > expected and time.perf_counter() < deadline:
            time.sleep(0.02)
            count = self.connections()
        return count, (time.perf_counter() - started) * 1000.0
