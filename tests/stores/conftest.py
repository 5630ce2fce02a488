"""A real Redis for the store tests: our own throwaway ``redis-server``, else ``REDIS_URL``.

The own server runs on a free port in a temp dir with persistence off, so a test can
kill it and start it again (outage tests). Without ``redis-server`` and without a
reachable ``REDIS_URL`` the tests skip, except under CI=true where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from circuit_breaker.stores.redis import RedisStore
from tests.redis_topologies import (  # noqa: F401  (fixtures for the topology tests)
    make_redis_cluster,
    make_redis_sentinel,
    redis_cluster,
    redis_sentinel,
    tls_redis,
    unix_redis,
)
from tests.services import skip_or_fail


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, deadline: float) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=0.2, socket_connect_timeout=0.2)
    try:
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return True
            except redis.RedisError:
                time.sleep(0.02)  # real wait: the server is starting
        return False
    finally:
        client.close()


class RedisServer:
    """A redis-server process this test session owns (and may kill and restart)."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.owned = True
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not _wait_until_up(self.url, time.monotonic() + 5):
            self.stop()
            raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        """Kill the server (SIGKILL: an outage, not a clean shutdown)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=5)
            self._process = None

    def client(self) -> redis.Redis[Any]:
        return redis.Redis.from_url(self.url, decode_responses=True)


class ExternalRedis:
    """A Redis we did not start (REDIS_URL): usable, but never killed."""

    owned = False

    def __init__(self, url: str) -> None:
        self.url = url

    def client(self) -> redis.Redis[Any]:
        return redis.Redis.from_url(self.url, decode_responses=True)


def _start_own(tmp_path_factory: pytest.TempPathFactory) -> RedisServer | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    server = RedisServer(binary, tmp_path_factory.mktemp("redis"))
    try:
        server.start()
    except (OSError, RuntimeError):
        return None
    return server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer | ExternalRedis]:
    """The session's Redis: our own redis-server, else REDIS_URL if it answers."""
    server = _start_own(tmp_path_factory)
    if server is not None:
        yield server
        server.stop()
        return
    url = os.environ.get("REDIS_URL")
    if url and _wait_until_up(url, time.monotonic() + 1):
        yield ExternalRedis(url)
        return
    skip_or_fail("no redis-server binary on PATH and no reachable REDIS_URL")


@pytest.fixture
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A server of this test's own: its INFO stats count only this test's commands, and
    it can be paused or killed without disturbing other tests."""
    server = _start_own(tmp_path_factory)
    if server is None:
        skip_or_fail("needs the redis-server binary to start a server of the test's own")
        raise AssertionError("unreachable")
    yield server
    server.stop()


@pytest.fixture
def key_prefix() -> str:
    """A prefix of this test's own: tests never see each other's keys or events."""
    return f"cbtest-{uuid.uuid4().hex[:10]}"


StoreFactory = Callable[..., RedisStore]


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
