"""Read-only catalog API; product lists are cached (see ``catalog.cache``)."""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from rest_framework import viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import cache as catalog_cache
from catalog.models import Category, Product
from catalog.serializers import CategorySerializer, ProductDetailSerializer, ProductSerializer

CACHE_HEADER = "X-Cache"


def products_with_ratings() -> QuerySet[Product]:
    published = Q(reviews__is_published=True)
    return (
        Product.objects.available()
        .select_related("category")
        .annotate(rating=Avg("reviews__rating", filter=published), review_count=Count("reviews", filter=published))
        .order_by("name", "pk")  # aggregation drops Meta.ordering; pagination needs a stable order
    )


def active_categories() -> QuerySet[Category]:
    return (
        Category.objects.filter(is_active=True)
        .annotate(product_count=Count("products", filter=Q(products__is_active=True)))
        .order_by("name", "pk")
    )


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CategorySerializer
    permission_classes = [AllowAny]
    lookup_field = "slug"
    search_fields = ["name"]
    ordering_fields = ["name"]

    def get_queryset(self) -> QuerySet[Category]:
        return active_categories()


class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    """``?category=<slug>``, ``?search=``, ``?ordering=price|-price|name|-created_at``, ``?page=``."""

    permission_classes = [AllowAny]
    lookup_field = "slug"
    search_fields = ["name", "sku", "description"]
    ordering_fields = ["name", "price", "created_at"]

    def get_queryset(self) -> QuerySet[Product]:
        queryset = products_with_ratings()
        category = self.request.query_params.get("category")
        if category:
            queryset = queryset.filter(category__slug=category)
        return queryset

    def get_serializer_class(self) -> type[ProductSerializer]:
        return ProductDetailSerializer if self.action == "retrieve" else ProductSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Cache the serialized data, not the rendered bytes, so JSON and the browsable API share it.
        # Keyed by the absolute URL: the data holds absolute links (item urls, next/previous pages).
        url = request.build_absolute_uri()
        cached = catalog_cache.get_list(url)
        if cached is not None:
            return Response(cached, headers={CACHE_HEADER: "HIT"})
        response = super().list(request, *args, **kwargs)
        if response.status_code == 200:
            catalog_cache.set_list(url, response.data)
        response[CACHE_HEADER] = "MISS"
        return response
