"""The REST API: routing, pagination, filters, nested serializers, permissions, checkout."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client

from catalog.models import Product
from orders.models import Order
from reviews.models import Review

pytestmark = pytest.mark.django_db


def test_api_root_lists_every_endpoint(client: Client) -> None:
    response = client.get("/api/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert set(response.json()) == {"categories", "products", "orders", "reviews"}
    assert response.json()["products"] == "http://testserver/api/products/"


def test_product_list_paginates_by_20(client: Client, products: list[Product]) -> None:
    response = client.get("/api/products/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["count"] == 28
    assert body["previous"] is None
    assert body["next"] == "http://testserver/api/products/?page=2"
    assert len(body["results"]) == 20
    first = body["results"][0]
    assert first == {
        "id": products[0].pk,
        "url": "http://testserver/api/products/coffee-01/",
        "name": "Coffee 01",
        "slug": "coffee-01",
        "sku": "COF-0001",
        "category": {"name": "Coffee", "slug": "coffee"},
        "price": "11.00",
        "stock": 10,
        "in_stock": True,
        "rating": "4.50",
        "review_count": 2,
    }

    page2 = client.get("/api/products/?page=2").json()
    assert len(page2["results"]) == 8
    assert page2["next"] is None
    assert "retired-tea" not in [p["slug"] for p in body["results"] + page2["results"]]


def test_product_list_filters_search_and_ordering(client: Client, products: list[Product]) -> None:
    teas = client.get("/api/products/", {"category": "tea"}).json()
    assert [p["slug"] for p in teas["results"]] == ["tea-1", "tea-2", "tea-3"]
    assert all(p["in_stock"] is False for p in teas["results"])

    found = client.get("/api/products/", {"search": "COF-0012"}).json()
    assert [p["slug"] for p in found["results"]] == ["coffee-12"]

    priciest = client.get("/api/products/", {"ordering": "-price"}).json()
    assert priciest["results"][0]["slug"] == "coffee-25"
    assert priciest["results"][0]["price"] == "35.00"


def test_product_detail_has_description_and_recent_reviews(client: Client, products: list[Product]) -> None:
    response = client.get("/api/products/coffee-01/")
    assert response.status_code == 200
    body = response.json()
    assert body["description"] == "Roast number 1."
    assert [r["title"] for r in body["recent_reviews"]] == ["Good", "Superb"]
    assert body["recent_reviews"][0]["product"] == "coffee-01"

    assert client.get("/api/products/retired-tea/").status_code == 404
    assert client.get("/api/products/nope/").json() == {"detail": "No Product matches the given query."}


def test_category_list_counts_active_products(client: Client, products: list[Product]) -> None:
    body = client.get("/api/categories/").json()
    assert body["count"] == 2
    assert [(c["slug"], c["product_count"]) for c in body["results"]] == [("coffee", 25), ("tea", 3)]
    assert client.get("/api/categories/tea/").json()["name"] == "Tea"


def test_catalog_is_read_only(client: Client, products: list[Product]) -> None:
    response = client.post("/api/products/", {"name": "x"}, content_type="application/json")
    assert response.status_code == 405
    assert client.delete("/api/products/coffee-01/").status_code == 405


def test_browsable_api_renders_html(client: Client, products: list[Product]) -> None:
    response = client.get("/api/products/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert "Product List" in response.content.decode()


def test_checkout_creates_an_order_and_takes_stock(client: Client, products: list[Product]) -> None:
    payload = {"email": "pat@example.com", "items": [{"product": "coffee-03", "quantity": 2},
                                                     {"product": "coffee-05", "quantity": 1}]}
    response = client.post("/api/orders/", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["total"] == "41.00"  # 2 x 13.00 + 15.00
    assert sorted((i["product"], i["quantity"], i["unit_price"]) for i in body["items"]) == [
        ("coffee-03", 2, "13.00"), ("coffee-05", 1, "15.00")
    ]
    order = Order.objects.get(reference=body["reference"])
    assert (order.email, order.total, order.items.count()) == ("pat@example.com", Decimal("41.00"), 2)
    assert Product.objects.get(slug="coffee-03").stock == 8


@pytest.mark.parametrize(
    ("items", "error"),
    [
        ([], "An order needs at least one item."),
        ([{"product": "tea-1", "quantity": 1}], "Not enough stock for: tea-1."),
        ([{"product": "coffee-01", "quantity": 1}, {"product": "coffee-01", "quantity": 2}],
         "List each product once; use quantity for more."),
    ],
)
def test_checkout_rejects_bad_orders(client: Client, products: list[Product], items: list[dict[str, object]],
                                     error: str) -> None:
    response = client.post("/api/orders/", {"email": "pat@example.com", "items": items},
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"items": [error]}
    assert not Order.objects.exists()


def test_checkout_rejects_inactive_products(client: Client, products: list[Product]) -> None:
    response = client.post("/api/orders/", {"email": "pat@example.com",
                                            "items": [{"product": "retired-tea", "quantity": 1}]},
                           content_type="application/json")
    assert response.status_code == 400
    assert "retired-tea" in str(response.json()["items"])


def test_orders_are_visible_to_staff_only(client: Client, admin_client: Client, products: list[Product]) -> None:
    client.post("/api/orders/", {"email": "pat@example.com", "items": [{"product": "coffee-02", "quantity": 1}]},
                content_type="application/json")
    assert client.get("/api/orders/").status_code == 403
    response = admin_client.get("/api/orders/")
    assert response.status_code == 200
    assert [o["email"] for o in response.json()["results"]] == ["pat@example.com"]


def test_reviews_api_lists_published_and_accepts_new(client: Client, products: list[Product]) -> None:
    listed = client.get("/api/reviews/", {"product": "coffee-01"}).json()
    assert listed["count"] == 2
    assert {r["title"] for r in listed["results"]} == {"Superb", "Good"}

    created = client.post("/api/reviews/", {"product": "coffee-04", "author_name": "Kim", "rating": 4,
                                            "title": "Nice"}, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["product"] == "coffee-04"
    assert Review.objects.get(title="Nice").user is None

    invalid = client.post("/api/reviews/", {"product": "coffee-04", "author_name": "Kim", "rating": 6,
                                            "title": "Too good"}, content_type="application/json")
    assert invalid.status_code == 400
    assert invalid.json() == {"rating": ["Ensure this value is less than or equal to 5."]}


def test_signed_in_review_is_attributed(client: Client, products: list[Product],
                                        django_user_model: type[User]) -> None:
    user = django_user_model.objects.create_user("kim", password="a-long-password-123")
    client.force_login(user)
    response = client.post("/api/reviews/", {"product": "coffee-04", "author_name": "Kim", "rating": 5,
                                             "title": "Mine"}, content_type="application/json")
    assert response.status_code == 201
    assert Review.objects.get(title="Mine").user == user
