"""Template helpers for the circuit-breaker admin: state badges and durations.

The badge is shared by the list columns (admin.py) and the templates so a state looks
the same everywhere; it carries an icon and a word, so it reads without colour. Words
and durations come from :mod:`circuit_breaker.format`, like every other surface's.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from circuit_breaker.format import format_duration, state_label, state_meaning

register = template.Library()

# The icon of each state; decorative (aria-hidden): the label says it in words.
STATE_ICONS = {
    "closed": "✔",
    "open": "✖",
    "half_open": "◐",
    "forced_open": "■",
    "disabled": "⊘",
}


@register.filter
def state_badge(state: object) -> SafeString:
    """A coloured badge with an icon and the state's name; unknown values shown as-is."""
    value = str(state or "")
    return format_html(
        '<span class="cb-badge cb-state-{}" title="{}">'
        '<span class="cb-icon" aria-hidden="true">{}</span> {}</span>',
        value or "unknown",
        state_meaning(value),
        STATE_ICONS.get(value, "?"),
        state_label(value) or "unknown",
    )


@register.filter(name="state_label")
def state_label_filter(state: object) -> str:
    """The state's plain name ("Half-open"), for text where a badge does not fit."""
    return state_label(str(state or ""))


@register.filter
def duration(seconds: object) -> str:
    """``252`` -> ``"4m12s"``, ``300`` -> ``"5m"``; ``None`` -> ``""``."""
    if seconds is None or isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return ""
    return format_duration(float(seconds), compact=True)
