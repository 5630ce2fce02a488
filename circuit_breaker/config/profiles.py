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
# An API judged by its health rather than by chance streaks: at high traffic a few
# failures in a row are routine for a healthy service, while half of a minute's calls
# failing (or 80 % taking 5 s or more) is not. It recovers like `api`.
BUILTIN_PROFILES["api_rate"] = {
    **BUILTIN_PROFILES["api"],
    "failure_threshold": None,
    "failure_rate_threshold": 0.5,
    "sliding_window_seconds": 60.0,
    "minimum_calls": 20,
    "slow_call_duration_seconds": 5.0,
    "slow_call_rate_threshold": 0.8,
}
