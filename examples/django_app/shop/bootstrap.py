"""Migrate and seed at app load when ``SHOP_AUTO_MIGRATE=1``.

The demo and the benchmark run the shop on a fresh SQLite file in ``/tmp`` per Lambda
environment, so the schema has to exist before the first request. This runs while Django
builds its middleware chain: Zappa's Django loader calls ``django.core.wsgi.get_wsgi_application()``
itself (it never imports ``shop.wsgi``), and building the chain is part of that call, so
under zappa-eager the migration happens in Lambda's INIT phase, not in the first request.

Idempotent: once per process, a no-op migration plan is detected before running ``migrate``,
demo data is only added to an empty catalog, and concurrent processes are serialized with a
file lock (SQLite) or an advisory lock (PostgreSQL).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("shop.bootstrap")

#: Arbitrary 64-bit key for pg_advisory_lock, shared by every process migrating this schema.
PG_LOCK_KEY = 0x5E0_5A1E


@dataclass(frozen=True)
class BootstrapResult:
    migrations_applied: int
    seeded: bool
    elapsed_ms: float


_lock = threading.Lock()
_result: BootstrapResult | None = None


@contextlib.contextmanager
def _migration_lock(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Serialize migrations across processes sharing one database."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [PG_LOCK_KEY])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [PG_LOCK_KEY])
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if connection.vendor != "sqlite" or not name or name == ":memory:" or name.startswith("file:"):
        yield
        return
    lock_path = Path(name).with_name(Path(name).name + ".migrate-lock")
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pending_migrations(connection: BaseDatabaseWrapper) -> int:
    """Number of unapplied migrations; cheaper than running ``migrate`` on an up-to-date schema."""
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def _default_seed() -> bool:
    from catalog.demo import seed_demo_data

    return seed_demo_data(only_if_empty=True).created_products > 0


def run(seed: Callable[[], bool] | None = None, using: str = DEFAULT_DB_ALIAS) -> BootstrapResult:
    """Apply pending migrations to ``using`` and seed an empty catalog. Safe to call repeatedly."""
    global _result
    with _lock:
        if _result is not None:
            return _result
        started = time.perf_counter()
        connection = connections[using]
        with _migration_lock(connection):
            pending = pending_migrations(connection)
            if pending:
                call_command("migrate", database=using, interactive=False, verbosity=0)
            seeded = (seed or _default_seed)()
        _result = BootstrapResult(pending, seeded, (time.perf_counter() - started) * 1000.0)
        logger.info(
            "auto-migrate: %d migration(s) applied, demo data %s, %.1f ms",
            _result.migrations_applied,
            "seeded" if _result.seeded else "already present",
            _result.elapsed_ms,
        )
        return _result


def last_result() -> BootstrapResult | None:
    """What :func:`run` did in this process, or None if it has not run (or failed)."""
    return _result


def reset() -> None:
    """Forget the once-per-process result (tests)."""
    global _result
    with _lock:
        _result = None


class AutoMigrateMiddleware:
    """Not a real middleware: a hook that runs :func:`run` while the handler loads middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if settings.SHOP_AUTO_MIGRATE:
            try:
                run()
            except Exception:
                # Keep serving: /healthz reports the database state, pages fail loudly on their own.
                logger.exception("auto-migrate failed")
        raise MiddlewareNotUsed
