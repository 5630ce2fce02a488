"""Closed-state success: overhead of going through a breaker, over a bare call."""

from __future__ import annotations

from benchmarks import loops, peers
from benchmarks.context import Context
from benchmarks.harness import Measure, interleave
from benchmarks.report import Row
from benchmarks.scenarios.common import BARE, OURS, at_most, noop, overhead_row
from circuit_breaker import CircuitBreaker


def run_call(context: Context) -> list[Row]:
    """``breaker.call(fn)`` in each library (purgatory: ``with factory.get_breaker()``)."""
    ours = CircuitBreaker(name="bench_call")
    candidates: dict[str, Measure] = {
        BARE: loops.bare(noop),
        OURS: loops.via(ours.call, noop),
    }
    if peers.load("pybreaker"):
        candidates["pybreaker"] = loops.via(peers.pybreaker_breaker().call, noop)
    if peers.load("circuitbreaker"):
        candidates["circuitbreaker"] = loops.via(peers.circuitbreaker_breaker().call, noop)
    if peers.load("aiobreaker"):
        candidates["aiobreaker"] = loops.via(peers.aiobreaker_breaker().call, noop)
    if peers.load("purgatory"):
        factory = peers.purgatory_sync_factory()
        candidates["purgatory"] = loops.within(lambda: factory.get_breaker("bench"), noop)
    if peers.load("interlock-cb"):
        candidates["interlock-cb"] = loops.via(peers.interlock_breaker().call, noop)
    row = overhead_row(
        "closed_call",
        "call() overhead",
        interleave(candidates, context.settings),
        target="<=0.3x pybreaker, <=0.6x circuitbreaker",
        notes="interlock-cb: default configuration (a 100-call window, slow-call detection)",
    )
    row.judge(
        at_most(row, "pybreaker", 0.3) and at_most(row, "circuitbreaker", 0.6), context.quick
    )
    return [row]


def run_decorator(context: Context) -> list[Row]:
    """The same through each library's decorator."""
    candidates: dict[str, Measure] = {
        BARE: loops.bare(noop),
        OURS: loops.bare(CircuitBreaker(name="bench_decorator")(noop)),
    }
    if peers.load("pybreaker"):
        candidates["pybreaker"] = loops.bare(peers.pybreaker_breaker()(noop))
    if peers.load("circuitbreaker"):
        candidates["circuitbreaker"] = loops.bare(peers.circuitbreaker_breaker()(noop))
    if peers.load("aiobreaker"):
        candidates["aiobreaker"] = loops.bare(peers.aiobreaker_breaker()(noop))
    if peers.load("purgatory"):
        candidates["purgatory"] = loops.bare(peers.purgatory_sync_factory()("bench")(noop))
    if peers.load("interlock-cb"):
        candidates["interlock-cb"] = loops.bare(peers.interlock_breaker()(noop))
    row = overhead_row(
        "decorator",
        "decorated call overhead",
        interleave(candidates, context.settings),
        target="<=0.5x best peer",
    )
    ratio = row.ratio
    row.judge(ratio is not None and ratio <= 0.5, context.quick)
    return [row]
