"""Exactly one probe at a time across threads and asyncio tasks."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from circuit_breaker import CircuitBreaker, CircuitBreakerState, CircuitOpenError
from tests.helpers import FakeClock


class Boom(Exception):
    pass


def opened_breaker(clock: FakeClock) -> CircuitBreaker:
    cb = CircuitBreaker(2, 1, 3, 5, False, name="shared", clock=clock)

    def fail() -> None:
        raise Boom

    for _ in range(2):
        with pytest.raises(Boom):
            cb.call(fail)
    clock.advance(60)  # the retry deadline has passed: HALF_OPEN
    return cb


def test_32_threads_one_probe_reaches_the_function(clock: FakeClock) -> None:
    cb = opened_breaker(clock)
    reached = []
    release = threading.Event()
    barrier = threading.Barrier(32)

    def upstream() -> str:
        reached.append(threading.get_ident())
        release.wait(timeout=10)
        return "ok"

    def caller() -> str:
        barrier.wait(timeout=10)
        try:
            return cb.call(upstream)
        except CircuitOpenError:
            return "rejected"

    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = [pool.submit(caller) for _ in range(32)]
        # Every thread but the probe is rejected while the probe is held.
        deadline = time.monotonic() + 10
        while sum(f.done() for f in futures) < 31 and time.monotonic() < deadline:
            threading.Event().wait(0.001)
        release.set()
        results = [f.result(timeout=10) for f in futures]
    assert len(reached) == 1
    assert results.count("ok") == 1 and results.count("rejected") == 31
    assert cb.state is CircuitBreakerState.CLOSED


def test_many_threads_count_every_failure(clock: FakeClock) -> None:
    cb = CircuitBreaker(10_000, 1, 3, 5, False, name="counts", clock=clock)

    def fail() -> None:
        raise Boom

    def hammer() -> None:
        for _ in range(500):
            with pytest.raises(Boom):
                cb.call(fail)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cb.failure_count == 4000


def test_threads_tripping_together_open_the_breaker_once(clock: FakeClock) -> None:
    changes = []
    cb = CircuitBreaker(
        5, 1, 3, 5, False, name="once", clock=clock, listeners=[changes.append]
    )
    barrier = threading.Barrier(16)

    def fail() -> None:
        raise Boom

    def caller() -> None:
        barrier.wait(timeout=10)
        for _ in range(5):
            with contextlib.suppress(Boom, CircuitOpenError):
                cb.call(fail)

    threads = [threading.Thread(target=caller) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    opened = [e for e in changes if e.kind == "state_change"]
    assert [(e.old, e.new) for e in opened] == [
        (CircuitBreakerState.CLOSED, CircuitBreakerState.OPEN)
    ]
    assert cb.consecutive_circuit_breaks == 1


async def test_100_asyncio_tasks_one_probe_reaches_the_function(clock: FakeClock) -> None:
    cb = opened_breaker(clock)
    reached = 0
    release = asyncio.Event()

    async def upstream() -> str:
        nonlocal reached
        reached += 1
        await release.wait()
        return "ok"

    async def caller() -> str:
        try:
            return await cb.call_async(upstream)
        except CircuitOpenError:
            return "rejected"

    tasks = [asyncio.create_task(caller()) for _ in range(100)]
    for _ in range(10_000):
        if sum(t.done() for t in tasks) >= 99:
            break
        await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*tasks)
    assert reached == 1
    assert results.count("ok") == 1 and results.count("rejected") == 99
    assert cb.state is CircuitBreakerState.CLOSED
