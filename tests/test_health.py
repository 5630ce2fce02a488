"""The health verdict a readiness probe gets from the breakers' statuses."""

from __future__ import annotations

from dataclasses import replace

import pytest

from circuit_breaker import CircuitBreaker
from circuit_breaker.core.status import BreakerStatus, StoreHealth
from circuit_breaker.health import judge
from tests.helpers import FakeClock

UP = StoreHealth()
DOWN = StoreHealth(reachable=False, error="connection refused")


class Boom(Exception):
    pass


def _status(*, critical: bool, tripped: bool, store: StoreHealth = UP) -> BreakerStatus:
    breaker = CircuitBreaker(1, critical=critical, clock=FakeClock())
    if tripped:
        with pytest.raises(Boom):
            breaker.call(_boom)
    return replace(breaker.status(), store=store)


def _boom() -> None:
    raise Boom


def test_all_closed_with_the_store_answering_passes() -> None:
    health = judge({"a": _status(critical=True, tripped=False)})
    assert (health.status, health.reason) == ("pass", None)


def test_an_open_breaker_that_is_not_critical_warns() -> None:
    health = judge({"a": _status(critical=False, tripped=True)})
    assert (health.status, health.reason) == ("warn", "breakers not closed: a")


def test_an_unreachable_store_warns_even_when_every_breaker_looks_closed() -> None:
    health = judge({"a": _status(critical=True, tripped=False, store=DOWN)})
    assert (health.status, health.reason) == ("warn", "store unreachable: connection refused")


def test_a_critical_breaker_open_fails_even_while_the_store_is_unreachable() -> None:
    # This process rejects the critical calls on its own state: it cannot do its job.
    statuses = {
        "db": _status(critical=True, tripped=True, store=DOWN),
        "api": _status(critical=False, tripped=False, store=DOWN),
    }
    health = judge(statuses)
    assert health.status == "fail"
    assert (
        health.reason == "critical breakers not closed: db; store unreachable: connection refused"
    )
