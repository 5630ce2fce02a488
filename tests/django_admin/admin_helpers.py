"""Helpers for the admin tests: the breakers the app serves, tripping them, admin URLs.

The fixtures in tests/django_admin/conftest.py use these: ``breakers`` installs a fresh
registry of :data:`BREAKERS` for each test and closes every registry
:func:`install_registry` made (:data:`INSTALLED`) after it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

from django.contrib.admin.utils import quote
from django.urls import reverse

from circuit_breaker.registry import BreakerRegistry
from circuit_breaker.stores import BreakerStore
from circuit_breaker_django import registry
from circuit_breaker_django.actions import record_transition
from circuit_breaker_django.models import Breaker, sync_breaker_rows

BREAKERS: dict[str, Any] = {
    "version": 1,
    "breakers": {
        "external_api": {"profile": "api"},
        "search_service": {"profile": "api"},
        "orders_db": {"profile": "db"},
        "inventory_db": {"profile": "db"},
        "payment_gateway": {"profile": "critical", "critical": True},
    },
    "store": {"backend": "memory"},
}
ALL_NAMES = list(BREAKERS["breakers"])

INSTALLED: list[BreakerRegistry] = []  # closed after each test: their stores' threads too


def install_registry(
    store: BreakerStore | None = None,
    clock: Callable[[], float] | None = None,
    config: dict[str, Any] = BREAKERS,
) -> BreakerRegistry:
    """Make the app use a fresh registry of ``config`` (memory store unless ``store``)."""
    built = BreakerRegistry.from_dict(
        config, store=store, clock=clock, listeners=[record_transition]
    )
    registry.configure(built)
    sync_breaker_rows(built.names())
    INSTALLED.append(built)
    return built


def trip(name: str) -> None:
    """Open ``name`` the way production does: ``failure_threshold`` failed calls."""
    breaker = registry.get(name)

    def refuse() -> None:
        raise ConnectionError("connection refused by upstream")

    for _ in range(breaker.failure_threshold):
        with suppress(ConnectionError):
            breaker.call(refuse)
    assert breaker.state.value == "open"


def observing_search_service() -> None:
    """search_service observes; open, it let 1,204 calls through that it would have rejected."""
    config = {**BREAKERS, "breakers": {**BREAKERS["breakers"]}}
    config["breakers"]["search_service"] = {"profile": "api", "mode": "observe"}
    install_registry(config=config)
    trip("search_service")
    breaker = registry.get("search_service")
    for _ in range(1204):
        breaker.call(lambda: None)


def change_url(name: str) -> str:
    pk = Breaker.objects.get(name=name).pk
    return reverse("admin:circuit_breaker_django_breaker_change", args=(quote(pk),))


def action_url(name: str, action: str) -> str:
    pk = Breaker.objects.get(name=name).pk
    return reverse(f"admin:circuit_breaker_django_breaker_{action}", args=(quote(pk),))
