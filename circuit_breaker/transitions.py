"""The state machine, in one place (DESIGN 2.1).

Each function takes the record as the store holds it and returns the record after the
event, or ``None`` when the event changes nothing. Stores run these under their lock or
transaction; the Redis store's Lua script mirrors them line for line.
"""

from __future__ import annotations

from dataclasses import replace

from circuit_breaker.state import CircuitBreakerState
from circuit_breaker.stores.base import BreakerRecord, FailureInfo, Policy

CLOSED = CircuitBreakerState.CLOSED
OPEN = CircuitBreakerState.OPEN
HALF_OPEN = CircuitBreakerState.HALF_OPEN
FORCED_OPEN = CircuitBreakerState.FORCED_OPEN
DISABLED = CircuitBreakerState.DISABLED


def _open(
    record: BreakerRecord,
    policy: Policy,
    trip: int,
    reason: str,
    failure: FailureInfo,
    jitter: float,
    now: float,
    actor: str | None,
) -> BreakerRecord:
    if policy.schedule.exhausted(trip) and policy.after_exhausted == "stay_open":
        return replace(
            record,
            state=FORCED_OPEN,
            failure_count=0,
            consecutive_breaks=trip,
            opened_at=now,
            retry_at=None,
            probe_token=None,
            probe_until=None,
            reason="exhausted",
            changed_at=now,
            changed_by=actor,
            last_failure=failure,
            seq=record.seq + 1,
        )
    interval = policy.interval(trip) * jitter
    return replace(
        record,
        state=OPEN,
        failure_count=0,
        consecutive_breaks=trip,
        opened_at=now,
        retry_at=now + interval,
        probe_token=None,
        probe_until=None,
        reason=reason,
        changed_at=now,
        changed_by=actor,
        last_failure=failure,
        seq=record.seq + 1,
    )


def failure(
    record: BreakerRecord,
    policy: Policy,
    info: FailureInfo,
    jitter: float,
    now: float,
    actor: str | None = None,
) -> BreakerRecord | None:
    """A counted failure of an ordinary call; only a CLOSED breaker counts it.

    In any other state the call started before the breaker left CLOSED (or is not the
    probe): it must not move the schedule.
    """
    if record.state is not CLOSED:
        return None
    count = record.failure_count + 1
    if count >= policy.failure_threshold:
        return _open(record, policy, 1, "threshold", info, jitter, now, actor)
    return replace(record, failure_count=count, last_failure=info, seq=record.seq + 1)


def success(record: BreakerRecord) -> BreakerRecord | None:
    """A success of an ordinary call clears the failure streak."""
    if record.state is not CLOSED or record.failure_count == 0:
        return None
    return replace(record, failure_count=0, seq=record.seq + 1)


def acquire_probe(
    record: BreakerRecord, policy: Policy, token: str, now: float, actor: str | None = None
) -> BreakerRecord | None:
    """Hand the single probe permit to ``token`` once the deadline has passed."""
    if record.state is OPEN:
        if record.retry_at is None or now < record.retry_at:
            return None
    elif record.state is HALF_OPEN:
        if record.probe_until is not None and now < record.probe_until:
            return None
    else:
        return None
    changed = record.state is OPEN
    return replace(
        record,
        state=HALF_OPEN,
        probe_token=token,
        probe_until=now + policy.probe_timeout,
        reason="retry_due" if changed else record.reason,
        changed_at=now if changed else record.changed_at,
        changed_by=actor if changed else record.changed_by,
        seq=record.seq + 1,
    )


def complete_probe(
    record: BreakerRecord,
    policy: Policy,
    token: str,
    info: FailureInfo | None,
    jitter: float,
    now: float,
    actor: str | None = None,
) -> BreakerRecord | None:
    """The probe's verdict; a late verdict from a probe that lost its permit is ignored."""
    if record.state is not HALF_OPEN or record.probe_token != token:
        return None
    if info is not None:
        trip = record.consecutive_breaks + 1
        return _open(record, policy, trip, "probe_failed", info, jitter, now, actor)
    return replace(
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
        seq=record.seq + 1,
    )


def release_probe(record: BreakerRecord, token: str) -> BreakerRecord | None:
    """Give the permit back unjudged (cancelled, interrupted): the next caller may probe."""
    if record.state is not HALF_OPEN or record.probe_token != token:
        return None
    return replace(record, probe_token=None, probe_until=None, seq=record.seq + 1)


MANUAL_REASONS = {CLOSED: "reset", FORCED_OPEN: "forced_open", DISABLED: "disabled"}


def set_state(
    record: BreakerRecord, state: CircuitBreakerState, now: float, actor: str | None = None
) -> BreakerRecord:
    """Manual control. A reset returns to automatic CLOSED with both counters at zero."""
    if state not in MANUAL_REASONS:
        raise ValueError(f"cannot set a breaker to {state.name} by hand")
    return replace(
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
        seq=record.seq + 1,
    )
