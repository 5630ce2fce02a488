"""Transition logs: once per transition, by the process that made it, with `extra` fields."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

import pytest

from circuit_breaker import BreakerEvent, CircuitBreaker, CircuitBreakerState, MemoryStore
from circuit_breaker.core.record import BreakerRecord
from circuit_breaker.stores.base import Follower, StoreResult
from circuit_breaker.stores.redis import RedisStore
from tests.helpers import FakeClock

FIELDS = (
    "breaker",
    "from_state",
    "to_state",
    "reason",
    "consecutive_breaks",
    "retry_in_seconds",
    "actor",
)


class Boom(Exception):
    pass


def ok() -> str:
    return "ok"


def fail() -> None:
    raise Boom("upstream down")


def make(clock: FakeClock, **options: Any) -> CircuitBreaker:
    settings: dict[str, Any] = {
        "failure_threshold": 2,
        "base_interval_minutes": 1,
        "fixed_interval_retries": 1,
        "max_exponential_retries": 2,
        "jitter_enabled": False,
        "name": "orders_db",
        "clock": clock,
    }
    settings.update(options)
    return CircuitBreaker(**settings)


def trip(cb: CircuitBreaker) -> None:
    for _ in range(cb.failure_threshold):
        with pytest.raises(Boom):
            cb.call(fail)


def transition_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "circuit_breaker" and hasattr(r, "to_state")]


def fields(record: logging.LogRecord, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {name: record.__dict__[name] for name in FIELDS if name not in skip}


def test_a_full_cycle_logs_each_transition_once_with_its_fields(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    cb = make(clock)
    with caplog.at_level(logging.DEBUG, logger="circuit_breaker"):
        cb.call(ok)
        trip(cb)
        clock.advance(61)
        with pytest.raises(Boom):
            cb.call(fail)  # probe fails: trip 2
        clock.advance(121)
        cb.call(ok)  # probe succeeds
        cb.call(ok)

    logged = transition_logs(caplog)
    # retry_in_seconds of the half_open entries: see test_retry_in_is_only_given_when_opening
    assert [
        fields(r, skip=("retry_in_seconds",) if r.__dict__["to_state"] == "half_open" else ())
        for r in logged
    ] == [
        {
            "breaker": "orders_db",
            "from_state": "closed",
            "to_state": "open",
            "reason": "threshold",
            "consecutive_breaks": 1,
            "retry_in_seconds": 60.0,
            "actor": None,
        },
        {
            "breaker": "orders_db",
            "from_state": "open",
            "to_state": "half_open",
            "reason": "retry_due",
            "consecutive_breaks": 1,
            "actor": None,
        },
        {
            "breaker": "orders_db",
            "from_state": "half_open",
            "to_state": "open",
            "reason": "probe_failed",
            "consecutive_breaks": 2,
            "retry_in_seconds": 120.0,
            "actor": None,
        },
        {
            "breaker": "orders_db",
            "from_state": "open",
            "to_state": "half_open",
            "reason": "retry_due",
            "consecutive_breaks": 2,
            "actor": None,
        },
        {
            "breaker": "orders_db",
            "from_state": "half_open",
            "to_state": "closed",
            "reason": "probe_succeeded",
            "consecutive_breaks": 0,
            "retry_in_seconds": None,
            "actor": None,
        },
    ]
    assert [r.levelno for r in logged] == [
        logging.WARNING,
        logging.INFO,
        logging.WARNING,
        logging.INFO,
        logging.INFO,
    ]
    assert len(logged) == sum(cb.transition_counts().values())
    assert (
        logged[0].getMessage()
        == "circuit breaker 'orders_db': closed -> open (threshold), retry in 60s"
    )


def test_retry_in_is_only_given_when_opening(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    cb = make(clock)
    with caplog.at_level(logging.INFO, logger="circuit_breaker"):
        trip(cb)
        clock.advance(61)
        cb.call(ok)
    retry_in = {
        r.__dict__["to_state"]: r.__dict__["retry_in_seconds"] for r in transition_logs(caplog)
    }
    assert retry_in == {"open": 60.0, "half_open": None, "closed": None}


def test_manual_changes_log_the_actor(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    cb = make(clock)
    with caplog.at_level(logging.INFO, logger="circuit_breaker"):
        cb.force_open(actor="alice")
        cb.disable(actor="bob")
        cb.reset(actor="carol")
    logged = transition_logs(caplog)
    assert [(r.levelno, r.__dict__["reason"], r.__dict__["actor"]) for r in logged] == [
        (logging.WARNING, "forced_open", "alice"),
        (logging.INFO, "disabled", "bob"),
        (logging.INFO, "reset", "carol"),
    ]


def test_a_call_that_changes_no_state_logs_nothing(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    cb = make(clock, failure_threshold=3)
    with caplog.at_level(logging.DEBUG, logger="circuit_breaker"):
        with pytest.raises(Boom):
            cb.call(fail)
        cb.call(ok)
        cb.reset()  # already CLOSED: the state does not move
    assert [r.__dict__["to_state"] for r in transition_logs(caplog)] == []


def test_fields_survive_a_json_formatter(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """What a JSON formatter (python-json-logger and the like) would emit: plain values."""
    cb = make(clock)
    with caplog.at_level(logging.INFO, logger="circuit_breaker"):
        trip(cb)
    (record,) = transition_logs(caplog)
    assert json.loads(json.dumps(fields(record))) == fields(record)


class PushingStore(MemoryStore):
    """A memory store that can push a record as if another process had changed it."""

    def __init__(self) -> None:
        super().__init__()
        self.watchers: dict[str, Follower] = {}

    def watch(self, name: str, follower: Follower) -> None:
        self.watchers[name] = follower


def test_a_transition_learned_from_another_process_is_not_logged(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = PushingStore()
    events: list[BreakerEvent] = []
    cb = make(clock, store=store, listeners=[events.append])
    remote = replace(
        BreakerRecord(),
        state=CircuitBreakerState.OPEN,
        consecutive_breaks=1,
        opened_at=clock(),
        retry_at=clock() + 60,
        reason="threshold",
        changed_by="another-host",
        seq=5,
    )
    with caplog.at_level(logging.DEBUG, logger="circuit_breaker"):
        store.watchers["orders_db"].adopt(StoreResult(remote, clock()))
    assert cb.state is CircuitBreakerState.OPEN
    assert cb.transition_counts() == {("closed", "open"): 1}
    assert [e.origin for e in events if e.kind == "state_change"] == ["remote"]
    assert transition_logs(caplog) == []


@pytest.mark.redis
def test_across_a_fleet_only_the_process_that_tripped_logs(
    clock: FakeClock, caplog: pytest.LogCaptureFixture, redis_url: str, key_prefix: str
) -> None:
    here, there = (RedisStore(redis_url, key_prefix=key_prefix) for _ in range(2))
    try:
        tripping = make(clock, store=here)
        learning = make(clock, store=there)
        with caplog.at_level(logging.DEBUG, logger="circuit_breaker"):
            trip(tripping)
            learning.sync()
        assert learning.state is CircuitBreakerState.OPEN
        assert learning.transition_counts() == {("closed", "open"): 1}
        logged = transition_logs(caplog)
        assert [(r.__dict__["from_state"], r.__dict__["to_state"]) for r in logged] == [
            ("closed", "open")
        ]
    finally:
        here.close()
        there.close()
