"""Fixtures for the admin tests: a registry of five breakers on the memory store, users."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from itertools import count
from typing import Any

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Permission
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from circuit_breaker.registry import BreakerRegistry
from circuit_breaker.stores import BreakerStore
from circuit_breaker_django import database, registry
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
_usernames = count(1)


@pytest.fixture(autouse=True)
def admin_settings(settings: Settings) -> None:
    settings.ROOT_URLCONF = "tests.django_admin.urls"
    # Test users need no costly password hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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


INSTALLED: list[BreakerRegistry] = []  # closed after each test: their stores' threads too


@pytest.fixture(autouse=True)
def breakers(transactional_db: None) -> Iterator[None]:
    """A fresh registry for each test, its rows in the table.

    The rows are created (here and by the list view) on the app's own connection, which
    commits: every admin test is transactional, or the rows would outlive the test and the
    test's open transaction would hide its rows from that connection.
    """
    install_registry()
    yield
    registry.configure(None)
    while INSTALLED:
        INSTALLED.pop().store.close()
    database.close_all()


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


@pytest.fixture
def client_for(transactional_db: None) -> Callable[..., Client]:
    """``client_for("view_breaker", ...)``: a logged-in staff user with exactly those perms."""

    def make(*codenames: str) -> Client:
        user: AbstractBaseUser = get_user_model().objects.create_user(
            username=f"operator{next(_usernames)}", password="unused", is_staff=True
        )
        permissions = Permission.objects.filter(
            content_type__app_label="circuit_breaker_django", codename__in=codenames
        )
        assert sorted(p.codename for p in permissions) == sorted(codenames)
        user.user_permissions.set(permissions)
        client = Client()
        client.force_login(user)
        return client

    return make
