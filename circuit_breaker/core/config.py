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
from circuit_breaker.core.window import WindowRules

AFTER_EXHAUSTED = ("keep_probing", "stay_open")
MODES = ("enforce", "observe")
DEFAULT_WINDOW_SECONDS = 60.0
"""The window of a rate rule given without one: a minute of calls."""
MAX_WINDOW_SECONDS = 86400.0
MAX_WINDOW_CALLS = 1_000_000
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


def check_number(
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
    check_number(name, value, above=0)
    if float(value) > MAX_INTERVAL_SECONDS:  # type: ignore[arg-type]
        raise InvalidSetting(name, "at most 365 days", value)


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """How one breaker decides. Defaults are the original library's (5, 5 min, 3, 5, jitter).

    Two configs that compare equal build breakers that behave the same, which is how a
    registry reload tells a changed breaker from an unchanged one.
    """

    failure_threshold: int | None = 5
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
    failure_on_result: Callable[[Any], bool] | None = None
    failure_rate_threshold: float | None = None
    slow_call_rate_threshold: float | None = None
    slow_call_duration_seconds: float | None = None
    sliding_window_seconds: float | None = None
    sliding_window_calls: int | None = None
    minimum_calls: int = 20
    mode: str = "enforce"
    failure_statuses: frozenset[int] | None = None
    profile: str | None = None
    critical: bool = False
    schedule: RecoverySchedule = field(init=False, repr=False, compare=False)
    window: WindowRules | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.failure_threshold is not None:
            _whole("failure_threshold", self.failure_threshold, 1)
        _interval("base_interval_seconds", self.base_interval_seconds)
        _whole("fixed_interval_retries", self.fixed_interval_retries, 0)
        _whole("max_exponential_retries", self.max_exponential_retries, 0)
        if not isinstance(self.jitter_enabled, bool):
            raise InvalidSetting("jitter_enabled", "True or False", self.jitter_enabled)
        check_number("backoff_multiplier", self.backoff_multiplier, at_least=1)
        if self.max_interval_seconds is not None:
            _interval("max_interval_seconds", self.max_interval_seconds)
        check_number("jitter_ratio", self.jitter_ratio, at_least=0, below=1)
        if self.after_exhausted not in AFTER_EXHAUSTED:
            raise InvalidSetting(
                "after_exhausted", f"one of {', '.join(AFTER_EXHAUSTED)}", self.after_exhausted
            )
        check_number("probe_timeout_seconds", self.probe_timeout_seconds, above=0)
        if self.probe_timeout_seconds > MAX_INTERVAL_SECONDS:
            raise InvalidSetting(
                "probe_timeout_seconds", "at most 365 days", self.probe_timeout_seconds
            )
        ignored = tuple(self.ignore_exceptions)
        for cls in ignored:
            if not (isinstance(cls, type) and issubclass(cls, BaseException)):
                raise InvalidSetting("ignore_exceptions", "exception classes", cls)
        for hook in ("is_failure", "failure_on_result"):
            if getattr(self, hook) is not None and not callable(getattr(self, hook)):
                raise InvalidSetting(hook, "a callable", getattr(self, hook))
        if self.mode not in MODES:
            raise InvalidSetting("mode", f"one of {', '.join(MODES)}", self.mode)
        if self.failure_statuses is not None:
            statuses = frozenset(self.failure_statuses)
            for status in statuses:
                if (
                    isinstance(status, bool)
                    or not isinstance(status, int)
                    or not (100 <= status <= 599)
                ):
                    raise InvalidSetting("failure_statuses", "HTTP status codes (100-599)", status)
            object.__setattr__(self, "failure_statuses", statuses)
        object.__setattr__(self, "window", self._window_rules())
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

    def _window_rules(self) -> WindowRules | None:
        """The rate rules, checked together (they only make sense as a whole)."""
        for rate in ("failure_rate_threshold", "slow_call_rate_threshold"):
            if getattr(self, rate) is not None:
                check_number(rate, getattr(self, rate), above=0, at_most=1)
        if self.slow_call_duration_seconds is not None:
            _interval("slow_call_duration_seconds", self.slow_call_duration_seconds)
        elif self.slow_call_rate_threshold is not None:
            raise InvalidSetting(
                "slow_call_rate_threshold",
                "given with a slow_call_duration (what counts as slow)",
                self.slow_call_rate_threshold,
            )
        seconds, calls = self.sliding_window_seconds, self.sliding_window_calls
        if seconds is not None and calls is not None:
            raise InvalidSetting(
                "sliding_window", "either a duration or a number of calls, not both", calls
            )
        if seconds is not None:
            check_number("sliding_window_seconds", seconds, at_least=1, at_most=MAX_WINDOW_SECONDS)
        if calls is not None:
            _whole("sliding_window_calls", calls, 1)
            if calls > MAX_WINDOW_CALLS:
                raise InvalidSetting("sliding_window_calls", f"at most {MAX_WINDOW_CALLS}", calls)
        _whole("minimum_calls", self.minimum_calls, 1)
        if calls is not None and self.minimum_calls > calls:
            raise InvalidSetting(
                "minimum_calls", f"at most the window's {calls} calls", self.minimum_calls
            )
        judging = self.failure_rate_threshold is not None or (
            self.slow_call_rate_threshold is not None
        )
        if self.failure_threshold is None and not judging:
            raise InvalidSetting(
                "failure_threshold",
                "a number of failures, or off only with a failure_rate_threshold or a "
                "slow_call_rate_threshold (a breaker needs some rule)",
                None,
            )
        if not judging and self.slow_call_duration_seconds is None:
            return None
        return WindowRules(
            failure_rate=self.failure_rate_threshold,
            slow_call_rate=self.slow_call_rate_threshold,
            slow_call_seconds=self.slow_call_duration_seconds,
            minimum_calls=self.minimum_calls,
            seconds=float(seconds)
            if seconds is not None
            else (None if calls is not None else DEFAULT_WINDOW_SECONDS),
            calls=calls,
        )

    def replace(self, **changes: Any) -> BreakerConfig:
        """A copy with ``changes`` applied and validated."""
        values = {name: getattr(self, name) for name in FIELD_NAMES}
        return BreakerConfig(**{**values, **changes})


FIELD_NAMES = tuple(
    name for name in BreakerConfig.__dataclass_fields__ if name not in ("schedule", "window")
)
DEFAULT_CONFIG = BreakerConfig()
