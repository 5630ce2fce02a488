"""Fixtures for the integration tests: a real local HTTP server, registries on a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from circuit_breaker.registry import BreakerRegistry
from tests.helpers import FakeClock
from tests.integrations.upstream import Upstream, running

# Jitter off, so that deadlines are exact; the built-in api profile (3 failures, 5 min).
CONFIG: dict[str, Any] = {"version": 1, "defaults": {"jitter_enabled": False}}


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with running() as server:
        yield server


@pytest.fixture
def registry(clock: FakeClock) -> BreakerRegistry:
    return BreakerRegistry.from_dict(CONFIG, clock=clock)
