"""Build DATABASES and CACHES from an environment mapping.

Kept apart from ``settings.py`` so the rules (where SQLite lives on a read-only Lambda task
root, when a replica or Redis is used) can be unit tested with a plain dict instead of
reloading Django settings.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dj_database_url

REPLICA_ALIAS = "replica"
SQLITE_FILENAME = "db.sqlite3"
TRUE_VALUES = frozenset({"1", "true", "yes", "on"})

#: Persistent connections: the connection opened by the INIT warm-up must survive into the
#: first real request (CONN_MAX_AGE=0 would close it at the end of the warm-up request).
DEFAULT_CONN_MAX_AGE = 600


def env_bool(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    """``"1"``, ``"true"``, ``"yes"`` and ``"on"`` (any case) are true; unset means ``default``."""
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in TRUE_VALUES


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {value!r}") from exc


def is_writable_dir(path: Path) -> bool:
    """False on Lambda's read-only ``/var/task`` (``access(2)`` reports EROFS there)."""
    return path.is_dir() and os.access(path, os.W_OK)


def data_dir(env: Mapping[str, str], base_dir: Path) -> Path:
    """Where the default SQLite file lives: ``SHOP_DATA_DIR``, else the project dir, else ``/tmp``."""
    configured = env.get("SHOP_DATA_DIR")
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        return path
    if is_writable_dir(base_dir):
        return base_dir
    return Path(tempfile.gettempdir())


def default_database_url(env: Mapping[str, str], base_dir: Path) -> str:
    return env.get("DATABASE_URL") or f"sqlite:///{(data_dir(env, base_dir) / SQLITE_FILENAME).as_posix()}"


def parse_database(url: str, conn_max_age: int) -> dict[str, Any]:
    config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Wait for a concurrent writer (another local environment, the auto-migration) instead of failing.
        config.setdefault("OPTIONS", {}).setdefault("timeout", 20)
    return config


def build_databases(env: Mapping[str, str], base_dir: Path) -> dict[str, dict[str, Any]]:
    """``default`` from ``DATABASE_URL`` (SQLite by default); ``replica`` from ``DATABASE_REPLICA_URL``."""
    conn_max_age = env_int(env, "DATABASE_CONN_MAX_AGE", DEFAULT_CONN_MAX_AGE)
    databases = {"default": parse_database(default_database_url(env, base_dir), conn_max_age)}
    replica_url = env.get("DATABASE_REPLICA_URL")
    if replica_url:
        replica = parse_database(replica_url, conn_max_age)
        # Tests use the default database for replica reads instead of creating a second one.
        replica["TEST"] = {"MIRROR": "default"}
        databases[REPLICA_ALIAS] = replica
    return databases


def build_caches(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """LocMemCache (per Lambda environment) unless ``REDIS_URL`` points at a shared Redis."""
    timeout = env_int(env, "CACHE_DEFAULT_TIMEOUT", 300)
    redis_url = env.get("REDIS_URL")
    if redis_url:
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": env.get("CACHE_KEY_PREFIX", "shop"),
                "TIMEOUT": timeout,
            }
        }
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "shop-default",
            "TIMEOUT": timeout,
        }
    }
