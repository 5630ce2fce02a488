"""Per-request overhead of BreakerTransport over httpx's bare transport.

Two rows. The first wraps a canned-response transport and calls ``handle_request``
directly: nothing but the breaker layer is timed (key the host, find its breaker, admit,
judge the status), so a figure of a microsecond or two is not lost in the noise of a
socket round trip. The second sends real requests through ``httpx.Client`` to a local
HTTP/1.1 server (keep-alive), the same overhead seen whole, against a round trip of tens
of microseconds. interlock-cb's httpx transport runs beside ours when it is installed
(it is not a dependency of the ``bench`` extra).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from benchmarks.context import Context
from benchmarks.harness import Measure, interleave
from benchmarks.loops import via
from benchmarks.report import Row, skipped
from benchmarks.scenarios.common import BARE, OURS, overhead_row

TARGET_NS = 2000.0
TARGET = "<= 2 us over the bare transport"
INTERLOCK = "interlock-cb"


def _interlock() -> ModuleType | None:
    try:
        return importlib.import_module("interlock.integrations.httpx")
    except Exception:  # not installed, or broken: left out, and said so
        return None


# The local server runs in a process of its own: in this one, every answer would wait for
# the interpreter to switch threads (milliseconds), and the figure would measure that.
_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection per client
    disable_nagle_algorithm = True  # or each answer waits for the client's delayed ACK

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@contextmanager
def _local_server() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=10)


def run(context: Context) -> list[Row]:
    try:
        import httpx
    except ImportError:
        return [skipped("http_transport", "httpx is not installed (the httpx extra)", TARGET)]
    from circuit_breaker.integrations.httpx import BreakerTransport
    from circuit_breaker.registry import BreakerRegistry

    registry = BreakerRegistry.from_dict({"version": 1})
    interlock = _interlock()
    notes = "" if interlock is not None else f"{INTERLOCK} not installed: left out"
    rows = [_layer_row(context, httpx, BreakerTransport, registry, interlock, notes)]
    rows.append(_client_row(context, httpx, BreakerTransport, registry, interlock, notes))
    return rows


def _layer_row(
    context: Context,
    httpx: Any,
    ours: Callable[..., Any],
    registry: Any,
    interlock: ModuleType | None,
    notes: str,
) -> Row:
    canned = httpx.Response(200)

    class Canned(httpx.BaseTransport):  # type: ignore[misc, name-defined]
        def handle_request(self, request: Any) -> Any:
            return canned

    inner = Canned()
    request = httpx.Request("GET", "http://api.example.com/rates")
    candidates: dict[str, Measure] = {
        BARE: via(inner.handle_request, request),
        OURS: via(ours(registry, transport=inner).handle_request, request),
    }
    if interlock is not None:
        guarded = interlock.CircuitBreakerTransport(inner)
        candidates[INTERLOCK] = via(guarded.handle_request, request)
    row = overhead_row(
        "http_transport",
        "handle_request overhead (canned response)",
        interleave(candidates, context.settings),
        target=TARGET,
        notes=notes,
    )
    row.judge(row.ours is not None and row.ours <= TARGET_NS, context.quick)
    return row


def _client_row(
    context: Context,
    httpx: Any,
    ours: Callable[..., Any],
    registry: Any,
    interlock: ModuleType | None,
    notes: str,
) -> Row:
    with _local_server() as url:
        clients = {
            BARE: httpx.Client(transport=httpx.HTTPTransport()),
            OURS: httpx.Client(transport=ours(registry)),
        }
        if interlock is not None:
            transport = interlock.CircuitBreakerTransport(httpx.HTTPTransport())
            clients[INTERLOCK] = httpx.Client(transport=transport)
        try:
            samples = interleave(
                {name: via(client.get, url) for name, client in clients.items()},
                context.settings,
            )
        finally:
            for client in clients.values():
                client.close()
    extra = "a real request to a local server; the round trip's noise dwarfs the overhead"
    return overhead_row(
        "http_transport",
        "client.get() overhead (local server)",
        samples,
        target="none: the whole request, for scale",
        notes=f"{extra}; {notes}" if notes else extra,
    )
