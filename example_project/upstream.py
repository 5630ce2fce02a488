"""A flaky upstream for the demo: stdlib HTTP on 127.0.0.1, failure rate switchable at run time.

    python example_project/upstream.py [--port 8001] [--fail 0.0]

GET /quote and POST /pay answer JSON, or HTTP 503 with probability ``fail``.
GET /control?fail=1.0 sets the failure rate; GET / is a page with buttons for it;
GET /stats counts the requests that reached the upstream.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Flaky upstream</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}a{{margin-right:1rem}}</style></head>
<body><h1>Flaky upstream</h1>
<p>Failure rate now: <strong>{rate:.0%}</strong> ({requests} requests served)</p>
<p><a href="/control?fail=0">healthy (0%)</a><a href="/control?fail=0.5">flaky (50%)</a>
<a href="/control?fail=1">down (100%)</a></p></body></html>"""


class Upstream:
    """The shared state of the handlers: failure rate and request counts."""

    def __init__(self, fail: float) -> None:
        self.lock = threading.Lock()
        self.fail = fail
        self.requests = {"quote": 0, "pay": 0}


def make_handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, what: str, answer: dict[str, Any]) -> None:
            with upstream.lock:
                upstream.requests[what] += 1
                failing = random.random() < upstream.fail
            if failing:
                self._send(503, {"error": "upstream unavailable"})
            else:
                self._send(200, answer)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/quote":
                self._serve("quote", {"symbol": "ACME", "price": round(random.uniform(90, 110), 2)})
            elif url.path == "/control":
                values = parse_qs(url.query).get("fail", [])
                try:
                    rate = float(values[0])
                except (IndexError, ValueError):
                    self._send(400, {"error": "give fail=<0..1>"})
                    return
                with upstream.lock:
                    upstream.fail = min(max(rate, 0.0), 1.0)
                self.send_response(303)
                self.send_header("Location", "/")
                self.end_headers()
            elif url.path == "/stats":
                with upstream.lock:
                    self._send(200, {"fail": upstream.fail, "requests": dict(upstream.requests)})
            elif url.path == "/":
                with upstream.lock:
                    page = PAGE.format(rate=upstream.fail, requests=sum(upstream.requests.values()))
                self._send(200, page, "text/html; charset=utf-8")
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            if urlsplit(self.path).path == "/pay":
                self._serve("pay", {"payment_id": uuid.uuid4().hex[:12]})
            else:
                self._send(404, {"error": "not found"})

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the demo's console belongs to runserver."""

    return Handler


def serve(port: int, fail: float) -> ThreadingHTTPServer:
    """A server bound to 127.0.0.1:``port`` (0: any free port); call ``serve_forever``."""
    return ThreadingHTTPServer(("127.0.0.1", port), make_handler(Upstream(fail)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--fail", type=float, default=0.0, help="initial failure rate, 0..1")
    args = parser.parse_args()
    try:
        server = serve(args.port, args.fail)
    except OSError as exc:  # the port is taken: say so, no traceback
        sys.exit(
            f"upstream.py: cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); "
            "pick another port: make demo UPSTREAM_PORT=8091"
        )
    print(f"flaky upstream on http://127.0.0.1:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
