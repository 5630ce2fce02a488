"""The original integration guide's code runs unchanged against real failing servers."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from circuit_breaker import CircuitBreakerState
from tests.integration_guide import guide_code


class Upstream:
    """A real local HTTP server whose health the test switches."""

    def __init__(self) -> None:
        self.hits = 0
        self.failing = True
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                upstream.hits += 1
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                status = 503 if upstream.failing else 200
                body = json.dumps({"ok": not upstream.failing}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


def test_guide_constructor_configurations_build() -> None:
    assert guide_code.api_circuit_breaker.failure_threshold == 3
    assert guide_code.db_circuit_breaker.base_interval_minutes == 1
    assert guide_code.critical_service_breaker.max_exponential_retries == 4
    status = guide_code.critical_service_breaker.get_status_info()
    assert status["state"] == "closed"


def test_external_api_service_stops_hitting_a_failing_upstream(upstream: Upstream) -> None:
    service = guide_code.ExternalAPIService(upstream.url + "/orders")
    results = [service.api_call({"n": i}) for i in range(10)]
    assert results == [None] * 10
    assert upstream.hits == 3
    status = service.circuit_breaker.get_status_info()
    assert status["state"] == "open"
    assert status["retry_phase"] == "fixed-interval (attempt 1/3)"
    assert status["last_failure"]["type"] == "HTTPError"


def test_external_api_service_passes_answers_through(upstream: Upstream) -> None:
    upstream.failing = False
    service = guide_code.ExternalAPIService(upstream.url + "/orders")
    assert service.api_call({"n": 1}) == {"ok": True}
    assert service.circuit_breaker.state is CircuitBreakerState.CLOSED


def test_http_client_service_degrades_gracefully(upstream: Upstream) -> None:
    service = guide_code.HTTPClientService(upstream.url)
    assert [service.make_request("items") for _ in range(5)] == [None] * 5
    assert upstream.hits == 3
    assert service.circuit_breaker.get_status_info()["state"] == "open"
    upstream.failing = False
    service.circuit_breaker.reset()
    assert service.make_request("items") == {"ok": True}


class SqliteDatabaseService(guide_code.DatabaseService):
    """The guide leaves get_connection to the service; here it is a real SQLite file."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def get_connection(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)


def test_database_service_opens_after_five_failed_queries(tmp_path: object) -> None:
    service = SqliteDatabaseService(f"{tmp_path}/app.db")
    assert service.query("SELECT 1", ()) == [(1,)]
    for _ in range(5):
        with pytest.raises(guide_code.DatabaseUnavailableException):
            service.query("SELECT * FROM missing_table", ())
    assert service.circuit_breaker.get_status_info()["state"] == "open"
    with pytest.raises(guide_code.DatabaseUnavailableException):
        service.query("SELECT 1", ())  # rejected without touching the database


def test_monitoring_snippet_from_the_guide(upstream: Upstream) -> None:
    service = guide_code.ExternalAPIService(upstream.url)
    for _ in range(3):
        service.api_call({})
    circuit_breaker = service.circuit_breaker
    alerts: list[str] = []

    def send_alert(message: str) -> None:
        alerts.append(message)

    # Verbatim from "Monitor Circuit Breaker Status":
    status = circuit_breaker.get_status_info()
    if status["state"] == "open":
        send_alert(f"Circuit breaker OPEN: {status['retry_phase']}")
    assert alerts == ["Circuit breaker OPEN: fixed-interval (attempt 1/3)"]
