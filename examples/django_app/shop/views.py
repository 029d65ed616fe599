"""``/healthz``: the request zappa-eager's ``eager_init_warmup`` sends during INIT.

It touches what a first real request would otherwise pay for: the URL resolver, a database
connection per alias (``SELECT 1``, so it also works before migrations are applied), the
cache and the compiled page templates. Returns 503 with the failing check if any fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.core.cache import cache, caches
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.template.loader import get_template
from django.urls import get_resolver, reverse
from django.views.decorators.cache import never_cache

#: Page templates compiled (and kept by the cached template loader) during the check.
WARM_TEMPLATES = ("base.html", "catalog/home.html", "catalog/product_list.html", "catalog/product_detail.html")


def _check_urls() -> str:
    get_resolver().reverse_dict  # noqa: B018 - builds the reverse lookup tables for every include
    return reverse("catalog:home")


def _check_databases() -> dict[str, str]:
    vendors = {}
    for alias in connections:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        vendors[alias] = connections[alias].vendor
    return vendors


def _check_cache() -> str:
    token = str(time.time_ns())
    cache.set("healthz", token, timeout=30)
    if cache.get("healthz") != token:
        raise RuntimeError("cache read-back mismatch")
    return type(caches["default"]).__name__


def _check_templates() -> int:
    for name in WARM_TEMPLATES:
        get_template(name)
    return len(WARM_TEMPLATES)


CHECKS: dict[str, Callable[[], object]] = {
    "urls": _check_urls,
    "database": _check_databases,
    "cache": _check_cache,
    "templates": _check_templates,
}


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    results: dict[str, object] = {}
    timings: dict[str, float] = {}
    failed: dict[str, str] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            results[name] = check()
        except Exception as exc:
            failed[name] = f"{type(exc).__name__}: {exc}"
        timings[name] = round((time.perf_counter() - started) * 1000.0, 2)
    body: dict[str, object] = {"status": "error" if failed else "ok", "checks": results, "ms": timings}
    if failed:
        body["errors"] = failed
    return JsonResponse(body, status=503 if failed else 200)
