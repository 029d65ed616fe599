from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from catalog import api, views

app_name = "catalog"

#: Registered under /api/ by shop.urls.
api_router = SimpleRouter()
api_router.register("categories", api.CategoryViewSet, basename="category")
api_router.register("products", api.ProductViewSet, basename="product")

urlpatterns = [
    path("", views.home, name="home"),
    path("products/", views.ProductListView.as_view(), name="product-list"),
    path("products/<slug:slug>/", views.ProductDetailView.as_view(), name="product-detail"),
]
