"""``await breaker.call_async(fn)`` and async decorators, on one long-lived event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from benchmarks import loops, peers
from benchmarks.context import Context
from benchmarks.harness import Measure, interleave
from benchmarks.report import Row
from benchmarks.scenarios.common import BARE, OURS, anoop, overhead_row

TARGET_PEERS = ("aiobreaker", "purgatory")  # the async peers call_async is judged against


def _judge_against_named(row: Row, quick: bool) -> None:
    named = [row.peers[name] for name in TARGET_PEERS if name in row.peers]
    row.judge(row.ours is not None and bool(named) and row.ours <= 0.5 * min(named), quick)


def run(context: Context) -> list[Row]:
    loop = asyncio.new_event_loop()
    try:
        purgatory_factory = None
        if peers.load("purgatory"):
            purgatory_factory = peers.purgatory_async_factory()
            loop.run_until_complete(purgatory_factory.initialize())
        rows = [
            _call_async_row(context, loop, purgatory_factory),
            _decorator_row(context, loop, purgatory_factory),
        ]
        for row in rows:
            _judge_against_named(row, context.quick)
        return rows
    finally:
        loop.close()


def _call_async_row(
    context: Context, loop: asyncio.AbstractEventLoop, purgatory_factory: Any
) -> Row:
    from circuit_breaker import CircuitBreaker

    def on_loop(call: Callable[..., Any]) -> Measure:
        return loops.in_loop(loop, loops.awaiting_via(call, anoop))

    candidates: dict[str, Measure] = {
        BARE: loops.in_loop(loop, loops.awaiting(anoop)),
        OURS: on_loop(CircuitBreaker(name="bench_async").call_async),
    }
    if peers.load("aiobreaker"):
        candidates["aiobreaker"] = on_loop(peers.aiobreaker_breaker().call_async)
    if peers.load("circuitbreaker"):
        candidates["circuitbreaker"] = on_loop(peers.circuitbreaker_breaker().call_async)
    if peers.load("interlock-cb"):
        candidates["interlock-cb"] = on_loop(peers.interlock_breaker().call_async)
    if purgatory_factory is not None:
        # purgatory has no call_async(): its documented per-call form is the context manager.
        factory = purgatory_factory

        async def purgatory_call(afn: Callable[[], Any]) -> Any:
            async with await factory.get_breaker("bench_call"):
                return await afn()

        candidates["purgatory"] = on_loop(purgatory_call)
    return overhead_row(
        "call_async",
        "call_async() overhead",
        interleave(candidates, context.settings),
        target="<=0.5x aiobreaker/purgatory",
        notes="purgatory: `async with await factory.get_breaker(name)`",
    )


def _decorator_row(
    context: Context, loop: asyncio.AbstractEventLoop, purgatory_factory: Any
) -> Row:
    from circuit_breaker import CircuitBreaker

    def on_loop(decorated: Callable[[], Any]) -> Measure:
        return loops.in_loop(loop, loops.awaiting(decorated))

    candidates: dict[str, Measure] = {
        BARE: on_loop(anoop),
        OURS: on_loop(CircuitBreaker(name="bench_async_decorator")(anoop)),
    }
    if peers.load("aiobreaker"):
        candidates["aiobreaker"] = on_loop(peers.aiobreaker_breaker()(anoop))
    if peers.load("circuitbreaker"):
        candidates["circuitbreaker"] = on_loop(peers.circuitbreaker_breaker()(anoop))
    if peers.load("interlock-cb"):
        candidates["interlock-cb"] = on_loop(peers.interlock_breaker()(anoop))
    if purgatory_factory is not None:
        candidates["purgatory"] = on_loop(purgatory_factory("bench")(anoop))
    return overhead_row(
        "call_async",
        "async decorator overhead",
        interleave(candidates, context.settings),
        target="<=0.5x aiobreaker/purgatory",
    )
