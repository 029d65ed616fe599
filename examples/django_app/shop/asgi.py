"""ASGI entry point (uvicorn/daphne); the same bootstrap hook runs when the handler loads middleware."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

application = get_asgi_application()
