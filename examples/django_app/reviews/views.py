"""Reviews: a JSON API and the product page's HTML form."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from rest_framework import mixins, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.serializers import BaseSerializer

from catalog.api import products_with_ratings
from catalog.models import Product
from reviews.forms import ReviewForm
from reviews.models import Review
from reviews.serializers import ReviewSerializer


class ReviewViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Published reviews, newest first; ``?product=<slug>`` narrows to one product."""

    serializer_class = ReviewSerializer
    permission_classes = [AllowAny]
    ordering_fields = ["created_at", "rating"]

    def get_queryset(self) -> QuerySet[Review]:
        queryset = Review.objects.filter(is_published=True).select_related("product")
        product = self.request.query_params.get("product")
        if product:
            queryset = queryset.filter(product__slug=product)
        return queryset

    def perform_create(self, serializer: BaseSerializer[Review]) -> None:
        user = self.request.user if self.request.user.is_authenticated else None
        serializer.save(user=user)


@require_POST
def submit_review(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_object_or_404(Product.objects.available(), slug=slug)
    form = ReviewForm(request.POST)
    if form.is_valid():
        review = form.save(commit=False)
        review.product = product
        review.user = request.user if request.user.is_authenticated else None
        review.save()
        messages.success(request, "Thanks, your review is published.")
        return redirect(product)
    # Re-render the product page with the errors (status 400 so clients notice).
    annotated = get_object_or_404(products_with_ratings(), pk=product.pk)
    context = {
        "product": annotated,
        "reviews": annotated.reviews.filter(is_published=True).order_by("-created_at")[:20],
        "review_form": form,
    }
    return render(request, "catalog/product_detail.html", context, status=400)
