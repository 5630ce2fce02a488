"""A breaker's state over time, drawn as server-side SVG (no JavaScript).

Pure functions: a window ("1h", "24h", "7d" or "all": since first seen) and the breaker's
first record -> a :class:`Frame`; stored transitions -> :class:`Segment` list covering the
frame from the first record on (no time is drawn before the breaker existed) -> an SVG
string. Every state has a colour AND a fill pattern (OPEN hatched, FORCED OPEN
cross-hatched, HALF-OPEN dotted, DISABLED striped, CLOSED plain), wide bands carry a text
label, every band has a ``<title>`` tooltip, the full timeline has a legend, and the
``<svg>`` has ``role="img"`` with an ``aria-label`` summarising the window, so the picture
reads without colour and without sight. Words and lines outside the bands are drawn in
``currentColor``: inside a page they take its text colour, so they follow a dark theme.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from xml.sax.saxutils import escape, quoteattr

STATE_ORDER = ("closed", "open", "half_open", "forced_open", "disabled")


@dataclass(frozen=True, slots=True)
class StateStyle:
    label: str
    colour: str
    text_colour: str
    pattern: str  # SVG drawn over the colour in one pattern tile; "" for a plain fill


STYLES: dict[str, StateStyle] = {
    "closed": StateStyle("Closed", "#2e7d32", "#ffffff", ""),  # white on it: 5.1:1
    "open": StateStyle("Open", "#c62828", "#ffffff", "hatch"),
    "half_open": StateStyle("Half-open", "#f2b01e", "#000000", "dots"),
    "forced_open": StateStyle("Forced open", "#6d1013", "#ffffff", "crosshatch"),
    "disabled": StateStyle("Disabled", "#bdbdbd", "#000000", "stripes"),
}
_UNKNOWN = StateStyle("Unknown", "#ffffff", "#000000", "")


class TransitionLike(Protocol):
    """What a stored transition offers (the Transition model, or any such object)."""

    @property
    def at(self) -> datetime: ...

    @property
    def from_state(self) -> str: ...

    @property
    def to_state(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Window:
    """A choice of time range: a fixed span back from now, or (``span`` None) the
    breaker's whole recorded life."""

    key: str
    span: timedelta | None
    label: str  # in sentences: "last 24 hours"
    choice: str  # on the range links: "24 hours"
    tick: timedelta | None = None  # distance between axis ticks; None: chosen from the span


WINDOWS: dict[str, Window] = {
    "1h": Window("1h", timedelta(hours=1), "last hour", "1 hour", timedelta(minutes=15)),
    "24h": Window("24h", timedelta(hours=24), "last 24 hours", "24 hours", timedelta(hours=6)),
    "7d": Window("7d", timedelta(days=7), "last 7 days", "7 days", timedelta(days=1)),
    "all": Window("all", None, "since first seen", "since first seen"),
}
FIXED_WINDOWS = ("1h", "24h", "7d")  # smallest first


def get_window(key: str) -> Window:
    """The window named ``key``; a clear error naming the valid ones otherwise."""
    try:
        return WINDOWS[key]
    except KeyError:
        raise ValueError(
            f"unknown timeline window {key!r}; expected one of {', '.join(WINDOWS)}"
        ) from None


@dataclass(frozen=True, slots=True)
class Frame:
    """What one picture covers: the axis runs from ``start`` to ``end`` (now); states are
    drawn from ``since``, the breaker's first record when it is later than ``start``."""

    window: Window
    start: datetime
    end: datetime
    since: datetime

    @property
    def span(self) -> timedelta:
        return self.end - self.start

    @property
    def label(self) -> str:
        """``last 24 hours``, ``last 24 hours (first seen 2025-03-10 11:00 UTC)``."""
        if self.window.span is None:
            return f"since first seen ({_when(self.since)})"
        if self.since > self.start:
            return f"{self.window.label} (first seen {_when(self.since)})"
        return self.window.label


SHORTEST_FRAME = timedelta(minutes=1)


def frame(window: Window, end: datetime, first_seen: datetime | None = None) -> Frame:
    """The frame of ``window`` ending ``end``, drawing nothing before ``first_seen``.

    "all" spans from ``first_seen`` (at least a minute), or is the last 24 hours when that
    is unknown. An unknown ``first_seen`` draws the whole span; one after ``end`` (two
    machines' clocks) draws nothing.
    """
    if window.span is None and first_seen is None:
        window = WINDOWS["24h"]
    if window.span is not None:
        start = end - window.span
    else:
        assert first_seen is not None
        start = min(first_seen, end - SHORTEST_FRAME)
    since = start if first_seen is None else min(max(start, first_seen), end)
    return Frame(window, start, end, since)


def default_window(
    end: datetime, first_seen: datetime | None, last_incident: datetime | None
) -> str:
    """The range a detail page opens with: the smallest fixed window holding the latest
    incident whole (``last_incident``: when the breaker last left CLOSED, else its last
    transition), so a fresh outage is wide, not a sliver. "all" when the breaker's whole
    recorded life fits in that window (no empty time before it), or nothing is that recent.
    """
    anchor = last_incident or first_seen
    if anchor is None:
        return "24h"
    for key in FIXED_WINDOWS:
        span = WINDOWS[key].span
        assert span is not None
        if anchor >= end - span:
            return "all" if first_seen is not None and first_seen >= end - span else key
    return "all" if first_seen is not None else FIXED_WINDOWS[-1]


@dataclass(frozen=True, slots=True)
class Segment:
    start: datetime
    end: datetime
    state: str

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


def state_segments(
    transitions: Iterable[TransitionLike],
    start: datetime,
    end: datetime,
    current_state: str | None = None,
) -> list[Segment]:
    """Segments covering ``[start, end]`` exactly, in time order, adjacent states merged.

    The state before the first transition in the window is that transition's
    ``from_state``; with no transition in the window the whole window is
    ``current_state`` (the live state, which has not changed since), else "closed".
    """
    if end <= start:
        raise ValueError(f"timeline window must end after it starts ({start} .. {end})")
    inside = sorted((t for t in transitions if start <= t.at <= end), key=lambda t: t.at)
    state = inside[0].from_state if inside else (current_state or "closed")
    segments: list[Segment] = []
    cursor = start
    for transition in inside:
        _append(segments, Segment(cursor, transition.at, state))
        cursor, state = transition.at, transition.to_state
    _append(segments, Segment(cursor, end, state))
    return segments


def frame_segments(
    transitions: Iterable[TransitionLike], frame: Frame, current_state: str | None = None
) -> list[Segment]:
    """:func:`state_segments` from the frame's first drawn moment to its end; none when
    the breaker was first seen only now."""
    if frame.since >= frame.end:
        return []
    return state_segments(transitions, frame.since, frame.end, current_state)


def _append(segments: list[Segment], segment: Segment) -> None:
    if segment.end <= segment.start:
        return
    if segments and segments[-1].state == segment.state:
        segments[-1] = Segment(segments[-1].start, segment.end, segment.state)
    else:
        segments.append(segment)


# -- words ---------------------------------------------------------------------------------


def style(state: str) -> StateStyle:
    return STYLES.get(state, _UNKNOWN)


def format_duration(span: timedelta) -> str:
    """``timedelta(hours=2, minutes=5)`` -> ``"2 h 5 min"``; two largest units at most."""
    seconds = round(span.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    units = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
    parts: list[str] = []
    for unit, size in units:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}")
        if len(parts) == 2 or (parts and not count):
            break
    return " ".join(parts)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def segment_title(segment: Segment) -> str:
    """Tooltip text: ``Open: 2025-01-02 10:00 UTC to 10:25 UTC (25 min)``."""
    return (
        f"{style(segment.state).label}: {_when(segment.start)} to {_when(segment.end)} "
        f"({format_duration(segment.duration)})"
    )


def summary(name: str, window_label: str, segments: Sequence[Segment]) -> str:
    """One sentence for screen readers: time per state, outages, state now."""
    total = sum((s.duration for s in segments), timedelta())
    parts = []
    for state in STATE_ORDER:
        spans = [s for s in segments if s.state == state]
        if not spans:
            continue
        spent = sum((s.duration for s in spans), timedelta())
        share = round(100 * spent / total) if total else 0
        percent = "<1%" if share == 0 else f"{share}%"
        periods = f" in {len(spans)} periods" if len(spans) > 1 else ""
        parts.append(f"{style(state).label.lower()} {format_duration(spent)} ({percent}){periods}")
    if not segments:
        return f"Circuit breaker {name}, {window_label}: nothing recorded yet."
    now = style(segments[-1].state).label.lower()
    return f"Circuit breaker {name}, {window_label}: {', '.join(parts)}; now {now}."


# -- SVG -----------------------------------------------------------------------------------


def _svg_id(*parts: str) -> str:
    """An id unique per breaker and picture, valid in HTML whatever the breaker's name."""
    text = "-".join(parts)
    readable = re.sub(r"[^A-Za-z0-9_-]", "_", text)[:40]
    digest = hashlib.blake2s(text.encode(), digest_size=4).hexdigest()
    return f"cbt-{readable}-{digest}"


def _pattern(prefix: str, state: str, size: int) -> str:
    look = style(state)
    ink = "#ffffff" if look.text_colour == "#ffffff" else "#000000"
    half = size / 2
    body = {
        "hatch": f'<path d="M0,{size} L{size},0" stroke="{ink}" stroke-width="{size / 4:g}"/>',
        "crosshatch": (
            f'<path d="M0,{size} L{size},0 M0,0 L{size},{size}" stroke="{ink}" '
            f'stroke-width="{size / 6:g}"/>'
        ),
        "dots": f'<circle cx="{half:g}" cy="{half:g}" r="{size / 6:g}" fill="{ink}"/>',
        "stripes": (
            f'<path d="M0,{half:g} L{size},{half:g}" stroke="{ink}" stroke-width="{size / 6:g}"/>'
        ),
    }[look.pattern]
    return (
        f'<pattern id="{prefix}-{state}" width="{size}" height="{size}" '
        f'patternUnits="userSpaceOnUse">'
        f'<rect width="{size}" height="{size}" fill="{look.colour}"/>{body}</pattern>'
    )


def _defs(prefix: str, size: int) -> str:
    patterns = "".join(_pattern(prefix, s, size) for s in STATE_ORDER if style(s).pattern)
    return f"<defs>{patterns}</defs>"


def _fill(prefix: str, state: str) -> str:
    look = style(state)
    return f"url(#{prefix}-{state})" if look.pattern else look.colour


def _bands(
    segments: Sequence[Segment],
    start: datetime,
    end: datetime,
    *,
    prefix: str,
    x0: float,
    width: float,
    y: float,
    height: float,
    min_width: float,
    labels: bool,
) -> str:
    """One ``<g>`` per segment; closed ones first so a short outage drawn at its minimum
    width stays on top of its neighbours."""
    span = (end - start).total_seconds()
    drawn = sorted(segments, key=lambda s: s.state != "closed")
    out = []
    for segment in drawn:
        left = x0 + width * (segment.start - start).total_seconds() / span
        right = x0 + width * (segment.end - start).total_seconds() / span
        band = max(right - left, min_width)
        left = min(left, x0 + width - band)  # a widened band at "now" stays inside
        look = style(segment.state)
        text = ""
        plate = 8 * len(look.label) + 8
        if labels and band >= plate + 4:
            # The label sits on a plate of the plain state colour: the pattern never runs
            # through its letters, and its contrast is that of the two colours.
            middle, centre = left + band / 2, y + height / 2
            text = (
                f'<rect class="cb-label-plate" x="{middle - plate / 2:.2f}" '
                f'y="{centre - 9:.2f}" width="{plate}" height="18" rx="3" fill="{look.colour}"/>'
                f'<text x="{middle:.2f}" y="{centre:.2f}" '
                f'text-anchor="middle" dominant-baseline="central" font-size="12" '
                f'font-weight="600" fill="{look.text_colour}">{escape(look.label)}</text>'
            )
        out.append(
            f'<g class="cb-segment" data-state={quoteattr(segment.state)} '
            f"data-start={quoteattr(segment.start.astimezone(UTC).isoformat())} "
            f"data-end={quoteattr(segment.end.astimezone(UTC).isoformat())}>"
            f"<title>{escape(segment_title(segment))}</title>"
            f'<rect x="{left:.2f}" y="{y:g}" width="{band:.2f}" height="{height:g}" '
            f'fill="{_fill(prefix, segment.state)}"/>{text}</g>'
        )
    return "".join(out)


NICE_TICKS = tuple(
    timedelta(seconds=seconds)
    for seconds in (
        *(10, 15, 30),
        *(60 * m for m in (1, 2, 5, 10, 15, 30)),
        *(3600 * h for h in (1, 2, 3, 6, 12)),
        *(86400 * d for d in (1, 2, 7, 14, 30, 91, 182, 365)),
    )
)
MAX_TICK_GAPS = 6


def axis_ticks(frame: Frame) -> list[tuple[timedelta, str]]:
    """``(time before now, label)`` of each axis tick, oldest first, ending at "now".

    Fixed windows use their own step (24 h: every 6 h); "since first seen" takes the
    smallest round step giving at most six gaps. Labels count back in the step's unit.
    """
    step = frame.window.tick or next(
        (tick for tick in NICE_TICKS if frame.span / tick <= MAX_TICK_GAPS), NICE_TICKS[-1]
    )
    if step < timedelta(minutes=1):
        unit, word = timedelta(seconds=1), "s"
    elif step < timedelta(hours=1):
        unit, word = timedelta(minutes=1), "min"
    elif step < timedelta(days=1):
        unit, word = timedelta(hours=1), "h"
    else:
        unit, word = timedelta(days=1), "d"
    count = frame.span // step
    return [
        (step * k, "now" if k == 0 else f"\u2212{step * k // unit} {word}")
        for k in range(count, -1, -1)
    ]


def _axis(frame: Frame, x0: float, width: float, y: float) -> str:
    span = frame.span.total_seconds()
    out = ['<g class="cb-axis" font-size="11" fill="currentColor" text-anchor="middle">']
    for ago, label in axis_ticks(frame):
        x = x0 + width * (1 - ago.total_seconds() / span)
        out.append(
            f'<path d="M{x:.2f},{y:g} v5" stroke="currentColor"/>'
            f'<text x="{x:.2f}" y="{y + 17:g}">{label}</text>'
        )
    out.append("</g>")
    return "".join(out)


def _unrecorded(frame: Frame, x0: float, width: float, y: float, height: float) -> str:
    """The part of a fixed window before the breaker's first record: left empty, said so."""
    if frame.since <= frame.start:
        return ""
    right = x0 + width * ((frame.since - frame.start) / frame.span)
    text = ""
    if right - x0 >= 80:
        text = (
            f'<text x="{(x0 + right) / 2:.2f}" y="{y + height / 2:.2f}" text-anchor="middle" '
            f'dominant-baseline="central" font-size="11">not yet seen</text>'
        )
    return (
        f'<g class="cb-unrecorded" fill="currentColor">'
        f"<title>No record before {escape(_when(frame.since))}</title>"
        f'<rect x="{x0:g}" y="{y:g}" width="{right - x0:.2f}" height="{height:g}" '
        f'fill="none"/>{text}</g>'
    )


def _legend(prefix: str, x0: float, y: float) -> str:
    out = ['<g class="cb-legend" font-size="12" fill="currentColor">']
    x = x0
    for state in STATE_ORDER:
        look = style(state)
        out.append(
            f'<rect x="{x:g}" y="{y:g}" width="14" height="14" fill="{_fill(prefix, state)}" '
            f'stroke="currentColor" stroke-width="0.5"/>'
            f'<text x="{x + 19:g}" y="{y + 11:g}">{escape(look.label)}</text>'
        )
        x += 28 + 7 * len(look.label)
    out.append("</g>")
    return "".join(out)


TIMELINE_WIDTH, TIMELINE_HEIGHT = 720, 96
TIMELINE_PAD = 24  # each side: room for half an axis label ("\u221260 min") at either end
SPARKLINE_WIDTH, SPARKLINE_HEIGHT = 96, 16  # 4 px an hour


def timeline_svg(name: str, segments: Sequence[Segment], frame: Frame) -> str:
    """The detail page's picture: labelled bands, a relative time axis and a legend."""
    prefix = _svg_id(name, frame.window.key)
    pad = TIMELINE_PAD
    width = TIMELINE_WIDTH - 2 * pad
    label = summary(name, frame.label, segments)
    bands = _bands(
        segments,
        frame.start,
        frame.end,
        prefix=prefix,
        x0=pad,
        width=width,
        y=6,
        height=36,
        min_width=3,
        labels=True,
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cb-timeline" role="img" '
        f"aria-label={quoteattr(label)} "
        f'viewBox="0 0 {TIMELINE_WIDTH} {TIMELINE_HEIGHT}" width="100%" '
        f'style="max-width:{TIMELINE_WIDTH}px" font-family="sans-serif">'
        f"<title>{escape(label)}</title>{_defs(prefix, 8)}"
        f"{_unrecorded(frame, pad, width, 6, 36)}{bands}"
        f'<rect x="{pad}" y="6" width="{width}" height="36" fill="none" stroke="currentColor" '
        f'stroke-width="0.5"/>'
        f"{_axis(frame, pad, width, 42)}{_legend(prefix, pad, 76)}</svg>"
    )


def sparkline_svg(name: str, segments: Sequence[Segment], frame: Frame) -> str:
    """The list page's picture: the same bands, 96 x 16, with tooltips and a summary."""
    prefix = _svg_id(name, frame.window.key, "spark")
    label = summary(name, frame.label, segments)
    bands = _bands(
        segments,
        frame.start,
        frame.end,
        prefix=prefix,
        x0=0,
        width=SPARKLINE_WIDTH,
        y=0,
        height=SPARKLINE_HEIGHT,
        min_width=1,
        labels=False,
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cb-sparkline" role="img" '
        f"aria-label={quoteattr(label)} "
        f'viewBox="0 0 {SPARKLINE_WIDTH} {SPARKLINE_HEIGHT}" '
        f'width="{SPARKLINE_WIDTH}" height="{SPARKLINE_HEIGHT}">'
        f"<title>{escape(label)}</title>{_defs(prefix, 4)}"
        f"{bands}"
        f'<rect x="0.5" y="0.5" width="{SPARKLINE_WIDTH - 1}" height="{SPARKLINE_HEIGHT - 1}" '
        f'fill="none" stroke="currentColor" stroke-opacity="0.5"/></svg>'  # shows the empty time
    )
