"""Rate rules: calls counted in time buckets, and the verdict over them.

A window is a short list of buckets ``(key, calls, failures, slow)``, each covering
``bucket_seconds`` of store time (key = ``floor(t / bucket_seconds)``), oldest first.

* A time window of W seconds keeps :data:`TIME_BUCKETS` buckets of W/10: it slides a
  tenth at a time, never emptying at once.
* A count window of N calls keeps one-second buckets: the newest ones holding at least N
  calls, the oldest of them counted in proportion ("the last N calls", to a second's
  resolution; in a fleet, the last N calls the fleet made).

In a fleet, each process adds its counts in batches (a flush), so the newest buckets may
still be missing another process's calls. A verdict is therefore taken only over
*settled* buckets, those that ended at least one flush interval ago, by which time every
process has flushed them. One process starting to fail right after the breaker closed
cannot trip the fleet before the others' successes for the same moments have arrived.

The verdict: with at least ``minimum_calls`` calls counted, the breaker opens when the
failure share reaches ``failure_rate`` or the slow share reaches ``slow_call_rate``
(at or above). The Redis script mirrors :func:`merge`, :func:`settled_totals` and
:func:`verdict`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

TIME_BUCKETS = 10
COUNT_BUCKET_SECONDS = 1.0
MAX_COUNT_BUCKETS = 60
"""A sparse count window merges its oldest buckets beyond this, so it stays small."""

Bucket = tuple[int, int, int, int]  # (key, calls, failures, slow)


@dataclass(frozen=True, slots=True)
class WindowRules:
    """The part of a breaker's configuration the window needs."""

    failure_rate: float | None
    slow_call_rate: float | None
    slow_call_seconds: float | None
    minimum_calls: int
    seconds: float | None  # a time window
    calls: int | None  # or a count window

    @property
    def judging(self) -> bool:
        """Whether a rate can trip the breaker (slow calls may only be watched)."""
        return self.failure_rate is not None or self.slow_call_rate is not None

    @property
    def bucket_seconds(self) -> float:
        if self.seconds is not None:
            return self.seconds / TIME_BUCKETS
        return COUNT_BUCKET_SECONDS


@dataclass(frozen=True, slots=True)
class Totals:
    """What a verdict looks at (fractions of calls when a count window cuts a bucket)."""

    calls: float = 0.0
    failures: float = 0.0
    slow: float = 0.0

    @property
    def failure_rate(self) -> float:
        return self.failures / self.calls if self.calls else 0.0

    @property
    def slow_call_rate(self) -> float:
        return self.slow / self.calls if self.calls else 0.0


def bucket_key(rules: WindowRules, store_time: float) -> int:
    return math.floor(store_time / rules.bucket_seconds)


def settled_key(rules: WindowRules, store_time: float, settle_seconds: float) -> int:
    """Buckets with a key below this one ended ``settle_seconds`` before ``store_time``."""
    return math.floor((store_time - settle_seconds) / rules.bucket_seconds)


def merge(
    buckets: Sequence[Bucket],
    additions: Iterable[Bucket],
    rules: WindowRules,
    current_key: int,
    settled_before: int,
) -> tuple[Bucket, ...]:
    """``buckets`` with ``additions`` added key by key, trimmed to the window."""
    merged = {key: [calls, failures, slow] for key, calls, failures, slow in buckets}
    for key, calls, failures, slow in additions:
        counts = merged.setdefault(key, [0, 0, 0])
        counts[0] += calls
        counts[1] += failures
        counts[2] += slow
    ordered: list[Bucket] = [
        (key, counts[0], counts[1], counts[2]) for key, counts in sorted(merged.items())
    ]
    if rules.seconds is not None:
        oldest = current_key - TIME_BUCKETS + 1
        return tuple((k, c, f, s) for k, c, f, s in ordered if k >= oldest)
    return _trim_count_window(ordered, rules.calls or 1, settled_before)


def _trim_count_window(
    ordered: list[Bucket], calls: int, settled_before: int
) -> tuple[Bucket, ...]:
    """Drop the oldest buckets the newest settled ones make unnecessary; cap the list."""
    while len(ordered) > 1:
        rest = sum(c for k, c, _, _ in ordered[1:] if k < settled_before)
        if rest < calls:
            break
        ordered.pop(0)
    while len(ordered) > MAX_COUNT_BUCKETS:
        (_, c1, f1, s1), (k2, c2, f2, s2) = ordered[0], ordered[1]
        ordered[0:2] = [(k2, c1 + c2, f1 + f2, s1 + s2)]
    return tuple(ordered)


def settled_totals(buckets: Sequence[Bucket], rules: WindowRules, settled_before: int) -> Totals:
    """The counts of the settled buckets (a count window: its newest N calls)."""
    settled = [bucket for bucket in buckets if bucket[0] < settled_before]
    if rules.seconds is not None or rules.calls is None:
        return Totals(
            calls=sum(b[1] for b in settled),
            failures=sum(b[2] for b in settled),
            slow=sum(b[3] for b in settled),
        )
    wanted = rules.calls
    calls = failures = slow = 0.0
    for _, c, f, s in reversed(settled):
        share = 1.0 if calls + c <= wanted else (wanted - calls) / c
        calls += c * share
        failures += f * share
        slow += s * share
        if calls >= wanted:
            break
    return Totals(calls, failures, slow)


def verdict(totals: Totals, rules: WindowRules) -> str | None:
    """``"failure_rate"``, ``"slow_call_rate"`` or None (no rule holds, or too few calls)."""
    if totals.calls < rules.minimum_calls or totals.calls <= 0:
        return None
    if rules.failure_rate is not None and totals.failure_rate >= rules.failure_rate:
        return "failure_rate"
    if rules.slow_call_rate is not None and totals.slow_call_rate >= rules.slow_call_rate:
        return "slow_call_rate"
    return None
