"""Interleaved timing: every candidate of a scenario runs in the same process, in turn.

Each candidate is a ``Measure``: it runs its loop ``n`` times and returns the elapsed
nanoseconds (so async candidates can time inside their event loop). Rounds interleave the
candidates (A, B, C, A, B, C, ...) with a rotating start, so a noisy neighbour on a shared
machine hits every candidate alike; the garbage collector is off while timing.
"""

from __future__ import annotations

import gc
import statistics
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from time import perf_counter_ns

Measure = Callable[[int], int]


@dataclass(frozen=True)
class Settings:
    """How hard to measure: rounds per scenario and the duration of one timed loop."""

    rounds: int
    round_ns: int
    quick: bool

    @classmethod
    def full(cls) -> Settings:
        return cls(rounds=21, round_ns=20_000_000, quick=False)

    @classmethod
    def smoke(cls) -> Settings:
        return cls(rounds=3, round_ns=200_000, quick=True)


@dataclass(frozen=True)
class Sample:
    """Per-call figures (ns) from each round: the median and the spread around it."""

    per_round: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.per_round)

    @property
    def spread(self) -> float:
        """Inter-quartile range relative to the median (0.05 = ±2.5 %)."""
        values = sorted(self.per_round)
        if len(values) < 4 or self.median == 0:
            return (values[-1] - values[0]) / abs(self.median) if self.median else 0.0
        q1, _, q3 = statistics.quantiles(values, n=4)
        return (q3 - q1) / abs(self.median)

    def minus(self, baseline: Sample) -> Sample:
        """Overhead over a baseline measured in the same rounds (paired per round)."""
        pairs = zip(self.per_round, baseline.per_round, strict=True)
        return Sample(tuple(value - base for value, base in pairs))


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def calibrate(measure: Measure, round_ns: int) -> int:
    """Iterations for one round to last about ``round_ns`` (like timeit's autorange)."""
    n = 1
    while True:
        elapsed = measure(n)
        if elapsed >= round_ns // 4 or n >= 10_000_000:
            return max(1, int(n * round_ns / max(elapsed, 1)))
        n *= 10 if elapsed < round_ns // 100 else 2


def interleave(candidates: Mapping[str, Measure], settings: Settings) -> dict[str, Sample]:
    """Per-call nanoseconds of every candidate, measured in interleaved rounds."""
    names = list(candidates)
    with gc_paused():
        iterations = {name: calibrate(candidates[name], settings.round_ns) for name in names}
        results: dict[str, list[float]] = {name: [] for name in names}
        for round_index in range(settings.rounds):
            start = round_index % len(names)
            for name in names[start:] + names[:start]:
                n = iterations[name]
                results[name].append(candidates[name](n) / n)
    return {name: Sample(tuple(values)) for name, values in results.items()}


def repeat_timed(action: Callable[[], object], rounds: int) -> Sample:
    """Wall time (ns) of a whole action, once per round (slow, one-shot operations)."""
    values = []
    with gc_paused():
        for _ in range(rounds):
            start = perf_counter_ns()
            action()
            values.append(float(perf_counter_ns() - start))
    return Sample(tuple(values))
