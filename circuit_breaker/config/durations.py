"""Durations written the way people say them: ``30s``, ``5m``, ``1h30m``, ``1.5h``, ``250ms``."""

from __future__ import annotations

import math
import re

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
# ASCII digits only: "\d" would also take Arabic-Indic, fullwidth and other digits.
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
# Units in decreasing order, each at most once: "1h30m" yes, "30m1h" no.
_DURATION = re.compile(
    "".join(rf"(?:(?P<{unit}>{_NUMBER}){unit})?" for unit in ("d", "h", "m", "s", "ms"))
)

DURATION_FORMS = "a duration like 30s, 5m, 1h30m or 1.5h (units d, h, m, s, ms)"


def parse_duration(text: str) -> float:
    """Seconds in ``text``; raises ValueError (saying what is expected) otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groups()):
        raise ValueError(f"expected {DURATION_FORMS}")
    amounts = match.groupdict().items()
    seconds = sum(float(amount) * _UNITS[unit] for unit, amount in amounts if amount)
    if not math.isfinite(seconds):
        raise ValueError(f"expected {DURATION_FORMS}")
    return seconds
