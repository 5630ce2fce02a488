"""A breaker's configuration: every default and every rule about values, in one place.

:class:`BreakerConfig` is frozen and counts time in seconds. The YAML loader produces
it (and locates any :class:`InvalidSetting` at the key that caused it), the seed's
positional constructor is a thin adapter over it, and stores receive it with every
transition, so a configuration change takes effect on the next transition.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from circuit_breaker.core.schedule import MAX_INTERVAL_SECONDS, RecoverySchedule

AFTER_EXHAUSTED = ("keep_probing", "stay_open")
MAX_NAME_LENGTH = 200
"""Breaker names end up in database columns, Redis keys and URLs."""
NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]*")


class InvalidSetting(ValueError):
    """One setting out of bounds: ``field`` names it, ``expected`` says what is allowed."""

    def __init__(self, field: str, expected: str, value: object) -> None:
        self.field = field
        self.expected = expected
        self.value = value
        super().__init__(f"{field} must be {expected}, got {value!r}")


def check_name(name: object) -> str:
    """A breaker name every store can hold (configuration files also limit its characters
    to :data:`NAME_PATTERN`, safe in URLs and keys)."""
    if not isinstance(name, str) or not name or not name.isprintable():
        raise InvalidSetting("name", "non-empty printable text", name)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidSetting("name", f"at most {MAX_NAME_LENGTH} characters long", name)
    return name


def _whole(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidSetting(name, f"an integer >= {minimum}", value)


def _number(
    name: str,
    value: object,
    *,
    above: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
    below: float | None = None,
) -> None:
    bounds = [
        f"> {above:g}" if above is not None else "",
        f">= {at_least:g}" if at_least is not None else "",
        f"< {below:g}" if below is not None else "",
        f"<= {at_most:g}" if at_most is not None else "",
    ]
    expected = "a finite number " + " and ".join(b for b in bounds if b)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSetting(name, expected, value)
    number = float(value)
    if (
        not math.isfinite(number)
        or (above is not None and not number > above)
        or (at_least is not None and not number >= at_least)
        or (below is not None and not number < below)
        or (at_most is not None and not number <= at_most)
    ):
        raise InvalidSetting(name, expected, value)


def _interval(name: str, value: object) -> None:
    _number(name, value, above=0)
    if float(value) > MAX_INTERVAL_SECONDS:  # type: ignore[arg-type]
        raise InvalidSetting(name, "at most 365 days", value)


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """How one breaker decides. Defaults are the original library's (5, 5 min, 3, 5, jitter).

    Two configs that compare equal build breakers that behave the same, which is how a
    registry reload tells a changed breaker from an unchanged one.
    """

    failure_threshold: int = 5
    base_interval_seconds: float = 300.0
    fixed_interval_retries: int = 3
    max_exponential_retries: int = 5
    jitter_enabled: bool = True
    backoff_multiplier: float = 2.0
    max_interval_seconds: float | None = None
    jitter_ratio: float = 0.1
    after_exhausted: str = "keep_probing"
    probe_timeout_seconds: float = 60.0
    ignore_exceptions: tuple[type[BaseException], ...] = ()
    is_failure: Callable[[BaseException], bool] | None = None
    profile: str | None = None
    critical: bool = False
    schedule: RecoverySchedule = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _whole("failure_threshold", self.failure_threshold, 1)
        _interval("base_interval_seconds", self.base_interval_seconds)
        _whole("fixed_interval_retries", self.fixed_interval_retries, 0)
        _whole("max_exponential_retries", self.max_exponential_retries, 0)
        if not isinstance(self.jitter_enabled, bool):
            raise InvalidSetting("jitter_enabled", "True or False", self.jitter_enabled)
        _number("backoff_multiplier", self.backoff_multiplier, at_least=1)
        if self.max_interval_seconds is not None:
            _interval("max_interval_seconds", self.max_interval_seconds)
        _number("jitter_ratio", self.jitter_ratio, at_least=0, below=1)
        if self.after_exhausted not in AFTER_EXHAUSTED:
            raise InvalidSetting(
                "after_exhausted", f"one of {', '.join(AFTER_EXHAUSTED)}", self.after_exhausted
            )
        _number("probe_timeout_seconds", self.probe_timeout_seconds, above=0)
        if self.probe_timeout_seconds > MAX_INTERVAL_SECONDS:
            raise InvalidSetting(
                "probe_timeout_seconds", "at most 365 days", self.probe_timeout_seconds
            )
        ignored = tuple(self.ignore_exceptions)
        for cls in ignored:
            if not (isinstance(cls, type) and issubclass(cls, BaseException)):
                raise InvalidSetting("ignore_exceptions", "exception classes", cls)
        if self.is_failure is not None and not callable(self.is_failure):
            raise InvalidSetting("is_failure", "a callable", self.is_failure)
        if self.profile is not None and not isinstance(self.profile, str):
            raise InvalidSetting("profile", "a profile name", self.profile)
        object.__setattr__(self, "ignore_exceptions", ignored)
        object.__setattr__(self, "critical", bool(self.critical))
        for name in (
            "base_interval_seconds",
            "backoff_multiplier",
            "jitter_ratio",
            "probe_timeout_seconds",
        ):
            object.__setattr__(self, name, float(getattr(self, name)))
        if self.max_interval_seconds is not None:
            object.__setattr__(self, "max_interval_seconds", float(self.max_interval_seconds))
        object.__setattr__(
            self,
            "schedule",
            RecoverySchedule(
                base=self.base_interval_seconds,
                fixed_retries=self.fixed_interval_retries,
                max_exponential_retries=self.max_exponential_retries,
                multiplier=self.backoff_multiplier,
                max_interval=self.max_interval_seconds,
            ),
        )

    def replace(self, **changes: Any) -> BreakerConfig:
        """A copy with ``changes`` applied and validated."""
        values = {name: getattr(self, name) for name in FIELD_NAMES}
        return BreakerConfig(**{**values, **changes})


FIELD_NAMES = tuple(name for name in BreakerConfig.__dataclass_fields__ if name != "schedule")
DEFAULT_CONFIG = BreakerConfig()
