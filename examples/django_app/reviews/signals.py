from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from catalog.cache import bump_generation
from reviews.models import Review


@receiver([post_save, post_delete], sender=Review, dispatch_uid="reviews-review-changed")
def review_changed(sender: type, **kwargs: Any) -> None:
    bump_generation()
