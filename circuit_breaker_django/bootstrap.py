"""Building what the settings describe: the store, the registry, the breakers' rows.

Imported lazily (by the registry proxy on first use, by the checks, by the app's
signal handlers), so that importing the app never reads settings or a database.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from circuit_breaker.config import config_from_dict, load_config
from circuit_breaker.errors import ConfigError
from circuit_breaker.registry import BreakerRegistry
from circuit_breaker.stores import BreakerStore, build_store
from circuit_breaker.stores.redis.options import (
    OptionProblem,
    missing_driver,
    option_problems,
    redact,
)
from circuit_breaker_django.actions import record_transition
from circuit_breaker_django.conf import (
    REDIS_SCHEMES,
    SETTING,
    STORE_NAMES,
    AppSettings,
    get_config,
)
from circuit_breaker_django.models import sync_breaker_rows

if TYPE_CHECKING:  # the metrics module needs prometheus_client, an optional extra
    from circuit_breaker.metrics import BreakerSource

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
    """Every reason ``STORE`` / ``SYNC_INTERVAL`` / ``DATABASE`` cannot build a store.

    ``STORE`` is a name (``"django"``, ``"memory"``), a Redis URL, or a dict with the keys
    of the YAML ``store:`` section, checked by the same rules (each problem names its key,
    as ``STORE.sentinels[1]``).
    """
    from django.db import connections

    store = config.store
    problems: list[str] = []
    if isinstance(store, Mapping):
        backend, spec_problems = _store_spec(config)
        problems += spec_problems
    else:
        backend = _backend_named(store)
        problems += _interval_problems(config, {})
        if not isinstance(store, str):
            problems.append(f"STORE must be a string or a dict, got {store!r}")
        elif backend == "redis":
            problems += [
                f"STORE {redact(store)!r}: {problem.message}"
                for problem in _redis_problems({"url": store})
            ]
        elif backend is None:
            problems.append(
                f"STORE must be 'django', 'memory' or a Redis URL (redis://..., rediss://..., "
                f"unix://...), or a dict with the keys of the YAML store section, "
                f"got {redact(store)!r}"
            )
    if backend == "django" and config.database not in connections:
        known = ", ".join(connections)
        problems.append(f"DATABASE {config.database!r} is not in DATABASES (aliases: {known})")
    return problems


def store_backend(config: AppSettings) -> str | None:
    """The backend ``STORE`` names (None when it names none)."""
    if isinstance(config.store, Mapping):
        backend = config.store.get("backend")
        return backend if isinstance(backend, str) else None
    return _backend_named(config.store)


def _backend_named(store: Any) -> str | None:
    if store in STORE_NAMES:
        return str(store)
    if isinstance(store, str) and store.startswith(REDIS_SCHEMES):
        return "redis"
    return None


def _interval_problems(config: AppSettings, given_in_store: Mapping[str, Any]) -> list[str]:
    """SYNC_INTERVAL and FLUSH_INTERVAL, unless ``STORE`` (a dict) gives its own."""
    problems = []
    for setting, value in (
        ("SYNC_INTERVAL", config.sync_interval),
        ("FLUSH_INTERVAL", config.flush_interval),
    ):
        if setting.lower() in given_in_store:
            if setting in config.raw:
                name = setting.lower().replace("_", " ")
                problems.append(f"give the {name} once: STORE[{setting.lower()!r}] or {setting}")
        elif (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not value > 0
        ):
            problems.append(f"{setting} must be a number of seconds > 0, got {value!r}")
    return problems


def _redis_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    missing = missing_driver()
    return [OptionProblem(("backend",), missing)] if missing else option_problems(options)


def _store_spec(config: AppSettings) -> tuple[str | None, list[str]]:
    """A ``STORE`` dict read as the YAML ``store:`` section: its backend, its problems."""
    store: Mapping[str, Any] = config.store
    backend = store_backend(config)
    problems = _interval_problems(config, store)
    try:
        config_from_dict({"store": dict(store)})
    except ConfigError as exc:
        for problem in exc.problems:
            where = "STORE" + (problem.path or "store").removeprefix("store")
            problems.append(f"{where}: {problem.message}")
    return backend, problems


def _store_options(config: AppSettings) -> tuple[str, dict[str, Any]]:
    """The backend and options of a valid ``STORE``, as ``build_store`` takes them."""
    store = config.store
    intervals = {
        "sync_interval": float(config.sync_interval),
        "flush_interval": float(config.flush_interval),
    }
    if isinstance(store, Mapping):
        spec = config_from_dict({"store": dict(store)}).store
        assert spec is not None  # checked: a dict with a backend
        return spec.backend, {**intervals, **spec.options}
    if store in STORE_NAMES:
        return store, intervals
    return "redis", {"url": store, **intervals}


def build_store_from_settings(config: AppSettings) -> BreakerStore:
    problems = store_problems(config)
    if problems:
        raise ImproperlyConfigured(f"{SETTING}: {'; '.join(problems)}")
    backend, options = _store_options(config)
    if backend == "django":
        from circuit_breaker_django.store import DjangoStore

        return DjangoStore(
            using=config.database,
            sync_interval=options["sync_interval"],
            flush_interval=options["flush_interval"],
            timeout=config.database_timeout,
        )
    if backend == "memory":  # local: nothing to sync or flush
        return build_store("memory", {})
    return build_store(backend, options)


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
