"""/healthz, the eager_init_warmup target."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shop import views

pytestmark = pytest.mark.django_db


def test_healthz_reports_every_check(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {
        "urls": "/",
        "database": {"default": "sqlite"},
        "cache": "LocMemCache",
        "templates": len(views.WARM_TEMPLATES),
    }
    assert set(body["ms"]) == set(views.CHECKS)
    assert "errors" not in body


def test_healthz_accepts_a_trailing_slash(client: Client) -> None:
    assert client.get("/healthz/").json()["status"] == "ok"


def test_healthz_queries_no_app_tables(client: Client) -> None:
    """It must work before migrations: the only SQL is SELECT 1."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/healthz").status_code == 200
    assert [q["sql"] for q in queries.captured_queries] == ["SELECT 1"]


def test_healthz_fails_with_503_naming_the_check(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Callable[[], object]:
        raise ConnectionError("database unreachable")

    monkeypatch.setitem(views.CHECKS, "database", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["errors"] == {"database": "ConnectionError: database unreachable"}
    assert body["checks"]["cache"] == "LocMemCache"  # the other checks still ran
