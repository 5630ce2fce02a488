"""Building what the settings describe: the store, the registry, the breakers' rows.

Imported lazily (by the registry proxy on first use, by the checks, by the app's
signal handlers), so that importing the app never reads settings or a database.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from circuit_breaker.config import load_config
from circuit_breaker.config.redis_urls import redis_url_problem, without_password
from circuit_breaker.errors import ConfigError
from circuit_breaker.metrics import BreakerSource
from circuit_breaker.registry import BreakerRegistry
from circuit_breaker.stores import BreakerStore, build_store
from circuit_breaker_django.actions import record_transition
from circuit_breaker_django.conf import REDIS_SCHEMES, SETTING, AppSettings, get_config
from circuit_breaker_django.models import sync_breaker_rows

logger = logging.getLogger("circuit_breaker")


def rows_after_migrate(*, plan: Any = None, **kwargs: Any) -> None:
    """After ``migrate``: a row for every breaker the YAML declares (read without building
    a store), so the admin lists them before any request builds the registry. (``flush``
    sends the same signal, without a ``plan``: an emptied table stays empty.)"""
    paths = get_config().config
    if plan is None or not paths:
        return
    try:
        names = list(load_config(*paths).breakers)
    except ConfigError:
        return  # manage.py check reports it (E001)
    ensure_rows(names)


def ensure_rows(names: list[str]) -> None:
    """Rows for ``names``; a database that cannot be reached is only logged (the next
    (re)load or migrate tries again)."""
    try:
        sync_breaker_rows(names)
    except DatabaseError as exc:
        logger.warning("circuit breaker rows could not be created: %s", exc)


def store_problems(config: AppSettings) -> list[str]:
    """Every reason ``STORE`` / ``SYNC_INTERVAL`` / ``DATABASE`` cannot build a store."""
    from django.db import connections

    problems: list[str] = []
    store = config.store
    is_redis = isinstance(store, str) and store.startswith(REDIS_SCHEMES)
    for setting, value in (
        ("SYNC_INTERVAL", config.sync_interval),
        ("FLUSH_INTERVAL", config.flush_interval),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not value > 0
        ):
            problems.append(f"{setting} must be a number of seconds > 0, got {value!r}")
    if not isinstance(store, str):
        problems.append(f"STORE must be a string, got {store!r}")
    elif store == "django":
        if config.database not in connections:
            known = ", ".join(connections)
            problems.append(f"DATABASE {config.database!r} is not in DATABASES (aliases: {known})")
    elif is_redis:
        problem = redis_url_problem(store)
        if problem is not None:
            problems.append(f"STORE {without_password(store)!r}: {problem}")
    elif store != "memory":
        problems.append(
            f"STORE must be 'django', 'memory' or a Redis URL (redis://..., rediss://..., "
            f"unix://...), got {without_password(store)!r}"
        )
    return problems


def build_store_from_settings(config: AppSettings) -> BreakerStore:
    problems = store_problems(config)
    if problems:
        raise ImproperlyConfigured(f"{SETTING}: {'; '.join(problems)}")
    store: str = config.store
    sync_interval, flush_interval = float(config.sync_interval), float(config.flush_interval)
    if store == "django":
        from circuit_breaker_django.store import DjangoStore

        return DjangoStore(
            using=config.database,
            timeout=config.database_timeout,
            sync_interval=sync_interval,
            flush_interval=flush_interval,
        )
    if store == "memory":
        return build_store("memory", {})
    options = {"url": store, "sync_interval": sync_interval, "flush_interval": flush_interval}
    return build_store("redis", options)


def build_registry(proxy: BreakerSource) -> BreakerRegistry:
    """The registry of ``CIRCUIT_BREAKERS``: its YAML files, its store, transitions recorded,
    a row for each breaker. ``proxy`` (the app's lazy registry) is what metrics read, so a
    rebuilt registry is exported too.

    Raises ConfigError for bad YAML and ImproperlyConfigured for bad settings (both are
    reported by ``manage.py check`` first).
    """
    config = get_config()
    store = build_store_from_settings(config)
    listeners = [record_transition]
    if config.config:
        registry = BreakerRegistry.from_files(*config.config, store=store, listeners=listeners)
    else:
        logger.warning("%s['CONFIG'] names no YAML file: the registry is empty", SETTING)
        registry = BreakerRegistry.from_dict({"version": 1}, store=store, listeners=listeners)
    ensure_rows(registry.names())
    if config.metrics:
        _export_metrics(registry, proxy)
    return registry


_metrics_exported = False


def _export_metrics(registry: BreakerRegistry, proxy: BreakerSource) -> None:
    """Count calls on ``registry``'s breakers; register one collector per process."""
    global _metrics_exported
    for breaker in registry:
        breaker.enable_call_counting()
    if _metrics_exported:
        return
    from prometheus_client import REGISTRY

    from circuit_breaker.metrics import BreakerCollector

    REGISTRY.register(BreakerCollector(proxy))
    _metrics_exported = True
