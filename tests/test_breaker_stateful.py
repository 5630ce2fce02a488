"""The breaker against a small reference model of its states and schedule, driven by hypothesis."""

from __future__ import annotations

import contextlib

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from circuit_breaker import CircuitBreaker, CircuitOpenError
from tests.helpers import FakeClock


class Boom(Exception):
    pass


class ReferenceBreaker:
    """The contract written as plainly as possible; no jitter."""

    def __init__(self, threshold: int, base: float, fixed: int, exponential: int, stay: bool):
        self.threshold, self.base = threshold, base
        self.fixed, self.exponential = fixed, exponential
        self.stay_open = stay
        self.state = "closed"
        self.failures = 0
        self.breaks = 0
        self.retry_at = 0.0

    def interval(self, trip: int) -> float:
        if trip <= self.fixed:
            return self.base
        return self.base * 2 ** min(trip - self.fixed, self.exponential)

    def open(self, trip: int, now: float) -> None:
        self.breaks, self.failures = trip, 0
        if trip > self.fixed + self.exponential and self.stay_open:
            self.state = "forced_open"
        else:
            self.state, self.retry_at = "open", now + self.interval(trip)

    def call(self, succeeds: bool, now: float) -> bool:
        """Returns whether the call reached the function."""
        if self.state == "disabled":
            return True
        if self.state == "forced_open" or (self.state == "open" and now < self.retry_at):
            return False
        if self.state == "open":  # the deadline passed: this call is the probe
            if succeeds:
                self.state, self.failures, self.breaks = "closed", 0, 0
            else:
                self.open(self.breaks + 1, now)
            return True
        if succeeds:
            self.failures = 0
        else:
            self.failures += 1
            if self.failures >= self.threshold:
                self.open(1, now)
        return True

    def visible_state(self, now: float) -> str:
        if self.state == "open" and now >= self.retry_at:
            return "half_open"
        return self.state


class BreakerMachine(RuleBasedStateMachine):
    @initialize(
        threshold=st.integers(1, 4),
        fixed=st.integers(0, 3),
        exponential=st.integers(0, 3),
        stay=st.booleans(),
    )
    def build(self, threshold: int, fixed: int, exponential: int, stay: bool) -> None:
        self.clock = FakeClock()
        after = "stay_open" if stay else "keep_probing"
        self.breaker = CircuitBreaker(
            threshold, 1, fixed, exponential, False, clock=self.clock, after_exhausted=after
        )
        self.model = ReferenceBreaker(threshold, 60.0, fixed, exponential, stay)

    @rule(succeeds=st.booleans())
    def call(self, succeeds: bool) -> None:
        reached = []

        def fn() -> None:
            reached.append(True)
            if not succeeds:
                raise Boom

        with contextlib.suppress(Boom, CircuitOpenError):
            self.breaker.call(fn)
        assert bool(reached) == self.model.call(succeeds, self.clock.now)

    @rule(seconds=st.sampled_from([1, 30, 59, 60, 61, 120, 500, 5000]))
    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def reset(self) -> None:
        self.breaker.reset()
        self.model.state, self.model.failures, self.model.breaks = "closed", 0, 0

    @rule()
    def force_open(self) -> None:
        self.breaker.force_open()
        self.model.state, self.model.failures = "forced_open", 0

    @rule()
    def disable(self) -> None:
        self.breaker.disable()
        self.model.state, self.model.failures = "disabled", 0

    @invariant()
    def agrees_with_model(self) -> None:
        assert self.breaker.state.value == self.model.visible_state(self.clock.now)
        assert self.breaker.failure_count == self.model.failures
        if self.model.state in ("open", "closed"):
            assert self.breaker.consecutive_circuit_breaks == self.model.breaks


BreakerMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestBreakerAgainstReferenceModel = BreakerMachine.TestCase
