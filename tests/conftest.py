"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest


class FakeClock:
    """A clock the test moves by hand: no test sleeps to wait for a breaker."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
