"""What both metrics exporters read of a breaker (Prometheus in :mod:`circuit_breaker.metrics`,
OpenTelemetry in :mod:`circuit_breaker.integrations.opentelemetry`): the series, their
help, and the values derived from a status. One place, so that a series reads the same
whichever way it is exported. Needs neither exporter's package.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from circuit_breaker.breaker import CircuitBreaker
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.core.status import BreakerStatus

STATES = tuple(state.value for state in CircuitBreakerState)

# Series name -> help. Prometheus appends ``_total`` to the counters and exports the
# info series as an info family (``circuit_breaker`` + ``_info``).
DESCRIPTIONS: dict[str, str] = {
    "circuit_breaker_state": "1 for the breaker's current state, 0 for the others.",
    "circuit_breaker_calls": "Calls through the breaker, by outcome.",
    "circuit_breaker_transitions": "State changes this process made or learned of.",
    "circuit_breaker_consecutive_breaks": "Consecutive trips (0 when closed).",
    "circuit_breaker_next_retry_timestamp_seconds": (
        "Unix time of the retry deadline while open; 0 otherwise."
    ),
    "circuit_breaker_exhausted": "1 once the breaker's recovery schedule is exhausted.",
    "circuit_breaker_info": "Static facts about the breaker (profile, critical, mode).",
    "circuit_breaker_window_calls": "Calls in the window the rate rules judge.",
    "circuit_breaker_window_failure_rate": "Share of the window's calls that failed (0-1).",
    "circuit_breaker_window_slow_call_rate": "Share of the window's calls that were slow (0-1).",
}
COUNTERS = ("circuit_breaker_calls", "circuit_breaker_transitions")


class BreakerSource(Protocol):
    """A BreakerRegistry, the Django app's lazy one, or anything with these two methods."""

    def names(self) -> Iterable[str]: ...

    def get(self, name: str) -> CircuitBreaker: ...


def counting_breakers(source: BreakerSource) -> list[CircuitBreaker]:
    """The source's breakers now, each counting calls from here on.

    Enabling is idempotent, so breakers a reload added or that were created on first use
    are picked up at the next read; a name removed between ``names()`` and ``get()`` is
    skipped.
    """
    found = []
    for name in list(source.names()):
        try:
            breaker = source.get(name)
        except KeyError:
            continue
        breaker.enable_call_counting()
        found.append(breaker)
    return found


def next_retry_timestamp(status: BreakerStatus) -> float:
    """Unix time of the retry deadline while OPEN; 0 in every other state (no deadline
    ahead), so the series never vanishes."""
    deadline = status.next_retry_at
    if status.state is CircuitBreakerState.OPEN and deadline is not None:
        return deadline.timestamp()
    return 0.0


def info_labels(status: BreakerStatus) -> dict[str, str]:
    return {
        "profile": status.profile or "",
        "critical": "true" if status.critical else "false",
        "mode": status.mode,
    }
