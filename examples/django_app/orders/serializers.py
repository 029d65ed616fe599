from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from django.db import router, transaction
from django.db.models import F
from rest_framework import serializers

from catalog.cache import bump_generation
from catalog.models import Product
from orders.models import Order, OrderItem


class OrderItemSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="slug", queryset=Product.objects.available())
    quantity = serializers.IntegerField(min_value=1, max_value=100)
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)

    class Meta:
        model = OrderItem
        fields = ["product", "quantity", "unit_price"]


class OrderSerializer(serializers.ModelSerializer):
    items = OrderItemSerializer(many=True)

    class Meta:
        model = Order
        fields = ["reference", "email", "status", "total", "items", "created_at"]
        read_only_fields = ["reference", "status", "total", "created_at"]

    def validate_items(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not items:
            raise serializers.ValidationError("An order needs at least one item.")
        counts = Counter(item["product"].pk for item in items)
        if any(n > 1 for n in counts.values()):
            raise serializers.ValidationError("List each product once; use quantity for more.")
        return items

    def create(self, validated_data: dict[str, Any]) -> Order:
        items = validated_data.pop("items")
        request = self.context.get("request")
        user = request.user if request is not None and request.user.is_authenticated else None
        primary = router.db_for_write(Order)
        with transaction.atomic(using=primary):
            # Re-read on the primary under a row lock: the replica may lag and stock must not go negative.
            wanted = {item["product"].pk: item["quantity"] for item in items}
            products = Product.objects.using(primary).select_for_update().in_bulk(list(wanted))
            short = [p.slug for pk, p in products.items() if p.stock < wanted[pk]]
            if short:
                raise serializers.ValidationError({"items": [f"Not enough stock for: {', '.join(sorted(short))}."]})
            order = Order.objects.using(primary).create(user=user, **validated_data)
            OrderItem.objects.using(primary).bulk_create(
                [OrderItem(order=order, product=products[pk], quantity=qty, unit_price=products[pk].price)
                 for pk, qty in wanted.items()]
            )
            for pk, qty in wanted.items():
                Product.objects.using(primary).filter(pk=pk).update(stock=F("stock") - qty)
            order.total = sum((products[pk].price * qty for pk, qty in wanted.items()), Decimal("0.00"))
            order.save(update_fields=["total"])
            # Stock changed through update(), which sends no post_save: drop cached product lists.
            transaction.on_commit(bump_generation, using=primary)
        return order
