"""The kinds of values a configuration holds, as pydantic validators with plain messages.

Each kind checks the value itself (``PlainValidator``) so that every message says what
was expected in words a reader of the YAML understands. Values that came from an
environment variable (:class:`EnvStr`) are read as the kind's type; literal YAML values
must already have it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from pydantic_core import PydanticCustomError

from circuit_breaker.config.durations import DURATION_FORMS, parse_duration
from circuit_breaker.config.envvars import EnvStr
from circuit_breaker.errors import closest

Check = Callable[[Any], Any]

# The database columns that hold breaker names (Breaker.name, Transition.breaker) are
# this wide; profile names share the limit, so any name fits any place a name goes.
MAX_NAME_LENGTH = 200

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]*")
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
# Numbers read from environment variables: ASCII digits only, where int() and float()
# would also take Arabic-Indic, fullwidth and other digits, and underscores ("1_000").
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_DECIMAL_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def fail(expected: str) -> NoReturn:
    """Reject the value; ``expected`` becomes the problem's message."""
    raise PydanticCustomError("config", expected)


def whole_number(minimum: int) -> Check:
    expected = f"expected a whole number of at least {minimum}"

    def check(value: Any) -> int:
        if isinstance(value, EnvStr):
            text = value.strip()
            try:
                value = int(text) if _WHOLE_NUMBER.fullmatch(text) else None
            except ValueError:  # more digits than int() converts
                value = None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            fail(expected)
        return value

    return check


def number(minimum: float, *, inclusive: bool, below: float | None = None, unit: str = "") -> Check:
    """A finite number above ``minimum`` (or equal, if ``inclusive``) and below ``below``;
    ``unit`` names what it counts, for the message."""
    bound = f"at least {minimum:g}" if inclusive else f"greater than {minimum:g}"
    if below is not None:
        bound += f" and below {below:g}"
    expected = f"expected a number{unit} {bound}"

    def check(value: Any) -> float:
        if isinstance(value, EnvStr):
            text = value.strip()
            value = float(text) if _DECIMAL_NUMBER.fullmatch(text) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            fail(expected)
        number = float(value)
        if not math.isfinite(number):
            fail(f"expected a finite number{unit} {bound}")
        if number < minimum or (not inclusive and number == minimum):
            fail(expected)
        if below is not None and number >= below:
            fail(expected)
        return number

    return check


def duration(*, numbers: bool = False, hint: str = "") -> Check:
    """Seconds (> 0) from a duration text; with ``numbers`` a bare number is seconds too."""
    expected = f"expected {DURATION_FORMS}{', or a number of seconds' if numbers else ''}{hint}"
    as_seconds = number(0, inclusive=False, unit=" of seconds")

    def check(value: Any) -> float:
        if numbers and not isinstance(value, bool) and isinstance(value, int | float):
            return float(as_seconds(value))
        if not isinstance(value, str):
            fail(expected)
        try:
            seconds = parse_duration(value)
        except ValueError:
            if numbers and isinstance(value, EnvStr):
                return float(as_seconds(value))
            fail(expected)
        if seconds == 0:
            fail("expected a duration greater than 0")
        return seconds

    return check


def threshold_or_off(value: Any) -> int | None:
    """A failure count, or "off" (YAML reads an unquoted ``off`` as ``false``: both mean off,
    as do the text ``'off'`` and null)."""
    if value is None or value is False:
        return None
    if isinstance(value, str) and value.strip().lower() in ("off", "false"):
        return None
    count: int = whole_number(1)(value)
    return count


_PERCENT = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*%")


def rate(value: Any) -> float:
    """A share of calls: ``50%`` or ``0.5``, above 0 and at most 100 %."""
    expected = "expected a share of calls above 0 and at most 100%, like 50% or 0.5"
    if isinstance(value, str):
        match = _PERCENT.fullmatch(value.strip())
        if match is not None:
            value = float(match.group(1)) / 100
        elif isinstance(value, EnvStr):
            value = number(0, inclusive=False)(value)
        else:
            fail(expected)
    if isinstance(value, bool) or not isinstance(value, int | float):
        fail(expected)
    share = float(value)
    if not (math.isfinite(share) and 0 < share <= 1):
        fail(expected)
    return share


def window_size(value: Any) -> tuple[str, float | int]:
    """A time window (a duration: ``60s``) or a count window (a whole number: ``100``)."""
    expected = (
        f"expected a window: {DURATION_FORMS} (a time window of at least 1s), or a whole "
        "number of calls (at least 1)"
    )
    if isinstance(value, EnvStr) and _WHOLE_NUMBER.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            fail(expected)
        return ("calls", value)
    if not isinstance(value, str):
        fail(expected)
    try:
        seconds = parse_duration(value)
    except ValueError:
        fail(expected)
    if seconds < 1:
        fail(expected)
    return ("seconds", seconds)


def http_status(value: Any) -> int:
    """An HTTP status code, 100 to 599."""
    if isinstance(value, EnvStr) and _WHOLE_NUMBER.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        fail("expected an HTTP status code, a whole number from 100 to 599")
    return value


def optional(check: Check) -> Check:
    """``check``, or null (YAML ``~`` / ``null``) meaning "none"."""

    def check_optional(value: Any) -> Any:
        return None if value is None else check(value)

    return check_optional


def flag(value: Any) -> bool:
    if isinstance(value, EnvStr) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if not isinstance(value, bool):
        fail("expected true or false")
    return value


def text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        fail("expected non-empty text")
    return str(value)


def name(value: Any) -> str:
    """Breaker and profile names: safe in store keys, URLs, admin pages and the database."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        fail("expected a name made of letters, digits, '_', '-', '.' or ':'")
    if len(value) > MAX_NAME_LENGTH:
        fail(f"expected a name of at most {MAX_NAME_LENGTH} characters (this one has {len(value)})")
    return str(value)


def is_name(value: Any) -> bool:
    try:
        name(value)
    except PydanticCustomError:
        return False
    return True


def choice(options: Callable[[], Sequence[str]]) -> Check:
    """One of ``options()`` (read at validation time: store backends register late)."""

    def check(value: Any) -> str:
        allowed = options()
        if isinstance(value, str) and value in allowed:
            return str(value)
        hint = closest(value, allowed) if isinstance(value, str) else None
        suggestion = f"; did you mean {hint!r}?" if hint else ""
        fail(f"expected one of {', '.join(allowed)}{suggestion}")

    return check


def exception_path(value: Any) -> str | type[BaseException]:
    """A dotted path to an exception class (imported later), or the class itself."""
    if isinstance(value, type) and issubclass(value, BaseException):
        return value
    if not isinstance(value, str) or not _DOTTED.fullmatch(value):
        fail("expected the dotted path of an exception class, like shop.errors.CardDeclined")
    return str(value)


def callable_path(value: Any) -> str | Callable[..., Any]:
    """A dotted path to a function (imported later), or the callable itself."""
    if callable(value) and not isinstance(value, str):
        judge: Callable[..., Any] = value
        return judge
    if not isinstance(value, str) or not _DOTTED.fullmatch(value):
        fail("expected the dotted path of a function, like shop.health.is_error_page")
    return str(value)
