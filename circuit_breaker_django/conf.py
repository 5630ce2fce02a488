"""The app's settings: one ``CIRCUIT_BREAKERS`` dict over defaults, read through ``get_config``.

Reading never raises: ``checks.py`` validates the values and reports problems in
``manage.py check``; building the registry raises ``ImproperlyConfigured`` for them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings

SETTING = "CIRCUIT_BREAKERS"
DEFAULTS: dict[str, Any] = {
    "CONFIG": [],  # YAML files; later ones override earlier ones
    "STORE": "django",  # "django" | "memory" | "redis://..."
    "DATABASE": "default",  # database alias of the django store
    "DATABASE_TIMEOUT": 2.0,  # seconds any one access to the breakers' tables may take
    "HEALTH_DETAIL": "staff",  # "public" | "staff" | "token"
    "HEALTH_TOKEN": None,
    "SYNC_INTERVAL": 1.0,  # seconds a process trusts its view of a shared store
    "FLUSH_INTERVAL": 0.25,  # seconds between two sends of a process's rate-rule counts
    "METRICS": False,  # export Prometheus metrics for every breaker
}
HEALTH_DETAILS = ("public", "staff", "token")
STORE_NAMES = ("django", "memory")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclass(frozen=True)
class AppSettings:
    """``CIRCUIT_BREAKERS`` with the defaults filled in; ``raw`` keeps what was given."""

    config: tuple[Path, ...]
    store: Any
    database: Any
    database_timeout: Any
    health_detail: Any
    health_token: Any
    sync_interval: Any
    flush_interval: Any
    metrics: Any
    raw: Mapping[str, Any]


def _paths(value: Any) -> tuple[Path, ...]:
    if isinstance(value, str | os.PathLike):
        value = [value]
    if not isinstance(value, list | tuple):
        return ()
    return tuple(Path(item) for item in value if isinstance(item, str | os.PathLike))


@cache
def get_config() -> AppSettings:
    """The current settings; refreshed when a test changes ``CIRCUIT_BREAKERS``."""
    given = getattr(settings, SETTING, None)
    raw: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    merged = {**DEFAULTS, **raw}
    return AppSettings(
        config=_paths(merged["CONFIG"]),
        store=merged["STORE"],
        database=merged["DATABASE"],
        database_timeout=merged["DATABASE_TIMEOUT"],
        health_detail=merged["HEALTH_DETAIL"],
        health_token=merged["HEALTH_TOKEN"],
        sync_interval=merged["SYNC_INTERVAL"],
        flush_interval=merged["FLUSH_INTERVAL"],
        metrics=merged["METRICS"],
        raw=raw,
    )


def setting_is_mapping() -> bool:
    return isinstance(getattr(settings, SETTING, {}), Mapping)
