from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from reviews import views

app_name = "reviews"

#: Registered under /api/ by shop.urls.
api_router = SimpleRouter()
api_router.register("reviews", views.ReviewViewSet, basename="review")

urlpatterns = [
    path("products/<slug:slug>/reviews/", views.submit_review, name="submit"),
]
