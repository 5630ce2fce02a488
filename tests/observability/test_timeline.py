"""The state timeline: segments from a known history, and the SVG drawn from them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from circuit_breaker_django.timeline import (
    SPARKLINE_HEIGHT,
    SPARKLINE_WIDTH,
    TIMELINE_WIDTH,
    Segment,
    format_duration,
    get_window,
    sparkline_svg,
    state_segments,
    timeline_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
END = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
DAY = get_window("24h")
WEEK = get_window("7d")


@dataclass
class T:
    """A stored transition, as the Transition model offers it."""

    at: datetime
    from_state: str
    to_state: str


def ago(**delta: float) -> datetime:
    return END - timedelta(**delta)


HISTORY = [
    T(ago(days=2), "closed", "open"),  # before the 24 h window: ignored
    T(ago(days=2) + timedelta(minutes=5), "open", "closed"),
    T(ago(hours=20), "closed", "open"),
    T(ago(hours=19, minutes=55), "open", "half_open"),
    T(ago(hours=19, minutes=55), "half_open", "open"),  # probe failed at once
    T(ago(hours=18), "open", "half_open"),
    T(ago(hours=17, minutes=59), "half_open", "closed"),
    T(ago(hours=3), "closed", "forced_open"),
    T(ago(hours=1), "forced_open", "closed"),
]


def test_segments_of_a_known_history_cover_the_window_exactly() -> None:
    assert state_segments(HISTORY, END - DAY.span, END) == [
        Segment(ago(hours=24), ago(hours=20), "closed"),
        Segment(ago(hours=20), ago(hours=18), "open"),
        Segment(ago(hours=18), ago(hours=17, minutes=59), "half_open"),
        Segment(ago(hours=17, minutes=59), ago(hours=3), "closed"),
        Segment(ago(hours=3), ago(hours=1), "forced_open"),
        Segment(ago(hours=1), END, "closed"),
    ]


def test_the_week_window_includes_older_transitions() -> None:
    segments = state_segments(HISTORY, END - WEEK.span, END)
    assert segments[:3] == [
        Segment(ago(days=7), ago(days=2), "closed"),
        Segment(ago(days=2), ago(days=2) + timedelta(minutes=5), "open"),
        Segment(ago(days=2) + timedelta(minutes=5), ago(hours=20), "closed"),
    ]
    assert segments[0].start == END - WEEK.span and segments[-1].end == END


def test_state_before_the_first_transition_is_its_from_state() -> None:
    history = [T(ago(hours=2), "forced_open", "closed")]
    assert state_segments(history, END - DAY.span, END) == [
        Segment(ago(hours=24), ago(hours=2), "forced_open"),
        Segment(ago(hours=2), END, "closed"),
    ]


def test_a_quiet_window_is_the_current_state_or_closed() -> None:
    assert state_segments([], END - DAY.span, END) == [Segment(ago(hours=24), END, "closed")]
    assert state_segments([], END - DAY.span, END, "forced_open") == [
        Segment(ago(hours=24), END, "forced_open")
    ]


def test_transitions_are_sorted_and_later_ones_ignored() -> None:
    history = [
        T(END + timedelta(minutes=1), "closed", "open"),
        T(ago(hours=1), "open", "closed"),
        T(ago(hours=2), "closed", "open"),
    ]
    assert state_segments(history, END - DAY.span, END) == [
        Segment(ago(hours=24), ago(hours=2), "closed"),
        Segment(ago(hours=2), ago(hours=1), "open"),
        Segment(ago(hours=1), END, "closed"),
    ]


def test_an_empty_window_is_an_error() -> None:
    with pytest.raises(ValueError, match="must end after it starts"):
        state_segments([], END, END)


def test_an_unknown_window_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"'1h'.*24h, 7d"):
        get_window("1h")


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(seconds=42), "42 s"),
        (timedelta(minutes=25), "25 min"),
        (timedelta(hours=2, minutes=5, seconds=9), "2 h 5 min"),
        (timedelta(hours=3), "3 h"),
        (timedelta(days=1, hours=4), "1 d 4 h"),
        (timedelta(days=2, minutes=3), "2 d"),
    ],
)
def test_durations_read_naturally(span: timedelta, text: str) -> None:
    assert format_duration(span) == text


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def drawn_segments(root: ET.Element) -> list[tuple[str, str, str]]:
    groups = root.iter(f"{SVG}g")
    found = [
        (g.get("data-state", ""), g.get("data-start", ""), g.get("data-end", ""))
        for g in groups
        if g.get("class") == "cb-segment"
    ]
    return sorted(found, key=lambda s: s[1])


def test_timeline_svg_draws_one_band_per_segment() -> None:
    segments = state_segments(HISTORY, END - DAY.span, END)
    root = parse(timeline_svg("orders_db", segments, DAY, END))
    assert root.tag == f"{SVG}svg"
    assert drawn_segments(root) == [
        (s.state, s.start.isoformat(), s.end.isoformat()) for s in segments
    ]


def band(root: ET.Element, state: str) -> ET.Element:
    (group,) = [g for g in root.iter(f"{SVG}g") if g.get("data-state") == state]
    return group


def test_bands_are_placed_in_proportion_to_time() -> None:
    segments = state_segments(HISTORY, END - DAY.span, END)
    root = parse(timeline_svg("orders_db", segments, DAY, END))
    rect = band(root, "open").find(f"{SVG}rect")
    assert rect is not None
    plot = TIMELINE_WIDTH - 24  # 12 px padding each side
    assert float(rect.get("x", "")) == pytest.approx(12 + plot * 4 / 24, abs=0.01)
    assert float(rect.get("width", "")) == pytest.approx(plot * 2 / 24, abs=0.01)


def test_states_differ_by_pattern_and_words_not_only_colour() -> None:
    segments = state_segments(HISTORY, END - DAY.span, END)
    root = parse(timeline_svg("orders_db", segments, DAY, END))
    patterns = {p.get("id", "") for p in root.iter(f"{SVG}pattern")}
    open_band = band(root, "open")
    fill = open_band.find(f"{SVG}rect").get("fill", "")  # type: ignore[union-attr]
    assert fill.startswith("url(#") and fill[5:-1] in patterns
    assert (
        open_band.findtext(f"{SVG}title")
    ) == "Open: 2025-03-09 16:00 UTC to 2025-03-09 18:00 UTC (2 h)"
    assert open_band.findtext(f"{SVG}text") == "Open"  # wide enough for its label
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "cb-legend")
    assert [t.text for t in legend.iter(f"{SVG}text")] == [
        "Closed",
        "Open",
        "Half-open",
        "Forced open",
        "Disabled",
    ]


def test_the_svg_is_an_image_with_a_summary_for_screen_readers() -> None:
    segments = state_segments(HISTORY, END - DAY.span, END)
    root = parse(timeline_svg("orders_db", segments, DAY, END))
    assert root.get("role") == "img"
    assert root.get("aria-label") == (
        "Circuit breaker orders_db, last 24 hours: closed 19 h 59 min (83%) in 3 periods, "
        "open 2 h (8%), half-open 1 min (<1%), forced open 2 h (8%); now closed."
    )
    assert root.findtext(f"{SVG}title") == root.get("aria-label")


def test_the_axis_counts_back_to_now() -> None:
    root = parse(timeline_svg("x", state_segments([], END - WEEK.span, END), WEEK, END))
    axis = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "cb-axis")
    labels = [t.text for t in axis.iter(f"{SVG}text")]
    assert labels == [
        "\u22127 d",
        "\u22126 d",
        "\u22125 d",
        "\u22124 d",
        "\u22123 d",
        "\u22122 d",
        "\u22121 d",
        "now",
    ]


def test_a_short_outage_stays_visible_and_inside_the_frame() -> None:
    history = [T(ago(seconds=30), "closed", "open")]
    root = parse(timeline_svg("x", state_segments(history, END - DAY.span, END), DAY, END))
    rect = band(root, "open").find(f"{SVG}rect")
    assert rect is not None
    x, width = float(rect.get("x", "")), float(rect.get("width", ""))
    assert width == 3
    assert x + width == pytest.approx(TIMELINE_WIDTH - 12)


def test_names_are_escaped_and_ids_distinct_per_breaker() -> None:
    segments = state_segments(HISTORY, END - DAY.span, END)
    hostile = timeline_svg('<script>alert("x")</script>', segments, DAY, END)
    root = parse(hostile)
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))
    assert '<script>alert("x")</script>' in root.get("aria-label", "")
    ids_a = {
        p.get("id") for p in parse(timeline_svg("a", segments, DAY, END)).iter(f"{SVG}pattern")
    }
    ids_b = {
        p.get("id") for p in parse(timeline_svg("b", segments, DAY, END)).iter(f"{SVG}pattern")
    }
    assert ids_a and not ids_a & ids_b


def test_sparkline_is_small_wordless_and_still_described() -> None:
    segments = state_segments(HISTORY, END - DAY.span, END)
    root = parse(sparkline_svg("orders_db", segments, DAY, END))
    assert (root.get("width"), root.get("height")) == (str(SPARKLINE_WIDTH), str(SPARKLINE_HEIGHT))
    assert root.get("role") == "img" and "open 2 h" in root.get("aria-label", "")
    assert drawn_segments(root) == [
        (s.state, s.start.isoformat(), s.end.isoformat()) for s in segments
    ]
    assert [g.findtext(f"{SVG}title") for g in root.iter(f"{SVG}g")] and not [
        t for t in root.iter(f"{SVG}text")
    ]
    timeline_ids = {
        p.get("id")
        for p in parse(timeline_svg("orders_db", segments, DAY, END)).iter(f"{SVG}pattern")
    }
    assert not timeline_ids & {p.get("id") for p in root.iter(f"{SVG}pattern")}
