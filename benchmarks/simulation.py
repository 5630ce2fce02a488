"""Breakers driven by a fake clock: no real waiting, the same answer on every run."""

from __future__ import annotations

from contextlib import suppress

from circuit_breaker import CircuitBreaker, CircuitOpenError


class FakeClock:
    """The time a breaker reads; a simulation sets ``now`` before every call."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Failed(Exception):
    """What a simulated dependency raises."""


def _fail() -> None:
    raise Failed


def _succeed() -> None:
    pass


def rate_rule_counts() -> bool:
    """Whether this build's breaker counts calls in a window and trips on a failure rate.

    Every second call fails for two minutes of simulated time (ten calls a second): the
    streak rule is off, so only a rate rule can open the breaker. A build where the rate
    keywords are accepted but no call is counted yet never rejects a call.
    """
    clock = FakeClock()
    breaker = CircuitBreaker(
        None,
        name="rate_rule_check",
        failure_rate_threshold=0.5,
        sliding_window_seconds=10,
        minimum_calls=10,
        clock=clock,
    )
    for step in range(1200):
        clock.now = step / 10
        try:
            with suppress(Failed):
                breaker.call(_fail if step % 2 else _succeed)
        except CircuitOpenError:
            return True
    return False


NOT_COUNTED_YET = (
    "this build's breaker accepts the rate-rule settings but counts no call in a window "
    "yet: the figures would be the streak rule's"
)
