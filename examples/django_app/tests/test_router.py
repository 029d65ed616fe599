"""Reads go to the replica when one is configured; writes and migrations stay on the primary."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.conf import settings
from django.db import router
from django.test import override_settings

from catalog.models import Category, Product
from orders.models import Order
from shop.config import build_databases
from shop.routers import ReplicaRouter

# Changing DATABASES at runtime does not reconnect anything; the router only reads the aliases.
pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES:UserWarning")


def with_replica() -> dict[str, Any]:
    databases = copy.deepcopy(settings.DATABASES)
    databases["replica"] = {**databases["default"], "TEST": {"MIRROR": "default"}}
    return databases


def test_without_replica_everything_uses_default() -> None:
    routing = ReplicaRouter()
    assert "replica" not in settings.DATABASES
    assert routing.replica_configured is False
    assert routing.db_for_read(Product) == "default"
    assert routing.db_for_write(Product) == "default"


def test_with_replica_reads_go_to_replica_and_writes_to_default() -> None:
    routing = ReplicaRouter()
    with override_settings(DATABASES=with_replica()):
        assert routing.replica_configured is True
        assert routing.db_for_read(Product) == "replica"
        assert routing.db_for_read(Order, instance=Order()) == "replica"
        assert routing.db_for_write(Product) == "default"
        assert routing.db_for_write(Order, instance=Order()) == "default"


def test_migrations_only_run_on_default() -> None:
    routing = ReplicaRouter()
    assert routing.allow_migrate("default", "catalog", "product") is True
    assert routing.allow_migrate("replica", "catalog", "product") is False
    assert routing.allow_migrate("replica", "auth") is False


def test_relations_allowed_across_primary_and_replica_only() -> None:
    routing = ReplicaRouter()
    on_default, on_replica, elsewhere = Category(), Product(), Product()
    on_default._state.db, on_replica._state.db, elsewhere._state.db = "default", "replica", "archive"
    assert routing.allow_relation(on_default, on_replica) is True
    assert routing.allow_relation(on_replica, on_default) is True
    assert routing.allow_relation(on_default, elsewhere) is None


def test_router_is_installed_and_routes_querysets_via_settings() -> None:
    assert settings.DATABASE_ROUTERS == ["shop.routers.ReplicaRouter"]
    assert Product.objects.all().db == "default"
    with override_settings(DATABASES=with_replica()):
        # QuerySet.db asks the configured routers without running a query.
        assert Product.objects.all().db == "replica"
        assert Product.objects.filter(slug="x").select_related("category").db == "replica"
        assert router.db_for_write(Product) == "default"
        assert Product.objects.using("default").db == "default"
        assert router.allow_migrate("replica", "catalog") is False


@pytest.mark.django_db
def test_writes_land_on_default_while_replica_is_configured() -> None:
    with override_settings(DATABASES=with_replica()):
        category = Category.objects.create(name="Cocoa", slug="cocoa")
        assert category._state.db == "default"


def test_replica_url_builds_a_test_mirror(tmp_path: Any) -> None:
    databases = build_databases({"DATABASE_REPLICA_URL": "postgres://reader:pw@replica.internal:5432/shop"},
                                tmp_path)
    assert set(databases) == {"default", "replica"}
    assert databases["replica"]["HOST"] == "replica.internal"
    assert databases["replica"]["TEST"] == {"MIRROR": "default"}
