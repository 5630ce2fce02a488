"""Duration texts: units, combinations, and what is refused."""

from __future__ import annotations

import pytest

from circuit_breaker.config import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h", 3600),
        ("1h30m", 5400),
        ("1.5m", 90),
        ("0.5h", 1800),
        ("250ms", 0.25),
        ("1m30s", 90),
        ("1d", 86400),
        ("2h0m5s", 7205),
        (" 10s ", 10),
    ],
)
def test_valid_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["", "5", "m", "5 m", "30m1h", "-5m", "1h1h", "5min", "1e3s", ".5m"]
)
def test_invalid_durations(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration like 30s"):
        parse_duration(text)


# Arabic-Indic five, fullwidth one and zero, superscript two.
@pytest.mark.parametrize("text", ["\u0665s", "\uff11\uff10m", "1\u0665m", "1.\u0665h", "\u00b2s"])
def test_only_ascii_digits_make_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration like 30s"):
        parse_duration(text)
