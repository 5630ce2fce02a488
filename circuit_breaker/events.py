"""Events delivered to listeners (DESIGN 2.5)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from circuit_breaker.state import CircuitBreakerState

logger = logging.getLogger("circuit_breaker")

EventKind = Literal["state_change", "success", "failure", "rejected", "ignored"]


@dataclass(frozen=True, slots=True)
class BreakerEvent:
    """One thing that happened to a breaker.

    ``state_change`` events carry ``old``, ``new``, ``reason`` and ``origin`` ("local" in
    the process that made the change, "remote" in one that learned of it); ``actor`` is
    who asked for a manual change. ``failure`` and ``ignored`` carry the ``exception``.
    """

    kind: EventKind
    breaker: str
    old: CircuitBreakerState | None = None
    new: CircuitBreakerState | None = None
    reason: str | None = None
    origin: Literal["local", "remote"] | None = None
    exception: BaseException | None = None
    actor: str | None = None


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
