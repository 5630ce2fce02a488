"""This process's calls for a breaker's rate rules: counted here, judged here or in the store.

With a process-local store the window lives here whole and the verdict is taken after
every call that could change it (a failure, a slow call, a bucket sliding out, the call
that reaches ``minimum_calls``): a success alone can only lower a rate. With a shared
store this is a buffer: the store's background thread takes its counts every
``flush_interval`` and the store judges the fleet's window; the buffer only asks for an
early flush when its own counts alone would already trip the breaker.

The common call -- a quick success in the current bucket, with enough calls counted
that it cannot change a verdict -- takes no lock: the breaker calls :attr:`count_quick`
(a list's ``append``, atomic) when the call ended before :attr:`quick_until` (local
clock) and took less than :attr:`slow_limit`, and every other path folds those appends
into the bucket counts first. So a windowed call costs two clock reads, two
comparisons and an append.

Counts carry the generation they were made in: when the breaker opens or closes the
window starts empty, and a late call of the previous generation is not counted.
"""

from __future__ import annotations

import math
import threading

from circuit_breaker.core.record import FailureInfo, Fault
from circuit_breaker.core.window import (
    Bucket,
    Totals,
    WindowRules,
    bucket_key,
    merge,
    settled_totals,
    verdict,
)

_EVERYTHING = 2**62  # a bucket key above any real one: every bucket counts as settled


class LocalWindow:
    """Counts by store-time bucket, under a lock (calls on every thread add to it)."""

    def __init__(self, rules: WindowRules, generation: int) -> None:
        self.rules = rules
        self.generation = generation
        self._width = rules.bucket_seconds
        # A call this long or longer is slow (never, without slow-call detection).
        self.slow_limit = math.inf if rules.slow_call_seconds is None else rules.slow_call_seconds
        self._lock = threading.Lock()
        self._buckets: dict[int, list[int]] = {}
        self._current_key = -1
        self._current: list[int] = [0, 0, 0]
        self._calls = 0
        self._fault: Fault | None = None
        # Kept through flushes: where this window is the judge, status reads it.
        self.last_failure: FailureInfo | None = None
        # The lock-free path (read by the breaker without the lock):
        self.quick_until = -math.inf  # local time; -inf: every call takes the locked path
        self._quick: list[None] = []  # one element per quick success in bucket _quick_key
        self.count_quick = self._quick.append  # atomic: the breaker calls it without the lock
        self._quick_key = -1
        self._quick_taken = 0  # elements of ``quick`` already in the bucket counts
        # A list swapped out at a bucket change, still read once more: a thread that
        # fetched it just before the swap appends to it just after.
        self._retired: tuple[int, list[None], int] | None = None
        self._local_minus_store = 0.0

    def set_clock(self, local_minus_store: float) -> None:
        """The local clock's offset from the store's (quick calls compare local times)."""
        if local_minus_store == self._local_minus_store:
            return  # the common case: no lock for a record that kept the clocks' offset
        with self._lock:
            self._local_minus_store = local_minus_store
            self.quick_until = -math.inf

    def restart(self, generation: int) -> None:
        """The breaker changed state: a new, empty window."""
        with self._lock:
            self.quick_until = -math.inf
            self._quick = []  # an append racing with this may land here: not counted
            self.count_quick = self._quick.append
            self._quick_key = -1
            self._quick_taken = 0
            self._retired = None
            self.generation = generation
            self._buckets = {}
            self._current_key = -1
            self._current = [0, 0, 0]
            self._calls = 0
            self._fault = None
            self.last_failure = None

    def add(
        self,
        generation: int,
        start: float,
        seconds: float,
        fault: Fault | None,
        judge: bool,
    ) -> str | None:
        """Count one call that started at store time ``start`` and took ``seconds``.

        With ``judge`` (the window is whole here), the rule that now holds, if any;
        otherwise the rule this process's own counts would trip (ask for a flush).
        """
        slow = seconds >= self.slow_limit
        key = int(start // self._width)
        with self._lock:
            if generation != self.generation:
                return None  # admitted before the breaker last changed state
            self._take_quick()
            if key != self._current_key:
                counts = self._buckets.get(key)
                if counts is None:
                    counts = self._buckets[key] = [0, 0, 0]
                self._current_key, self._current = key, counts
                rotated = True
            else:
                counts, rotated = self._current, False
            counts[0] += 1
            self._calls += 1
            if fault is not None:
                counts[1] += 1
                self._fault = fault
                self.last_failure = FailureInfo(fault.type, fault.message, start + seconds)
            if slow:
                counts[2] += 1
            rule = None
            if self.rules.judging and (
                fault is not None or slow or rotated or self._calls == self.rules.minimum_calls
            ):
                rule = self._verdict(key) if judge else verdict(self._totals(key), self.rules)
            self._arm_quick(key)
            return rule

    def _arm_quick(self, key: int) -> None:
        """Let quick successes of bucket ``key`` skip the lock, when one more success there
        cannot change a verdict (called with the lock held)."""
        if key < self._quick_key:
            return  # a long call of an older bucket: the newer bucket stays armed
        if self.rules.judging and self._calls < self.rules.minimum_calls:
            self.quick_until = -math.inf
            return
        if key != self._quick_key:
            if self._quick_key >= 0:
                self._retired = (self._quick_key, self._quick, self._quick_taken)
            self._quick, self._quick_key, self._quick_taken = [], key, 0
            self.count_quick = self._quick.append
        self.quick_until = (key + 1) * self._width + self._local_minus_store

    def _take_quick(self) -> None:
        """Fold the quick successes appended since last time into their bucket (lock held)."""
        retired = self._retired
        if retired is not None:
            key, appended, taken = retired
            extra = len(appended) - taken
            if extra:
                self._bucket(key)[0] += extra
                self._calls += extra
                self._retired = (key, appended, taken + extra)
        extra = len(self._quick) - self._quick_taken
        if extra and self._quick_key < 0:  # appended across a restart: not counted
            self._quick_taken += extra
        elif extra:
            self._bucket(self._quick_key)[0] += extra
            self._calls += extra
            self._quick_taken += extra

    def _bucket(self, key: int) -> list[int]:
        counts = self._buckets.get(key)
        if counts is None:
            counts = self._buckets[key] = [0, 0, 0]
            if key == self._current_key:
                self._current = counts
        return counts

    def _verdict(self, current_key: int) -> str | None:
        """The rule that holds over the whole window (called with the lock held)."""
        buckets = merge(self._bucket_list(), (), self.rules, current_key, _EVERYTHING)
        self._buckets = {key: [calls, failures, slow] for key, calls, failures, slow in buckets}
        self._current = self._buckets.get(self._current_key, [0, 0, 0])
        self._buckets.setdefault(self._current_key, self._current)
        self._calls = sum(counts[0] for counts in self._buckets.values())
        return verdict(settled_totals(buckets, self.rules, _EVERYTHING), self.rules)

    def _bucket_list(self) -> list[Bucket]:
        return [(key, *counts) for key, counts in sorted(self._buckets.items())]  # type: ignore[misc]

    def _totals(self, current_key: int) -> Totals:
        """What the window holds at bucket ``current_key``: older buckets slid out."""
        buckets = merge(self._bucket_list(), (), self.rules, current_key, _EVERYTHING)
        return settled_totals(buckets, self.rules, _EVERYTHING)

    def totals(self, store_now: float) -> Totals:
        """Everything counted here that is still in the window at store time ``store_now``."""
        with self._lock:
            self._take_quick()
            return self._totals(bucket_key(self.rules, store_now))

    def drain(self) -> tuple[int, tuple[Bucket, ...], Fault | None] | None:
        """Take the buffered counts for a flush: ``(generation, buckets, last fault)``."""
        with self._lock:
            self._take_quick()
            if not any(counts[0] for counts in self._buckets.values()):
                return None
            drained = (self.generation, tuple(self._bucket_list()), self._fault)
            self._buckets = {}
            self._current_key = -1
            self._current = [0, 0, 0]
            self._calls = 0
            self._fault = None
            self.quick_until = -math.inf  # the next call re-arms, with the counts it sees
            return drained

    def restore(self, generation: int, buckets: tuple[Bucket, ...], fault: Fault | None) -> None:
        """Take back counts a flush could not deliver: they stay to be judged here, or
        to be flushed once the store answers (unless the breaker changed state since)."""
        with self._lock:
            if generation != self.generation:
                return
            for key, calls, failures, slow in buckets:
                counts = self._bucket(key)
                counts[0] += calls
                counts[1] += failures
                counts[2] += slow
                self._calls += calls
            if self._fault is None:
                self._fault = fault
