"""Cached product-list API responses.

Keys carry a catalog "generation" number that every catalog change bumps, so a change is
visible at once (in this environment with LocMemCache, everywhere with Redis) instead of
after ``SHOP_API_CACHE_SECONDS``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.core.cache import cache

GENERATION_KEY = "catalog:generation"


def generation() -> int:
    return int(cache.get(GENERATION_KEY, 0))


def bump_generation() -> None:
    """Invalidate every cached list response."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # the key does not exist (yet, or any more)
        cache.set(GENERATION_KEY, generation() + 1, timeout=None)


def list_key(url: str) -> str:
    digest = hashlib.sha256(url.encode()).hexdigest()[:32]
    return f"catalog:products:{generation()}:{digest}"


def get_list(url: str) -> Any | None:
    return cache.get(list_key(url))


def set_list(url: str, data: Any) -> None:
    cache.set(list_key(url), data, timeout=settings.SHOP_API_CACHE_SECONDS)
