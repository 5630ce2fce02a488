"""The state machine, in one place.

:func:`apply` takes the record as the store holds it and returns the record after the
operation, or ``None`` when the operation changes nothing. Stores run it under their
lock or transaction; the Redis store's Lua script mirrors it function by function (a
randomized test runs both through the same operations).

Every comparison with a deadline is written so that it fails closed: a clock that
returns NaN can never open a gate (``not now >= deadline`` rather than ``now < deadline``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.core.operations import (
    AcquireProbe,
    CompleteProbe,
    FlushWindow,
    OpenFor,
    Operation,
    RecordFailure,
    RecordSuccess,
    ReleaseProbe,
    SetState,
    Trip,
)
from circuit_breaker.core.record import BreakerRecord, FailureInfo, Fault
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.core.window import bucket_key, merge, settled_key, settled_totals, verdict

CLOSED = CircuitBreakerState.CLOSED
OPEN = CircuitBreakerState.OPEN
HALF_OPEN = CircuitBreakerState.HALF_OPEN
FORCED_OPEN = CircuitBreakerState.FORCED_OPEN
DISABLED = CircuitBreakerState.DISABLED

MANUAL_REASONS = {CLOSED: "reset", FORCED_OPEN: "forced_open", DISABLED: "disabled"}


def apply(
    record: BreakerRecord,
    operation: Operation,
    config: BreakerConfig,
    now: float,
    actor: str | None = None,
) -> BreakerRecord | None:
    """The record after ``operation`` at store time ``now``; None if nothing changes."""
    match operation:
        case RecordFailure(generation, fault, jitter):
            return _failure(record, config, generation, fault, jitter, now, actor)
        case RecordSuccess(generation):
            return _success(record, generation)
        case AcquireProbe(token):
            return _acquire_probe(record, config, token, now, actor)
        case CompleteProbe(token, fault, jitter):
            return _complete_probe(record, config, token, fault, jitter, now, actor)
        case ReleaseProbe(token):
            return _release_probe(record, token)
        case SetState(state):
            return _set_state(record, state, now, actor)
        case Trip(generation, rule, fault, jitter):
            return _trip(record, config, generation, rule, fault, jitter, now, actor)
        case FlushWindow(generation, buckets, settle_seconds, fault, jitter):
            return _flush(
                record, config, generation, buckets, settle_seconds, fault, jitter, now, actor
            )
        case OpenFor(seconds, detail, generation, jitter):
            return _open_for(record, config, seconds, detail, generation, jitter, now, actor)
    raise TypeError(f"not a breaker operation: {operation!r}")


def _moved(record: BreakerRecord, **changes: Any) -> BreakerRecord:
    """A new state: the generation moves on, so calls admitted before no longer count, and
    the rate window starts empty."""
    changes.setdefault("detail", None)
    return replace(
        record, generation=record.generation + 1, seq=record.seq + 1, window=(), **changes
    )


def _open(
    record: BreakerRecord,
    config: BreakerConfig,
    trip: int,
    reason: str,
    fault: Fault | None,
    jitter: float,
    now: float,
    actor: str | None,
    *,
    tripped_by: str | None = None,
    at_least_until: float | None = None,
    detail: str | None = None,
) -> BreakerRecord:
    """OPEN after trip ``trip`` (FORCED_OPEN once a ``stay_open`` schedule is exhausted).

    ``at_least_until`` pushes the deadline later, never earlier (a server's back-off).
    """
    schedule = config.schedule
    exhausted = schedule.exhausted(trip) and config.after_exhausted == "stay_open"
    retry_at = None if exhausted else now + schedule.interval(trip) * jitter
    if retry_at is not None and at_least_until is not None:
        retry_at = max(retry_at, at_least_until)
    return _moved(
        record,
        state=FORCED_OPEN if exhausted else OPEN,
        failure_count=0,
        consecutive_breaks=trip,
        opened_at=now,
        retry_at=retry_at,
        probe_token=None,
        probe_until=None,
        reason="exhausted" if exhausted else reason,
        detail=detail,
        changed_at=now,
        changed_by=actor,
        last_failure=record.last_failure
        if fault is None
        else FailureInfo(fault.type, fault.message, now),
        tripped_by=tripped_by or record.tripped_by,
    )


def _failure(
    record: BreakerRecord,
    config: BreakerConfig,
    generation: int,
    fault: Fault,
    jitter: float,
    now: float,
    actor: str | None,
) -> BreakerRecord | None:
    """Only a CLOSED breaker counts a failure, and only of a call admitted since it closed."""
    if record.state is not CLOSED or record.generation != generation:
        return None
    count = record.failure_count + 1
    if config.failure_threshold is not None and count >= config.failure_threshold:
        return _open(
            record, config, 1, "threshold", fault, jitter, now, actor, tripped_by="threshold"
        )
    return replace(
        record,
        failure_count=count,
        last_failure=FailureInfo(fault.type, fault.message, now),
        seq=record.seq + 1,
    )


def _success(record: BreakerRecord, generation: int) -> BreakerRecord | None:
    if record.state is not CLOSED or record.failure_count == 0 or record.generation != generation:
        return None
    return replace(record, failure_count=0, seq=record.seq + 1)


def _acquire_probe(
    record: BreakerRecord, config: BreakerConfig, token: str, now: float, actor: str | None
) -> BreakerRecord | None:
    """Hand the single probe permit to ``token`` once the deadline has passed."""
    if record.state is OPEN:
        if record.retry_at is None or not now >= record.retry_at:
            return None
        return _moved(
            record,
            state=HALF_OPEN,
            probe_token=token,
            probe_until=now + config.probe_timeout_seconds,
            reason="retry_due",
            changed_at=now,
            changed_by=actor,
        )
    if record.state is HALF_OPEN and (record.probe_until is None or now >= record.probe_until):
        # The previous probe neither returned nor raised in time: its permit is lost.
        return replace(
            record,
            probe_token=token,
            probe_until=now + config.probe_timeout_seconds,
            seq=record.seq + 1,
        )
    return None


def _complete_probe(
    record: BreakerRecord,
    config: BreakerConfig,
    token: str,
    fault: Fault | None,
    jitter: float,
    now: float,
    actor: str | None,
) -> BreakerRecord | None:
    """The probe's verdict; a late verdict from a probe that lost its permit is ignored."""
    if record.state is not HALF_OPEN or record.probe_token != token:
        return None
    if fault is not None:
        trip = record.consecutive_breaks + 1
        return _open(record, config, trip, "probe_failed", fault, jitter, now, actor)
    return _moved(
        record,
        state=CLOSED,
        failure_count=0,
        consecutive_breaks=0,
        opened_at=None,
        retry_at=None,
        probe_token=None,
        probe_until=None,
        reason="probe_succeeded",
        changed_at=now,
        changed_by=actor,
    )


def _release_probe(record: BreakerRecord, token: str) -> BreakerRecord | None:
    if record.state is not HALF_OPEN or record.probe_token != token:
        return None
    return replace(record, probe_token=None, probe_until=None, seq=record.seq + 1)


def _set_state(
    record: BreakerRecord, state: CircuitBreakerState, now: float, actor: str | None
) -> BreakerRecord:
    """Manual control. A reset returns to automatic CLOSED with both counters at zero."""
    return _moved(
        record,
        state=state,
        failure_count=0,
        consecutive_breaks=0 if state is CLOSED else record.consecutive_breaks,
        opened_at=now if state is FORCED_OPEN else None,
        retry_at=None,
        probe_token=None,
        probe_until=None,
        reason=MANUAL_REASONS[state],
        changed_at=now,
        changed_by=actor,
    )


def _trip(
    record: BreakerRecord,
    config: BreakerConfig,
    generation: int,
    rule: str,
    fault: Fault | None,
    jitter: float,
    now: float,
    actor: str | None,
) -> BreakerRecord | None:
    """A rate rule that held over a process's own window (a process-local store)."""
    if record.state is not CLOSED or record.generation != generation:
        return None
    return _open(record, config, 1, rule, fault, jitter, now, actor, tripped_by=rule)


def _flush(
    record: BreakerRecord,
    config: BreakerConfig,
    generation: int,
    buckets: tuple[tuple[int, int, int, int], ...],
    settle_seconds: float,
    fault: Fault | None,
    jitter: float,
    now: float,
    actor: str | None,
) -> BreakerRecord | None:
    """Merge a process's counts into the fleet's window, then judge the settled part."""
    rules = config.window
    if rules is None or record.state is not CLOSED or record.generation != generation:
        return None
    settled = settled_key(rules, now, settle_seconds)
    window = merge(record.window, buckets, rules, bucket_key(rules, now), settled)
    rule = verdict(settled_totals(window, rules, settled), rules) if rules.judging else None
    if rule is not None:
        return _open(record, config, 1, rule, fault, jitter, now, actor, tripped_by=rule)
    last = record.last_failure if fault is None else FailureInfo(fault.type, fault.message, now)
    return replace(record, window=window, last_failure=last, seq=record.seq + 1)


def _open_for(
    record: BreakerRecord,
    config: BreakerConfig,
    seconds: float,
    detail: str,
    generation: int | None,
    jitter: float,
    now: float,
    actor: str | None,
) -> BreakerRecord | None:
    """Open at least until ``now + seconds`` in every state but the manual ones.

    CLOSED opens for exactly that long; OPEN only ever moves its deadline later;
    HALF_OPEN counts it as a failed probe (one more trip, the later of the schedule's
    deadline and the requested one).
    """
    if generation is not None and record.generation != generation:
        return None  # told to back off by a call admitted before the last change
    until = now + seconds
    if record.state is CLOSED:
        return _moved(
            record,
            state=OPEN,
            failure_count=0,
            consecutive_breaks=1,
            opened_at=now,
            retry_at=until,
            probe_token=None,
            probe_until=None,
            reason="open_for",
            detail=detail,
            changed_at=now,
            changed_by=actor,
        )
    if record.state is OPEN:
        if record.retry_at is not None and not until > record.retry_at:
            return None
        return replace(record, retry_at=until, detail=detail, seq=record.seq + 1)
    if record.state is HALF_OPEN:
        trip = record.consecutive_breaks + 1
        return _open(
            record, config, trip, "open_for", None, jitter, now, actor,
            at_least_until=until, detail=detail,
        )  # fmt: skip
    return None  # FORCED_OPEN and DISABLED wait for a person
