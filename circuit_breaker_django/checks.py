"""``manage.py check`` for the app's settings and breaker configuration.

| id | what |
|---|---|
| E001 | the YAML configuration has errors (the ConfigError text) |
| E002 | ``STORE`` (with ``DATABASE`` / ``SYNC_INTERVAL`` / ``FLUSH_INTERVAL``) cannot build
  a store: one message for each reason; a Redis URL, or a dict with the YAML ``store:``
  keys, checked by the Redis store's own option rules (without connecting) |
| E003 | ``HEALTH_DETAIL`` is not "public", "staff" or "token" |
| E004 | ``CIRCUIT_BREAKERS`` is not a dict, or has unknown keys |
| E005 | the django store's database is not PostgreSQL or SQLite |
| E006 | ``DATABASE_TIMEOUT`` (the bound on each access to the breakers' tables) is not a
  number of seconds > 0 |
| E007 | ``METRICS`` is on but prometheus_client (the ``prometheus`` extra) is not
  installed |
| W001 | ``HEALTH_DETAIL`` is "token" but ``HEALTH_TOKEN`` is empty |
| W002 | the alias ``Transition`` rows are written to has ``ATOMIC_REQUESTS``: the
  history of a transition made during a request that fails rolls back with it (the
  breaker state, on the store's own connection, does not) |
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.db import connections, router

from circuit_breaker.config import load_config
from circuit_breaker.errors import ConfigError, closest
from circuit_breaker_django.bootstrap import store_backend, store_problems
from circuit_breaker_django.conf import DEFAULTS, HEALTH_DETAILS, SETTING, get_config
from circuit_breaker_django.database import timeout_problem
from circuit_breaker_django.db_clock import CLOCK_SQL
from circuit_breaker_django.models import Transition

ID = "circuit_breaker_django"


@checks.register()
def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    given = getattr(settings, SETTING, {})
    if not isinstance(given, dict):
        return [checks.Error(f"{SETTING} must be a dict, got {given!r}", id=f"{ID}.E004")]
    for key in sorted(set(given) - set(DEFAULTS)):
        hint = closest(key, DEFAULTS)
        messages.append(
            checks.Error(
                f"{SETTING} has an unknown key {key!r}",
                hint=f"did you mean {hint!r}?" if hint else f"known keys: {', '.join(DEFAULTS)}",
                id=f"{ID}.E004",
            )
        )
    config = get_config()
    for problem in store_problems(config):
        messages.append(checks.Error(f"{SETTING}: {problem}", id=f"{ID}.E002"))
    if store_backend(config) == "django" and config.database in connections:
        messages += _database_checks(config.database)
    messages += _history_checks()
    # Checked whatever the store: the admin's row sync is bounded by it too.
    bad_timeout = timeout_problem(config.database_timeout)
    if bad_timeout is not None:
        messages.append(checks.Error(f"{SETTING}: {bad_timeout}", id=f"{ID}.E006"))
    if config.metrics and importlib.util.find_spec("prometheus_client") is None:
        messages.append(
            checks.Error(
                f"{SETTING}['METRICS'] is on but prometheus_client is not installed",
                hint="install this package's `prometheus` extra, or prometheus_client",
                id=f"{ID}.E007",
            )
        )
    if config.health_detail not in HEALTH_DETAILS:
        messages.append(
            checks.Error(
                f"{SETTING}['HEALTH_DETAIL'] must be one of {', '.join(HEALTH_DETAILS)}, "
                f"got {config.health_detail!r}",
                id=f"{ID}.E003",
            )
        )
    elif config.health_detail == "token" and not config.health_token:
        messages.append(
            checks.Warning(
                f"{SETTING}['HEALTH_DETAIL'] is 'token' but HEALTH_TOKEN is empty: "
                "only staff users will see breaker details",
                hint="set HEALTH_TOKEN, e.g. from an environment variable",
                id=f"{ID}.W001",
            )
        )
    return messages


def _database_checks(alias: str) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    connection = connections[alias]
    if connection.vendor not in CLOCK_SQL:
        messages.append(
            checks.Error(
                f"the django circuit-breaker store supports {', '.join(sorted(CLOCK_SQL))}; "
                f"database {alias!r} is {connection.vendor}",
                hint="use STORE 'redis://...' or 'memory'",
                id=f"{ID}.E005",
            )
        )
    return messages


def _history_checks() -> list[checks.CheckMessage]:
    alias = router.db_for_write(Transition)
    if alias not in connections or not connections[alias].settings_dict.get("ATOMIC_REQUESTS"):
        return []
    return [
        checks.Warning(
            f"database {alias!r}, where transitions are recorded, has ATOMIC_REQUESTS: the "
            "history of a state change made during a request that fails is rolled back with "
            "the request (the state change itself stays)",
            hint="add a second alias of the same database without ATOMIC_REQUESTS and a "
            "database router whose db_for_write sends the circuit_breaker_django models to it",
            id=f"{ID}.W002",
        )
    ]


@checks.register()
def check_breaker_config(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """The YAML files, validated without building a registry or a store."""
    paths = get_config().config
    if not paths:
        return [
            checks.Warning(
                f"{SETTING}['CONFIG'] names no YAML file: the registry has no breakers",
                id=f"{ID}.W003",
            )
        ]
    try:
        load_config(*paths)
    except ConfigError as exc:
        return [checks.Error(str(exc), id=f"{ID}.E001")]
    return []
