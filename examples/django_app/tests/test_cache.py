"""Cached product-list responses and the cache configuration."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import Client

from catalog.models import Product
from reviews.models import Review
from shop.config import build_caches

pytestmark = pytest.mark.django_db


def test_second_list_request_is_served_from_cache(client: Client, products: list[Product],
                                                  django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(2):  # COUNT(*) for the paginator + the page
        first = client.get("/api/products/")
    assert first.status_code == 200
    assert first["X-Cache"] == "MISS"

    with django_assert_num_queries(0):
        second = client.get("/api/products/")
    assert second.status_code == 200
    assert second["X-Cache"] == "HIT"
    assert second.json() == first.json()
    assert second.json()["count"] == 28


def test_each_page_and_filter_is_cached_separately(client: Client, products: list[Product]) -> None:
    assert client.get("/api/products/")["X-Cache"] == "MISS"
    assert client.get("/api/products/?page=2")["X-Cache"] == "MISS"
    assert client.get("/api/products/?category=tea")["X-Cache"] == "MISS"
    assert client.get("/api/products/?page=2")["X-Cache"] == "HIT"
    # The cached data holds absolute links, so another host gets its own entry.
    other = client.get("/api/products/", HTTP_HOST="shop.example.com")
    assert other["X-Cache"] == "MISS"
    assert other.json()["next"] == "http://shop.example.com/api/products/?page=2"


def test_cached_data_serves_the_browsable_api_too(client: Client, products: list[Product]) -> None:
    client.get("/api/products/", HTTP_ACCEPT="application/json")
    html = client.get("/api/products/", HTTP_ACCEPT="text/html")
    assert html["X-Cache"] == "HIT"
    assert "Coffee 01" in html.content.decode()


def test_saving_a_product_invalidates_cached_lists(client: Client, products: list[Product]) -> None:
    client.get("/api/products/")
    product = Product.objects.get(slug="coffee-01")
    product.price = Decimal("99.00")
    product.save()
    response = client.get("/api/products/")
    assert response["X-Cache"] == "MISS"
    assert response.json()["results"][0]["price"] == "99.00"


def test_new_review_invalidates_cached_ratings(client: Client, products: list[Product]) -> None:
    client.get("/api/products/")
    Review.objects.create(product=products[0], author_name="Lee", rating=3, title="Okay")
    response = client.get("/api/products/")
    assert response["X-Cache"] == "MISS"
    assert response.json()["results"][0]["review_count"] == 3


def test_checkout_invalidates_cached_stock(client: Client, products: list[Product],
                                           django_capture_on_commit_callbacks: Any) -> None:
    assert client.get("/api/products/").json()["results"][1]["stock"] == 10
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/api/orders/", {"email": "a@example.com", "items": [{"product": "coffee-02", "quantity": 4}]},
                    content_type="application/json")
    response = client.get("/api/products/")
    assert response["X-Cache"] == "MISS"
    assert response.json()["results"][1]["stock"] == 6


def test_default_cache_is_local_memory() -> None:
    assert type(caches["default"]).__name__ == "LocMemCache"
    assert build_caches({}) == {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "shop-default",
                    "TIMEOUT": 300}
    }


def test_redis_url_selects_django_redis_cache() -> None:
    config = build_caches({"REDIS_URL": "redis://cache.internal:6379/1", "CACHE_DEFAULT_TIMEOUT": "120"})
    default = config["default"]
    assert default["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert default["LOCATION"] == "redis://cache.internal:6379/1"
    assert default["TIMEOUT"] == 120
    # The backend builds without connecting (connections are lazy): the config is what Django accepts.
    backend = RedisCache(default["LOCATION"], {k: v for k, v in default.items() if k not in ("BACKEND", "LOCATION")})
    assert backend._servers == ["redis://cache.internal:6379/1"]
    assert backend.make_key("k") == "shop:1:k"
