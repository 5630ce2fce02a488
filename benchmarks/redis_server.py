"""A private ``redis-server`` for the benchmark run.

Private so that ``INFO commandstats`` counts this run's commands only (other engineers'
tests share the machine's Redis) and so no FLUSHDB elsewhere disturbs a scenario.
``BENCH_REDIS_URL`` points the run at an existing server instead (counts get noisier).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

START_TIMEOUT = 5.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """Started on first use; ``unavailable`` says why when it cannot be had."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._url: str | None = None
        self._reason: str | None = None
        self._stats_client: Any = None

    @property
    def url(self) -> str:
        if self._url is None and self._reason is None:
            self._start()
        if self._url is None:
            raise RuntimeError(self._reason)
        return self._url

    @property
    def unavailable(self) -> str | None:
        try:
            self.url  # noqa: B018 - starts the server if needed
        except RuntimeError:
            return self._reason
        return None

    def _start(self) -> None:
        try:
            import redis
        except ImportError:
            self._reason = "redis-py is not installed (pip install redis)"
            return
        external = os.environ.get("BENCH_REDIS_URL")
        if external:
            url = external
        else:
            binary = shutil.which("redis-server")
            if binary is None:
                self._reason = "no redis-server binary on PATH and BENCH_REDIS_URL is unset"
                return
            port = _free_port()
            self._tmp = tempfile.TemporaryDirectory(prefix="bench-redis-")
            self._process = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", self._tmp.name, "--loglevel", "warning"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                client.ping()
                break
            except redis.RedisError as exc:
                if time.monotonic() > deadline:
                    self._reason = f"Redis at {url} did not answer: {exc}"
                    self.close()
                    return
                time.sleep(0.05)
        client.close()
        self._url = url

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url)

    def commandstats(self) -> dict[str, int]:
        """Calls per command so far (``INFO commandstats``; commands run by scripts too)."""
        if self._stats_client is None:
            self._stats_client = self.client()
        info = self._stats_client.info("commandstats")
        return {key.removeprefix("cmdstat_"): int(value["calls"]) for key, value in info.items()}

    def close(self) -> None:
        if self._stats_client is not None:
            self._stats_client.close()
            self._stats_client = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def commands_between(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Commands run between two ``commandstats`` snapshots (the INFO calls excluded)."""
    delta = {name: after[name] - before.get(name, 0) for name in after}
    delta["info"] = delta.get("info", 0) - 1  # the snapshot taken by ``after`` itself
    return {name: count for name, count in delta.items() if count > 0}


class RoundTripCounter:
    """Round trips made by redis-py in this process: every packed write to a socket.

    A pipeline is one write, so one round trip; a script is one round trip whatever it
    runs inside Redis (which ``commandstats`` counts command by command).
    """

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    @contextmanager
    def counting(self) -> Iterator[RoundTripCounter]:
        from redis.connection import AbstractConnection

        original = AbstractConnection.send_packed_command
        counter = self

        def send_packed_command(connection: Any, command: Any, *args: Any, **kw: Any) -> Any:
            with counter._lock:
                counter.count += 1
            return original(connection, command, *args, **kw)

        AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
