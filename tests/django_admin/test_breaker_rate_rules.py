"""Rate rules in the admin: the window on the detail page, the rates in the list."""

from __future__ import annotations

import re
from contextlib import suppress
from html import unescape
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from circuit_breaker_django import registry
from circuit_breaker_django.store import DjangoStore
from tests.django_admin.admin_helpers import change_url, install_registry
from tests.helpers import FakeClock

pytestmark = pytest.mark.django_db(transaction=True)  # rows synced on the app's own connection

RATED: dict[str, Any] = {
    "version": 1,
    "breakers": {
        "search_api": {"profile": "api_rate"},
        "ledger_db": {
            "failure_threshold": "off",
            "failure_rate_threshold": "25%",
            "sliding_window": 100,
            "minimum_calls": 4,
        },
        "orders_db": {"profile": "db"},
    },
    "store": {"backend": "memory"},
}
LIST_URL = "admin:circuit_breaker_django_breaker_changelist"


@pytest.fixture
def clock() -> FakeClock:
    clock = FakeClock()
    install_registry(clock=clock, config=RATED)
    return clock


def calls(name: str, outcomes: str, clock: FakeClock) -> None:
    """``f`` fails, ``s`` takes 6 s, ``.`` succeeds at once."""
    breaker = registry.get(name)

    def outcome(kind: str) -> None:
        if kind == "s":
            clock.advance(6)
        if kind == "f":
            raise ConnectionError("refused")

    for kind in outcomes:
        with suppress(ConnectionError):
            breaker.call(outcome, kind)


def rows_of(html: str, section: str) -> dict[str, str]:
    """A detail-page module's rows, header -> cell text (tags dropped)."""
    start = html.index(f'id="{section}"')
    body = html[start : html.index("</table>", start)]
    found = re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td>', body, re.S)
    return {
        unescape(re.sub("<[^>]+>", "", th)): unescape(re.sub("<[^>]+>", "", td)) for th, td in found
    }


def test_the_detail_page_shows_the_window_against_the_rules(
    admin_client: Client, clock: FakeClock
) -> None:
    calls("search_api", "." * 14 + "ffss", clock)  # 2 of 18 failed, 2 slow: below 20 calls

    html = admin_client.get(change_url("search_api")).content.decode()

    assert rows_of(html, "breaker-window") == {
        "Window": "the calls of the last 1m (slides 6s at a time)",
        "Counted": "this process's calls",
        "Minimum calls": "20 (no verdict with fewer calls in the window)",
        "Calls": "18",
        "Failures": "2",
        "Failure rate": "11.1% (opens the breaker at 50% or more)",
        "Slow calls": "2 (5s or longer, failed or not)",
        "Slow-call rate": "11.1% (opens the breaker at 80% or more)",
    }
    status = rows_of(html, "breaker-status")
    assert status["Failure count"] == (
        "no streak rule (failure_threshold off): the rate rules below open the breaker"
    )
    assert status["Tripped by (last trip)"] == "—"
    assert "None" not in html[html.index('id="breaker-status"') : html.index('id="breaker-config"')]


def test_the_detail_page_names_the_rule_of_the_last_trip(
    admin_client: Client, clock: FakeClock
) -> None:
    calls("ledger_db", "...f", clock)  # 1 of 4 = 25 %

    html = admin_client.get(change_url("ledger_db")).content.decode()

    assert rows_of(html, "breaker-status")["Tripped by (last trip)"] == "failure rate"
    assert rows_of(html, "breaker-status")["Last transition"].startswith("failure_rate")
    window = rows_of(html, "breaker-window")
    assert (window["Window"], window["Calls"]) == (
        "the last 100 calls (counted in one-second buckets)",
        "0",
    )
    assert window["Slow calls"] == "not timed (no slow_call_duration is set)"
    assert "Slow-call rate" not in window


def test_a_streak_breaker_has_no_window_and_counts_its_streak(
    admin_client: Client, clock: FakeClock
) -> None:
    calls("orders_db", "ff", clock)

    html = admin_client.get(change_url("orders_db")).content.decode()

    assert 'id="breaker-window"' not in html
    assert rows_of(html, "breaker-status")["Failure count"] == "2 of 5 in a row before opening"


def test_a_fleet_window_says_it_is_the_fleets(admin_client: Client, clock: FakeClock) -> None:
    install_registry(store=DjangoStore(flush_interval=0.5), config=RATED)

    html = admin_client.get(change_url("search_api")).content.decode()

    assert rows_of(html, "breaker-window")["Counted"] == (
        "the whole fleet's calls, up to one flush interval (0.5s) ago"
    )


def test_the_list_shows_a_rate_where_there_is_no_streak(
    admin_client: Client, clock: FakeClock
) -> None:
    calls("search_api", "." * 7 + "f", clock)
    calls("orders_db", "f", clock)

    html = admin_client.get(reverse(LIST_URL)).content.decode()

    def cells(name: str) -> str:
        found = re.search(rf'{name}.*?<td class="field-failures">(.*?)</td>', html, re.S)
        assert found is not None
        return found.group(1)

    assert cells("search_api") == (
        '<span class="cb-nowrap" title="rate of the last 1m (8 calls) / the rate that opens '
        'the breaker">12.5% / 50%</span>'
    )
    assert cells("orders_db") == '<span class="cb-nowrap">1 / 5</span>'
    assert "None" not in html
