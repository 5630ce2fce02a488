"""Local servers that misbehave, and aliases that point at them, for the bound tests."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.db import connections


@contextmanager
def temporary_alias(alias: str, **settings: Any) -> Iterator[str]:
    """A database alias for this test only (like ``unreachable``, with ``settings``)."""
    connections.settings[alias] = {**connections["unreachable"].settings_dict, **settings}
    try:
        yield alias
    finally:
        del connections.settings[alias]
        if hasattr(connections._connections, alias):
            delattr(connections._connections, alias)


@contextmanager
def tcp_server(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A server on a free local port that calls ``answer`` on each connection, then
    holds it open without a word more. Yields the port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                peer, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(peer)
            peer.settimeout(5)
            with suppress(OSError):  # the client may give up first
                answer(peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()
        for peer in held:
            peer.close()


def say_nothing(peer: socket.socket) -> None:
    """A server that accepts TCP and never answers (frozen, or behind a black hole)."""


def answer_start_up_then_freeze(peer: socket.socket) -> None:
    """Just enough of PostgreSQL's protocol for a client to log in; then silence."""

    def read(size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = peer.recv(size - len(data))
            if not chunk:
                raise ConnectionResetError("client left")
            data += chunk
        return data

    while True:
        length, code = struct.unpack("!ii", read(8))
        if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: "not here"
            peer.sendall(b"N")
            continue
        read(length - 8)  # the rest of the StartupMessage
        break

    def message(kind: bytes, body: bytes) -> bytes:
        return kind + struct.pack("!i", len(body) + 4) + body

    parameters = {
        "server_version": "15.0",
        "server_encoding": "UTF8",
        "client_encoding": "UTF8",
        "DateStyle": "ISO, MDY",
        "TimeZone": "UTC",
        "integer_datetimes": "on",
        "standard_conforming_strings": "on",
    }
    peer.sendall(
        message(b"R", struct.pack("!i", 0))  # AuthenticationOk
        + b"".join(message(b"S", f"{k}\0{v}\0".encode()) for k, v in parameters.items())
        + message(b"K", struct.pack("!ii", 4242, 1))  # BackendKeyData
        + message(b"Z", b"I")  # ReadyForQuery
    )
