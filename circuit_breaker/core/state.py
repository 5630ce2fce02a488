"""The five states a breaker can be in."""

from enum import StrEnum


class CircuitBreakerState(StrEnum):
    """Breaker state; the value is what status dicts, JSON and the admin show."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"
    FORCED_OPEN = "forced_open"
    DISABLED = "disabled"


MANUAL_STATES = frozenset({CircuitBreakerState.FORCED_OPEN, CircuitBreakerState.DISABLED})
"""States entered by hand (or by an exhausted ``stay_open`` schedule) that last until a reset."""
