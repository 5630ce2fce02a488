"""App configuration, and building the registry the settings describe (on first use)."""

from __future__ import annotations

import logging
import math
from typing import Any

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from circuit_breaker.config.redis_urls import redis_url_problem, without_password
from circuit_breaker.registry import BreakerRegistry
from circuit_breaker.stores import BreakerStore, build_store, register_store_backend
from circuit_breaker_django.conf import REDIS_SCHEMES, SETTING, AppSettings, get_config

logger = logging.getLogger("circuit_breaker")


class CircuitBreakerConfig(AppConfig):
    name = "circuit_breaker_django"
    verbose_name = "Circuit breakers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from circuit_breaker_django import checks  # noqa: F401  (registers the checks)

        register_store_backend("django", "circuit_breaker_django.store:from_options")

        setting_changed.connect(_settings_changed, dispatch_uid="circuit_breaker_django")


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    """``override_settings(CIRCUIT_BREAKERS=...)``: new settings, rebuilt on next use."""
    if setting == SETTING:
        from circuit_breaker_django import registry

        get_config.cache_clear()
        registry.settings_changed()


def store_problems(config: AppSettings) -> list[str]:
    """Every reason ``STORE`` / ``SYNC_INTERVAL`` / ``DATABASE`` cannot build a store."""
    from django.db import connections

    problems: list[str] = []
    store = config.store
    interval = config.sync_interval
    is_redis = isinstance(store, str) and store.startswith(REDIS_SCHEMES)
    if (
        isinstance(interval, bool)
        or not isinstance(interval, int | float)
        or not math.isfinite(interval)
        or interval < 0
    ):
        problems.append(f"SYNC_INTERVAL must be a number of seconds >= 0, got {interval!r}")
    elif is_redis and interval == 0:
        problems.append("SYNC_INTERVAL must be greater than 0 with a Redis STORE, got 0")
    if not isinstance(store, str):
        problems.append(f"STORE must be a string, got {store!r}")
    elif store == "django":
        if config.database not in connections:
            known = ", ".join(connections)
            problems.append(
                f"DATABASE {config.database!r} is not in DATABASES (aliases: {known})"
            )
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
    interval = float(config.sync_interval)
    if store == "django":
        from circuit_breaker_django.store import DjangoStore

        return DjangoStore(using=config.database, sync_interval=interval)
    if store == "memory":
        return build_store("memory", {})
    return build_store("redis", {"url": store, "sync_interval": interval})


def build_registry() -> BreakerRegistry:
    """The registry of ``CIRCUIT_BREAKERS``: its YAML files, its store, transitions recorded.

    Raises ConfigError for bad YAML and ImproperlyConfigured for bad settings (both are
    reported by ``manage.py check`` first).
    """
    from circuit_breaker_django.actions import record_transition

    config = get_config()
    store = build_store_from_settings(config)
    listeners = [record_transition]
    if config.config:
        registry = BreakerRegistry.from_files(*config.config, store=store, listeners=listeners)
    else:
        logger.warning("%s['CONFIG'] names no YAML file: the registry is empty", SETTING)
        registry = BreakerRegistry.from_dict({"version": 1}, store=store, listeners=listeners)
    if config.metrics:
        _export_metrics(registry)
    return registry


_metrics_exported = False


def _export_metrics(registry: BreakerRegistry) -> None:
    """Count calls on ``registry``'s breakers; register one collector per process.

    The collector reads the app's registry proxy, so a rebuilt registry is exported too.
    """
    global _metrics_exported
    for breaker in registry:
        breaker.enable_call_counting()
    if _metrics_exported:
        return
    from prometheus_client import REGISTRY

    from circuit_breaker.metrics import BreakerCollector
    from circuit_breaker_django import registry as proxy

    REGISTRY.register(BreakerCollector(proxy))
    _metrics_exported = True
