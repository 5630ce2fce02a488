"""The decorator on generator and async generator functions: judged when the generator
finishes, admitted when iteration starts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from circuit_breaker import CircuitBreaker, CircuitBreakerState, CircuitOpenError
from tests.helpers import FakeClock

State = CircuitBreakerState


class Boom(Exception):
    pass


def make(clock: FakeClock, **options: Any) -> CircuitBreaker:
    settings: dict[str, Any] = {
        "failure_threshold": 2,
        "base_interval_minutes": 1,
        "jitter_enabled": False,
        "name": "feed",
        "clock": clock,
    }
    settings.update(options)
    return CircuitBreaker(**settings)


def trip(breaker: CircuitBreaker) -> None:
    for _ in range(2):
        breaker.acquire().failure(Boom("down"))


def half_open(clock: FakeClock, **options: Any) -> CircuitBreaker:
    breaker = make(clock, **options)
    trip(breaker)
    clock.advance(60)
    assert breaker.state is State.HALF_OPEN
    return breaker


def collect(stream: AsyncIterator[Any]) -> list[Any]:
    async def run() -> list[Any]:
        return [item async for item in stream]

    return asyncio.run(run())


# -- generators -------------------------------------------------------------------------


def test_a_generator_is_admitted_when_iteration_starts(clock: FakeClock) -> None:
    breaker = make(clock)

    @breaker
    def rows() -> Iterator[int]:
        yield from range(3)

    created = rows()  # nothing is decided yet
    trip(breaker)
    with pytest.raises(CircuitOpenError):
        next(created)
    later = rows()  # creating one while open raises nothing either
    assert later is not None
    assert rows.__name__ == "rows"


def test_a_generator_succeeds_when_exhausted_not_when_created(clock: FakeClock) -> None:
    breaker = half_open(clock)

    @breaker
    def rows() -> Iterator[int]:
        yield from range(3)

    stream = rows()
    assert next(stream) == 0
    assert breaker.status().probing  # the probe is out until the stream ends
    assert list(stream) == [1, 2]
    assert breaker.state is State.CLOSED


def test_a_generator_that_raises_is_judged_a_failure(clock: FakeClock) -> None:
    breaker = half_open(clock)

    @breaker
    def rows() -> Iterator[int]:
        yield 1
        raise Boom("connection reset mid-stream")

    got = []
    with pytest.raises(Boom):
        for row in rows():
            got.append(row)
    assert got == [1]
    assert breaker.state is State.OPEN and breaker.consecutive_circuit_breaks == 2


def test_a_generator_closed_early_by_its_consumer_is_a_success(clock: FakeClock) -> None:
    breaker = half_open(clock)
    finished = []

    @breaker
    def rows() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            finished.append(True)

    for row in rows():
        if row == 2:
            break
    assert finished == [True]
    assert breaker.state is State.CLOSED


def test_an_interrupted_generator_counts_for_nothing_and_frees_the_probe(
    clock: FakeClock,
) -> None:
    breaker = half_open(clock)

    @breaker
    def rows() -> Iterator[int]:
        yield 1
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        list(rows())
    assert breaker.state is State.HALF_OPEN and not breaker.status().probing


def test_sends_throws_and_the_return_value_pass_through(clock: FakeClock) -> None:
    breaker = make(clock)

    @breaker
    def echo() -> Iterator[Any]:
        received = []
        try:
            while True:
                received.append((yield len(received)))
        except GeneratorExit:
            raise
        except ValueError:
            return received

    stream = echo()
    assert next(stream) == 0
    assert stream.send("a") == 1
    assert stream.send("b") == 2
    with pytest.raises(StopIteration) as stopped:
        stream.throw(ValueError("done"))
    assert stopped.value.value == ["a", "b"]
    assert breaker.failure_count == 0


def test_a_generators_fallback_stands_in_for_its_items(clock: FakeClock) -> None:
    breaker = make(clock)

    @breaker(fallback=lambda exc: ["cached"], fallback_on_failure=True)
    def rows() -> Iterator[str]:
        yield "live"
        raise Boom

    assert list(rows()) == ["live", "cached"]  # the failure, counted, then the fallback
    assert list(rows()) == ["live", "cached"]
    assert breaker.state is State.OPEN
    assert list(rows()) == ["cached"]  # rejected


# -- async generators -------------------------------------------------------------------


def test_an_async_generator_is_judged_when_it_finishes(clock: FakeClock) -> None:
    breaker = half_open(clock)

    @breaker
    async def rows() -> AsyncIterator[int]:
        for row in range(3):
            await asyncio.sleep(0)
            yield row

    async def scenario() -> None:
        stream = rows()
        assert await anext(stream) == 0
        assert breaker.status().probing
        assert [row async for row in stream] == [1, 2]

    asyncio.run(scenario())
    assert breaker.state is State.CLOSED
    assert rows.__name__ == "rows"


def test_an_async_generator_that_raises_is_a_failure(clock: FakeClock) -> None:
    breaker = half_open(clock)

    @breaker
    async def rows() -> AsyncIterator[int]:
        yield 1
        raise Boom

    with pytest.raises(Boom):
        collect(rows())
    assert breaker.state is State.OPEN
    with pytest.raises(CircuitOpenError):
        collect(rows())


def test_an_async_generator_closed_early_is_a_success(clock: FakeClock) -> None:
    breaker = half_open(clock)
    finished = []

    @breaker
    async def rows() -> AsyncIterator[int]:
        try:
            for row in range(100):
                yield row
        finally:
            finished.append(True)

    async def scenario() -> None:
        stream = rows()
        async for row in stream:
            if row == 2:
                break
        await stream.aclose()

    asyncio.run(scenario())
    assert finished == [True]
    assert breaker.state is State.CLOSED


def test_an_async_generator_passes_sends_and_throws_on(clock: FakeClock) -> None:
    breaker = make(clock)

    @breaker
    async def echo() -> AsyncIterator[Any]:
        received: list[Any] = []
        while True:
            try:
                received.append((yield len(received)))
            except ValueError:
                yield received

    async def scenario() -> Any:
        stream = echo()
        assert await anext(stream) == 0
        assert await stream.asend("a") == 1
        thrown = await stream.athrow(ValueError("show"))
        await stream.aclose()
        return thrown

    assert asyncio.run(scenario()) == ["a"]
    assert breaker.failure_count == 0


def test_an_async_generators_fallback_may_be_async(clock: FakeClock) -> None:
    breaker = make(clock)

    async def cached(exc: Exception) -> AsyncIterator[str]:
        yield f"cached after {type(exc).__name__}"

    @breaker(fallback=cached, fallback_on_failure=True)
    async def rows() -> AsyncIterator[str]:
        yield "live"
        raise Boom

    assert collect(rows()) == ["live", "cached after Boom"]
    assert collect(rows()) == ["live", "cached after Boom"]
    assert collect(rows()) == ["cached after CircuitOpenError"]

    @breaker(fallback=lambda exc: ["plain"])
    async def other() -> AsyncIterator[str]:
        yield "never"

    assert collect(other()) == ["plain"]
