"""Fallbacks: a value instead of CircuitOpenError, and with fallback_on_failure instead of
the failure's exception, through every entry point."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest

from circuit_breaker import CircuitBreaker, CircuitBreakerState, CircuitOpenError
from tests.helpers import FakeClock, Invoke

State = CircuitBreakerState


class Boom(Exception):
    pass


class Declined(Exception):
    pass


def fail() -> None:
    raise Boom("upstream said no")


def ok() -> str:
    return "fresh"


class Recorder:
    """A fallback that remembers what it was given and what the breaker had counted."""

    def __init__(self, breaker: list[CircuitBreaker]) -> None:
        self.breaker = breaker
        self.given: list[tuple[Exception, int]] = []

    def __call__(self, exc: Exception) -> str:
        self.given.append((exc, self.breaker[0].failure_count if self.breaker else -1))
        return "cached"


def make(clock: FakeClock, **options: Any) -> tuple[CircuitBreaker, Recorder]:
    holder: list[CircuitBreaker] = []
    recorder = Recorder(holder)
    settings: dict[str, Any] = {
        "failure_threshold": 2,
        "base_interval_minutes": 1,
        "jitter_enabled": False,
        "name": "inventory",
        "clock": clock,
        "fallback": recorder,
        "ignore_exceptions": [Declined],
    }
    settings.update(options)
    breaker = CircuitBreaker(**settings)
    holder.append(breaker)
    return breaker, recorder


def trip(breaker: CircuitBreaker) -> None:
    for _ in range(2):
        with pytest.raises(Boom):
            breaker.call(fail)


def test_a_rejected_call_returns_the_fallbacks_value(clock: FakeClock, invoke: Invoke) -> None:
    breaker, recorder = make(clock)
    trip(breaker)
    reached = []
    assert invoke(breaker, lambda: reached.append(1)) == "cached"
    assert reached == []
    ((given, _),) = recorder.given
    assert isinstance(given, CircuitOpenError) and given.name == "inventory"
    assert breaker.call_counts()["rejected"] == 1


def test_failures_reach_the_fallback_only_when_asked(clock: FakeClock, invoke: Invoke) -> None:
    breaker, recorder = make(clock)
    with pytest.raises(Boom):
        invoke(breaker, fail)
    assert recorder.given == []

    on_failure, seen = make(clock, name="on_failure", fallback_on_failure=True)
    assert invoke(on_failure, fail) == "cached"
    ((given, counted_before),) = seen.given
    assert isinstance(given, Boom)
    assert counted_before == 1  # the failure was counted before the fallback ran
    assert invoke(on_failure, fail) == "cached"
    assert on_failure.state is State.OPEN
    assert invoke(on_failure, ok) == "cached"  # now rejected: the fallback again


def test_what_is_not_a_failure_never_falls_back(clock: FakeClock, invoke: Invoke) -> None:
    breaker, recorder = make(clock, fallback_on_failure=True)

    def declined() -> None:
        raise Declined("card expired")

    with pytest.raises(Declined):
        invoke(breaker, declined)  # ignored: counted as a success, re-raised

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        invoke(breaker, interrupted)
    assert recorder.given == []
    assert invoke(breaker, ok) == "fresh"


def test_a_value_judged_a_failure_is_still_returned(clock: FakeClock, invoke: Invoke) -> None:
    breaker, recorder = make(clock, fallback_on_failure=True, failure_on_result=lambda r: r == 0)
    assert invoke(breaker, lambda: 0) == 0
    assert breaker.failure_count == 1 and recorder.given == []


def test_a_failure_the_breaker_does_not_count_still_falls_back(clock: FakeClock) -> None:
    breaker, recorder = make(clock, fallback_on_failure=True)
    breaker.disable()
    assert breaker.call(fail) == "cached"
    assert breaker.failure_count == 0 and len(recorder.given) == 1


def test_a_fallback_that_raises_propagates_chained_to_the_original(
    clock: FakeClock, invoke: Invoke
) -> None:
    def broken(exc: Exception) -> str:
        raise LookupError("no cached copy")

    breaker, _ = make(clock, fallback=broken, fallback_on_failure=True)
    with pytest.raises(LookupError) as raised:
        invoke(breaker, fail)
    assert isinstance(raised.value.__context__, Boom)
    assert breaker.failure_count == 1


def test_an_async_fallback_is_awaited_by_async_calls(clock: FakeClock) -> None:
    async def cached(exc: Exception) -> str:
        await asyncio.sleep(0)
        return f"cached after {type(exc).__name__}"

    breaker, _ = make(clock, fallback=cached, fallback_on_failure=True)

    async def failing() -> None:
        raise Boom

    @breaker
    async def decorated() -> None:
        raise Boom

    assert asyncio.run(breaker.call_async(failing)) == "cached after Boom"
    assert asyncio.run(decorated()) == "cached after Boom"
    assert breaker.state is State.OPEN
    assert asyncio.run(breaker.call_async(failing)) == "cached after CircuitOpenError"


def test_a_sync_call_cannot_await_an_async_fallback(clock: FakeClock) -> None:
    async def cached(exc: Exception) -> str:
        return "cached"

    breaker, _ = make(clock, fallback=cached)
    trip(breaker)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "coroutine was never awaited"
        with pytest.raises(TypeError, match="'inventory' returned an awaitable"):
            breaker.call(ok)


def test_the_decorator_takes_its_own_fallback_and_stays_usable_bare(clock: FakeClock) -> None:
    breaker, recorder = make(clock, fallback=None)

    @breaker
    def bare() -> str:
        return "bare"

    @breaker()
    def empty_parentheses() -> str:
        return "parentheses"

    @breaker(fallback=lambda exc: "own", fallback_on_failure=True)
    def with_own() -> None:
        raise Boom

    assert (bare(), empty_parentheses(), bare.__name__) == ("bare", "parentheses", "bare")
    assert with_own() == "own"
    assert with_own() == "own"
    assert breaker.state is State.OPEN
    with pytest.raises(CircuitOpenError):
        bare()
    assert with_own() == "own"
    assert recorder.given == []


def test_a_decorator_leaves_out_what_the_breaker_gives(clock: FakeClock) -> None:
    breaker, recorder = make(clock)

    @breaker(fallback_on_failure=True)
    def uses_the_breakers_fallback() -> None:
        raise Boom

    assert uses_the_breakers_fallback() == "cached"
    assert len(recorder.given) == 1


@pytest.mark.parametrize(
    ("options", "parameter"),
    [
        ({"fallback": "cached"}, "fallback"),
        ({"fallback": None, "fallback_on_failure": True}, "fallback_on_failure"),
        ({"fallback_on_failure": "yes"}, "fallback_on_failure"),
    ],
)
def test_bad_fallback_settings_raise_value_error_naming_them(
    clock: FakeClock, options: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(ValueError, match=parameter):
        make(clock, **options)
    plain, _ = make(clock, fallback=None)
    with pytest.raises(ValueError, match=parameter):
        plain(**options)


def test_a_fallback_for_rejections_only_keeps_the_fast_path(clock: FakeClock) -> None:
    breaker, _ = make(clock)
    assert breaker._hot is not None  # successes still cost an attribute test and the call
    on_failure, _ = make(clock, fallback_on_failure=True)
    assert on_failure._hot is None  # failures must reach the fallback: the full path
