"""Plain redis-server processes for tests: a private server on a free port, or REDIS_URL.

A private server runs in a temp dir with persistence off, so a test can kill it and start
it again (outage tests), and no other test reads or writes its keys. The fixtures that
use these helpers live in the conftest files (tests/stores, tests/observability) and in
tests/django_admin/test_breaker_list.py.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.services import skip_or_fail


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, deadline: float) -> bool:
    """Whether the Redis at ``url`` answers PING before ``deadline`` (time.monotonic)."""
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
        if not wait_until_up(self.url, time.monotonic() + 5):
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


def start_own_redis(tmp_path_factory: pytest.TempPathFactory) -> RedisServer | None:
    """A started redis-server of our own, or None without the binary or if it won't start."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    server = RedisServer(binary, tmp_path_factory.mktemp("redis"))
    try:
        server.start()
    except (OSError, RuntimeError):
        return None
    return server


@contextmanager
def private_redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of the caller's own, killed on exit.

    Without a redis-server binary that starts, the test skips (fails under CI=true).
    """
    server = start_own_redis(tmp_path_factory)
    if server is None:
        skip_or_fail(
            "needs a redis-server binary on PATH that starts, for a private server: "
            "apt-get install -y redis-server"
        )
    try:
        yield server
    finally:
        server.stop()
