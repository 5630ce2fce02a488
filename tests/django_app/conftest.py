"""Fixtures for the Django app tests: registries installed in the app, stores, services.

Helpers the tests import (``trip``, ``refuse``, ``on_postgres``) live in
tests/django_app/app_helpers.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from circuit_breaker.registry import BreakerRegistry
from circuit_breaker_django import database, registry
from circuit_breaker_django.actions import record_transition
from circuit_breaker_django.store import DjangoStore

BREAKERS: dict[str, Any] = {
    "version": 1,
    "breakers": {
        "external_api": {"profile": "api"},
        "orders_db": {"profile": "db"},
        "payment_gateway": {"profile": "critical", "critical": True},
    },
}


@pytest.fixture(autouse=True)
def close_store_connections() -> Iterator[None]:
    """The app's own connections end with each test (the test database is dropped later)."""
    yield
    database.close_all()


@pytest.fixture
def install() -> Iterator[Callable[..., BreakerRegistry]]:
    """``install(config, store=..., clock=...)``: a registry the app uses for this test."""

    built: list[BreakerRegistry] = []

    def make(
        config: Mapping[str, Any] = BREAKERS,
        *,
        store: Any = None,
        clock: Callable[[], float] | None = None,
    ) -> BreakerRegistry:
        made = BreakerRegistry.from_dict(
            config, store=store, clock=clock, listeners=[record_transition]
        )
        registry.configure(made)
        built.append(made)
        return made

    yield make
    registry.configure(None)
    for made in built:  # a store's background thread must not outlive its test
        made.store.close()


@pytest.fixture
def make_django_store() -> Iterator[Callable[..., DjangoStore]]:
    """``make_django_store(**options)``: stores closed after the test (their threads too)."""
    made: list[DjangoStore] = []

    def make(**options: Any) -> DjangoStore:
        store = DjangoStore(**options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def django_store(transactional_db: None) -> Iterator[DjangoStore]:
    store = DjangoStore(sync_interval=1.0)
    yield store
    store.close()
