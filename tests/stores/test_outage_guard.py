"""The outage guard: callers never touch an unreachable store; the background probe does."""

from __future__ import annotations

import pytest

from circuit_breaker import StoreUnavailableError
from circuit_breaker.stores.base import OutageGuard
from tests.helpers import FakeClock


class Refused(Exception):
    pass


def _guard(clock: FakeClock) -> OutageGuard:
    return OutageGuard("test store", (Refused,), clock=clock)


def _fail(guard: OutageGuard) -> None:
    with pytest.raises(StoreUnavailableError), guard.probe():
        raise Refused("connection refused")


def test_callers_are_kept_off_the_store_for_as_long_as_it_is_down() -> None:
    clock = FakeClock()
    guard = _guard(clock)
    _fail(guard)
    touched = []
    for _ in range(5):
        clock.advance(60)  # however long the outage lasts
        with pytest.raises(StoreUnavailableError, match="connection refused"), guard.attempt():
            touched.append(True)
    assert touched == []
    assert guard.is_down


def test_a_successful_probe_lets_callers_back_at_once() -> None:
    guard = _guard(FakeClock())
    _fail(guard)
    with guard.probe():
        pass  # the background thread reached the store
    touched = []
    with guard.attempt():
        touched.append(True)
    assert touched == [True]
    assert not guard.is_down and guard.error is None


def test_an_error_about_one_operation_is_not_an_outage() -> None:
    guard = OutageGuard("test store", (Refused,), is_outage=lambda exc: "refused" not in str(exc))
    with pytest.raises(StoreUnavailableError, match="refused"), guard.attempt():
        raise Refused("value refused: bad data")
    assert not guard.is_down
