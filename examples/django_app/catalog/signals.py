"""Drop cached catalog responses when products, categories or reviews change."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from catalog.cache import bump_generation
from catalog.models import Category, Product


@receiver([post_save, post_delete], sender=Product, dispatch_uid="catalog-product-changed")
@receiver([post_save, post_delete], sender=Category, dispatch_uid="catalog-category-changed")
def catalog_changed(sender: type, **kwargs: Any) -> None:
    bump_generation()
