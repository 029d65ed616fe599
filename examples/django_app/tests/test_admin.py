"""The admin: login page for everyone, model pages for staff."""

from __future__ import annotations

import pytest
from django.test import Client

from catalog.models import Product
from orders.models import Order, OrderItem

pytestmark = pytest.mark.django_db


def test_admin_login_page_renders(client: Client) -> None:
    response = client.get("/admin/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Django administration" in html
    assert 'name="username"' in html and 'name="password"' in html
    assert "csrftoken" in response.cookies


def test_admin_requires_login(client: Client) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"


def test_staff_can_log_in_and_see_the_index(client: Client, admin_user: object) -> None:
    response = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": "password"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1] == ("/admin/", 302)
    html = response.content.decode()
    for section in ("Catalog", "Orders", "Reviews", "Products", "Categories"):
        assert section in html


def test_product_changelist_and_search(admin_client: Client, products: list[Product]) -> None:
    response = admin_client.get("/admin/catalog/product/", {"q": "COF-0007"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Coffee 07" in html and "Coffee 08" not in html
    assert "1 result" in html


def test_order_change_page_shows_items_inline(admin_client: Client, products: list[Product]) -> None:
    order = Order.objects.create(email="pat@example.com")
    OrderItem.objects.create(order=order, product=products[1], quantity=3, unit_price=products[1].price)
    response = admin_client.get(f"/admin/orders/order/{order.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "pat@example.com" in html
    assert 'name="items-0-quantity" value="3"' in html
