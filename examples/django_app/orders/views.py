"""Checkout is open to anyone; browsing orders is for staff."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import mixins, viewsets
from rest_framework.permissions import AllowAny, BasePermission, IsAdminUser

from orders.models import Order
from orders.serializers import OrderSerializer


class OrderViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                   viewsets.GenericViewSet):
    serializer_class = OrderSerializer
    lookup_field = "reference"
    ordering_fields = ["created_at", "total"]
    search_fields = ["email"]

    def get_queryset(self) -> QuerySet[Order]:
        return Order.objects.prefetch_related("items__product")

    def get_permissions(self) -> list[BasePermission]:
        return [AllowAny()] if self.action == "create" else [IsAdminUser()]
