"""WSGI entry point (``manage.py runserver``, gunicorn, or Zappa with ``app_function``).

Zappa's default Django path (``django_settings``) calls ``get_wsgi_application()`` itself; the
``SHOP_AUTO_MIGRATE`` bootstrap therefore hooks into middleware loading (see
``shop.bootstrap``) so it runs in both cases, once, while the application is built.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

application = get_wsgi_application()
