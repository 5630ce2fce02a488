"""A real Redis for the store tests: our own throwaway ``redis-server``, else ``REDIS_URL``.

The own server runs on a free port in a temp dir with persistence off, so a test can
kill it and start it again (outage tests). Without ``redis-server`` and without a
reachable ``REDIS_URL`` the tests skip, except under CI=true where they fail.
The servers themselves are in tests/redis_servers.py; only fixtures live here.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from circuit_breaker.stores.redis import RedisStore
from tests.redis_servers import (
    ExternalRedis,
    RedisServer,
    private_redis_server,
    start_own_redis,
    wait_until_up,
)
from tests.redis_topologies import (  # noqa: F401  (fixtures for the topology tests)
    make_redis_cluster,
    make_redis_sentinel,
    redis_cluster,
    redis_sentinel,
    tls_redis,
    unix_redis,
)
from tests.services import skip_or_fail
from tests.stores.store_factory import StoreFactory


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer | ExternalRedis]:
    """The session's Redis: our own redis-server, else REDIS_URL if it answers."""
    server = start_own_redis(tmp_path_factory)
    if server is not None:
        yield server
        server.stop()
        return
    url = os.environ.get("REDIS_URL")
    if url and wait_until_up(url, time.monotonic() + 1):
        yield ExternalRedis(url)
        return
    skip_or_fail("no redis-server binary on PATH and no reachable REDIS_URL")


@pytest.fixture
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A server of this test's own: its INFO stats count only this test's commands, and
    it can be paused or killed without disturbing other tests."""
    with private_redis_server(tmp_path_factory) as server:
        yield server


@pytest.fixture
def key_prefix() -> str:
    """A prefix of this test's own: tests never see each other's keys or events."""
    return f"cbtest-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_store(
    redis_server: RedisServer | ExternalRedis, key_prefix: str
) -> Iterator[StoreFactory]:
    """Build RedisStores on the session server (all sharing this test's prefix); closed after."""
    stores: list[RedisStore] = []

    def make(**options: Any) -> RedisStore:
        options.setdefault("url", redis_server.url)
        options.setdefault("key_prefix", key_prefix)
        store = RedisStore(**options)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()
    client = redis_server.client()
    keys = list(client.scan_iter(f"{key_prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis_client(redis_server: RedisServer | ExternalRedis) -> Iterator[redis.Redis[Any]]:
    client = redis_server.client()
    yield client
    client.close()
