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

    def compact_intervals(self) -> tuple[float, ...]:
        """The distinct intervals: entry 0 for trips up to ``fixed_retries``, entry j for
        trip ``fixed_retries + j``; later trips reuse the last entry (see ``lookup``).

        Stops as soon as the interval stops changing (a cap, a multiplier of 1), so the
        table a store receives stays small whatever the retry counts are.
        """
        table = [self.interval(self.fixed_retries)]
        for step in range(1, self.max_exponential_retries + 1):
            interval = self.interval(self.fixed_retries + step)
            if interval == table[-1]:
                break
            table.append(interval)
        return tuple(table)


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


def lookup(table: tuple[float, ...], fixed_retries: int, trip: int) -> float:
    """The interval of ``trip`` from a ``compact_intervals`` table."""
    return table[min(max(trip - fixed_retries, 0), len(table) - 1)]
