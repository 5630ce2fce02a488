"""Rate rules with one process (the memory store): the failure rate, slow calls, windows."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from typing import Any

import pytest

from circuit_breaker import BreakerEvent, CircuitBreaker, CircuitBreakerState, CircuitOpenError
from tests.helpers import FakeClock, Invoke

State = CircuitBreakerState


class Boom(Exception):
    pass


def make(clock: FakeClock, **options: Any) -> CircuitBreaker:
    settings: dict[str, Any] = {
        "failure_threshold": None,
        "failure_rate_threshold": 0.5,
        "sliding_window_seconds": 10,
        "minimum_calls": 4,
        "jitter_enabled": False,
        "base_interval_minutes": 1,
        "name": "rated",
        "clock": clock,
    }
    settings.update(options)
    return CircuitBreaker(**settings)


def ok() -> str:
    return "ok"


def fail() -> None:
    raise Boom("down")


def run(cb: CircuitBreaker, invoke: Invoke, outcomes: str) -> None:
    """``"ffs."``: a failure, a failure, a success... (``.`` is a success too)."""
    for outcome in outcomes:
        if outcome == "f":
            with pytest.raises(Boom):
                invoke(cb, fail)
        else:
            assert invoke(cb, ok) == "ok"


def test_no_verdict_before_minimum_calls(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock, minimum_calls=4)
    run(cb, invoke, "fff")
    assert cb.state is State.CLOSED
    assert cb.get_status_info()["window"]["calls"] == 3


def test_the_call_reaching_the_minimum_takes_the_verdict_even_a_success(
    clock: FakeClock, invoke: Invoke
) -> None:
    cb = make(clock, minimum_calls=4)
    run(cb, invoke, "fff.")  # 3 of 4 failed: 75 % >= 50 %
    assert cb.state is State.OPEN
    status = cb.get_status_info()
    assert status["tripped_by"] == "failure_rate"
    assert status["last_transition"]["reason"] == "failure_rate"


def test_a_rate_at_the_threshold_trips_and_below_does_not(clock: FakeClock, invoke: Invoke) -> None:
    below = make(clock, name="below")
    run(below, invoke, "f...f..")  # 2 of 7
    assert below.state is State.CLOSED
    at = make(clock, name="at")
    run(at, invoke, "f.f.")  # 2 of 4: exactly 50 %
    assert at.state is State.OPEN


def test_the_rate_is_about_health_not_volume(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock, minimum_calls=20)
    run(cb, invoke, ("f" + "." * 9) * 50)  # 10 % failing, 500 calls: never opens
    assert cb.state is State.CLOSED


def test_slow_calls_trip_the_slow_call_rule_whether_they_succeed_or_fail(
    clock: FakeClock,
) -> None:
    cb = make(
        clock,
        failure_rate_threshold=None,
        slow_call_duration_seconds=2,
        slow_call_rate_threshold=0.5,
        minimum_calls=4,
    )

    def slow_ok() -> str:
        clock.advance(2.5)
        return "ok"

    def slow_fail() -> None:
        clock.advance(3)
        raise Boom("timeout")

    cb.call(ok)
    cb.call(slow_ok)
    with pytest.raises(Boom):
        cb.call(slow_fail)
    assert cb.state is State.CLOSED
    cb.call(ok)  # 2 slow of 4
    assert cb.state is State.OPEN
    assert cb.get_status_info()["tripped_by"] == "slow_call_rate"
    assert cb.get_status_info()["window"] is not None


def test_with_both_rules_whichever_holds_first_trips(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock, failure_threshold=3, minimum_calls=20)
    run(cb, invoke, "fff")  # the streak holds first
    assert (cb.state, cb.get_status_info()["tripped_by"]) == (State.OPEN, "threshold")


def test_a_time_window_slides_a_tenth_at_a_time(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock, minimum_calls=4)
    run(cb, invoke, "ff")
    clock.advance(9.5)  # the two failures are still in the ten buckets
    run(cb, invoke, "..")
    assert cb.state is State.OPEN
    calm = make(clock, name="calm", minimum_calls=4)
    run(calm, invoke, "ff")
    clock.advance(10.5)  # their second has slid out
    run(calm, invoke, "..")
    assert calm.state is State.CLOSED
    assert calm.get_status_info()["window"]["calls"] == 2


def test_a_count_window_judges_the_last_calls(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock, sliding_window_seconds=None, sliding_window_calls=6, minimum_calls=6)
    run(cb, invoke, "ff")
    for _ in range(6):
        clock.advance(1.0)  # one call a second: the oldest seconds leave the window
        run(cb, invoke, ".")
    assert cb.state is State.CLOSED
    assert cb.get_status_info()["window"]["failures"] == 0


def test_the_window_starts_empty_after_opening_and_after_closing(
    clock: FakeClock, invoke: Invoke
) -> None:
    cb = make(clock)
    run(cb, invoke, "ffff")
    assert cb.state is State.OPEN
    assert cb.get_status_info()["window"]["calls"] == 0
    clock.advance(60)
    run(cb, invoke, ".")  # the probe closes it
    assert cb.state is State.CLOSED
    assert cb.get_status_info()["window"]["calls"] == 0
    run(cb, invoke, "fff")  # a fresh window: three calls, below the minimum
    assert cb.state is State.CLOSED


def test_a_late_failure_of_the_previous_window_is_not_counted(clock: FakeClock) -> None:
    cb = make(clock)

    def outlives_an_outage() -> None:
        run(cb, ENTRY_CALL, "ffff")  # the breaker opens...
        clock.advance(60)
        cb.call(ok)  # ...and closes again
        raise Boom("late")

    with pytest.raises(Boom):
        cb.call(outlives_an_outage)
    assert cb.get_status_info()["window"]["failures"] == 0


def ENTRY_CALL(cb: CircuitBreaker, fn: Any, *args: Any) -> Any:
    return cb.call(fn, *args)


def test_status_shows_the_window_as_counts_and_fractions(clock: FakeClock) -> None:
    cb = make(clock, minimum_calls=10)
    run(cb, ENTRY_CALL, "f..")
    window = cb.get_status_info()["window"]
    assert window == {
        "calls": 3,
        "failures": 1,
        "slow_calls": 0,
        "failure_rate": pytest.approx(1 / 3),
        "slow_call_rate": 0.0,
    }
    assert CircuitBreaker(clock=clock).get_status_info()["window"] is None  # no rate rule


def test_calls_the_window_slid_past_leave_the_status(clock: FakeClock) -> None:
    cb = make(clock, minimum_calls=10)  # a 10 s window
    run(cb, ENTRY_CALL, "fff")
    clock.advance(5)
    run(cb, ENTRY_CALL, "..")
    assert cb.get_status_info()["window"]["calls"] == 5
    clock.advance(6)  # the three failures are more than 10 s old
    window = cb.get_status_info()["window"]
    assert (window["calls"], window["failures"], window["failure_rate"]) == (2, 0, 0.0)
    clock.advance(3600)  # traffic stopped an hour ago
    assert cb.get_status_info()["window"]["calls"] == 0


def test_the_last_failure_of_a_rate_rule_shows_before_any_trip(clock: FakeClock) -> None:
    cb = make(clock, minimum_calls=10)
    run(cb, ENTRY_CALL, ".f.")
    assert cb.state is State.CLOSED
    failure = cb.get_status_info()["last_failure"]
    assert failure is not None and (failure["type"], failure["message"]) == ("Boom", "down")


def test_the_transition_event_names_the_rule(clock: FakeClock) -> None:
    events: list[BreakerEvent] = []
    cb = make(clock, listeners=[events.append])
    run(cb, ENTRY_CALL, "ffff")
    (change,) = [e for e in events if e.kind == "state_change"]
    assert (change.new, change.reason) == (State.OPEN, "failure_rate")


def test_a_breaker_needs_some_rule() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=None)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"failure_rate_threshold": 0}, "failure_rate_threshold"),
        ({"failure_rate_threshold": 1.5}, "failure_rate_threshold"),
        ({"failure_rate_threshold": 0.5, "sliding_window_seconds": 0.5}, "sliding_window"),
        ({"failure_rate_threshold": 0.5, "sliding_window_calls": 0}, "sliding_window_calls"),
        ({"failure_rate_threshold": 0.5, "sliding_window_calls": 10}, "minimum_calls"),
        ({"slow_call_rate_threshold": 0.5}, "slow_call_rate_threshold"),
        (
            {"failure_rate_threshold": 0.5, "sliding_window_seconds": 9, "sliding_window_calls": 9},
            "sliding_window",
        ),
    ],
)
def test_invalid_rate_settings_name_the_parameter(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        CircuitBreaker(**options)


def test_without_rate_keys_nothing_changes(clock: FakeClock) -> None:
    cb = CircuitBreaker(3, 5, 3, 5, False, clock=clock)
    assert cb.config.window is None
    assert cb.get_status_info()["window"] is None and cb.get_status_info()["tripped_by"] is None


# -- threads and tasks: no count lost ---------------------------------------------------


def hammer_from_sixteen_threads(cb: CircuitBreaker, *, failing_every: int) -> tuple[int, int]:
    """2,000 calls from each of 16 threads started together, every ``failing_every``-th
    failing: the window's ``(calls, failures)`` afterwards."""
    start = threading.Barrier(16)

    def hammer() -> None:
        start.wait()
        for i in range(2000):
            with contextlib.suppress(Boom):
                cb.call(fail if i % failing_every == 0 else ok)

    threads = [threading.Thread(target=hammer) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    window = cb.get_status_info()["window"]
    return window["calls"], window["failures"]


def counting_only(name: str) -> CircuitBreaker:
    """A breaker whose window counts every call and never trips (nor arms its lock-free
    path: the minimum is never reached, so every count takes the lock)."""
    return CircuitBreaker(
        failure_threshold=None,
        failure_rate_threshold=1.0,
        sliding_window_seconds=3600,
        minimum_calls=10**6,
        name=name,
    )


def test_sixteen_threads_lose_no_count() -> None:
    cb = counting_only("threads")
    assert hammer_from_sixteen_threads(cb, failing_every=4) == (32_000, 8_000)


async def test_two_hundred_tasks_lose_no_count() -> None:
    cb = counting_only("tasks")

    async def succeed() -> str:
        await asyncio.sleep(0)  # real wait: yield so that the tasks interleave
        return "ok"

    async def failing() -> None:
        await asyncio.sleep(0)  # real wait: yield so that the tasks interleave
        raise Boom

    async def task(index: int) -> None:
        for i in range(50):
            with contextlib.suppress(Boom):
                await cb.call_async(failing if (index + i) % 5 == 0 else succeed)

    await asyncio.gather(*(task(index) for index in range(200)))
    window = cb.get_status_info()["window"]
    assert (window["calls"], window["failures"]) == (10_000, 2_000)


def test_successes_past_the_minimum_weigh_in_the_next_verdict(
    clock: FakeClock, invoke: Invoke
) -> None:
    cb = make(clock, minimum_calls=4)
    run(cb, invoke, "......")  # past the minimum, successes take the lock-free path
    clock.advance(1.5)  # into another bucket of the window
    run(cb, invoke, "fffff")
    assert cb.state is State.CLOSED  # 5 failures of 11 calls
    run(cb, invoke, "f")
    assert cb.state is State.OPEN  # 6 of 12: the rate reaches 0.5


def test_threads_lose_no_count_while_the_window_moves_into_new_buckets() -> None:
    ticks = itertools.count()
    cb = CircuitBreaker(
        failure_threshold=None,
        failure_rate_threshold=1.0,
        sliding_window_seconds=1000,  # buckets of 100 s
        minimum_calls=10,  # low: most successes skip the lock
        name="rotating",
        clock=lambda: next(ticks) * 0.01,  # about 640 s, six new buckets, over the run
    )
    assert hammer_from_sixteen_threads(cb, failing_every=50) == (32_000, 640)


def test_an_open_breaker_rejects_as_before(clock: FakeClock) -> None:
    cb = make(clock)
    run(cb, ENTRY_CALL, "ffff")
    with pytest.raises(CircuitOpenError):
        cb.call(ok)
