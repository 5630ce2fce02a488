"""Observe mode on a real Redis: an observing process never touches the fleet's record."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from circuit_breaker import CircuitBreaker, CircuitBreakerState, CircuitOpenError
from tests.helpers import FakeClock
from tests.stores.store_factory import StoreFactory

OPEN = CircuitBreakerState.OPEN
CLOSED = CircuitBreakerState.CLOSED


class Boom(Exception):
    pass


def boom() -> None:
    raise Boom("upstream down")


def make(store_factory: StoreFactory, clock: FakeClock, mode: str) -> CircuitBreaker:
    """A breaker in a process of its own: each has its own store (connection, thread)."""
    return CircuitBreaker(
        2,
        1,
        jitter_enabled=False,
        name="recommendations",
        store=store_factory(sync_interval=60),
        clock=clock,
        mode=mode,
    )


def trip(breaker: CircuitBreaker) -> None:
    for _ in range(2):
        with pytest.raises(Boom):
            breaker.call(boom)


def test_an_observer_and_an_enforcer_of_one_name_never_share_a_record(
    make_store: StoreFactory,
    redis_client: redis.Redis[Any],
    key_prefix: str,
    clock: FakeClock,
) -> None:
    observer = make(make_store, clock, "observe")
    enforcer = make(make_store, clock, "enforce")
    key = f"{key_prefix}:{{recommendations}}"

    trip(observer)
    for _ in range(5):
        with pytest.raises(Boom):
            observer.call(boom)  # open, observing: run, never counted
    assert observer.state is OPEN and observer.status().would_have_rejected == 5
    assert redis_client.hget(key, "state") in (None, "closed")
    assert redis_client.hget(key, "failure_count") in (None, "0")
    enforcer.sync()
    assert enforcer.state is CLOSED and enforcer.call(lambda: "ok") == "ok"

    trip(enforcer)  # the fleet opens; the observer goes on with its own record
    assert redis_client.hget(key, "state") == "open"
    with pytest.raises(CircuitOpenError):
        enforcer.call(lambda: "ok")
    clock.advance(60)
    assert observer.call(lambda: "ok") == "ok"  # its own probe
    observer.sync()
    assert observer.state is CLOSED
    assert observer.status().would_have_rejected == 5


def test_an_observer_switched_to_enforce_follows_the_fleet(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    observer = make(make_store, clock, "observe")
    enforcer = make(make_store, clock, "enforce")
    trip(enforcer)
    assert observer.call(lambda: "ok") == "ok"  # it never read the fleet's record
    observer.reconfigure(observer.config.replace(mode="enforce"))
    assert observer.state is OPEN
    with pytest.raises(CircuitOpenError):
        observer.call(lambda: "ok")
    observer.reconfigure(observer.config.replace(mode="observe"))
    assert observer.call(lambda: "ok") == "ok"


def test_an_operators_action_on_an_observer_reaches_the_fleet(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    observer = make(make_store, clock, "observe")
    enforcer = make(make_store, clock, "enforce")
    observer.force_open(actor="ops")
    enforcer.sync()
    assert enforcer.state is CircuitBreakerState.FORCED_OPEN
    assert observer.call(lambda: "ok") == "ok"
