"""Fixtures shared by the whole suite (helpers they use live in tests/helpers.py)."""

from __future__ import annotations

import pytest

from tests.helpers import ENTRY_POINTS, FakeClock, Invoke


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=list(ENTRY_POINTS))
def invoke(request: pytest.FixtureRequest) -> Invoke:
    """Each of the four entry points: call, call_async, the sync and the async decorator."""
    return ENTRY_POINTS[request.param]
