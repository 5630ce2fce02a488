"""Template tags drawing a breaker's stored transitions as a timeline or a sparkline.

    {% load breaker_timeline %}
    {% breaker_timeline original.name window="24h" state=status.state %}
    {% breaker_sparkline name state=status.state %}

``state`` is the breaker's live state: it paints a window in which nothing was recorded.
Without it the tag reads the last stored transition instead (one more query). Pages
drawing many sparklines call :func:`sparklines` once (one query for every breaker).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from circuit_breaker_django.models import Transition
from circuit_breaker_django.timeline import (
    get_window,
    sparkline_svg,
    state_segments,
    timeline_svg,
)

register = template.Library()

SPARKLINE_WINDOW = "24h"


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
    """The detail page's timeline over ``window`` ("24h" or "7d"), ending ``now``."""
    chosen = get_window(window)
    now = now or timezone.now()
    transitions = _recorded([name], now - chosen.span).get(name, [])
    if not transitions and state is None:
        state = _last_recorded_state(name)
    segments = state_segments(transitions, now - chosen.span, now, state)
    return mark_safe(timeline_svg(name, segments, chosen, now))  # every value in it is escaped


@register.simple_tag
def breaker_sparkline(
    name: str, state: str | None = None, now: datetime | None = None
) -> SafeString:
    """A 96 x 16 picture of the last 24 hours, for a list row."""
    return sparklines({name: state}, now)[name]


def sparklines(
    states: Mapping[str, str | None], now: datetime | None = None
) -> dict[str, SafeString]:
    """Sparklines of many breakers (name -> live state) with one query for all of them."""
    window = get_window(SPARKLINE_WINDOW)
    now = now or timezone.now()
    since = now - window.span
    recorded = _recorded(list(states), since)
    pictures = {}
    for name, state in states.items():
        transitions = recorded.get(name, [])
        if not transitions and state is None:
            state = _last_recorded_state(name)
        segments = state_segments(transitions, since, now, state)
        pictures[name] = mark_safe(sparkline_svg(name, segments, window, now))
    return pictures
