"""A small HTTP/1.1 server for the integration tests: real sockets, answers chosen by path.

One asyncio loop in a thread listens on a free port of one or more loopback addresses
(the same port on each, so that ``127.0.0.1`` ... ``127.0.0.50`` are fifty hosts):

* ``/status/CODE``: answers CODE; ``?retry_after=VALUE`` adds a ``Retry-After`` header.
* ``/delay/SECONDS``: answers 200 after that long.
* ``/hold``: waits until :meth:`Upstream.release` (at most 10 s), then answers like
  ``/status/...`` with ``?status=CODE&retry_after=VALUE``.
* anything else: 200 ``ok``.

Every request is recorded as a :class:`Hit`. :meth:`Upstream.stop` closes everything.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Hit:
    at: float  # time.time() when the request arrived
    host: str  # the address it arrived on
    path: str


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Upstream:
    def __init__(self, hosts: Sequence[str] = ("127.0.0.1",)) -> None:
        self.hosts = list(hosts)
        self.port = 0
        self.hits: list[Hit] = []
        self._released = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    def url(self, path: str = "/", host: str | None = None) -> str:
        host = host or self.hosts[0]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}{path}"

    def hits_on(self, path: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path.split("?")[0] == path]

    def release(self) -> None:
        self._released.set()

    def start(self) -> None:
        self._thread.start()
        self.port = free_port(self.hosts[0])
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, host=self.hosts, port=self.port), self._loop
        )
        self._server = future.result(timeout=10)

    def stop(self) -> None:
        self._released.set()
        server = self._server
        if server is not None:

            async def close() -> None:
                server.close()
                for writer in self._connections.values():
                    writer.transport.abort()  # the handler's read then ends
                if self._connections:
                    await asyncio.wait(list(self._connections), timeout=5)

            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = writer.get_extra_info("sockname")[0]
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                length, closing = 0, False
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                    if name.strip().lower() == "connection" and "close" in value.lower():
                        closing = True
                if length:
                    await reader.readexactly(length)
                target = request_line.decode("latin-1").split(" ")[1]
                self.hits.append(Hit(time.time(), address, target))
                status, headers = await self._answer(target)
                body = b"ok" if status < 400 else HTTPStatus(status).phrase.encode()
                head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
                head += [f"{name}: {value}" for name, value in headers.items()]
                head += [f"Content-Length: {len(body)}", "", ""]
                writer.write("\r\n".join(head).encode("latin-1") + body)
                await writer.drain()
                if closing:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._connections.pop(task, None)
            writer.close()

    async def _answer(self, target: str) -> tuple[int, dict[str, str]]:
        parts = urlsplit(target)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        segments = parts.path.strip("/").split("/")
        headers = {}
        if "retry_after" in query:
            headers["Retry-After"] = query["retry_after"]
        if segments[0] == "status":
            return int(segments[1]), headers
        if segments[0] == "delay":
            await asyncio.sleep(float(segments[1]))  # the upstream is slow
            return 200, headers
        if segments[0] == "hold":
            await asyncio.get_running_loop().run_in_executor(None, self._released.wait, 10)
            return int(query.get("status", "200")), headers
        return 200, headers


@contextmanager
def running(hosts: Sequence[str] = ("127.0.0.1",)) -> Iterator[Upstream]:
    upstream = Upstream(hosts)
    upstream.start()
    try:
        yield upstream
    finally:
        upstream.stop()
