"""Helpers for the Django app tests: which database runs them, tripping a breaker."""

from __future__ import annotations

from contextlib import suppress

from django.db import connection

from circuit_breaker_django import registry


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def trip(name: str) -> None:
    """Open ``name`` the way production does: ``failure_threshold`` failed calls."""
    breaker = registry.get(name)
    for _ in range(breaker.failure_threshold):
        with suppress(ConnectionError):
            breaker.call(refuse)


def refuse() -> None:
    raise ConnectionError("connection refused by 10.0.0.7:5432 user=shop password=hunter2")
