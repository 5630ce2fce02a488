"""The timeline template tags, drawing from Transition rows in the database."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings

if "circuit_breaker_django" not in settings.INSTALLED_APPS:  # pragma: no cover
    pytest.skip(
        "tests/django_settings.py does not install circuit_breaker_django yet",
        allow_module_level=True,
    )

from django.template import Context, Template
from django.utils import timezone

from circuit_breaker_django.models import Breaker, Transition
from circuit_breaker_django.templatetags.breaker_timeline import (
    breaker_sparkline,
    breaker_timeline,
    default_timeline_window,
    first_seen,
    sparklines,
)

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def created(name: str, at: datetime) -> Breaker:
    """A Breaker row created at ``at``, as models.sync_breaker_rows makes it."""
    row = Breaker.objects.create(name=name, seq=int(at.timestamp() * 1_000_000))
    Breaker.objects.filter(pk=row.pk).update(updated_at=at)
    return row


@pytest.fixture(autouse=True)
def long_known() -> None:
    """orders_db has existed for a month: its pictures span their whole window."""
    created("orders_db", NOW - timedelta(days=30))


def record(breaker: str, at: datetime, from_state: str, to_state: str, **extra: Any) -> None:
    Transition.objects.create(
        breaker=breaker, at=at, from_state=from_state, to_state=to_state, reason="test", **extra
    )


def bands(svg: str) -> list[tuple[str, str, str]]:
    root = ET.fromstring(svg)
    found = [
        (g.get("data-state", ""), g.get("data-start", ""), g.get("data-end", ""))
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "cb-segment"
    ]
    return sorted(found, key=lambda band: band[1])


def iso(moment: datetime) -> str:
    return moment.isoformat()


def test_timeline_draws_the_stored_outage_of_that_breaker_only() -> None:
    record("orders_db", NOW - timedelta(hours=5), "closed", "open")
    record("orders_db", NOW - timedelta(hours=4), "open", "half_open")
    record("orders_db", NOW - timedelta(hours=4), "half_open", "closed")
    record("other", NOW - timedelta(hours=2), "closed", "forced_open")
    svg = breaker_timeline("orders_db", "24h", now=NOW)
    assert bands(svg) == [
        ("closed", iso(NOW - timedelta(hours=24)), iso(NOW - timedelta(hours=5))),
        ("open", iso(NOW - timedelta(hours=5)), iso(NOW - timedelta(hours=4))),
        ("closed", iso(NOW - timedelta(hours=4)), iso(NOW)),
    ]


def test_the_week_window_reaches_further_back() -> None:
    record("orders_db", NOW - timedelta(days=3), "closed", "open")
    record("orders_db", NOW - timedelta(days=3, hours=-1), "open", "closed")
    day = bands(breaker_timeline("orders_db", "24h", now=NOW))
    week = bands(breaker_timeline("orders_db", "7d", now=NOW))
    assert [state for state, _, _ in day] == ["closed"]
    assert [state for state, _, _ in week] == ["closed", "open", "closed"]


def test_a_quiet_window_shows_the_live_state_or_the_last_stored_one() -> None:
    record("orders_db", NOW - timedelta(days=3), "closed", "forced_open")
    assert [b[0] for b in bands(breaker_timeline("orders_db", now=NOW))] == ["forced_open"]
    live = breaker_timeline("orders_db", state="closed", now=NOW)
    assert [b[0] for b in bands(live)] == ["closed"]


def test_the_tags_render_in_a_template() -> None:
    record("orders_db", timezone.now() - timedelta(hours=1), "closed", "open")
    template = Template(
        "{% load breaker_timeline %}"
        '{% breaker_timeline name window="7d" %}|{% breaker_sparkline name state="open" %}'
    )
    timeline, sparkline = template.render(Context({"name": "orders_db"})).split("|")
    assert [b[0] for b in bands(timeline)] == ["closed", "open"]
    assert ET.fromstring(timeline).get("class") == "cb-timeline"
    assert [b[0] for b in bands(sparkline)] == ["closed", "open"]
    assert ET.fromstring(sparkline).get("class") == "cb-sparkline"


def test_an_unknown_window_is_a_clear_template_error() -> None:
    template = Template('{% load breaker_timeline %}{% breaker_timeline "x" window="2h" %}')
    with pytest.raises(ValueError, match="expected one of 1h, 24h, 7d, all"):
        template.render(Context())


def test_a_list_page_of_sparklines_costs_three_queries_for_any_number_of_breakers(
    django_assert_num_queries: Any,
) -> None:
    for name in "abc":
        created(name, NOW - timedelta(days=2))
    record("a", NOW - timedelta(hours=3), "closed", "open")
    record("b", NOW - timedelta(hours=2), "closed", "disabled")
    with django_assert_num_queries(3):  # rows, first transitions, the day's transitions
        pictures = sparklines({"a": "open", "b": "disabled", "c": "closed"}, NOW)
    assert {name: [b[0] for b in bands(svg)] for name, svg in pictures.items()} == {
        "a": ["closed", "open"],
        "b": ["closed", "disabled"],
        "c": ["closed"],
    }
    assert bands(breaker_sparkline("a", now=NOW)) == bands(pictures["a"])


def test_a_breaker_is_first_seen_at_its_first_transition_or_its_rows_creation() -> None:
    created("young", NOW - timedelta(hours=2))
    record("young", NOW - timedelta(hours=1), "closed", "open")
    record("rowless", NOW - timedelta(hours=3), "closed", "open")
    record("recreated", NOW - timedelta(days=3), "closed", "open")  # before its row
    created("recreated", NOW - timedelta(days=1))

    assert first_seen(["young", "rowless", "recreated", "unknown"]) == {
        "young": NOW - timedelta(hours=2),
        "rowless": NOW - timedelta(hours=3),
        "recreated": NOW - timedelta(days=3),
        "unknown": None,
    }


def test_a_row_written_since_its_creation_is_dated_by_its_seq() -> None:
    # The django store updates the row (updated_at) on every write; seq only counts up.
    row = created("busy", NOW - timedelta(days=2))
    Breaker.objects.filter(pk=row.pk).update(seq=row.seq + 5, updated_at=NOW - timedelta(minutes=1))
    dated_otherwise = Breaker.objects.create(name="seqless", seq=0)

    seen = first_seen(["busy", "seqless"])

    assert seen["busy"] == NOW - timedelta(days=2) + timedelta(microseconds=5)
    assert seen["seqless"] == dated_otherwise.updated_at


def test_a_new_breaker_is_not_drawn_before_it_existed() -> None:
    created("fresh", NOW - timedelta(minutes=20))

    timeline = bands(breaker_timeline("fresh", "24h", state="closed", now=NOW))
    spark = bands(sparklines({"fresh": "closed"}, NOW)["fresh"])

    assert timeline == spark == [("closed", iso(NOW - timedelta(minutes=20)), iso(NOW))]
    svg = breaker_timeline("fresh", "24h", state="closed", now=NOW)
    assert "first seen 2025-03-10 11:40 UTC" in (ET.fromstring(svg).get("aria-label") or "")


def test_since_first_seen_spans_the_whole_recorded_life() -> None:
    created("payments", NOW - timedelta(days=10))
    record("payments", NOW - timedelta(days=9), "closed", "forced_open")
    record("payments", NOW - timedelta(days=8), "forced_open", "closed")

    drawn = bands(breaker_timeline("payments", "all", now=NOW))

    assert drawn == [
        ("closed", iso(NOW - timedelta(days=10)), iso(NOW - timedelta(days=9))),
        ("forced_open", iso(NOW - timedelta(days=9)), iso(NOW - timedelta(days=8))),
        ("closed", iso(NOW - timedelta(days=8)), iso(NOW)),
    ]


def test_the_default_range_holds_the_latest_incident_whole() -> None:
    record("orders_db", NOW - timedelta(hours=5), "closed", "open")
    record("orders_db", NOW - timedelta(hours=4), "open", "half_open")
    record("orders_db", NOW - timedelta(minutes=3), "half_open", "closed")  # last change

    assert default_timeline_window("orders_db", NOW) == "24h"  # the outage began 5 h ago
    created("fresh", NOW - timedelta(minutes=20))
    assert default_timeline_window("fresh", NOW) == "all"
