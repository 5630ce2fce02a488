"""Timed loops, one shape per way of calling, so no candidate pays for a wrapper lambda."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from itertools import repeat
from time import perf_counter_ns
from typing import Any

from benchmarks.harness import Measure


def bare(fn: Callable[[], Any]) -> Measure:
    """``fn()``: the baseline, and any decorated function."""

    def measure(n: int) -> int:
        start = perf_counter_ns()
        for _ in repeat(None, n):
            fn()
        return perf_counter_ns() - start

    return measure


def via(call: Callable[[Any], Any], fn: Any) -> Measure:
    """``call(fn)``: ``breaker.call(fn)`` in every library that has one (and any one-argument
    call: ``transport.handle_request(request)``)."""

    def measure(n: int) -> int:
        start = perf_counter_ns()
        for _ in repeat(None, n):
            call(fn)
        return perf_counter_ns() - start

    return measure


def within(
    context: Callable[[], AbstractContextManager[Any]], fn: Callable[[], Any]
) -> Measure:
    """``with context(): fn()``: purgatory's documented way."""

    def measure(n: int) -> int:
        start = perf_counter_ns()
        for _ in repeat(None, n):
            with context():
                fn()
        return perf_counter_ns() - start

    return measure


def rejecting(
    call: Callable[[Callable[[], Any]], Any],
    fn: Callable[[], Any],
    error: type[BaseException] | tuple[type[BaseException], ...],
) -> Measure:
    """``try: call(fn) except error: pass``: one rejected call, raising and catching."""

    def measure(n: int) -> int:
        start = perf_counter_ns()
        for _ in repeat(None, n):
            try:  # noqa: SIM105 - contextlib.suppress would add its own cost to the timing
                call(fn)
            except error:
                pass
        return perf_counter_ns() - start

    return measure


def rejecting_within(
    context: Callable[[], AbstractContextManager[Any]],
    fn: Callable[[], Any],
    error: type[BaseException] | tuple[type[BaseException], ...],
) -> Measure:
    def measure(n: int) -> int:
        start = perf_counter_ns()
        for _ in repeat(None, n):
            try:
                with context():
                    fn()
            except error:
                pass
        return perf_counter_ns() - start

    return measure


AsyncLoop = Callable[[int], Awaitable[int]]


def in_loop(loop: asyncio.AbstractEventLoop, timed: AsyncLoop) -> Measure:
    """Run an async timed loop on a long-lived event loop (start-up is not timed)."""

    def measure(n: int) -> int:
        return loop.run_until_complete(timed(n))

    return measure


def awaiting(afn: Callable[[], Awaitable[Any]]) -> AsyncLoop:
    """``await afn()``: the async baseline, and any decorated coroutine function."""

    async def timed(n: int) -> int:
        start = perf_counter_ns()
        for _ in repeat(None, n):
            await afn()
        return perf_counter_ns() - start

    return timed


def awaiting_via(
    call: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]],
    afn: Callable[[], Awaitable[Any]],
) -> AsyncLoop:
    """``await call(afn)``: ``call_async`` in every library that has one."""

    async def timed(n: int) -> int:
        start = perf_counter_ns()
        for _ in repeat(None, n):
            await call(afn)
        return perf_counter_ns() - start

    return timed
