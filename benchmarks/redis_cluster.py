"""A private 3-master Redis Cluster for the benchmark run (the cluster scenarios share it).

Started on first use, stopped when the run ends. Private for the same reason as the
private server (:mod:`benchmarks.redis_server`): ``INFO commandstats`` on each node
counts this run's commands only.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

MASTERS = 3
SLOTS = 16384
START_TIMEOUT = 20.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisCluster:
    """Started on first use; ``unavailable`` says why when it cannot be had."""

    def __init__(self) -> None:
        self._processes: list[subprocess.Popen[bytes]] = []
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.ports: list[int] = []
        self._bus_ports: list[int] = []
        self._reason: str | None = None
        self._started = False

    @property
    def url(self) -> str:
        """Any one node: a cluster client discovers the rest."""
        self._start()
        if self._reason is not None:
            raise RuntimeError(self._reason)
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    @property
    def unavailable(self) -> str | None:
        self._start()
        return self._reason

    def node(self, port: int) -> Any:
        """A plain client of one node (its INFO, CONFIG RESETSTAT)."""
        import redis

        return redis.Redis(host="127.0.0.1", port=port)

    def commandstats(self) -> dict[int, dict[str, int]]:
        """Calls per command on each node so far (scripts' commands included)."""
        found = {}
        for port in self.ports:
            client = self.node(port)
            try:
                info = client.info("commandstats")
            finally:
                client.close()
            found[port] = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()}
        return found

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        try:
            import redis
        except ImportError:
            self._reason = "redis-py is not installed (pip install redis)"
            return
        binary = shutil.which("redis-server")
        if binary is None:
            self._reason = "no redis-server binary on PATH"
            return
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-cluster-")
        atexit.register(self.close)
        self.ports = [_free_port() for _ in range(MASTERS)]
        self._bus_ports = [_free_port() for _ in range(MASTERS)]  # not port + 10000: free
        for port, bus_port in zip(self.ports, self._bus_ports, strict=True):
            directory = Path(self._tmp.name) / str(port)
            directory.mkdir()
            self._processes.append(subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(directory), "--loglevel", "warning",
                 "--cluster-enabled", "yes", "--cluster-port", str(bus_port),
                 "--cluster-node-timeout", "2000", "--cluster-require-full-coverage", "no"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
        try:
            self._form(redis)
        except Exception as exc:
            self._reason = f"the benchmark's Redis Cluster did not form: {exc}"
            self.close()

    def _form(self, redis: Any) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        clients = [redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
                   for port in self.ports]
        try:
            for client in clients:
                _until(deadline, client.ping)
            step = SLOTS // MASTERS
            for index, client in enumerate(clients):
                last = SLOTS - 1 if index == MASTERS - 1 else (index + 1) * step - 1
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", index * step, last)
            for port, bus_port in zip(self.ports[1:], self._bus_ports[1:], strict=True):
                clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port, bus_port)
            for client in clients:
                _until(deadline, lambda c=client: "cluster_state:ok" in c.execute_command(
                    "CLUSTER", "INFO"))
        finally:
            for client in clients:
                client.close()

    def close(self) -> None:
        for process in self._processes:
            process.kill()
            process.wait(timeout=5)
        self._processes = []
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _until(deadline: float, ready: Any) -> None:
    while True:
        try:
            if ready():
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError("gave up waiting")
        time.sleep(0.05)


_SHARED = RedisCluster()


def shared() -> RedisCluster:
    """The run's cluster (both cluster scenarios use it)."""
    return _SHARED
