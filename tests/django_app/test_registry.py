"""The app's registry: built lazily from settings, rebuilt when they change, transitions stored."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from circuit_breaker import MemoryStore
from circuit_breaker_django import actions, registry
from circuit_breaker_django.models import Breaker, Transition, sync_breaker_rows
from circuit_breaker_django.store import DjangoStore
from tests.django_app.conftest import trip

YAML = """\
version: 1
breakers:
  external_api: {profile: api}
  payment_gateway: {profile: critical, critical: true}
"""


@pytest.fixture
def configured(settings: Any, tmp_path: Path) -> Path:
    path = tmp_path / "breakers.yaml"
    path.write_text(YAML)
    settings.CIRCUIT_BREAKERS = {"CONFIG": [path], "STORE": "django", "SYNC_INTERVAL": 0.5}
    return path


def test_the_registry_is_built_on_first_use_from_settings(configured: Path, db: None) -> None:
    assert not registry.is_built
    assert registry.names() == ["external_api", "payment_gateway"]
    assert registry.is_built
    store = registry.get("external_api").store
    assert isinstance(store, DjangoStore) and store.sync_interval == 0.5
    assert registry.get("external_api") is registry["external_api"]
    assert "payment_gateway" in registry and len(registry) == 2


def test_changing_the_setting_rebuilds_the_registry(
    configured: Path, settings: Any, db: None
) -> None:
    assert isinstance(registry.get("external_api").store, DjangoStore)
    settings.CIRCUIT_BREAKERS = {**settings.CIRCUIT_BREAKERS, "STORE": "memory"}
    assert isinstance(registry.get("external_api").store, MemoryStore)


def test_automatic_transitions_are_stored(configured: Path, db: None) -> None:
    trip("external_api")
    row = Transition.objects.get()
    assert (row.breaker, row.from_state, row.to_state) == ("external_api", "closed", "open")
    assert (row.reason, row.origin, row.user, row.actor) == ("threshold", "local", None, None)
    assert row.consecutive_breaks == 1


def test_manual_actions_are_stored_with_the_user(configured: Path, db: None) -> None:
    user = get_user_model().objects.create_user("alice", password="x")
    breaker = registry.get("external_api")
    actions.force_open(breaker, user)
    actions.reset(breaker, user)
    actions.disable(breaker, actor="manage.py breakers")
    rows = list(Transition.objects.order_by("at", "pk"))
    assert [(r.to_state, r.origin, r.user, r.actor) for r in rows] == [
        ("forced_open", "manual", user, "alice"),
        ("closed", "manual", user, "alice"),
        ("disabled", "manual", None, "manage.py breakers"),
    ]
    assert registry.get("external_api").state.value == "disabled"


def test_a_failing_transition_write_never_breaks_the_call(
    configured: Path,
    settings: Any,
    django_db_blocker: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.CIRCUIT_BREAKERS = {**settings.CIRCUIT_BREAKERS, "STORE": "memory"}
    settings.DATABASE_ROUTERS = ["tests.django_app.routers.TransitionsNowhere"]
    with django_db_blocker.unblock():
        trip("external_api")  # the transition row goes to a database nobody listens on
    assert registry.get("external_api").state.value == "open"
    assert any("could not store" in r.getMessage() for r in caplog.records)


def test_sync_breaker_rows_creates_missing_rows_in_one_insert(
    configured: Path, db: None, django_assert_num_queries: Any
) -> None:
    Breaker.objects.create(name="external_api")
    registry.names()  # built (and read from its store) before counting
    with django_assert_num_queries(3):  # existing names, the clock, one bulk insert
        assert sync_breaker_rows() == ["payment_gateway"]
    with django_assert_num_queries(1):
        assert sync_breaker_rows() == []
    assert Breaker.objects.get(name="payment_gateway").seq > 10**15  # µs of the clock


def test_transitions_on_an_event_loop_are_stored_off_the_loop(
    install: Any, transactional_db: None
) -> None:
    # A memory store runs call_async's bookkeeping on the loop, where the ORM refuses to
    # run: the listener hands the write to a worker thread (asyncio.run waits for it).
    install(store=MemoryStore())
    breaker = registry.get("orders_db")

    async def refuse() -> None:
        raise ConnectionError("refused")

    async def scenario() -> None:
        for _ in range(breaker.failure_threshold):
            with pytest.raises(ConnectionError):
                await breaker.call_async(refuse)

    asyncio.run(scenario())
    row = Transition.objects.get()
    assert (row.breaker, row.to_state, row.origin) == ("orders_db", "open", "local")
