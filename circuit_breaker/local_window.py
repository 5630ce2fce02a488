"""This process's calls for a breaker's rate rules: counted here, judged here or in the store.

With a process-local store the window lives here whole and the verdict is taken after
every call that could change it (a failure, a slow call, a bucket sliding out, the call
that reaches ``minimum_calls``): a success alone can only lower a rate. With a shared
store this is a buffer: the store's background thread takes its counts every
``flush_interval`` and the store judges the fleet's window; the buffer only asks for an
early flush when its own counts alone would already trip the breaker.

Counts carry the generation they were made in: when the breaker opens or closes the
window starts empty, and a late call of the previous generation is not counted.
"""

from __future__ import annotations

import threading

from circuit_breaker.core.record import Fault
from circuit_breaker.core.window import (
    Bucket,
    Totals,
    WindowRules,
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
        self._slow_after = rules.slow_call_seconds
        self._lock = threading.Lock()
        self._buckets: dict[int, list[int]] = {}
        self._current_key = -1
        self._current: list[int] = [0, 0, 0]
        self._calls = 0
        self._fault: Fault | None = None

    def restart(self, generation: int) -> None:
        """The breaker changed state: a new, empty window."""
        with self._lock:
            self.generation = generation
            self._buckets = {}
            self._current_key = -1
            self._current = [0, 0, 0]
            self._calls = 0
            self._fault = None

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
        slow = self._slow_after is not None and seconds >= self._slow_after
        key = int(start // self._width)
        with self._lock:
            if generation != self.generation:
                return None  # admitted before the breaker last changed state
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
            if slow:
                counts[2] += 1
            if not self.rules.judging or not (
                fault is not None or slow or rotated or self._calls == self.rules.minimum_calls
            ):
                return None
            if judge:
                return self._verdict(key)
            return verdict(settled_totals(self._bucket_list(), self.rules, _EVERYTHING), self.rules)

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

    def totals(self) -> Totals:
        """Everything counted here (the whole window of a process-local store)."""
        with self._lock:
            return settled_totals(self._bucket_list(), self.rules, _EVERYTHING)

    def drain(self) -> tuple[int, tuple[Bucket, ...], Fault | None] | None:
        """Take the buffered counts for a flush: ``(generation, buckets, last fault)``."""
        with self._lock:
            if not self._buckets:
                return None
            drained = (self.generation, tuple(self._bucket_list()), self._fault)
            self._buckets = {}
            self._current_key = -1
            self._current = [0, 0, 0]
            self._calls = 0
            self._fault = None
            return drained
