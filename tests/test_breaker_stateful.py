"""The breaker against a small reference model of its states, schedule and rate rules,
driven by hypothesis."""

from __future__ import annotations

import contextlib

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from circuit_breaker import CircuitBreaker, CircuitOpenError
from tests.helpers import FakeClock


class Boom(Exception):
    pass


WINDOW = 10  # seconds: ten buckets of one second
SLOW = 5.0  # a call this long or longer is slow


class ReferenceBreaker:
    """The contract written as plainly as possible; no jitter.

    Rate rules: every call of the CLOSED state is kept with its start time; the window is
    the calls that started in the last ten whole seconds (the current one included), and
    the verdict is taken after every call.
    """

    def __init__(
        self,
        threshold: int | None,
        base: float,
        fixed: int,
        exponential: int,
        stay: bool,
        rates: tuple[float | None, float | None, int],
    ):
        self.threshold, self.base = threshold, base
        self.fixed, self.exponential = fixed, exponential
        self.stay_open = stay
        self.failure_rate, self.slow_rate, self.minimum = rates
        self.state = "closed"
        self.failures = 0
        self.breaks = 0
        self.retry_at = 0.0
        self.calls: list[tuple[float, bool, bool]] = []  # (start, failed, slow)

    def interval(self, trip: int) -> float:
        if trip <= self.fixed:
            return self.base
        return self.base * 2 ** min(trip - self.fixed, self.exponential)

    def open(self, trip: int, now: float) -> None:
        self.breaks, self.failures, self.calls = trip, 0, []
        if trip > self.fixed + self.exponential and self.stay_open:
            self.state = "forced_open"
        else:
            self.state, self.retry_at = "open", now + self.interval(trip)

    def call(self, succeeds: bool, now: float, seconds: float = 0.0) -> bool:
        """Returns whether the call reached the function (it started at ``now``).

        The breaker opens when the call ends, so a retry deadline counts from there.
        """
        end = now + seconds
        if self.state == "disabled":
            return True
        if self.state == "forced_open" or (self.state == "open" and now < self.retry_at):
            return False
        if self.state == "open":  # the deadline passed: this call is the probe
            if succeeds:
                self.state, self.failures, self.breaks, self.calls = "closed", 0, 0, []
            else:
                self.open(self.breaks + 1, end)
            return True
        if succeeds:
            self.failures = 0
        elif self.threshold is not None:
            self.failures += 1
            if self.failures >= self.threshold:
                self.open(1, end)
                return True
        self.calls.append((now, not succeeds, seconds >= SLOW))
        window = [c for c in self.calls if int(c[0]) >= int(now) - WINDOW + 1]
        failed, slow = sum(c[1] for c in window), sum(c[2] for c in window)
        if len(window) >= self.minimum and (
            (self.failure_rate is not None and failed / len(window) >= self.failure_rate)
            or (self.slow_rate is not None and slow / len(window) >= self.slow_rate)
        ):
            self.open(1, end)
        return True

    def visible_state(self, now: float) -> str:
        if self.state == "open" and now >= self.retry_at:
            return "half_open"
        return self.state


class BreakerMachine(RuleBasedStateMachine):
    @initialize(
        threshold=st.one_of(st.none(), st.integers(1, 4)),
        fixed=st.integers(0, 3),
        exponential=st.integers(0, 3),
        stay=st.booleans(),
        failure_rate=st.one_of(st.none(), st.sampled_from([0.25, 0.5, 1.0])),
        slow_rate=st.one_of(st.none(), st.sampled_from([0.5, 1.0])),
        minimum=st.integers(1, 5),
    )
    def build(
        self,
        threshold: int | None,
        fixed: int,
        exponential: int,
        stay: bool,
        failure_rate: float | None,
        slow_rate: float | None,
        minimum: int,
    ) -> None:
        if threshold is None and failure_rate is None and slow_rate is None:
            threshold = 2  # a breaker needs some rule
        self.clock = FakeClock()
        after = "stay_open" if stay else "keep_probing"
        self.breaker = CircuitBreaker(
            threshold,
            1,
            fixed,
            exponential,
            False,
            clock=self.clock,
            after_exhausted=after,
            failure_rate_threshold=failure_rate,
            slow_call_rate_threshold=slow_rate,
            slow_call_duration_seconds=SLOW if slow_rate is not None else None,
            sliding_window_seconds=WINDOW,
            minimum_calls=minimum,
        )
        rates = (failure_rate, slow_rate, minimum)
        self.model = ReferenceBreaker(threshold, 60.0, fixed, exponential, stay, rates)

    @rule(succeeds=st.booleans(), seconds=st.sampled_from([0.0, 0.3, 5.0, 7.0]))
    def call(self, succeeds: bool, seconds: float) -> None:
        reached = []
        started = self.clock.now

        def fn() -> None:
            reached.append(True)
            self.clock.advance(seconds)  # the call takes that long
            if not succeeds:
                raise Boom

        with contextlib.suppress(Boom, CircuitOpenError):
            self.breaker.call(fn)
        assert bool(reached) == self.model.call(succeeds, started, seconds)

    @rule(seconds=st.sampled_from([0.4, 1, 3, 9, 30, 59, 60, 61, 120, 500, 5000]))
    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def reset(self) -> None:
        self.breaker.reset()
        self.model.state, self.model.failures, self.model.breaks = "closed", 0, 0
        self.model.calls = []

    @rule()
    def force_open(self) -> None:
        self.breaker.force_open()
        self.model.state, self.model.failures, self.model.calls = "forced_open", 0, []

    @rule()
    def disable(self) -> None:
        self.breaker.disable()
        self.model.state, self.model.failures, self.model.calls = "disabled", 0, []

    @invariant()
    def agrees_with_model(self) -> None:
        assert self.breaker.state.value == self.model.visible_state(self.clock.now)
        assert self.breaker.failure_count == self.model.failures
        if self.model.state in ("open", "closed"):
            assert self.breaker.consecutive_circuit_breaks == self.model.breaks


BreakerMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=50, deadline=None)
TestBreakerAgainstReferenceModel = BreakerMachine.TestCase
