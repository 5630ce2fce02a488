"""Observe mode: counts, trips and probes as usual, never rejects, keeps a private record."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from circuit_breaker import (
    BreakerEvent,
    CircuitBreaker,
    CircuitBreakerState,
    CircuitOpenError,
    MemoryStore,
)
from circuit_breaker.health import judge
from circuit_breaker.stores.base import StoreResult
from tests.helpers import FakeClock, Invoke

State = CircuitBreakerState


class Boom(Exception):
    pass


def fail() -> None:
    raise Boom("down")


def ok() -> str:
    return "ok"


def make(clock: FakeClock, **options: Any) -> CircuitBreaker:
    settings: dict[str, Any] = {
        "failure_threshold": 2,
        "base_interval_minutes": 1,
        "jitter_enabled": False,
        "name": "recommendations",
        "clock": clock,
        "mode": "observe",
    }
    settings.update(options)
    return CircuitBreaker(**settings)


def trip(breaker: CircuitBreaker, invoke: Invoke | None = None) -> None:
    for _ in range(breaker.failure_threshold or 0):
        with pytest.raises(Boom):
            (invoke or (lambda cb, fn: cb.call(fn)))(breaker, fail)


def test_an_open_observing_breaker_lets_calls_run_and_counts_them(
    clock: FakeClock, invoke: Invoke
) -> None:
    breaker = make(clock)
    trip(breaker, invoke)
    assert breaker.state is State.OPEN
    assert invoke(breaker, ok) == "ok"
    with pytest.raises(Boom):
        invoke(breaker, fail)  # runs too, and is not counted: the breaker is open
    status = breaker.get_status_info()
    assert (status["mode"], status["would_have_rejected"]) == ("observe", 2)
    assert (status["state"], status["consecutive_circuit_breaks"]) == ("open", 1)
    counts = breaker.call_counts()
    assert (counts["rejected"], counts["would_reject"], counts["failure"]) == (0, 2, 2)


def test_one_probe_still_decides_and_the_others_pass_uncounted(clock: FakeClock) -> None:
    breaker = make(clock)
    trip(breaker)
    clock.advance(60)
    probe = breaker.acquire()
    assert probe.probe
    assert breaker.call(ok) == "ok"  # would have been rejected: the probe is out
    with pytest.raises(Boom):
        breaker.call(fail)  # uncounted: it cannot close or reopen anything
    assert breaker.state is State.HALF_OPEN
    probe.failure(Boom("still down"))
    assert breaker.state is State.OPEN and breaker.consecutive_circuit_breaks == 2
    clock.advance(60)
    assert breaker.call(ok) == "ok"  # the next probe succeeds
    assert breaker.state is State.CLOSED
    assert breaker.status().would_have_rejected == 2


def test_forced_open_observing_breaker_rejects_nothing(clock: FakeClock) -> None:
    breaker = make(clock)
    breaker.force_open()
    with breaker:
        pass
    assert breaker.call(ok) == "ok"
    assert breaker.status().would_have_rejected == 2


def test_a_fallback_for_rejections_never_runs_while_observing(clock: FakeClock) -> None:
    breaker = make(clock, fallback=lambda exc: "cached")
    trip(breaker)
    assert breaker.call(ok) == "ok"


def test_events_and_logs_go_on_as_usual(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[BreakerEvent] = []
    breaker = make(clock, listeners=[events.append])
    with caplog.at_level(logging.INFO, logger="circuit_breaker"):
        trip(breaker)
    changes = [(e.old, e.new) for e in events if e.kind == "state_change"]
    assert changes == [(State.CLOSED, State.OPEN)]
    (record,) = caplog.records
    assert record.getMessage().endswith("; observing: no call is rejected")
    assert record.mode == "observe"  # type: ignore[attr-defined]


def test_an_observer_keeps_its_record_out_of_the_configured_store(clock: FakeClock) -> None:
    store = MemoryStore()
    observer = make(clock, store=store)
    enforcer = make(clock, store=store, mode="enforce")
    trip(observer)
    assert observer.state is State.OPEN
    assert observer.store is not store  # its private record
    enforcer.sync()
    assert enforcer.state is State.CLOSED and enforcer.call(ok) == "ok"
    trip(enforcer)
    with pytest.raises(CircuitOpenError):
        enforcer.call(ok)
    observer.sync()
    assert observer.consecutive_circuit_breaks == 1  # its own trip, not the enforcer's


def test_manual_actions_reach_the_configured_store_and_the_private_record(
    clock: FakeClock,
) -> None:
    store = MemoryStore()
    observer = make(clock, store=store)
    enforcer = make(clock, store=store, mode="enforce")
    observer.force_open(actor="ops")
    enforcer.sync()
    assert enforcer.state is State.FORCED_OPEN  # an operator's action is for the fleet
    assert observer.state is State.FORCED_OPEN and observer.call(ok) == "ok"
    observer.reset(actor="ops")
    enforcer.sync()
    assert enforcer.state is State.CLOSED and observer.state is State.CLOSED


def test_an_observer_ignores_what_the_store_it_left_still_delivers(clock: FakeClock) -> None:
    """The store's background thread may deliver a record just after a switch to observe."""
    store = MemoryStore()
    enforcer = make(clock, store=store, mode="enforce")
    trip(enforcer)
    breaker = make(clock, store=store, mode="enforce", name="recommendations")
    breaker.reconfigure(breaker.config.replace(mode="observe"))
    clock.advance(60)
    assert breaker.call(ok) == "ok"  # its private probe closes its private record
    fleet = store.load_many(["recommendations"], clock())["recommendations"]
    assert fleet.record.state is State.OPEN
    breaker.lost("the store went away")
    breaker.adopt(StoreResult(fleet.record, fleet.now))
    breaker.flush()
    assert breaker.state is State.CLOSED and breaker.status().store.reachable


def test_switching_to_observe_starts_from_the_current_state(clock: FakeClock) -> None:
    store = MemoryStore()
    breaker = make(clock, store=store, mode="enforce")
    trip(breaker)
    breaker.reconfigure(breaker.config.replace(mode="observe"))
    assert breaker.state is State.OPEN  # seeded with the record it had
    assert breaker.call(ok) == "ok"
    assert breaker.status().would_have_rejected == 1
    clock.advance(60)
    assert breaker.call(ok) == "ok"  # its own probe closes its own record...
    assert breaker.state is State.CLOSED
    fleet = make(clock, store=store, name="recommendations", mode="enforce")
    assert fleet.state is State.HALF_OPEN  # ...the store's record is untouched


def test_switching_back_to_enforce_follows_the_store_again(clock: FakeClock) -> None:
    store = MemoryStore()
    breaker = make(clock, store=store)
    trip(breaker)
    assert breaker.state is State.OPEN
    breaker.reconfigure(breaker.config.replace(mode="enforce"))
    assert breaker.state is State.CLOSED  # the store's record: observed trips stay private
    assert breaker.store is store
    trip(breaker)
    with pytest.raises(CircuitOpenError):
        breaker.call(ok)
    assert breaker.status().store.reachable


def test_an_open_observing_critical_breaker_only_warns(clock: FakeClock) -> None:
    observer = make(clock, critical=True)
    trip(observer)
    health = judge({observer.name: observer.status()})
    assert health.status == "warn"
    assert health.reason == "breakers not closed: recommendations (observing)"
    enforcer = make(clock, critical=True, mode="enforce", name="payments")
    trip(enforcer)
    assert judge({"payments": enforcer.status()}).status == "fail"
