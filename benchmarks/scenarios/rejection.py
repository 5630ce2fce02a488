"""Rejection while OPEN: the whole cost of a refused call, raising and catching included."""

from __future__ import annotations

import contextlib
from typing import Any

from benchmarks import loops, peers
from benchmarks.context import Context
from benchmarks.harness import Measure, interleave
from benchmarks.report import Row
from benchmarks.scenarios.common import OURS, Down, fail
from circuit_breaker import CircuitBreaker, CircuitBreakerState, CircuitOpenError

TARGET_US = 2.0


class Target:
    """The protected function; counts the calls that got through (there must be none)."""

    __name__ = __qualname__ = "target"  # decorators copy these

    def __init__(self) -> None:
        self.reached = 0

    def __call__(self) -> None:
        self.reached += 1


def _trip(call: Any) -> None:
    with contextlib.suppress(Down):
        call(fail)


def run(context: Context) -> list[Row]:
    targets: dict[str, Target] = {}

    def target(name: str) -> Target:
        return targets.setdefault(name, Target())

    ours = CircuitBreaker(1, 10_000, name="bench_rejection", jitter_enabled=False)
    _trip(ours.call)
    if ours.state is not CircuitBreakerState.OPEN:
        raise RuntimeError(f"the breaker should be OPEN after one failure, is {ours.state}")
    candidates: dict[str, Measure] = {
        OURS: loops.rejecting(ours.call, target(OURS), CircuitOpenError)
    }

    if module := peers.load("pybreaker"):
        breaker = peers.pybreaker_breaker(fail_max=1)
        breaker.open()
        candidates["pybreaker"] = loops.rejecting(
            breaker.call, target("pybreaker"), module.CircuitBreakerError
        )
    if module := peers.load("circuitbreaker"):
        # circuitbreaker's call() never rejects (only its decorator checks the state).
        breaker = peers.circuitbreaker_breaker(failure_threshold=1)
        _trip(breaker.call)
        candidates["circuitbreaker"] = loops.rejecting(
            lambda decorated: decorated(),
            breaker(target("circuitbreaker")),
            module.CircuitBreakerError,
        )
    if module := peers.load("aiobreaker"):
        breaker = peers.aiobreaker_breaker(fail_max=1)
        breaker.open()
        candidates["aiobreaker"] = loops.rejecting(
            breaker.call, target("aiobreaker"), module.CircuitBreakerError
        )
    if module := peers.load("purgatory"):
        from purgatory.domain.model import OpenedState

        factory = peers.purgatory_sync_factory(threshold=1)
        with contextlib.suppress(Down), factory.get_breaker("bench"):
            fail()
        candidates["purgatory"] = loops.rejecting_within(
            lambda: factory.get_breaker("bench"), target("purgatory"), OpenedState
        )

    samples = interleave(candidates, context.settings)
    leaked = {name: t.reached for name, t in targets.items() if t.reached}
    if leaked:
        raise RuntimeError(f"calls got through an OPEN breaker: {leaked}")
    to_us = 1 / 1000
    row = Row(
        "rejection",
        "rejected call (raise+catch)",
        "µs",
        samples[OURS].median * to_us,
        {name: sample.median * to_us for name, sample in samples.items() if name != OURS},
        target=f"<= {TARGET_US:g} µs",
        spread=samples[OURS].spread,
        notes="absolute time per rejected call, not overhead; circuitbreaker via its "
        "decorator (its call() does not check the state)",
    )
    row.judge(row.ours is not None and row.ours <= TARGET_US, context.quick)
    return [row]
