"""Events delivered to listeners, and the lock-free tallies behind the call metrics."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from circuit_breaker.core.state import CircuitBreakerState

logger = logging.getLogger("circuit_breaker")

EventKind = Literal["state_change", "success", "failure", "rejected", "ignored"]


@dataclass(frozen=True, slots=True)
class BreakerEvent:
    """One thing that happened to a breaker.

    ``state_change`` events carry ``old``, ``new``, ``reason``, ``origin`` ("local" in
    the process that made the change, "remote" in one that learned of it) and the
    ``consecutive_breaks`` after the change, and ``detail`` (why someone asked to open it
    for a while); ``actor`` is who asked for a manual change
    (whose ``old`` is the state people saw: "half_open" once a deadline has passed).
    ``failure`` and ``ignored`` carry the ``exception``.
    """

    kind: EventKind
    breaker: str
    old: CircuitBreakerState | None = None
    new: CircuitBreakerState | None = None
    reason: str | None = None
    origin: Literal["local", "remote"] | None = None
    exception: BaseException | None = None
    actor: str | None = None
    consecutive_breaks: int | None = None
    detail: str | None = None


Listener = Callable[[BreakerEvent], None]


def dispatch(listeners: Sequence[Listener], event: BreakerEvent) -> None:
    """Deliver to every listener; one that raises is logged and never breaks the call."""
    for listener in listeners:
        try:
            listener(event)
        except Exception:
            logger.exception(
                "circuit breaker listener %r failed on %s event of %r",
                listener,
                event.kind,
                event.breaker,
            )


OUTCOMES = ("success", "failure", "ignored", "rejected", "would_reject")


class Counter:
    """Counts without a lock: ``increment`` is ``next`` on an ``itertools.count``, which
    is atomic under the GIL. Reading consumes one step of the count, so reads are
    serialised and subtracted: the value is exact however many threads increment."""

    __slots__ = ("_count", "_lock", "_reads", "increment")

    def __init__(self) -> None:
        self._count = itertools.count()
        self._lock = threading.Lock()
        self._reads = 0
        self.increment = self._count.__next__

    @property
    def value(self) -> int:
        with self._lock:
            value = next(self._count) - self._reads
            self._reads += 1
        return value
