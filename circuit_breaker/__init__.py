"""circuit-breaker: a configuration-driven circuit-breaker registry for microservice fleets."""

from circuit_breaker.breaker import CircuitBreaker
from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.core.schedule import RecoverySchedule
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.core.status import BreakerStatus
from circuit_breaker.errors import (
    CircuitOpenError,
    ConfigError,
    ConfigProblem,
    StoreUnavailableError,
    UnknownBreakerError,
)
from circuit_breaker.events import BreakerEvent, Listener
from circuit_breaker.health import Health
from circuit_breaker.permits import Permit
from circuit_breaker.registry import BreakerRegistry, load_registry, sync_breakers
from circuit_breaker.stores import BreakerStore, MemoryStore

__all__ = [
    "BreakerConfig",
    "BreakerEvent",
    "BreakerRegistry",
    "BreakerStatus",
    "BreakerStore",
    "CircuitBreaker",
    "CircuitBreakerState",
    "CircuitOpenError",
    "ConfigError",
    "ConfigProblem",
    "Health",
    "Listener",
    "MemoryStore",
    "Permit",
    "RecoverySchedule",
    "StoreUnavailableError",
    "UnknownBreakerError",
    "load_registry",
    "sync_breakers",
]
