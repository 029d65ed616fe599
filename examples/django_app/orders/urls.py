from __future__ import annotations

from rest_framework.routers import SimpleRouter

from orders.views import OrderViewSet

#: Registered under /api/ by shop.urls.
api_router = SimpleRouter()
api_router.register("orders", OrderViewSet, basename="order")

urlpatterns = api_router.urls
