"""Settings for the shop example: a Django service deployed to AWS Lambda with Zappa.

Everything environment-specific comes from environment variables (see README.md); the
database and cache rules live in ``shop.config`` so they can be tested without reloading
this module. Paths derive from ``__file__``: Zappa runs the project from ``/var/task`` or,
with ``slim_handler``, from ``/tmp/<project>``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from shop.config import build_caches, build_databases, env_bool, env_int

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-shop-example-dev-key-change-me-in-production")
DEBUG = env_bool(os.environ, "DEBUG", False)
# API Gateway / Lambda function URLs in front: the Host header is not ours to pin down.
ALLOWED_HOSTS = ["*"]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
# API Gateway terminates TLS and says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Behind API Gateway every browser request is HTTPS; locally (runserver, tests) it is not.
ON_LAMBDA = "AWS_LAMBDA_FUNCTION_NAME" in os.environ
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = ON_LAMBDA

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "catalog",
    "orders",
    "reviews",
]

MIDDLEWARE = [
    # Runs migrations (SHOP_AUTO_MIGRATE=1) while the middleware chain is built, i.e. during
    # app load, then removes itself from the chain.
    "shop.bootstrap.AutoMigrateMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = build_databases(os.environ, BASE_DIR)
DATABASE_ROUTERS = ["shop.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = build_caches(os.environ)
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Relative STATIC_URL: Django prefixes SCRIPT_NAME, i.e. the API Gateway stage (/dev/static/...).
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Not the Manifest variant: {% static %} works without running collectstatic first.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the app/static dirs when collectstatic has not been run (the default
# deploy); with a collected STATIC_ROOT those files are served from there as well.
WHITENOISE_USE_FINDERS = True
# Without collectstatic there is no STATIC_ROOT; that is expected, not worth a warning per start.
warnings.filterwarnings("ignore", message=r"No directory at: .*staticfiles", category=UserWarning)

REST_FRAMEWORK = {
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_FILTER_BACKENDS": ["rest_framework.filters.SearchFilter", "rest_framework.filters.OrderingFilter"],
}

#: Seconds a product list API response stays cached (invalidated early when the catalog changes).
SHOP_API_CACHE_SECONDS = env_int(os.environ, "SHOP_API_CACHE_SECONDS", 60)
#: Migrate and seed demo data at app load (for the SQLite-in-/tmp demo and benchmark).
SHOP_AUTO_MIGRATE = env_bool(os.environ, "SHOP_AUTO_MIGRATE", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "[%(name)s] %(levelname)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "shop": {"handlers": ["console"], "level": os.environ.get("SHOP_LOG_LEVEL", "INFO"), "propagate": False},
    },
}
