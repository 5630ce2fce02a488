"""The django-health-check 4.x check class (skipped when the package is not installed)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from circuit_breaker.registry import BreakerRegistry
from tests.django_app.app_helpers import trip

pytest.importorskip("health_check.base", reason="django-health-check is not installed")

from health_check.exceptions import ServiceUnavailable, ServiceWarning

from circuit_breaker_django.health_check import CircuitBreakers


@pytest.fixture(autouse=True)
def breakers(install: Callable[..., BreakerRegistry], db: None) -> BreakerRegistry:
    return install()


def result_of(check: CircuitBreakers) -> Exception | None:
    """Run the check as django-health-check's view does (sync checks in an executor)."""
    error: Exception | None = asyncio.run(check.get_result()).error
    return error


def test_all_closed_is_healthy() -> None:
    assert result_of(CircuitBreakers()) is None


def test_an_open_breaker_is_a_warning_unless_switched_off() -> None:
    trip("external_api")
    error = result_of(CircuitBreakers())
    assert isinstance(error, ServiceWarning) and "external_api" in str(error)
    assert result_of(CircuitBreakers(warn_on_open=False)) is None


def test_an_open_critical_breaker_is_unavailable() -> None:
    trip("payment_gateway")
    error = result_of(CircuitBreakers())
    assert isinstance(error, ServiceUnavailable) and "payment_gateway" in str(error)
    assert "hunter2" not in str(error)
