"""Server-rendered storefront pages."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.generic import DetailView, ListView

from catalog.api import active_categories, products_with_ratings
from catalog.models import Category, Product

HOME_PRODUCTS = 8


def home(request: HttpRequest) -> HttpResponse:
    context = {
        "categories": active_categories(),
        "new_products": products_with_ratings().order_by("-created_at", "name")[:HOME_PRODUCTS],
    }
    return render(request, "catalog/home.html", context)


class ProductListView(ListView):
    template_name = "catalog/product_list.html"
    context_object_name = "products"
    paginate_by = 20

    def get_queryset(self) -> QuerySet[Product]:
        queryset = products_with_ratings()
        self.category = None
        slug = self.request.GET.get("category")
        if slug:
            self.category = Category.objects.filter(slug=slug, is_active=True).first()
            queryset = queryset.filter(category__slug=slug)
        query = self.request.GET.get("q", "").strip()
        if query:
            queryset = queryset.filter(Q(name__icontains=query) | Q(sku__iexact=query))
        return queryset

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            categories=active_categories(), category=self.category, query=self.request.GET.get("q", "")
        )
        return context


class ProductDetailView(DetailView):
    template_name = "catalog/product_detail.html"
    context_object_name = "product"

    def get_queryset(self) -> QuerySet[Product]:
        return products_with_ratings()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from reviews.forms import ReviewForm

        context = super().get_context_data(**kwargs)
        context["reviews"] = self.object.reviews.filter(is_published=True).order_by("-created_at")[:20]
        context.setdefault("review_form", ReviewForm())
        return context
