"""The built-in profiles: partial configurations a breaker (or a profile) builds on.

Keys are :class:`~circuit_breaker.core.config.BreakerConfig` fields; anything a profile
leaves out comes from ``BreakerConfig``'s defaults. A file may redefine any key.
"""

from __future__ import annotations

from typing import Any


def _profile(threshold: int, base_minutes: float, fixed: int, exponential: int) -> dict[str, Any]:
    return {
        "failure_threshold": threshold,
        "base_interval_seconds": base_minutes * 60,
        "fixed_interval_retries": fixed,
        "max_exponential_retries": exponential,
        "jitter_enabled": True,
    }


# The original integration guide's three setups.
BUILTIN_PROFILES: dict[str, dict[str, Any]] = {
    "api": _profile(3, 5.0, 3, 5),
    "db": _profile(5, 1.0, 5, 3),
    "critical": _profile(2, 10.0, 2, 4),
}
