"""Fixtures for the Django app tests: registries installed in the app, stores, services."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from typing import Any

import pytest
from django.db import connection

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


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


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


def trip(name: str) -> None:
    """Open ``name`` the way production does: ``failure_threshold`` failed calls."""
    breaker = registry.get(name)
    for _ in range(breaker.failure_threshold):
        with suppress(ConnectionError):
            breaker.call(refuse)


def refuse() -> None:
    raise ConnectionError("connection refused by 10.0.0.7:5432 user=shop password=hunter2")
