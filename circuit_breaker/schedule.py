"""The hybrid recovery schedule (DESIGN 2.2), as pure functions of the trip number.

Trip ``k`` is ``consecutive_circuit_breaks``: 1 for the first opening, +1 for every
failed probe. The first ``fixed_retries`` trips wait the base interval, then the interval
grows by ``multiplier`` per trip for up to ``max_exponential_retries`` trips.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RecoverySchedule:
    """Intervals in seconds; ``max_interval`` caps each one when set."""

    base: float
    fixed_retries: int
    max_exponential_retries: int
    multiplier: float = 2.0
    max_interval: float | None = None

    def interval(self, trip: int) -> float:
        """Nominal (unjittered) wait before the probe that follows trip ``trip``."""
        if trip <= self.fixed_retries:
            interval = self.base
        else:
            exponent = min(trip - self.fixed_retries, self.max_exponential_retries)
            try:
                interval = self.base * self.multiplier**exponent
            except OverflowError:
                interval = math.inf
        if self.max_interval is not None:
            interval = min(interval, self.max_interval)
        return interval

    @property
    def last_trip(self) -> int:
        """The last trip the schedule plans for; later trips are "exhausted"."""
        return self.fixed_retries + self.max_exponential_retries

    def intervals(self) -> tuple[float, ...]:
        """Interval per trip 1..last_trip (at least one): later trips reuse the last entry."""
        return tuple(self.interval(trip) for trip in range(1, max(self.last_trip, 1) + 1))

    def exhausted(self, trip: int) -> bool:
        return trip > self.last_trip

    def phase(self, trip: int) -> str:
        """Human-readable retry phase, as the original library reported it."""
        if trip <= 0:
            return "closed"
        if trip <= self.fixed_retries:
            return f"fixed-interval (attempt {trip}/{self.fixed_retries})"
        attempt = min(trip - self.fixed_retries, self.max_exponential_retries)
        return f"exponential-interval (attempt {attempt}/{self.max_exponential_retries})"


def jitter_factor(ratio: float, enabled: bool, rng: random.Random | None = None) -> float:
    """Factor applied to one opening's interval, uniform in [1 - ratio, 1 + ratio]."""
    if not enabled or ratio == 0:
        return 1.0
    return (rng or random).uniform(1.0 - ratio, 1.0 + ratio)
