from __future__ import annotations

from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reviews"
    verbose_name = "Reviews"

    def ready(self) -> None:
        # Ratings appear in cached product lists: connect the invalidation receivers.
        from reviews import signals  # noqa: F401
