"""The Redis store's script (``transitions.lua``, the state machine run inside Redis):
the arguments it takes and the replies it gives.

One script holds every operation so that each one is a single atomic round trip decided
with the server's clock. Its functions mirror ``core/transitions.py`` and
``core/window.py`` one for one; keep them in step (the store-contract tests run both
through the same cases, and a randomized test through random sequences).

Calling convention: ``KEYS[1]`` is the breaker's hash; ``ARGV[1]`` is one JSON object
with named members (see :func:`payload`): ``op``, ``name``, ``channel``, ``publish``,
``actor``, ``ttl``, ``config`` (what the state machine needs of the breaker's
configuration), and the operation's own members (``generation``, ``fault``, ``jitter``,
``token``, ``state``, ``rule``, ``buckets``, ``settle_seconds``, ``seconds``, ``detail``).

The script answers one JSON string, the list ``[name, previous_state or "", server_now,
field...]`` with the fields in :data:`FIELDS` order ("" for None, numbers as exact
decimal text, the window as JSON): one bulk reply, which redis-py parses in a fraction
of the time an array of 21 replies takes. It writes only the fields that changed. When
the state or the probe permit changed it publishes the same list, prefixed with the
writer's instance id, on the breaker's event channel with the ``publish`` command
(``PUBLISH``, or ``SPUBLISH`` on a cluster: the shard channel shares the key's hash
tag, hence its slot): other processes must learn those at once.
A failure counted below the threshold, or counts added to the
window, are not published: other processes learn them when they next read the record.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
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
from circuit_breaker.core.schedule import MAX_INTERVAL_SECONDS
from circuit_breaker.core.state import MANUAL_STATES, CircuitBreakerState
from circuit_breaker.core.window import WindowRules

FIELDS = (
    "state",
    "failure_count",
    "consecutive_breaks",
    "opened_at",
    "retry_at",
    "probe_token",
    "probe_until",
    "reason",
    "detail",
    "changed_at",
    "changed_by",
    "failure_type",
    "failure_message",
    "failure_at",
    "tripped_by",
    "window",
    "generation",
    "seq",
)

SCRIPT = (
    resources.files(__package__)
    .joinpath("transitions.lua")
    .read_text(encoding="utf-8")
    .replace("__FIELDS__", ", ".join(f"'{field}'" for field in FIELDS))
)
assert {state.value for state in MANUAL_STATES} == {"forced_open", "disabled"}


# One encoder for every call: json.dumps builds a new one whenever it is given options.
_compact_json = json.JSONEncoder(separators=(",", ":")).encode


@dataclass(frozen=True, slots=True)
class Envelope:
    """What every call of the script carries besides the operation."""

    name: str
    channel: str
    publish: str  # "PUBLISH", or "SPUBLISH" for a shard channel
    actor: str
    ttl: int


def payload(common: str, operation: Operation) -> str:
    """``ARGV[1]``: the operation's members after ``common`` (see :func:`common_members`)."""
    members: dict[str, Any] = {}
    match operation:
        case RecordFailure(generation, fault, jitter):
            members = {
                "op": "failure",
                "generation": generation,
                "fault": _fault(fault),
                "jitter": jitter,
            }
        case RecordSuccess(generation):
            members = {"op": "success", "generation": generation}
        case AcquireProbe(token):
            members = {"op": "acquire_probe", "token": token}
        case CompleteProbe(token, fault, jitter):
            members = {
                "op": "complete_probe",
                "token": token,
                "fault": _fault(fault),
                "jitter": jitter,
            }
        case ReleaseProbe(token):
            members = {"op": "release_probe", "token": token}
        case SetState(state):
            members = {"op": "set_state", "state": state.value}
        case Trip(generation, rule, fault, jitter):
            members = {
                "op": "trip",
                "generation": generation,
                "rule": rule,
                "fault": _fault(fault),
                "jitter": jitter,
            }
        case FlushWindow(generation, buckets, settle_seconds, fault, jitter):
            members = {
                "op": "flush_window",
                "generation": generation,
                "buckets": [list(bucket) for bucket in buckets],
                "settle_seconds": settle_seconds,
                "fault": _fault(fault),
                "jitter": jitter,
            }
        case OpenFor(seconds, detail, generation, jitter):
            members = {
                "op": "open_for",
                "seconds": seconds,
                "detail": detail,
                "generation": generation,
                "jitter": jitter,
            }
    return common + _compact_json(members)[1:]


def common_members(envelope: Envelope, config: BreakerConfig) -> str:
    """The members every call for one breaker repeats (the envelope and the
    configuration the state machine needs), encoded once: ``'{...,'``."""
    members = {
        "name": envelope.name,
        "channel": envelope.channel,
        "publish": envelope.publish,
        "actor": envelope.actor,
        "ttl": envelope.ttl,
        "config": {
            "failure_threshold": config.failure_threshold,
            "after_exhausted": config.after_exhausted,
            "probe_timeout": config.probe_timeout_seconds,
            "base": config.base_interval_seconds,
            "fixed": config.fixed_interval_retries,
            "exponential": config.max_exponential_retries,
            "multiplier": config.backoff_multiplier,
            "max_interval": config.max_interval_seconds,
            "max_allowed": MAX_INTERVAL_SECONDS,
            "window": _window_rules(config.window),
        },
    }
    return _compact_json(members)[:-1] + ","


def _fault(fault: Fault | None) -> dict[str, str] | None:
    return None if fault is None else {"type": fault.type, "message": fault.message}


def _window_rules(rules: WindowRules | None) -> dict[str, Any] | None:
    if rules is None:
        return None
    return {
        "failure_rate": rules.failure_rate,
        "slow_call_rate": rules.slow_call_rate,
        "minimum_calls": rules.minimum_calls,
        "seconds": rules.seconds,
        "calls": rules.calls,
        "bucket_seconds": rules.bucket_seconds,
        "judging": rules.judging,
    }


def _number(text: str) -> float | None:
    return float(text) if text else None


def parse_record(values: Sequence[str]) -> BreakerRecord:
    """A record from the script's fields (FIELDS order, "" for None)."""
    (
        state,
        failure_count,
        consecutive_breaks,
        opened_at,
        retry_at,
        probe_token,
        probe_until,
        reason,
        detail,
        changed_at,
        changed_by,
        failure_type,
        failure_message,
        failure_at,
        tripped_by,
        window,
        generation,
        seq,
    ) = values
    return BreakerRecord(
        state=CircuitBreakerState(state or "closed"),
        failure_count=int(failure_count or 0),
        consecutive_breaks=int(consecutive_breaks or 0),
        opened_at=_number(opened_at),
        retry_at=_number(retry_at),
        probe_token=probe_token or None,
        probe_until=_number(probe_until),
        reason=reason or None,
        detail=detail or None,
        changed_at=_number(changed_at),
        changed_by=changed_by or None,
        last_failure=FailureInfo(failure_type, failure_message, float(failure_at or 0))
        if failure_type
        else None,
        tripped_by=tripped_by or None,
        window=tuple((int(k), int(c), int(f), int(slow)) for k, c, f, slow in json.loads(window))
        if window
        else (),
        generation=int(generation or 0),
        seq=int(seq or 0),
    )


def parse_reply(
    reply: Sequence[str],
) -> tuple[str, BreakerRecord, float, CircuitBreakerState | None]:
    """``(name, record, server_now, previous_state)`` from a reply or a published message."""
    name, previous, now, *values = reply
    return (
        name,
        parse_record(values),
        float(now),
        CircuitBreakerState(previous) if previous else None,
    )
