"""Django settings for the test suite: SQLite by default, PostgreSQL when DATABASE_URL is set.

``DATABASE_URL`` is ``postgres://USER[:PASSWORD]@HOST[:PORT]/NAME`` or
``sqlite:///ABSOLUTE/PATH`` (the fleet test's worker processes use the latter).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any
from urllib.parse import unquote, urlsplit


def database_from_url(url: str) -> dict[str, Any]:
    """A DATABASES entry from a URL, with no dependency beyond the standard library."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path) or ":memory:"}
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
        }
    raise ValueError(f"DATABASE_URL: unsupported scheme {parts.scheme!r} in {url!r}")


SECRET_KEY = "tests-only"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "circuit_breaker_django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.django_app.urls"
STATIC_URL = "/static/"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": database_from_url(os.environ.get("DATABASE_URL", "sqlite://")),
    # A database nobody listens on: the store-outage tests point a store here.
    "unreachable": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "nowhere",
        "HOST": "127.0.0.1",
        "PORT": "9",
        "OPTIONS": {"connect_timeout": 1},
    },
}
if (
    DATABASES["default"]["ENGINE"].endswith("sqlite3")
    and DATABASES["default"]["NAME"] == ":memory:"
):
    # A file, not shared-cache memory: SQLite's real locking (busy timeout, write lock)
    # is what the store's concurrency tests must meet. One file per run.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"circuit_breaker_tests_{os.getpid()}.sqlite3")
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test users
CIRCUIT_BREAKERS = {"CONFIG": [], "STORE": "memory"}
SILENCED_SYSTEM_CHECKS = ["circuit_breaker_django.W003"]  # tests install their own registry
