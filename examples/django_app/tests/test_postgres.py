"""The same Zappa-style boot on PostgreSQL (psycopg 3): migrations, advisory lock, replica, checkout."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

pytestmark = pytest.mark.postgres


def test_postgres_auto_migrate_with_replica_and_concurrent_starts(
    postgres_url: str, probe: Callable[..., dict[str, Any]]
) -> None:
    env = {"DATABASE_URL": postgres_url, "DATABASE_REPLICA_URL": postgres_url, "SHOP_AUTO_MIGRATE": "1"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: probe(env, "GET /healthz"), range(2)))
    # The advisory lock serializes them: one migrates and seeds, the other finds nothing to do.
    assert sorted(r["bootstrap"]["seeded"] for r in reports) == [False, True]
    assert sorted(r["bootstrap"]["migrations_applied"] > 0 for r in reports) == [False, True]
    health = reports[0]["requests"][0]["body"]
    assert health["status"] == "ok"
    assert health["checks"]["database"] == {"default": "postgresql", "replica": "postgresql"}

    order = json.dumps({"email": "pat@example.com", "items": [{"product": "mugs-03", "quantity": 2}]})
    report = probe(env, "GET /api/products/?category=mugs", f"POST /api/orders/ {order}")
    listing, checkout = report["requests"]
    assert listing["status"] == 200 and listing["body"]["count"] == 8
    assert listing["queries"]["default"] == [] and len(listing["queries"]["replica"]) == 2
    assert checkout["status"] == 201, checkout["body"]
    assert any("FOR UPDATE" in q for q in checkout["queries"]["default"])  # row lock on the primary
    mug = next(p for p in listing["body"]["results"] if p["slug"] == "mugs-03")
    assert checkout["body"]["total"] == f"{float(mug['price']) * 2:.2f}"
