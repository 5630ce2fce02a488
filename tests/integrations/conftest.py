"""Fixtures for the integration tests: a real local HTTP server, registries on a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from circuit_breaker.registry import BreakerRegistry
from tests.helpers import FakeClock
from tests.integrations.breaker_config import CONFIG
from tests.integrations.upstream import Upstream, running


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with running() as server:
        yield server


@pytest.fixture
def registry(clock: FakeClock) -> BreakerRegistry:
    return BreakerRegistry.from_dict(CONFIG, clock=clock)
