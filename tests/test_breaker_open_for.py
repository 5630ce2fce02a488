"""breaker.open_for: a server's back-off as a breaker applies it (stores: test_store_contract)."""

from __future__ import annotations

import math

import pytest

from circuit_breaker import BreakerEvent, CircuitBreaker, CircuitBreakerState, CircuitOpenError
from circuit_breaker.core.config import InvalidSetting
from tests.helpers import FakeClock

OPEN = CircuitBreakerState.OPEN
CLOSED = CircuitBreakerState.CLOSED


class Boom(Exception):
    pass


def boom() -> None:
    raise Boom("down")


def make(clock: FakeClock, events: list[BreakerEvent] | None = None) -> CircuitBreaker:
    return CircuitBreaker(
        2,
        1,  # one-minute intervals
        name="rates_api",
        jitter_enabled=False,
        clock=clock,
        listeners=[] if events is None else [events.append],
    )


def test_a_closed_breaker_opens_for_exactly_that_long_then_lets_one_probe(
    clock: FakeClock,
) -> None:
    events: list[BreakerEvent] = []
    breaker = make(clock, events)
    breaker.open_for(30, reason="HTTP 429, Retry-After: 30")
    changes = [e for e in events if e.kind == "state_change"]
    assert [(e.old, e.new, e.reason, e.detail, e.actor) for e in changes] == [
        (CLOSED, OPEN, "open_for", "HTTP 429, Retry-After: 30", None)
    ]
    assert breaker.get_status_info()["last_transition"]["detail"] == "HTTP 429, Retry-After: 30"
    with pytest.raises(CircuitOpenError) as rejected:
        breaker.call(lambda: None)
    assert rejected.value.retry_after == pytest.approx(30)
    clock.advance(30)
    assert breaker.call(lambda: "probe") == "probe"
    assert breaker.state is CLOSED


def test_it_only_ever_moves_a_deadline_later(clock: FakeClock) -> None:
    breaker = make(clock)
    breaker.open_for(120, reason="long")
    breaker.open_for(10, reason="short")
    status = breaker.status()
    assert (status.retry_in, status.detail) == (120.0, "long")
    breaker.open_for(200, reason="longer")
    assert (breaker.status().retry_in, breaker.status().detail) == (200.0, "longer")


def test_an_open_breaker_keeps_its_later_schedule(clock: FakeClock) -> None:
    breaker = make(clock)
    for _ in range(2):
        with pytest.raises(Boom):
            breaker.call(boom)
    breaker.open_for(5, reason="sooner than the schedule")
    status = breaker.status()
    assert (status.reason, status.retry_in) == ("threshold", 60.0)


def test_on_the_probe_it_is_a_failed_probe_with_the_later_deadline(clock: FakeClock) -> None:
    breaker = make(clock)
    for _ in range(2):
        with pytest.raises(Boom):
            breaker.call(boom)
    clock.advance(60)

    def probe_told_to_wait() -> None:
        breaker.open_for(600, reason="HTTP 503, Retry-After: 600")

    breaker.call(probe_told_to_wait)  # the probe returned, but the server said wait
    status = breaker.status()
    assert (status.state, status.reason, status.consecutive_breaks) == (OPEN, "open_for", 2)
    assert status.retry_in == 600.0


@pytest.mark.parametrize("manual", ["force_open", "disable"])
def test_it_never_overrides_a_manual_state(clock: FakeClock, manual: str) -> None:
    breaker = make(clock)
    getattr(breaker, manual)()
    before = breaker.state
    breaker.open_for(30, reason="429")
    assert breaker.state is before
    breaker.open_for(30, reason="429", actor="operator")
    assert breaker.state is before


def test_with_an_actor_it_is_a_manual_action_the_events_name(clock: FakeClock) -> None:
    events: list[BreakerEvent] = []
    breaker = make(clock, events)
    breaker.open_for(300, reason="maintenance window", actor="alice")
    change = next(e for e in events if e.kind == "state_change")
    assert (change.reason, change.detail, change.actor) == (
        "open_for",
        "maintenance window",
        "alice",
    )


@pytest.mark.parametrize("seconds", [0, -1, math.nan, math.inf, 366 * 86400, "30", True])
def test_seconds_out_of_bounds_are_refused(clock: FakeClock, seconds: object) -> None:
    breaker = make(clock)
    with pytest.raises(InvalidSetting, match="seconds must be"):
        breaker.open_for(seconds, reason="x")  # type: ignore[arg-type]
    assert breaker.state is CLOSED


def test_the_reason_is_kept_store_safe(clock: FakeClock) -> None:
    breaker = make(clock)
    breaker.open_for(30, reason="x" * 500 + "\x00")
    detail = breaker.status().detail
    assert detail is not None and len(detail) <= 200 and "\x00" not in detail
