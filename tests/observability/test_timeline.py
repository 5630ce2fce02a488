"""The state timeline: segments from a known history, and the SVG drawn from them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from circuit_breaker_django.timeline import (
    SPARKLINE_HEIGHT,
    SPARKLINE_WIDTH,
    TIMELINE_PAD,
    TIMELINE_WIDTH,
    Segment,
    axis_ticks,
    default_window,
    format_duration,
    frame,
    frame_segments,
    get_window,
    sparkline_svg,
    state_segments,
    timeline_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
END = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
HOUR = get_window("1h")
DAY = get_window("24h")
WEEK = get_window("7d")
ALL = get_window("all")
DAY_FRAME = frame(DAY, END)
WEEK_FRAME = frame(WEEK, END)


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
    assert state_segments(HISTORY, END - timedelta(hours=24), END) == [
        Segment(ago(hours=24), ago(hours=20), "closed"),
        Segment(ago(hours=20), ago(hours=18), "open"),
        Segment(ago(hours=18), ago(hours=17, minutes=59), "half_open"),
        Segment(ago(hours=17, minutes=59), ago(hours=3), "closed"),
        Segment(ago(hours=3), ago(hours=1), "forced_open"),
        Segment(ago(hours=1), END, "closed"),
    ]


def test_the_week_window_includes_older_transitions() -> None:
    segments = state_segments(HISTORY, END - timedelta(days=7), END)
    assert segments[:3] == [
        Segment(ago(days=7), ago(days=2), "closed"),
        Segment(ago(days=2), ago(days=2) + timedelta(minutes=5), "open"),
        Segment(ago(days=2) + timedelta(minutes=5), ago(hours=20), "closed"),
    ]
    assert segments[0].start == END - timedelta(days=7) and segments[-1].end == END


def test_state_before_the_first_transition_is_its_from_state() -> None:
    history = [T(ago(hours=2), "forced_open", "closed")]
    assert state_segments(history, END - timedelta(hours=24), END) == [
        Segment(ago(hours=24), ago(hours=2), "forced_open"),
        Segment(ago(hours=2), END, "closed"),
    ]


def test_a_quiet_window_is_the_current_state_or_closed() -> None:
    assert state_segments([], END - timedelta(hours=24), END) == [
        Segment(ago(hours=24), END, "closed")
    ]
    assert state_segments([], END - timedelta(hours=24), END, "forced_open") == [
        Segment(ago(hours=24), END, "forced_open")
    ]


def test_transitions_are_sorted_and_later_ones_ignored() -> None:
    history = [
        T(END + timedelta(minutes=1), "closed", "open"),
        T(ago(hours=1), "open", "closed"),
        T(ago(hours=2), "closed", "open"),
    ]
    assert state_segments(history, END - timedelta(hours=24), END) == [
        Segment(ago(hours=24), ago(hours=2), "closed"),
        Segment(ago(hours=2), ago(hours=1), "open"),
        Segment(ago(hours=1), END, "closed"),
    ]


def test_an_empty_window_is_an_error() -> None:
    with pytest.raises(ValueError, match="must end after it starts"):
        state_segments([], END, END)


def test_an_unknown_window_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"'2h'.*1h, 24h, 7d, all"):
        get_window("2h")


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
    segments = state_segments(HISTORY, END - timedelta(hours=24), END)
    root = parse(timeline_svg("orders_db", segments, DAY_FRAME))
    assert root.tag == f"{SVG}svg"
    assert drawn_segments(root) == [
        (s.state, s.start.isoformat(), s.end.isoformat()) for s in segments
    ]


def band(root: ET.Element, state: str) -> ET.Element:
    (group,) = [g for g in root.iter(f"{SVG}g") if g.get("data-state") == state]
    return group


def test_bands_are_placed_in_proportion_to_time() -> None:
    segments = state_segments(HISTORY, END - timedelta(hours=24), END)
    root = parse(timeline_svg("orders_db", segments, DAY_FRAME))
    rect = band(root, "open").find(f"{SVG}rect")
    assert rect is not None
    plot = TIMELINE_WIDTH - 2 * TIMELINE_PAD
    assert float(rect.get("x", "")) == pytest.approx(TIMELINE_PAD + plot * 4 / 24, abs=0.01)
    assert float(rect.get("width", "")) == pytest.approx(plot * 2 / 24, abs=0.01)


def test_states_differ_by_pattern_and_words_not_only_colour() -> None:
    segments = state_segments(HISTORY, END - timedelta(hours=24), END)
    root = parse(timeline_svg("orders_db", segments, DAY_FRAME))
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
    segments = state_segments(HISTORY, END - timedelta(hours=24), END)
    root = parse(timeline_svg("orders_db", segments, DAY_FRAME))
    assert root.get("role") == "img"
    assert root.get("aria-label") == (
        "Circuit breaker orders_db, last 24 hours: closed 19 h 59 min (83%) in 3 periods, "
        "open 2 h (8%), half-open 1 min (<1%), forced open 2 h (8%); now closed."
    )
    assert root.findtext(f"{SVG}title") == root.get("aria-label")


def test_the_axis_counts_back_to_now() -> None:
    root = parse(timeline_svg("x", state_segments([], END - timedelta(days=7), END), WEEK_FRAME))
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
    segments = state_segments(history, END - timedelta(hours=24), END)
    root = parse(timeline_svg("x", segments, DAY_FRAME))
    rect = band(root, "open").find(f"{SVG}rect")
    assert rect is not None
    x, width = float(rect.get("x", "")), float(rect.get("width", ""))
    assert width == 3
    assert x + width == pytest.approx(TIMELINE_WIDTH - TIMELINE_PAD)


def test_names_are_escaped_and_ids_distinct_per_breaker() -> None:
    segments = state_segments(HISTORY, END - timedelta(hours=24), END)
    hostile = timeline_svg('<script>alert("x")</script>', segments, DAY_FRAME)
    root = parse(hostile)
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))
    assert '<script>alert("x")</script>' in root.get("aria-label", "")
    ids_a = {
        p.get("id") for p in parse(timeline_svg("a", segments, DAY_FRAME)).iter(f"{SVG}pattern")
    }
    ids_b = {
        p.get("id") for p in parse(timeline_svg("b", segments, DAY_FRAME)).iter(f"{SVG}pattern")
    }
    assert ids_a and not ids_a & ids_b


def test_sparkline_is_small_wordless_and_still_described() -> None:
    segments = state_segments(HISTORY, END - timedelta(hours=24), END)
    root = parse(sparkline_svg("orders_db", segments, DAY_FRAME))
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
        for p in parse(timeline_svg("orders_db", segments, DAY_FRAME)).iter(f"{SVG}pattern")
    }
    assert not timeline_ids & {p.get("id") for p in root.iter(f"{SVG}pattern")}


# -- ranges and the breaker's first record ---------------------------------------------------


def test_a_fixed_window_keeps_its_span_but_draws_nothing_before_the_first_record() -> None:
    shown = frame(DAY, END, first_seen=ago(hours=3))

    assert (shown.start, shown.since, shown.end) == (ago(hours=24), ago(hours=3), END)
    assert frame_segments([], shown, "closed") == [Segment(ago(hours=3), END, "closed")]
    assert shown.label == "last 24 hours (first seen 2025-03-10 09:00 UTC)"


def test_a_first_record_older_than_the_window_changes_nothing() -> None:
    shown = frame(DAY, END, first_seen=ago(days=30))

    assert shown.since == shown.start == ago(hours=24)
    assert shown.label == "last 24 hours"


def test_since_first_seen_spans_the_breakers_recorded_life() -> None:
    shown = frame(ALL, END, first_seen=ago(days=3, hours=4))

    assert (shown.start, shown.since) == (ago(days=3, hours=4), ago(days=3, hours=4))
    assert shown.label == "since first seen (2025-03-07 08:00 UTC)"


def test_since_first_seen_is_a_minute_at_least_and_a_day_when_unknown() -> None:
    assert frame(ALL, END, first_seen=ago(seconds=5)).start == ago(minutes=1)
    unknown = frame(ALL, END)
    assert (unknown.start, unknown.since) == (ago(hours=24), ago(hours=24))
    assert unknown.label == "last 24 hours"


def test_a_first_record_after_now_draws_nothing() -> None:
    shown = frame(HOUR, END, first_seen=END + timedelta(seconds=2))  # another machine's clock

    assert shown.since == END
    assert frame_segments([], shown, "closed") == []
    svg = parse(timeline_svg("x", [], shown))
    assert svg.get("aria-label") == (
        "Circuit breaker x, last hour (first seen 2025-03-10 12:00 UTC): nothing recorded yet."
    )


def test_the_state_before_the_first_record_is_the_first_transitions_from_state() -> None:
    history = [T(ago(minutes=40), "open", "closed")]
    shown = frame(HOUR, END, first_seen=ago(minutes=50))

    assert frame_segments(history, shown) == [
        Segment(ago(minutes=50), ago(minutes=40), "open"),
        Segment(ago(minutes=40), END, "closed"),
    ]


def test_the_time_before_the_first_record_is_left_empty_and_says_so() -> None:
    shown = frame(DAY, END, first_seen=ago(hours=6))
    root = parse(timeline_svg("x", frame_segments([], shown, "closed"), shown))

    empty = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "cb-unrecorded")
    assert empty.findtext(f"{SVG}text") == "not yet seen"
    assert empty.findtext(f"{SVG}title") == "No record before 2025-03-10 06:00 UTC"
    rect = band(root, "closed").find(f"{SVG}rect")
    assert rect is not None
    plot = TIMELINE_WIDTH - 2 * TIMELINE_PAD
    assert float(rect.get("x", "")) == pytest.approx(TIMELINE_PAD + plot * 18 / 24)


@pytest.mark.parametrize(
    ("first_seen", "last_incident", "expected"),
    [
        # a fresh outage opens the smallest window holding it whole: wide, not a sliver
        (ago(days=30), ago(minutes=10), "1h"),
        (ago(days=30), ago(hours=5), "24h"),
        (ago(days=30), ago(days=3), "7d"),
        # a breaker younger than that window: its whole life, with no empty time before it
        (ago(minutes=20), ago(minutes=10), "all"),
        (ago(hours=5), ago(hours=2), "all"),
        (ago(days=2), None, "all"),
        # nothing in a week: the whole recorded life
        (ago(days=30), ago(days=20), "all"),
        (None, None, "24h"),
        (None, ago(hours=2), "24h"),
    ],
)
def test_the_default_range_is_the_smallest_holding_the_latest_incident(
    first_seen: datetime | None, last_incident: datetime | None, expected: str
) -> None:
    assert default_window(END, first_seen, last_incident) == expected


@pytest.mark.parametrize(
    ("window", "first_seen", "labels"),
    [
        (HOUR, None, ["\u221260 min", "\u221245 min", "\u221230 min", "\u221215 min", "now"]),
        (DAY, None, ["\u221224 h", "\u221218 h", "\u221212 h", "\u22126 h", "now"]),
        (ALL, ago(minutes=37), ["\u221230 min", "\u221220 min", "\u221210 min", "now"]),
        (ALL, ago(seconds=50), [f"\u2212{n} s" for n in range(60, 0, -10)] + ["now"]),
        (ALL, ago(days=3, hours=12), ["\u22123 d", "\u22122 d", "\u22121 d", "now"]),
    ],
)
def test_axis_ticks_count_back_from_now_in_round_steps(
    window: Any, first_seen: datetime | None, labels: list[str]
) -> None:
    assert [label for _ago, label in axis_ticks(frame(window, END, first_seen))] == labels


def test_words_and_lines_outside_the_bands_follow_the_page_text_colour() -> None:
    shown = frame(DAY, END, first_seen=ago(hours=6))
    svg = timeline_svg("x", state_segments(HISTORY, shown.since, END), shown)
    root = parse(svg)

    for group in ("cb-axis", "cb-legend", "cb-unrecorded"):
        found = next(g for g in root.iter(f"{SVG}g") if g.get("class") == group)
        assert found.get("fill") == "currentColor", group
    for grey in ("#444444", "#222222", "#666666"):
        assert grey not in svg
