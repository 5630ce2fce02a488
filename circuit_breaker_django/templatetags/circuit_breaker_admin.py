"""Template helpers for the circuit-breaker admin: state badges and short durations.

The badge is shared by the list columns (admin.py) and the templates so a state looks
the same everywhere; it carries an icon and a word, so it reads without colour.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# state value -> (icon, label, what it means); the icon is decorative (aria-hidden).
STATE_BADGES: dict[str, tuple[str, str, str]] = {
    "closed": ("✔", "Closed", "Calls pass"),
    "open": ("✖", "Open", "Calls are rejected until the retry deadline"),
    "half_open": ("◐", "Half-open", "One probe call may pass"),
    "forced_open": ("■", "Forced open", "Every call rejected until a manual reset"),
    "disabled": ("⊘", "Disabled", "Every call passes, nothing counted, until a reset"),
}


@register.filter
def state_badge(state: object) -> SafeString:
    """A coloured badge with an icon and the state's name; unknown values shown as-is."""
    value = str(state or "")
    icon, label, meaning = STATE_BADGES.get(value, ("?", value or "unknown", "Unknown state"))
    return format_html(
        '<span class="cb-badge cb-state-{}" title="{}">'
        '<span class="cb-icon" aria-hidden="true">{}</span> {}</span>',
        value or "unknown",
        meaning,
        icon,
        label,
    )


@register.filter
def state_label(state: object) -> str:
    """The state's plain name ("Half-open"), for text where a badge does not fit."""
    value = str(state or "")
    return STATE_BADGES.get(value, ("", value, ""))[1]


def compact_duration(seconds: float, *, fractions: bool = False) -> str:
    """``20`` -> ``"20s"``, ``300`` -> ``"5m"``, ``5400`` -> ``"1h30m"``, ``252`` ->
    ``"4m12s"`` (the core's error messages write durations this way). Whole seconds,
    except with ``fractions`` below a minute, for settings such as ``0.5s``."""
    if fractions and seconds < 60 and round(seconds, 3) != round(seconds):
        return f"{round(seconds, 3):g}s"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    mins, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{mins}m" if mins else "", f"{secs}s" if secs else ""]
    return "".join(parts) or "0s"


@register.filter
def minutes_duration(minutes: object) -> str:
    """``4.2`` minutes -> ``"4m12s"``; ``None`` -> ``""``."""
    if minutes is None or isinstance(minutes, bool) or not isinstance(minutes, int | float):
        return ""
    return compact_duration(float(minutes) * 60)


@register.filter
def iso_datetime(value: object) -> datetime | None:
    """An ISO-8601 string from a status dict as a datetime, for Django's ``date`` filter."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
