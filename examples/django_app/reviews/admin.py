from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from reviews.models import Review


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["title", "product", "rating", "author_name", "is_published", "created_at"]
    list_filter = ["is_published", "rating", "created_at"]
    list_select_related = ["product"]
    search_fields = ["title", "body", "author_name", "product__name"]
    autocomplete_fields = ["product"]
    raw_id_fields = ["user"]
    actions = ["publish", "unpublish"]

    @admin.action(description="Publish selected reviews")
    def publish(self, request: HttpRequest, queryset: QuerySet[Review]) -> None:
        self._set_published(queryset, True)

    @admin.action(description="Unpublish selected reviews")
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Review]) -> None:
        self._set_published(queryset, False)

    def _set_published(self, queryset: QuerySet[Review], value: bool) -> None:
        # update() sends no post_save: invalidate cached product lists (ratings) explicitly.
        from catalog.cache import bump_generation

        queryset.update(is_published=value)
        bump_generation()
