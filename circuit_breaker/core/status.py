"""A breaker's status as typed values, and the JSON-ready dict monitoring tools read.

:class:`BreakerStatus` owns the units: seconds, datetimes and the state enum. Everything
that shows a breaker (the CLI, the Django command, the admin, the health endpoint, the
metrics) reads it; :meth:`BreakerStatus.to_dict` is ``get_status_info()``'s format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.core.record import BreakerRecord
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.core.window import Totals

CLOSED = CircuitBreakerState.CLOSED
OPEN = CircuitBreakerState.OPEN
HALF_OPEN = CircuitBreakerState.HALF_OPEN


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """Whether the status came from the shared store (False: the process's local view)."""

    reachable: bool = True
    error: str | None = None


@dataclass(frozen=True, slots=True)
class LastFailure:
    type: str
    message: str
    at: datetime


@dataclass(frozen=True, slots=True)
class BreakerStatus:
    """One breaker at one moment, as the store (or, if unreachable, the process) sees it."""

    name: str
    config: BreakerConfig
    state: CircuitBreakerState
    failure_count: int
    consecutive_breaks: int
    recovery_timeout: float
    retry_in: float | None
    opened_at: datetime | None
    next_retry_at: datetime | None
    last_failure: LastFailure | None
    reason: str | None
    detail: str | None
    changed_at: datetime | None
    probing: bool
    store: StoreHealth
    window: Totals | None
    tripped_by: str | None
    would_have_rejected: int = 0
    """Calls an observing breaker let through that enforcing would have rejected (this
    process, since it started)."""

    @classmethod
    def from_record(
        cls,
        name: str,
        config: BreakerConfig,
        record: BreakerRecord,
        store_now: float,
        wall_offset: float,
        store: StoreHealth,
        window: Totals | None = None,
        *,
        would_have_rejected: int = 0,
    ) -> BreakerStatus:
        """``wall_offset`` turns store-clock seconds into Unix time (store clocks may be
        monotonic)."""

        def wall(seconds: float | None) -> datetime | None:
            if seconds is None:
                return None
            try:
                return datetime.fromtimestamp(seconds + wall_offset, UTC)
            except (OverflowError, OSError, ValueError):  # beyond what a date can say
                return None

        state = visible_state(record, store_now)
        trip = record.consecutive_breaks
        if record.opened_at is not None and record.retry_at is not None:
            timeout = record.retry_at - record.opened_at
        else:
            timeout = config.schedule.interval(max(trip, 1))
        retry_in = None
        if state is OPEN and record.retry_at is not None:
            retry_in = max(0.0, record.retry_at - store_now)
        failure = record.last_failure
        return cls(
            name=name,
            config=config,
            state=state,
            failure_count=record.failure_count,
            consecutive_breaks=trip,
            recovery_timeout=timeout,
            retry_in=retry_in,
            opened_at=wall(record.opened_at),
            next_retry_at=wall(record.retry_at) if state in (OPEN, HALF_OPEN) else None,
            last_failure=None
            if failure is None
            else LastFailure(failure.type, failure.message, wall(failure.at) or _EPOCH),
            reason=record.reason,
            detail=record.detail,
            changed_at=wall(record.changed_at),
            probing=state is HALF_OPEN and record.probe_token is not None,
            store=store,
            window=window if config.window is not None else None,
            tripped_by=record.tripped_by,
            would_have_rejected=would_have_rejected,
        )

    @property
    def profile(self) -> str | None:
        return self.config.profile

    @property
    def critical(self) -> bool:
        return self.config.critical

    @property
    def mode(self) -> str:
        return self.config.mode

    @property
    def exhausted(self) -> bool:
        return self.config.schedule.exhausted(self.consecutive_breaks)

    @property
    def retry_phase(self) -> str:
        """The original library's phase text ("closed" while CLOSED)."""
        if self.state is CLOSED:
            return "closed"
        return self.config.schedule.phase(self.consecutive_breaks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable; the keys and values ``get_status_info()`` has always had."""
        failure = self.last_failure
        return {
            "name": self.name,
            "profile": self.profile,
            "state": self.state.value,
            "failure_count": self.failure_count,
            "consecutive_circuit_breaks": self.consecutive_breaks,
            "retry_phase": self.retry_phase,
            "current_recovery_timeout_minutes": minutes(self.recovery_timeout),
            "time_until_retry_minutes": None if self.retry_in is None else self.retry_in / 60,
            "opened_at": _iso(self.opened_at),
            "next_retry_at": _iso(self.next_retry_at),
            "exhausted": self.exhausted,
            "critical": self.critical,
            "last_failure": None
            if failure is None
            else {"type": failure.type, "message": failure.message, "at": _iso(failure.at)},
            "last_transition": {
                "reason": self.reason,
                "detail": self.detail,
                "at": _iso(self.changed_at),
            },
            "config": config_dict(self.config),
            "store": {"reachable": self.store.reachable, "error": self.store.error},
            "window": None if self.window is None else _window_dict(self.window),
            "tripped_by": self.tripped_by,
            "mode": self.mode,
            "would_have_rejected": self.would_have_rejected,
        }


_EPOCH = datetime.fromtimestamp(0, UTC)


def visible_state(record: BreakerRecord, store_now: float) -> CircuitBreakerState:
    """HALF_OPEN as soon as the retry deadline has passed, before any probe is made."""
    if record.state is OPEN and record.retry_at is not None and store_now >= record.retry_at:
        return HALF_OPEN
    return record.state


def minutes(seconds: float) -> float:
    """``seconds`` in minutes, as the minutes a user wrote (``0.1`` stays ``0.1``).

    Among the floats next to ``seconds / 60`` that give back exactly ``seconds`` when
    multiplied by 60, the one with the shortest decimal form is what someone typed.
    """
    value = seconds / 60
    candidates = [value, math.nextafter(value, -math.inf), math.nextafter(value, math.inf)]
    exact = [c for c in candidates if c * 60 == seconds]
    return min(exact, key=lambda c: len(repr(c))) if exact else value


def _window_dict(totals: Totals) -> dict[str, Any]:
    return {
        "calls": totals.calls,
        "failures": totals.failures,
        "slow_calls": totals.slow,
        "failure_rate": totals.failure_rate,
        "slow_call_rate": totals.slow_call_rate,
    }


def config_dict(config: BreakerConfig) -> dict[str, Any]:
    """The resolved settings under the constructor's parameter names (status ``config``)."""
    return {
        "failure_threshold": config.failure_threshold,
        "base_interval_minutes": minutes(config.base_interval_seconds),
        "fixed_interval_retries": config.fixed_interval_retries,
        "max_exponential_retries": config.max_exponential_retries,
        "jitter_enabled": config.jitter_enabled,
        "backoff_multiplier": config.backoff_multiplier,
        "max_interval_minutes": None
        if config.max_interval_seconds is None
        else minutes(config.max_interval_seconds),
        "jitter_ratio": config.jitter_ratio,
        "after_exhausted": config.after_exhausted,
        "probe_timeout_seconds": config.probe_timeout_seconds,
        "ignore_exceptions": [dotted_name(cls) for cls in config.ignore_exceptions],
        "is_failure": _callable_name(config.is_failure),
        "failure_on_result": _callable_name(config.failure_on_result),
        "failure_rate_threshold": config.failure_rate_threshold,
        "slow_call_rate_threshold": config.slow_call_rate_threshold,
        "slow_call_duration_seconds": config.slow_call_duration_seconds,
        "sliding_window_seconds": config.sliding_window_seconds,
        "sliding_window_calls": config.sliding_window_calls,
        "minimum_calls": config.minimum_calls,
        "mode": config.mode,
        "failure_statuses": None
        if config.failure_statuses is None
        else sorted(config.failure_statuses),
    }


def _callable_name(hook: object) -> str | None:
    return None if hook is None else str(getattr(hook, "__qualname__", repr(hook)))


def dotted_name(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")
