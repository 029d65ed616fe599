"""SnapStart runtime hooks: make a snapshot taken after eager init safe to restore many times.

A SnapStart snapshot freezes the process after INIT, including sockets opened by the app
or by warm-up requests and the state of ``random``. Restored copies would share both.
Before the snapshot we close every Django database connection and cache client; after
each restore we re-seed ``random``, drop boto3's cached default session (credentials
differ per environment) and optionally repeat the warm-up.

Hooks are registered with ``snapshot_restore_py``, the library AWS's Python runtime and
``awslambdaric`` run around the snapshot. The boot hands in what the hooks need (the repeated
warm-up, when ``eager_init_warmup_after_restore`` asks for it): this module never imports it.
Runtime module: standard library plus Django only when the app already imported it.
"""

from __future__ import annotations

import os
import random
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from zappa_eager.runtime.contract import ReportEvent
from zappa_eager.runtime.report import InitReport, WarmupResult

#: Sends the warm-up again, through the handler INIT built (``EagerRuntime.warm_again``).
WarmAgain = Callable[[], list[WarmupResult]]


def close_django_connections() -> int:
    """Close every open Django DB connection; returns how many were open."""
    db = sys.modules.get("django.db")
    if db is None:
        return 0
    closed = 0
    for connection in db.connections.all(initialized_only=True):
        if connection.connection is not None:
            closed += 1
        connection.close()
    return closed


def close_django_caches() -> int:
    """Close cache clients, including redis-py connection pools Django keeps open."""
    cache_module = sys.modules.get("django.core.cache")
    if cache_module is None:
        return 0
    closed = 0
    for cache in cache_module.caches.all(initialized_only=True):
        cache.close()
        pools = getattr(getattr(cache, "_cache", None), "_pools", None)
        if isinstance(pools, dict):
            for pool in pools.values():
                pool.disconnect()
                closed += 1
    return closed


def reseed_randomness() -> None:
    """Each restored environment must draw different random numbers from the others."""
    random.seed(os.urandom(32))
    numpy_random = getattr(sys.modules.get("numpy"), "random", None)
    if numpy_random is not None:
        numpy_random.seed(int.from_bytes(os.urandom(4), "little"))


def forget_cached_credentials() -> None:
    """boto3's default session caches the credentials of the environment that was snapshotted."""
    boto3: Any = sys.modules.get("boto3")
    if boto3 is not None:
        boto3.DEFAULT_SESSION = None


def before_snapshot() -> dict[str, Any]:
    started = time.perf_counter()
    closed_db = close_django_connections()
    closed_cache = close_django_caches()
    _emit("before_snapshot", started, [f"closed {closed_db} database and {closed_cache} cache connection(s)"])
    return {"closed_db": closed_db, "closed_cache": closed_cache}


def after_restore(warm_again: WarmAgain | None = None) -> None:
    """``warm_again``: the warm-up to repeat (``eager_init_warmup_after_restore``), None to repeat none."""
    started = time.perf_counter()
    reseed_randomness()
    forget_cached_credentials()
    notes: list[str] = []
    if warm_again is not None:
        results = warm_again()
        notes.append("warm-up after restore: " + ", ".join(r.summary() for r in results))
        # The warm-up may have opened connections; they belong to this environment now.
    _emit("after_restore", started, notes)


def _emit(event: ReportEvent, started: float, notes: list[str]) -> None:
    ms = (time.perf_counter() - started) * 1000.0
    InitReport(phases_ms={event: ms}, total_ms=ms, ok=True, event=event, notes=notes).emit()


def register_hooks(warm_again: WarmAgain | None = None) -> bool:
    """Register both hooks; False (and a log line) when the runtime has no snapshot support.

    ``warm_again``: the warm-up the after-restore hook repeats, None when it repeats none.
    """
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        print("[zappa-eager] snap_start is set but snapshot_restore_py is not importable; hooks not registered",
              flush=True)
        return False

    def _before() -> None:
        try:
            before_snapshot()
        except Exception:
            traceback.print_exc()
            raise

    def _after() -> None:
        try:
            after_restore(warm_again)
        except Exception:
            traceback.print_exc()
            raise

    register_before_snapshot(_before)
    register_after_restore(_after)
    return True
