"""A check for django-health-check 4.x (optional dependency).

::

    # urls.py
    from health_check.views import HealthCheckView
    path("health/", HealthCheckView.as_view(checks=[
        "health_check.checks.Database",
        "circuit_breaker_django.health_check.CircuitBreakers",
    ]))

The verdict is the registry's, as on the app's own health endpoint: a critical breaker
that is not CLOSED makes the check unavailable; with ``warn_on_open`` (the default) any
other breaker that is not CLOSED, or a shared store that cannot be read, is a warning.
"""

from __future__ import annotations

import dataclasses

from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable, ServiceWarning

from circuit_breaker_django import registry


@dataclasses.dataclass
class CircuitBreakers(HealthCheck):
    """Every breaker of the app's registry, read with one store round trip."""

    warn_on_open: bool = True

    # Sync on purpose: the store round trip may block, so the view runs it in an executor
    # thread. The base declares ``async def run`` yet documents that either kind is fine.
    def run(self) -> None:  # type: ignore[override]
        health = registry.health()
        if health.status == "fail":
            raise ServiceUnavailable(health.reason)
        if health.status == "warn" and self.warn_on_open:
            raise ServiceWarning(health.reason)
