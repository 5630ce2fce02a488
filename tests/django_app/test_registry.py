"""The app's registry: built lazily from settings, rebuilt when they change, transitions stored."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import DataError, connection
from django.test.utils import CaptureQueriesContext

from circuit_breaker import MemoryStore
from circuit_breaker_django import actions, registry
from circuit_breaker_django.database import DatabaseUnavailable, is_outage
from circuit_breaker_django.models import Breaker, Transition, sync_breaker_rows
from circuit_breaker_django.store import DjangoStore
from tests.django_app.app_helpers import trip
from tests.django_app.servers import answer_start_up_then_freeze, tcp_server, temporary_alias

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


def test_the_registry_is_built_on_first_use_from_settings(
    configured: Path, transactional_db: None
) -> None:
    assert not registry.is_built
    assert registry.names() == ["external_api", "payment_gateway"]
    assert registry.is_built
    store = registry.get("external_api").store
    assert isinstance(store, DjangoStore) and store.sync_interval == 0.5
    assert registry.get("external_api") is registry["external_api"]
    assert "payment_gateway" in registry and len(registry) == 2


def test_changing_the_setting_rebuilds_the_registry(
    configured: Path, settings: Any, transactional_db: None
) -> None:
    assert isinstance(registry.get("external_api").store, DjangoStore)
    settings.CIRCUIT_BREAKERS = {**settings.CIRCUIT_BREAKERS, "STORE": "memory"}
    assert isinstance(registry.get("external_api").store, MemoryStore)


def test_automatic_transitions_are_stored(configured: Path, transactional_db: None) -> None:
    trip("external_api")
    row = Transition.objects.get()
    assert (row.breaker, row.from_state, row.to_state) == ("external_api", "closed", "open")
    assert (row.reason, row.origin, row.user, row.actor) == ("threshold", "local", None, None)
    assert row.consecutive_breaks == 1


def test_failure_on_result_from_the_yaml_judges_values(
    settings: Any, tmp_path: Path, transactional_db: None
) -> None:
    path = tmp_path / "judged.yaml"
    path.write_text(
        "breakers:\n"
        "  search:\n"
        "    failure_threshold: 1\n"
        "    failure_on_result: tests.config.sample_judges.is_error_page\n"
    )
    settings.CIRCUIT_BREAKERS = {"CONFIG": [path], "STORE": "django"}
    error_page = {"status": "error"}
    assert registry.get("search").call(lambda: error_page) is error_page
    assert registry.get("search").state.value == "open"
    row = Transition.objects.get()
    assert (row.breaker, row.to_state, row.reason) == ("search", "open", "threshold")


def test_manual_actions_are_stored_with_the_user(configured: Path, transactional_db: None) -> None:
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


def test_sync_breaker_rows_creates_missing_rows_on_the_apps_own_connection(
    configured: Path, transactional_db: None
) -> None:
    Breaker.objects.create(name="external_api")
    with CaptureQueriesContext(connection) as host_queries:
        assert sync_breaker_rows(["external_api", "payment_gateway"]) == ["payment_gateway"]
        assert sync_breaker_rows(["external_api", "payment_gateway"]) == []
    assert host_queries.captured_queries == []  # the host's connection ran none of it
    created = Breaker.objects.get(name="payment_gateway")
    assert created.seq > 10**15  # µs of the database clock
    assert (created.state, created.failure_count, created.last_failure_type) == ("closed", 0, "")
    assert created.updated_at is not None


def test_building_the_registry_gives_every_breaker_its_row(
    configured: Path, transactional_db: None
) -> None:
    assert not Breaker.objects.exists()
    names = registry.names()
    assert sorted(Breaker.objects.values_list("name", flat=True)) == sorted(names)


def test_migrate_gives_every_breaker_of_the_yaml_its_row(
    configured: Path, transactional_db: None
) -> None:
    call_command("migrate", "circuit_breaker_django", verbosity=0)
    assert sorted(Breaker.objects.values_list("name", flat=True)) == [
        "external_api",
        "payment_gateway",
    ]
    assert not registry.is_built  # read from the YAML: no store was built for it


def test_a_reload_gives_the_breakers_it_adds_their_rows(
    configured: Path, transactional_db: None
) -> None:
    registry.names()
    configured.write_text(configured.read_text() + "  search_service: {profile: api}\n")
    assert registry.reload().added == ("search_service",)
    assert Breaker.objects.filter(name="search_service").exists()


def test_a_breaker_created_on_first_use_gets_its_row(
    configured: Path, transactional_db: None
) -> None:
    breaker = registry.get_or_create("api.example.com", profile="api")
    assert registry.get("api.example.com") is breaker
    assert Breaker.objects.filter(name="api.example.com").exists()
    assert registry.get_or_create("external_api") is registry.get("external_api")


@pytest.mark.e2e
def test_sync_breaker_rows_fails_within_the_bound_when_the_database_never_answers(
    settings: Any, django_db_blocker: Any
) -> None:
    settings.CIRCUIT_BREAKERS = {**settings.CIRCUIT_BREAKERS, "DATABASE_TIMEOUT": 0.5}
    settings.DATABASE_ROUTERS = ["tests.django_app.routers.BreakersToFrozen"]
    with (
        tcp_server(answer_start_up_then_freeze) as port,
        temporary_alias("frozen", HOST="127.0.0.1", PORT=str(port)),
        django_db_blocker.unblock(),
        pytest.raises(DatabaseUnavailable, match=r"no answer within 0\.5s") as raised,
    ):
        sync_breaker_rows(["external_api"])  # real wait: the bound
    assert is_outage(raised.value)


def test_sync_breaker_rows_reports_a_name_the_table_cannot_hold_as_bad_data(
    transactional_db: None,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite stores NUL bytes and over-long strings")
    for name in ("nul\x00inside", "n" * 201):  # PostgreSQL text cannot hold NUL; max 200
        with pytest.raises(DataError) as raised:
            sync_breaker_rows([name])
        assert not is_outage(raised.value), name
    assert not Breaker.objects.exists()


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


@pytest.mark.parametrize(
    ("store", "topology", "described"),
    [
        (
            {"backend": "redis", "url": "redis://10.0.0.5:7000/0", "cluster": True},
            "cluster",
            "Redis Cluster via 10.0.0.5:7000",
        ),
        (
            {
                "backend": "redis",
                "sentinels": ["sentinel-a:26379", "sentinel-b:26379"],
                "service_name": "mymaster",
                "sync_interval": "2s",
            },
            "sentinel",
            "Redis Sentinel service 'mymaster' via sentinel-a:26379, sentinel-b:26379 (db 0)",
        ),
        ("redis://:s3cret@cache.internal:6380/2", "server", "Redis cache.internal:6380 db 2"),
    ],
    ids=["cluster", "sentinel", "url"],
)
def test_the_store_setting_builds_the_redis_store_it_describes(
    settings: Any, tmp_path: Path, store: Any, topology: str, described: str
) -> None:
    from circuit_breaker.stores.redis import RedisStore
    from circuit_breaker_django.bootstrap import build_store_from_settings
    from circuit_breaker_django.conf import get_config

    settings.CIRCUIT_BREAKERS = {"CONFIG": [], "STORE": store}
    built = build_store_from_settings(get_config())  # builds clients; connects on first use
    try:
        assert isinstance(built, RedisStore)
        assert built.topology.kind.value == topology
        assert built.topology.describe() == described
        expected_interval = 2.0 if isinstance(store, dict) and "sync_interval" in store else 1.0
        assert built.sync_interval == expected_interval
    finally:
        built.close()
