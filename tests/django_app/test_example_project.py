"""The example project end to end: its real upstream stub, its view, its YAML, the health check."""

from __future__ import annotations

import json
import re
import select
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest
from django.test import Client
from django.utils import timezone

from circuit_breaker_django import registry

EXAMPLE = Path(__file__).resolve().parents[2] / "example_project"


class Upstream:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(EXAMPLE / "upstream.py"), "--port", "0"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 30)
        assert ready, "the upstream stub did not start"
        self.url = self.process.stdout.readline().split()[-1].rstrip("/")

    def get(self, path: str) -> Any:
        with urlopen(self.url + path, timeout=5) as response:
            return json.load(response) if path == "/stats" else None

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.stop()


@pytest.fixture
def example_site(
    settings: Any, upstream: Upstream, monkeypatch: pytest.MonkeyPatch, transactional_db: None
) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(EXAMPLE))
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "shop"]
    settings.ROOT_URLCONF = "demo_site.urls"
    settings.DEMO_UPSTREAM_URL = upstream.url
    settings.CIRCUIT_BREAKERS = {
        "CONFIG": [EXAMPLE / "breakers.yaml"],
        "STORE": "django",
        "METRICS": True,
    }
    registry.configure(None)  # built from the example's settings on first use
    yield
    registry.configure(None)


def test_the_page_degrades_gracefully_and_the_critical_breaker_fails_health(
    example_site: None, upstream: Upstream, client: Client
) -> None:
    page = client.get("/")
    assert page.status_code == 200 and b"(from the upstream)" in page.content

    upstream.get("/control?fail=1.0")  # redirects to the control page (HTML)
    threshold = registry.get("external_api").failure_threshold
    for _ in range(threshold):
        page = client.get("/")
        assert page.status_code == 200
        assert b"Prices are temporarily unavailable" in page.content
        assert b"the upstream failed" in page.content
    assert registry.get("external_api").state.value == "open"

    page = client.get("/")
    assert page.status_code == 200
    assert b"is OPEN; next retry in" in page.content  # rejected without calling out
    assert upstream.get("/stats")["requests"]["quote"] == 1 + threshold

    health = client.get("/health/breakers/")
    assert (health.status_code, health.json()["status"]) == (200, "warn")
    for _ in range(registry.get("payment_gateway").failure_threshold):
        assert client.post("/pay/").status_code == 302
    health = client.get("/health/breakers/")
    assert health.status_code == 503
    assert health.json()["status"] == "fail"
    assert health.json()["breakers"]["payment_gateway"] == {"state": "open"}


def test_the_shop_says_when_the_next_retry_is_in_words_not_iso(
    example_site: None, upstream: Upstream, client: Client
) -> None:
    upstream.get("/control?fail=1.0")
    for _ in range(registry.get("external_api").failure_threshold):
        client.get("/")
    registry.get("orders_db").force_open(actor="test")

    html = client.get("/").content.decode()

    status = registry.status(["external_api"])["external_api"]
    at = datetime.fromisoformat(status["next_retry_at"])
    row = html[html.index("<td>external_api</td>") :]
    row = row[: row.index("</tr>")]
    assert re.search(r">in (\d+m)?(\d+s)?</time> <small>\(at [^)]+\)</small>", row)
    local = timezone.localtime(at)  # the site's time zone (the demo's: UTC)
    assert f"(at {local:%H:%M:%S} {local.tzname()})" in row
    assert f">{status['next_retry_at']}<" not in html  # the ISO string only in datetime=""
    assert "after a manual reset" in html  # orders_db


def test_the_example_configuration_uses_the_built_in_profiles_and_its_own(
    example_site: None,
) -> None:
    status = registry.status()
    assert {s["profile"] for s in status.values()} == {"demo", "payments", "api", "db"}
    assert status["external_api"]["config"]["base_interval_minutes"] == pytest.approx(20 / 60)
    assert status["payment_gateway"]["critical"] is True


def test_metrics_endpoint_shows_the_outage_and_the_reset(
    example_site: None, upstream: Upstream, client: Client
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    upstream.get("/control?fail=1.0")
    threshold = registry.get("external_api").failure_threshold
    for _ in range(threshold + 2):
        client.get("/")  # the last two are rejected without calling out
    registry.get("external_api").reset(actor="test")

    response = client.get("/metrics")
    assert response.status_code == 200
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
        if sample.labels.get("breaker") == "external_api"
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted({"breaker": "external_api", **labels}.items())))]

    assert value("circuit_breaker_state", state="closed") == 1
    assert value("circuit_breaker_state", state="open") == 0
    assert value("circuit_breaker_calls_total", outcome="failure") == threshold
    assert value("circuit_breaker_calls_total", outcome="rejected") == 2
    transitions = "circuit_breaker_transitions_total"
    assert value(transitions, from_state="closed", to_state="open") == 1
    assert value(transitions, from_state="open", to_state="closed") == 1
