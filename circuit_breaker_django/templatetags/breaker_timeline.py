"""Template tags drawing a breaker's stored transitions as a timeline or a sparkline.

    {% load breaker_timeline %}
    {% breaker_timeline original.name window="24h" state=status.state %}
    {% breaker_sparkline name state=status.state %}

``window`` is "1h", "24h", "7d" or "all" (since the breaker was first seen). No picture
draws time before the breaker's first record (:func:`first_seen`). ``state`` is the
breaker's live state: it paints a window in which nothing was recorded. Without it the
tag reads the last stored transition instead (one more query). Pages drawing many
sparklines call :func:`sparklines` once (the same few queries for any number of breakers).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django import template
from django.db.models import Max, Min, Q
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from circuit_breaker_django.models import Breaker, Transition
from circuit_breaker_django.timeline import (
    default_window,
    frame,
    frame_segments,
    get_window,
    sparkline_svg,
    timeline_svg,
)

register = template.Library()

SPARKLINE_WINDOW = "24h"
# A Breaker row's seq starts at the database clock in microseconds when the row is
# created (models.sync_breaker_rows, the django store) and grows by one per change, so
# it dates the row. A seq below this (a row made some other way) dates nothing.
_SEQ_EPOCH_FLOOR = datetime(2000, 1, 1, tzinfo=UTC).timestamp() * 1_000_000


def _row_created(seq: int, updated_at: datetime) -> datetime:
    """When a Breaker row was created, from its seq; else its ``updated_at``, which is
    never earlier (rows of the memory and redis stores are written once, at creation)."""
    if seq >= _SEQ_EPOCH_FLOOR:
        seconds, micros = divmod(seq, 1_000_000)
        created = datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=micros)
        return min(created, updated_at)
    return updated_at


def first_seen(names: Sequence[str]) -> dict[str, datetime | None]:
    """The first record of each breaker: its first stored transition or the creation of
    its row, whichever is earlier; None when neither exists. Two queries for all names."""
    found: dict[str, datetime | None] = dict.fromkeys(names)
    for name, seq, updated_at in Breaker.objects.filter(name__in=names).values_list(
        "name", "seq", "updated_at"
    ):
        found[name] = _row_created(seq, updated_at)
    firsts = (
        Transition.objects.filter(breaker__in=names)
        .order_by()
        .values("breaker")
        .annotate(first=Min("at"))
        .values_list("breaker", "first")
    )
    for name, first in firsts:
        known = found[name]
        found[name] = first if known is None else min(known, first)
    return found


@dataclass(frozen=True, slots=True)
class History:
    """What a detail page needs to pick its timeline's range."""

    first_seen: datetime | None
    last_incident: datetime | None  # when it last left CLOSED, else its last transition


def history(name: str) -> History:
    marks = Transition.objects.filter(breaker=name).aggregate(
        left_closed=Max("at", filter=Q(from_state="closed")), last=Max("at")
    )
    return History(first_seen([name])[name], marks["left_closed"] or marks["last"])


def default_timeline_window(name: str, now: datetime | None = None) -> str:
    """The range a breaker's detail page opens with (see ``timeline.default_window``)."""
    known = history(name)
    return default_window(now or timezone.now(), known.first_seen, known.last_incident)


def _recorded(names: Sequence[str], since: datetime) -> dict[str, list[Transition]]:
    """Transitions of ``names`` since ``since``, oldest first, in one query."""
    rows = (
        Transition.objects.filter(breaker__in=names, at__gte=since)
        .only("breaker", "from_state", "to_state", "at")
        .order_by("at", "pk")
    )
    found: dict[str, list[Transition]] = defaultdict(list)
    for row in rows:
        found[row.breaker].append(row)
    return found


def _last_recorded_state(name: str) -> str | None:
    last = Transition.objects.filter(breaker=name).order_by("-at", "-pk").first()
    return None if last is None else str(last.to_state)


@register.simple_tag
def breaker_timeline(
    name: str, window: str = "24h", state: str | None = None, now: datetime | None = None
) -> SafeString:
    """The detail page's timeline over ``window`` ("1h", "24h", "7d", "all"), ending ``now``."""
    chosen = get_window(window)
    now = now or timezone.now()
    shown = frame(chosen, now, first_seen([name])[name])
    transitions = _recorded([name], shown.since).get(name, [])
    if not transitions and state is None:
        state = _last_recorded_state(name)
    segments = frame_segments(transitions, shown, state)
    return mark_safe(timeline_svg(name, segments, shown))  # every value in it is escaped


@register.simple_tag
def breaker_sparkline(
    name: str, state: str | None = None, now: datetime | None = None
) -> SafeString:
    """A 96 x 16 picture of the last 24 hours, for a list row."""
    return sparklines({name: state}, now)[name]


def sparklines(
    states: Mapping[str, str | None], now: datetime | None = None
) -> dict[str, SafeString]:
    """Sparklines of many breakers (name -> live state): three queries for all of them."""
    window = get_window(SPARKLINE_WINDOW)
    now = now or timezone.now()
    names = list(states)
    frames = {name: frame(window, now, seen) for name, seen in first_seen(names).items()}
    earliest = min((shown.since for shown in frames.values()), default=now)
    recorded = _recorded(names, earliest)
    pictures = {}
    for name, state in states.items():
        transitions = recorded.get(name, [])
        if not transitions and state is None:
            state = _last_recorded_state(name)
        segments = frame_segments(transitions, frames[name], state)
        pictures[name] = mark_safe(sparkline_svg(name, segments, frames[name]))
    return pictures
