"""Two-step calls: ``acquire()`` and its permit, ``with breaker:`` and ``async with breaker:``,
alone, nested, and overlapping across threads and tasks."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from circuit_breaker import CircuitBreaker, CircuitBreakerState, CircuitOpenError, Permit
from tests.helpers import FakeClock

State = CircuitBreakerState


class Boom(Exception):
    pass


class Declined(Exception):
    pass


def make(clock: FakeClock, **options: Any) -> CircuitBreaker:
    settings: dict[str, Any] = {
        "failure_threshold": 2,
        "base_interval_minutes": 1,
        "jitter_enabled": False,
        "name": "stream",
        "clock": clock,
        "ignore_exceptions": [Declined],
        "probe_timeout_seconds": 30,
    }
    settings.update(options)
    breaker = CircuitBreaker(**settings)
    breaker.enable_call_counting()
    return breaker


def opened(clock: FakeClock, **options: Any) -> CircuitBreaker:
    breaker = make(clock, **options)
    for _ in range(2):
        breaker.acquire().failure(Boom("down"))
    assert breaker.state is State.OPEN
    return breaker


def half_open(clock: FakeClock, **options: Any) -> CircuitBreaker:
    breaker = opened(clock, **options)
    clock.advance(60)
    assert breaker.state is State.HALF_OPEN
    return breaker


# -- permits ----------------------------------------------------------------------------


def test_a_permit_is_settled_once_the_first_verdict_counts(clock: FakeClock) -> None:
    breaker = make(clock)
    permit = breaker.acquire()
    assert isinstance(permit, Permit) and not permit.settled and not permit.probe
    assert permit.failure(Boom("down")) is True
    assert permit.settled and breaker.failure_count == 1
    assert permit.failure(Boom("again")) is False
    assert permit.success() is False  # ignored: the failure stays counted
    assert breaker.failure_count == 1
    assert breaker.call_counts()["failure"] == 1 and breaker.call_counts()["success"] == 0


def test_acquire_raises_when_a_call_would_be_rejected(clock: FakeClock) -> None:
    breaker = opened(clock)
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    with pytest.raises(CircuitOpenError):
        asyncio.run(breaker.acquire_async())
    assert breaker.call_counts()["rejected"] == 2


def test_the_probe_permit_decides_and_is_the_only_one(clock: FakeClock) -> None:
    breaker = half_open(clock)
    probe = breaker.acquire()
    assert probe.probe
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    assert probe.success()
    assert breaker.state is State.CLOSED and breaker.consecutive_circuit_breaks == 0


def test_an_unsettled_probe_permit_is_freed_by_the_probe_timeout(clock: FakeClock) -> None:
    breaker = half_open(clock)
    forgotten = breaker.acquire()
    clock.advance(29)
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    clock.advance(2)
    second = asyncio.run(breaker.acquire_async())
    assert second.probe
    assert forgotten.success()  # too late: it no longer holds the permit
    assert breaker.state is State.HALF_OPEN
    assert asyncio.run(second.failure_async(Boom("still down")))
    assert breaker.state is State.OPEN and breaker.consecutive_circuit_breaks == 2


def test_a_permits_exception_is_judged_like_calls(clock: FakeClock) -> None:
    breaker = half_open(clock)
    breaker.acquire().failure(KeyboardInterrupt())  # counts for nothing, frees the permit
    probe = breaker.acquire()
    probe.failure(Declined("card expired"))  # ignored: the dependency answered, a success
    assert breaker.state is State.CLOSED
    with pytest.raises(TypeError, match="takes the exception"):
        breaker.acquire().failure("timeout")  # type: ignore[arg-type]


# -- with blocks ------------------------------------------------------------------------


def test_a_block_is_judged_like_a_call(clock: FakeClock) -> None:
    breaker = make(clock)
    with breaker:
        pass
    with pytest.raises(Declined), breaker:
        raise Declined("ignored")
    for _ in range(2):
        with pytest.raises(Boom), breaker:
            raise Boom("down")
    assert breaker.state is State.OPEN
    ran = []
    with pytest.raises(CircuitOpenError), breaker:
        ran.append(1)
    assert ran == []
    assert breaker.call_counts() == {
        "success": 1,
        "failure": 2,
        "ignored": 1,
        "rejected": 1,
        "would_reject": 0,
    }


def test_a_block_may_settle_its_own_permit_first(clock: FakeClock) -> None:
    breaker = make(clock)
    with breaker as permit:
        permit.failure(Boom("a 503 the code did not raise"))
    assert breaker.failure_count == 1  # the block's own success came second: ignored


def test_an_interrupted_probe_block_frees_the_permit(clock: FakeClock) -> None:
    breaker = half_open(clock)
    with pytest.raises(KeyboardInterrupt), breaker as probe:
        assert probe.probe
        raise KeyboardInterrupt
    with breaker as probe:
        assert probe.probe
    assert breaker.state is State.CLOSED


def test_async_blocks_are_judged_like_calls(clock: FakeClock) -> None:
    breaker = half_open(clock)

    async def scenario() -> None:
        with pytest.raises(asyncio.CancelledError):
            async with breaker:
                raise asyncio.CancelledError  # frees the probe permit
        with pytest.raises(Boom):
            async with breaker as probe:
                assert probe.probe
                raise Boom("still down")
        assert breaker.state is State.OPEN
        with pytest.raises(CircuitOpenError):
            async with breaker:
                pytest.fail("a rejected block never runs")

    asyncio.run(scenario())


def test_nested_blocks_each_settle_their_own_permit(clock: FakeClock) -> None:
    breaker = make(clock, failure_threshold=5)
    with pytest.raises(Boom), breaker as outer:
        with breaker as inner:
            pass
        assert inner.settled and not outer.settled
        raise Boom
    assert outer.settled and breaker.failure_count == 1


def test_a_block_exit_without_an_entry_is_an_error(clock: FakeClock) -> None:
    with pytest.raises(RuntimeError, match="without entering"):
        make(clock).__exit__(None, None, None)


def test_16_threads_overlap_blocks_and_each_settles_its_own(clock: FakeClock) -> None:
    breaker = make(clock, failure_threshold=100)
    inside = threading.Barrier(16)
    odd_may_leave = threading.Event()
    permits: dict[int, Permit] = {}

    def worker(index: int) -> None:
        try:
            with breaker as permit:
                permits[index] = permit
                inside.wait(timeout=10)  # all sixteen blocks are open at once
                if index % 2:
                    assert odd_may_leave.wait(timeout=10)
                    return
                raise Boom(str(index))
        except Boom:
            pass

    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(worker, index) for index in range(16)]
        for future in futures[0::2]:
            future.result(timeout=10)
        assert [permits[i].settled for i in range(16)] == [True, False] * 8
        odd_may_leave.set()
        for future in futures:
            future.result(timeout=10)
    assert all(permit.settled for permit in permits.values())
    counts = breaker.call_counts()
    assert (counts["success"], counts["failure"]) == (8, 8)


def test_200_tasks_overlap_async_blocks_and_each_settles_its_own(clock: FakeClock) -> None:
    breaker = make(clock, failure_threshold=1000)
    permits: dict[int, Permit] = {}

    async def scenario() -> None:
        all_inside = asyncio.Event()

        async def task(index: int) -> None:
            try:
                async with breaker as permit:
                    permits[index] = permit
                    if len(permits) == 200:
                        all_inside.set()
                    await all_inside.wait()
                    if index % 2:
                        raise Boom(str(index))
            except Boom:
                pass
            assert permits[index].settled

        await asyncio.gather(*(task(index) for index in range(200)))

    asyncio.run(scenario())
    assert len(set(map(id, permits.values()))) == 200
    counts = breaker.call_counts()
    assert (counts["success"], counts["failure"]) == (100, 100)


def test_a_probe_held_in_a_block_is_the_only_one_across_threads(clock: FakeClock) -> None:
    breaker = half_open(clock)
    entered = threading.Event()
    leave = threading.Event()

    def probe() -> None:
        with breaker as permit:
            assert permit.probe
            entered.set()
            assert leave.wait(timeout=10)

    def other() -> str:
        try:
            with breaker:
                return "ran"
        except CircuitOpenError:
            return "rejected"

    with ThreadPoolExecutor(max_workers=16) as pool:
        holder = pool.submit(probe)
        assert entered.wait(timeout=10)
        others = [pool.submit(other) for _ in range(15)]
        assert [future.result(timeout=10) for future in others] == ["rejected"] * 15
        leave.set()
        holder.result(timeout=10)
    assert breaker.state is State.CLOSED


def test_a_probe_held_in_an_async_block_is_the_only_one_across_tasks(clock: FakeClock) -> None:
    breaker = half_open(clock)

    async def scenario() -> list[str]:
        entered, leave = asyncio.Event(), asyncio.Event()

        async def probe() -> None:
            async with breaker as permit:
                assert permit.probe
                entered.set()
                await leave.wait()

        async def other() -> str:
            try:
                async with breaker:
                    return "ran"
            except CircuitOpenError:
                return "rejected"

        holder = asyncio.create_task(probe())
        await entered.wait()
        results = await asyncio.gather(*(other() for _ in range(199)))
        leave.set()
        await holder
        return results

    assert asyncio.run(scenario()) == ["rejected"] * 199
    assert breaker.state is State.CLOSED
