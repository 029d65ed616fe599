"""Server-rendered pages: templates, ORM, pagination, forms, messages, static files."""

from __future__ import annotations

import pytest
from django.test import Client

from catalog.models import Product
from reviews.models import Review

pytestmark = pytest.mark.django_db


def test_home_lists_categories_and_new_products(client: Client, products: list[Product]) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert [t.name for t in response.templates][:2] == ["catalog/home.html", "base.html"]
    html = response.content.decode()
    assert "<title>Welcome · Zappa Eager Coffee</title>" in html
    assert 'href="/static/shop/site.css"' in html
    assert "Coffee</a>" in html and "(25)" in html  # category with its active product count
    assert "Tea</a>" in html and "(3)" in html
    assert len(response.context["new_products"]) == 8
    assert "Retired Tea" not in html


def test_home_with_empty_catalog_explains_how_to_seed(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "manage.py seed_demo" in response.content.decode()


def test_product_list_is_paginated(client: Client, products: list[Product]) -> None:
    first = client.get("/products/")
    assert first.status_code == 200
    assert first.context["paginator"].count == 28  # 25 coffees + 3 active teas
    assert len(first.context["products"]) == 20
    html = first.content.decode()
    assert "28 products" in html and "Page 1 of 2" in html
    assert 'href="?page=2"' in html

    second = client.get("/products/?page=2")
    assert second.status_code == 200
    assert len(second.context["products"]) == 8
    assert "Page 2 of 2" in second.content.decode()

    assert client.get("/products/?page=3").status_code == 404


def test_product_list_filters_by_category_and_search(client: Client, products: list[Product]) -> None:
    response = client.get("/products/", {"category": "tea"})
    assert response.status_code == 200
    assert [p.slug for p in response.context["products"]] == ["tea-1", "tea-2", "tea-3"]
    assert "<h1>Tea</h1>" in response.content.decode()

    response = client.get("/products/", {"q": "coffee 07"})
    assert [p.slug for p in response.context["products"]] == ["coffee-07"]


def test_product_detail_shows_published_reviews_and_form(client: Client, products: list[Product]) -> None:
    response = client.get("/products/coffee-01/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Coffee 01</h1>" in html
    assert "$11.00" in html
    assert "4.5 / 5 from 2" in html
    assert "Superb" in html and "Good" in html
    assert "Hidden" not in html  # unpublished review
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'action="/products/coffee-01/reviews/"' in html


@pytest.mark.parametrize("slug", ["retired-tea", "no-such-product"])
def test_unknown_or_inactive_product_is_404(client: Client, products: list[Product], slug: str) -> None:
    assert client.get(f"/products/{slug}/").status_code == 404


def test_posting_a_review_publishes_it_with_a_message(client: Client, products: list[Product]) -> None:
    data = {"author_name": "Robin", "rating": "5", "title": "Best beans in town", "body": "Chocolatey."}
    response = client.post("/products/coffee-02/reviews/", data, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [("/products/coffee-02/", 302)]
    html = response.content.decode()
    assert "Thanks, your review is published." in html
    assert "Best beans in town" in html
    review = Review.objects.get(title="Best beans in town")
    assert (review.product.slug, review.rating, review.author_name) == ("coffee-02", 5, "Robin")


def test_invalid_review_rerenders_the_form_with_errors(client: Client, products: list[Product]) -> None:
    response = client.post("/products/coffee-02/reviews/", {"author_name": "", "rating": "9", "title": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html
    assert "Select a valid choice." in html
    assert not Review.objects.filter(product__slug="coffee-02").exists()


def test_review_form_rejects_get(client: Client, products: list[Product]) -> None:
    assert client.get("/products/coffee-02/reviews/").status_code == 405


def test_static_files_are_served_by_whitenoise_without_collectstatic(client: Client) -> None:
    response = client.get("/static/shop/site.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"--accent" in b"".join(response.streaming_content)
