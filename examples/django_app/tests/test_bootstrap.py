"""SHOP_AUTO_MIGRATE: migrate + seed while the app loads, the way Zappa loads it.

Most tests run ``tests/wsgi_probe.py`` in a fresh process (settings come from the environment,
the app comes from ``zappa.ext.django_zappa.get_django_wsgi``), on a SQLite file in tmp_path.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import MiddlewareNotUsed
from django.test import override_settings

from shop import bootstrap

Probe = Callable[..., dict[str, Any]]


def tables(db_file: Path) -> set[str]:
    with sqlite3.connect(db_file) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_auto_migrate_seeds_once_and_reads_use_the_replica(tmp_path: Path, probe: Probe) -> None:
    db_file = tmp_path / "db.sqlite3"
    env = {"SHOP_DATA_DIR": str(tmp_path), "SHOP_AUTO_MIGRATE": "1", "DATABASE_REPLICA_URL": f"sqlite:///{db_file}"}
    order = json.dumps({"email": "pat@example.com", "items": [{"product": "coffee-02", "quantity": 1}]})
    first = probe(env, "GET /healthz", "GET /api/products/", "GET /api/products/", f"POST /api/orders/ {order}")

    assert first["databases"] == {"default": str(db_file), "replica": str(db_file)}
    assert first["bootstrap"]["migrations_applied"] > 10  # contrib apps + ours
    assert first["bootstrap"]["seeded"] is True
    assert "auto-migrate:" in first["stderr"]
    assert {"catalog_product", "orders_order", "reviews_review", "django_session"} <= tables(db_file)

    health, listing, cached, checkout = first["requests"]
    assert (health["status"], health["body"]["status"]) == (200, "ok")
    assert health["body"]["checks"]["database"] == {"default": "sqlite", "replica": "sqlite"}
    assert (listing["status"], listing["x_cache"], listing["body"]["count"]) == (200, "MISS", 48)
    assert listing["queries"]["default"] == [] and len(listing["queries"]["replica"]) == 2  # reads: replica
    assert (cached["x_cache"], cached["queries"]) == ("HIT", {"default": [], "replica": []})
    assert checkout["status"] == 201, checkout["body"]
    writes = [q for q in checkout["queries"]["default"] if q.startswith(("INSERT", "UPDATE"))]
    assert len(writes) >= 3  # order, items, stock; all on the primary
    assert not any(q.startswith(("INSERT", "UPDATE")) for q in checkout["queries"]["replica"])

    again = probe(env, "GET /api/products/coffee-02/")
    assert again["bootstrap"] == {"migrations_applied": 0, "seeded": False}
    listed = next(p for p in listing["body"]["results"] if p["slug"] == "coffee-02")
    assert again["requests"][0]["body"]["stock"] == listed["stock"] - 1  # the order above took one


def test_concurrent_cold_starts_share_one_sqlite_file(tmp_path: Path, probe: Probe) -> None:
    env = {"SHOP_DATA_DIR": str(tmp_path), "SHOP_AUTO_MIGRATE": "1"}
    with ThreadPoolExecutor(max_workers=3) as pool:
        reports = list(pool.map(lambda _: probe(env, "GET /api/categories/"), range(3)))
    assert [r["requests"][0]["status"] for r in reports] == [200, 200, 200]
    assert sorted(r["bootstrap"]["seeded"] for r in reports) == [False, False, True]
    assert all(r["requests"][0]["body"]["count"] == 6 for r in reports)


def test_healthz_works_before_migrations(tmp_path: Path, probe: Probe) -> None:
    report = probe({"SHOP_DATA_DIR": str(tmp_path)}, "GET /healthz", "GET /api/products/")
    assert report["bootstrap"] is None
    health, products = report["requests"]
    assert (health["status"], health["body"]["status"]) == (200, "ok")
    assert health["queries"]["default"] == ["SELECT 1"]
    assert products["status"] == 500  # no tables: a real failure, but not the health check's
    assert tables(tmp_path / "db.sqlite3") == set()


@pytest.mark.django_db
def test_run_is_idempotent_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    bootstrap.reset()
    seeds: list[int] = []
    try:
        result = bootstrap.run(seed=lambda: bool(seeds.append(1)))
        assert result.migrations_applied == 0  # the test database is migrated already
        assert bootstrap.run() is result
        assert seeds == [1]
    finally:
        bootstrap.reset()


def test_hook_removes_itself_and_only_runs_when_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(bootstrap, "run", lambda: calls.append("run"))
    with pytest.raises(MiddlewareNotUsed):
        bootstrap.AutoMigrateMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    assert calls == []
    with override_settings(SHOP_AUTO_MIGRATE=True), pytest.raises(MiddlewareNotUsed):
        bootstrap.AutoMigrateMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    assert calls == ["run"]


def test_hook_failure_is_logged_not_raised(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(bootstrap, "run", broken)
    with override_settings(SHOP_AUTO_MIGRATE=True), pytest.raises(MiddlewareNotUsed):
        bootstrap.AutoMigrateMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    assert "auto-migrate failed" in caplog.text
