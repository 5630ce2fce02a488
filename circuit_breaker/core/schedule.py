"""The hybrid recovery schedule, as pure functions of the trip number.

Trip ``k`` is ``consecutive_circuit_breaks``: 1 for the first opening, +1 for every
failed probe. The first ``fixed_retries`` trips wait the base interval, then the interval
grows by ``multiplier`` per trip for up to ``max_exponential_retries`` trips.

The interval is a closed form (one power), never a table built trip by trip: a schedule
with a hundred million retries costs no more than one with five, and the Redis script
computes the very same expression.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

MAX_INTERVAL_SECONDS = 365 * 86400.0
"""The longest wait any schedule produces: a deadline must stay a date people can read."""


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
        exponent = min(max(trip - self.fixed_retries, 0), self.max_exponential_retries)
        try:
            interval = self.base * self.multiplier**exponent
        except OverflowError:
            interval = math.inf
        cap = MAX_INTERVAL_SECONDS if self.max_interval is None else self.max_interval
        return min(interval, cap)

    @property
    def last_trip(self) -> int:
        """The last trip the schedule plans for; later trips are "exhausted"."""
        return self.fixed_retries + self.max_exponential_retries

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
