"""Helpers for the observability tests: a minimal breaker registry and a real Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from circuit_breaker import CircuitBreaker
from tests.services import skip_or_fail


class StaticRegistry:
    """Just what the metrics collector needs of a registry: ``names()`` and ``get()``."""

    def __init__(self, *breakers: CircuitBreaker) -> None:
        self.breakers = {breaker.name: breaker for breaker in breakers}

    def names(self) -> list[str]:
        return sorted(self.breakers)

    def get(self, name: str) -> CircuitBreaker:
        return self.breakers[name]


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The shared Redis (REDIS_URL, default 127.0.0.1:6379); this test's keys removed after."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        skip_or_fail(f"needs Redis at {url}: {exc}")
    yield url
    client.close()


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"cbobs-{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()
