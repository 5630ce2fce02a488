"""The django store: transitions through the table, the database clock, sharing, the hot path."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from contextlib import suppress

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from circuit_breaker import CircuitBreaker, CircuitBreakerState, CircuitOpenError
from circuit_breaker.stores import BreakerStore, build_store
from circuit_breaker_django.actions import record_transition
from circuit_breaker_django.models import Breaker
from circuit_breaker_django.store import DjangoStore
from tests.django_app.app_helpers import refuse
from tests.django_app.store_queries import statements_of_this_thread
from tests.helpers import FakeClock

OPEN = CircuitBreakerState.OPEN
HALF_OPEN = CircuitBreakerState.HALF_OPEN
CLOSED = CircuitBreakerState.CLOSED


def make(store: DjangoStore, clock: FakeClock, **options: object) -> CircuitBreaker:
    settings: dict[str, object] = {
        "failure_threshold": 2,
        "base_interval_minutes": 1,
        "jitter_enabled": False,
        "name": "external_api",
    }
    settings.update(options)
    return CircuitBreaker(store=store, clock=clock, **settings)  # type: ignore[arg-type]


def fail(breaker: CircuitBreaker) -> None:
    with suppress(ConnectionError, CircuitOpenError):
        breaker.call(refuse)


def ok() -> str:
    return "ok"


def test_the_store_keeps_the_protocol(django_store: DjangoStore) -> None:
    assert isinstance(django_store, BreakerStore)
    assert django_store.shared
    assert django_store.sync_interval == 1.0


def test_yaml_backend_name_builds_the_store_and_rejects_unknown_options() -> None:
    store = build_store("django", {"sync_interval": 0.25})
    assert isinstance(store, DjangoStore) and store.sync_interval == 0.25
    with pytest.raises(ValueError, match=r"unknown option.*url"):
        build_store("django", {"url": "x"})


def test_a_trip_writes_the_row_in_the_database_clock(
    django_store: DjangoStore, clock: FakeClock
) -> None:
    breaker = make(django_store, clock)
    fail(breaker)
    fail(breaker)
    assert breaker.state is OPEN
    row = Breaker.objects.get(name="external_api")
    assert row.state == "open" and row.consecutive_breaks == 1 and row.reason == "threshold"
    assert row.last_failure_type == "ConnectionError"
    assert "refused" in row.last_failure_message
    assert row.opened_at is not None and row.retry_at is not None
    assert row.retry_at - row.opened_at == pytest.approx(60.0)
    # Store clock = database server time (epoch seconds), not the breaker's fake clock.
    assert abs(row.opened_at - time.time()) < 5
    assert row.changed_by == django_store.instance_id


def test_seq_is_seeded_from_the_database_clock_in_microseconds(
    django_store: DjangoStore, clock: FakeClock
) -> None:
    before = int(django_store.now() * 1_000_000)
    breaker = make(django_store, clock)
    fail(breaker)
    seq = Breaker.objects.get(name="external_api").seq
    assert before < seq < before + 10_000_000  # seeded (then +1 for the failure)


def test_a_success_clears_the_failure_streak_in_the_row(
    django_store: DjangoStore, clock: FakeClock
) -> None:
    breaker = make(django_store, clock, failure_threshold=3)
    fail(breaker)
    assert Breaker.objects.get(name="external_api").failure_count == 1
    breaker.call(ok)
    assert Breaker.objects.get(name="external_api").failure_count == 0


@pytest.mark.e2e
def test_a_trip_in_one_process_is_honoured_by_another_within_sync_interval(
    transactional_db: None, clock: FakeClock
) -> None:
    here_store, there_store = DjangoStore(sync_interval=0.1), DjangoStore(sync_interval=0.1)
    try:
        here, there = make(here_store, clock), make(there_store, clock)
        assert there.call(ok) == "ok"
        fail(here)
        fail(here)
        tripped_at = time.monotonic()
        assert poll(lambda: there.state is OPEN, 2.0)  # the background thread's read
        assert time.monotonic() - tripped_at < 1.0
        with pytest.raises(CircuitOpenError) as rejected:
            there.call(ok)
        assert rejected.value.retry_after is not None and 0 < rejected.value.retry_after <= 60
    finally:
        here_store.close()
        there_store.close()


@pytest.mark.e2e
def test_exactly_one_probe_between_two_processes(transactional_db: None, clock: FakeClock) -> None:
    stores = [DjangoStore(sync_interval=0.05), DjangoStore(sync_interval=0.05)]
    try:
        first, second = (make(store, clock, base_interval_minutes=0.0001) for store in stores)
        fail(first)
        fail(first)
        assert poll(lambda: second.state is not CLOSED, 2.0)  # second learned of the trip
        # Each breaker decides from its own view of the record, and the injected clock
        # stands still: a view's store time moves only with the database time each
        # background read brings. The database's clock passing the deadline (6 ms) is
        # not enough; both processes must have read the database past it, or the probe
        # is refused by the first one's own view. A read is delivered after any older
        # one (one thread per store), so a view past the deadline stays past it.
        assert poll(lambda: first.state is HALF_OPEN and second.state is HALF_OPEN, 2.0)
        probes: list[str] = []

        def probe_then_check_the_other() -> str:
            probes.append("first")
            with pytest.raises(CircuitOpenError):
                second.call(ok)  # the permit is taken: the other process is rejected
            return "ok"

        assert first.call(probe_then_check_the_other) == "ok"
        assert probes == ["first"]
        assert first.state is CLOSED
        assert poll(lambda: second.state is CLOSED, 2.0)
    finally:
        for store in stores:
            store.close()


def poll(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)  # real wait: another process (thread) acts
    return condition()


def test_load_many_is_one_query_for_existing_and_missing_rows(
    django_store: DjangoStore, clock: FakeClock
) -> None:
    breaker = make(django_store, clock)
    fail(breaker)
    with statements_of_this_thread(django_store) as sent:
        results = django_store.load_many(["external_api", "never_used"], 0.0)
    assert len(sent) == 1
    assert results["external_api"].record.failure_count == 1
    assert results["never_used"].record.state is CLOSED
    assert results["never_used"].now == results["external_api"].now
    assert abs(results["never_used"].now - time.time()) < 5


def test_the_hot_path_makes_no_query(django_store: DjangoStore, clock: FakeClock) -> None:
    breaker = make(django_store, clock, listeners=[record_transition])
    with statements_of_this_thread(django_store) as sent, CaptureQueriesContext(connection) as host:
        for _ in range(500):
            assert breaker.call(ok) == "ok"
        clock.advance(3600)  # reads are the background thread's job
        for _ in range(500):
            breaker.call(ok)
    assert (host.captured_queries, sent) == ([], [])


def test_a_transition_is_three_statements_in_one_transaction(
    django_store: DjangoStore, clock: FakeClock
) -> None:
    breaker = make(django_store, clock)
    breaker.call(ok)
    with statements_of_this_thread(django_store) as sent, CaptureQueriesContext(connection) as host:
        fail(breaker)
    assert [sql.split()[0].upper() for sql in sent] == [
        "BEGIN",
        "INSERT",
        "SELECT",
        "UPDATE",
        "COMMIT",
    ]
    assert "FOR UPDATE" in sent[2] or connection.vendor == "sqlite"
    assert host.captured_queries == []  # the host's connection and transactions: untouched


def test_an_observer_and_an_enforcer_of_one_name_never_share_the_row(
    transactional_db: None, clock: FakeClock, make_django_store: Callable[..., DjangoStore]
) -> None:
    """Two processes, one observing: its calls never reach the row the other enforces."""
    observer = make(make_django_store(), clock, mode="observe")
    enforcer = make(make_django_store(), clock)
    for _ in range(5):
        fail(observer)
    assert observer.state is OPEN and observer.status().would_have_rejected == 3
    row = Breaker.objects.filter(name="external_api").first()
    assert row is None or (row.state == "closed" and row.failure_count == 0)
    enforcer.sync()
    assert enforcer.state is CLOSED and enforcer.call(ok) == "ok"

    fail(enforcer)
    fail(enforcer)
    assert Breaker.objects.get(name="external_api").state == "open"
    observer.sync()
    assert observer.consecutive_circuit_breaks == 1  # its own trip only
    observer.reconfigure(observer.config.replace(mode="enforce"))
    with pytest.raises(CircuitOpenError):  # now it follows the row
        observer.call(ok)


def test_concurrent_threads_lose_no_failure_count(
    transactional_db: None, make_django_store: Callable[..., DjangoStore]
) -> None:
    # On SQLite (a file: see tests/django_settings.py) select_for_update does nothing:
    # the store's insert-first transaction must serialise the writers.
    threads, per_thread = 4, 10
    stores = [make_django_store(sync_interval=0.1) for _ in range(threads)]
    errors: list[BaseException] = []

    def hammer(store: DjangoStore) -> None:
        breaker = CircuitBreaker(failure_threshold=1000, name="counted", store=store)
        try:
            for _ in range(per_thread):
                fail(breaker)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=hammer, args=(store,)) for store in stores]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert not errors
    assert Breaker.objects.get(name="counted").failure_count == threads * per_thread


async def test_call_async_runs_store_operations_off_the_event_loop(
    transactional_db: None, clock: FakeClock, make_django_store: Callable[..., DjangoStore]
) -> None:
    # Django refuses ORM calls on a running event loop (SynchronousOnlyOperation), so
    # this passes only if the breaker offloads every store operation to a thread.
    store = make_django_store(sync_interval=0.1)
    breaker = make(store, clock)

    async def refuse_async() -> None:
        raise ConnectionError("refused")

    async def ok_async() -> str:
        return "ok"

    assert await breaker.call_async(ok_async) == "ok"
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await breaker.call_async(refuse_async)
    with pytest.raises(CircuitOpenError):
        await breaker.call_async(ok_async)
    row = await asyncio.to_thread(lambda: Breaker.objects.get(name="external_api").state)
    assert row == "open"


def test_database_down_the_breaker_goes_on_locally_and_warns_once(
    django_db_blocker: object,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    make_django_store: Callable[..., DjangoStore],
) -> None:
    store = make_django_store(using="unreachable", sync_interval=1.0, clock=clock)
    with django_db_blocker.unblock(), caplog.at_level(logging.WARNING, "circuit_breaker"):  # type: ignore[attr-defined]
        breaker = make(store, clock)
        assert breaker.call(ok) == "ok"  # no store exception reaches the caller
        fail(breaker)
        fail(breaker)
        assert breaker.state is OPEN  # counted on local state
        with pytest.raises(CircuitOpenError):
            breaker.call(ok)
        clock.advance(61)
        assert breaker.call(ok) == "ok"  # the local probe closes it again
        assert breaker.state is CLOSED
    outage = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outage) == 1, [r.getMessage() for r in caplog.records]
