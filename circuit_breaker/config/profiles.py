"""Settings every breaker starts from, and the built-in profiles layered over them."""

from __future__ import annotations

from typing import Any

# CircuitBreaker's own defaults: what a breaker with no profile gets.
DEFAULT_SETTINGS: dict[str, Any] = {
    "failure_threshold": 5,
    "base_interval_minutes": 5.0,
    "fixed_interval_retries": 3,
    "max_exponential_retries": 5,
    "jitter_enabled": True,
    "backoff_multiplier": 2.0,
    "max_interval_minutes": None,
    "jitter_ratio": 0.1,
    "after_exhausted": "keep_probing",
    "probe_timeout_seconds": 60.0,
    "ignore_exceptions": (),
    "critical": False,
}


def _profile(threshold: int, base_minutes: float, fixed: int, exponential: int) -> dict[str, Any]:
    return {
        "failure_threshold": threshold,
        "base_interval_minutes": base_minutes,
        "fixed_interval_retries": fixed,
        "max_exponential_retries": exponential,
        "jitter_enabled": True,
    }


# The integration guide's three setups. A file may redefine any of their keys.
BUILTIN_PROFILES: dict[str, dict[str, Any]] = {
    "api": _profile(3, 5.0, 3, 5),
    "db": _profile(5, 1.0, 5, 3),
    "critical": _profile(2, 10.0, 2, 4),
}
