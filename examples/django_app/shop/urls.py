"""URLs: storefront pages at /, the REST API at /api/, the admin at /admin/, /healthz for warm-up."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from rest_framework.routers import DefaultRouter

from catalog.urls import api_router as catalog_api
from orders.urls import api_router as orders_api
from reviews.urls import api_router as reviews_api
from shop import views

api_router = DefaultRouter()
for app_router in (catalog_api, orders_api, reviews_api):
    api_router.registry.extend(app_router.registry)

urlpatterns = [
    re_path(r"^healthz/?$", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include((api_router.urls, "api"))),
    path("api-auth/", include("rest_framework.urls")),
    path("", include("reviews.urls")),
    path("", include("catalog.urls")),
]
