"""circuit-breaker: a configuration-driven circuit-breaker registry for microservice fleets."""

from circuit_breaker.breaker import CircuitBreaker, sync_breakers
from circuit_breaker.errors import (
    CircuitOpenError,
    ConfigError,
    ConfigProblem,
    StoreUnavailableError,
    UnknownBreakerError,
)
from circuit_breaker.events import BreakerEvent, Listener
from circuit_breaker.registry import BreakerRegistry, load_registry
from circuit_breaker.schedule import RecoverySchedule
from circuit_breaker.state import CircuitBreakerState
from circuit_breaker.stores import BreakerStore, MemoryStore

__all__ = [
    "BreakerEvent",
    "BreakerRegistry",
    "BreakerStore",
    "CircuitBreaker",
    "CircuitBreakerState",
    "CircuitOpenError",
    "ConfigError",
    "ConfigProblem",
    "Listener",
    "MemoryStore",
    "RecoverySchedule",
    "StoreUnavailableError",
    "UnknownBreakerError",
    "load_registry",
    "sync_breakers",
]
