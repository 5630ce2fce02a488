"""How breakers read to people: durations, state labels, retry phases and the status table.

The CLI, the Django command, the admin and the health endpoint all show breakers
through these functions, so a state or a deadline reads the same everywhere.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.core.state import MANUAL_STATES, CircuitBreakerState
from circuit_breaker.core.status import BreakerStatus, config_dict
from circuit_breaker.core.window import WindowRules

# state -> (label, what it means)
STATE_LABELS: dict[CircuitBreakerState, tuple[str, str]] = {
    CircuitBreakerState.CLOSED: ("Closed", "Calls pass"),
    CircuitBreakerState.OPEN: ("Open", "Calls are rejected until the retry deadline"),
    CircuitBreakerState.HALF_OPEN: ("Half-open", "One probe call may pass"),
    CircuitBreakerState.FORCED_OPEN: ("Forced open", "Every call rejected until a manual reset"),
    CircuitBreakerState.DISABLED: ("Disabled", "Every call passes, nothing counted, until a reset"),
}
MANUAL_PHASE = "manual, until reset"
# tripped_by -> the rule in words
TRIP_RULES = {
    "threshold": "failure streak",
    "failure_rate": "failure rate",
    "slow_call_rate": "slow-call rate",
}
TABLE_COLUMNS = (
    "NAME",
    "PROFILE",
    "STATE",
    "FAILURES",
    "TRIPS",
    "TRIPPED BY",
    "RETRY PHASE",
    "NEXT RETRY",
    "CRITICAL",
    "LAST FAILURE",
)


def format_duration(seconds: float, *, compact: bool = False, fractions: bool = False) -> str:
    """``252`` -> ``4m12s``, ``3723`` -> ``1h2m3s``; ``compact`` drops zero parts
    (``300`` -> ``5m``, ``5400`` -> ``1h30m``), as configuration values are written;
    ``fractions`` keeps a fraction below a minute (``0.5s``) instead of rounding it."""
    if not math.isfinite(seconds):
        return "never" if seconds > 0 else "0s"
    if fractions and 0 < seconds < 60 and round(seconds, 3) != round(seconds):
        return f"{round(seconds, 3):g}s"
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if compact:
        parts = [(hours, "h"), (minutes, "m"), (secs, "s")]
        return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def state_label(state: CircuitBreakerState | str) -> str:
    """``"half_open"`` -> ``"Half-open"``; an unknown value is shown as it is."""
    try:
        return STATE_LABELS[CircuitBreakerState(state)][0]
    except ValueError:
        return str(state)


def state_meaning(state: CircuitBreakerState | str) -> str:
    try:
        return STATE_LABELS[CircuitBreakerState(state)][1]
    except ValueError:
        return "Unknown state"


def retry_phase_label(status: BreakerStatus) -> str:
    """The retry phase, or "manual, until reset" for a breaker set by hand."""
    if status.state in MANUAL_STATES:
        return MANUAL_PHASE
    return status.retry_phase


def next_retry_label(status: BreakerStatus) -> str:
    """When calls may next reach the dependency: "in 4m12s", "due now", "probing now"."""
    state = status.state
    if state is CircuitBreakerState.OPEN and status.retry_in is not None:
        return f"in {format_duration(status.retry_in)}"
    if state is CircuitBreakerState.HALF_OPEN:
        return "probing now" if status.probing else "due now"
    if state in MANUAL_STATES:
        return "after a reset"
    return "-"


def short_phase(status: BreakerStatus) -> str:
    """``fixed-interval (attempt 1/3)`` -> ``fixed 1/3``, for narrow columns."""
    kind, _, attempt = retry_phase_label(status).partition(" (attempt ")
    return " ".join(filter(None, (kind.removesuffix("-interval"), attempt.rstrip(")"))))


def setting_items(config: BreakerConfig) -> list[tuple[str, str]]:
    """The resolved settings for reading, under their status names: durations as they are
    written in YAML (``20s``, ``5m``, ``1h30m``), everything else as JSON."""
    items = []
    for key, value in sorted(config_dict(config).items()):
        unit = 60 if key.endswith("_minutes") else 1 if key.endswith("_seconds") else None
        if unit is not None and isinstance(value, int | float) and not isinstance(value, bool):
            items.append((key, format_duration(value * unit, compact=True, fractions=True)))
        else:
            items.append((key, value if isinstance(value, str) else json.dumps(value)))
    return items


def percent(fraction: float) -> str:
    """A measured rate: ``0.125`` -> ``12.5%``, ``1/3`` -> ``33.3%``. Rounded *down* to a
    tenth, so that a rate shown below a threshold is below it."""
    tenths = math.floor(round(fraction * 1000, 6))
    whole, tenth = divmod(tenths, 10)
    return f"{whole}.{tenth}%" if tenth else f"{whole}%"


def threshold_percent(fraction: float) -> str:
    """A configured rate as it was written: ``0.5`` -> ``50%``, ``0.025`` -> ``2.5%``."""
    return f"{fraction * 100:.4g}%"


def window_size_label(rules: WindowRules) -> str:
    """``60s`` (a time window) or ``100 calls`` (a count window)."""
    if rules.calls is not None:
        return f"{rules.calls} calls"
    return format_duration(rules.seconds or 0.0, compact=True, fractions=True)


def streak_label(status: BreakerStatus) -> str | None:
    """Failures in a row against the threshold that opens the breaker (``2/3``), or None
    when the breaker has no streak rule."""
    threshold = status.config.failure_threshold
    return None if threshold is None else f"{status.failure_count}/{threshold}"


def rate_label(status: BreakerStatus) -> str | None:
    """The window's rates against their thresholds: ``12% of 40 (>=50%)``,
    ``slow 5% of 40 (>=80%)``, or both joined by a comma; ``min 20`` while the window holds
    fewer calls than a verdict needs. None without a window. ASCII ``>=``: the table may
    go to a console that cannot print every character."""
    totals, rules = status.window, status.config.window
    if totals is None or rules is None:
        return None
    shown: list[tuple[str, float, float | None]] = []
    if rules.failure_rate is not None:
        shown.append(("", totals.failure_rate, rules.failure_rate))
    if rules.slow_call_rate is not None or rules.failure_rate is None:
        shown.append(("slow ", totals.slow_call_rate, rules.slow_call_rate))
    parts = []
    for index, (prefix, rate, threshold) in enumerate(shown):
        text = f"{prefix}{percent(rate)}"
        notes = [] if threshold is None else [f">={threshold_percent(threshold)}"]
        if index == 0:
            text += f" of {round(totals.calls)}"
            if rules.judging and totals.calls < rules.minimum_calls:
                notes.append(f"min {rules.minimum_calls}")
        parts.append(text + (f" ({', '.join(notes)})" if notes else ""))
    return ", ".join(parts)


def would_reject_label(status: BreakerStatus) -> str | None:
    """For an observing breaker: "would have rejected 1,204 calls"; None when enforcing."""
    if status.mode != "observe":
        return None
    count = status.would_have_rejected
    return f"would have rejected {count:,} call{'' if count == 1 else 's'}"


def failures_label(status: BreakerStatus) -> str:
    """What the breaker's rules count so far: the streak (``2/3``), the rates over the
    window (``12% of 40 (>=50%)``), or both."""
    return ", ".join(
        label for label in (streak_label(status), rate_label(status)) if label is not None
    )


def tripped_by_label(status: BreakerStatus) -> str:
    """The rule of the last trip in words (``failure rate``), or ``-`` before any."""
    rule = status.tripped_by
    return "-" if rule is None else TRIP_RULES.get(rule, rule)


def status_row(status: BreakerStatus) -> tuple[str, ...]:
    failure = status.last_failure
    return (
        status.name,
        status.profile or "-",
        status.state.value,
        failures_label(status),
        str(status.consecutive_breaks),
        status.tripped_by or "-",
        retry_phase_label(status),
        next_retry_label(status),
        "yes" if status.critical else "no",
        "-" if failure is None else failure.type,
    )


def status_table(statuses: Iterable[BreakerStatus]) -> str:
    """An aligned text table, one row per breaker (both status commands print it)."""
    rows = [TABLE_COLUMNS, *(status_row(status) for status in statuses)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(TABLE_COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def unreachable_notice(statuses: Iterable[BreakerStatus]) -> str | None:
    """The line status commands print when the store could not be read, else None."""
    errors = sorted({s.store.error or "no answer" for s in statuses if not s.store.reachable})
    if not errors:
        return None
    return (
        f"store unreachable ({'; '.join(errors)}): the states shown are this process's "
        "local view, not the fleet's"
    )
