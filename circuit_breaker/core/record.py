"""What a store keeps per breaker: the record the state machine reads and writes."""

from __future__ import annotations

from dataclasses import dataclass

from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.core.window import Bucket

MESSAGE_LIMIT = 200


def safe_text(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` as every store can hold it: valid UTF-8, no NUL, at most ``limit`` chars.

    Exception messages come from anywhere (a file name decoded with ``surrogateescape``,
    bytes from a socket); a store that cannot encode one must never fail the call.
    """
    cleaned = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return cleaned[:limit]


def describe_exception(exc: BaseException) -> tuple[str, str]:
    """``(type name, message)`` of ``exc``, even when its ``__str__`` raises."""
    kind = safe_text(type(exc).__name__)
    try:
        message = str(exc)
    except Exception:
        message = f"<{kind} whose message cannot be read>"
    return kind, safe_text(message)


@dataclass(frozen=True, slots=True)
class Fault:
    """What a failed call reports: the exception's type name and message, store-safe."""

    type: str
    message: str

    @classmethod
    def from_exception(cls, exc: BaseException) -> Fault:
        return cls(*describe_exception(exc))

    @classmethod
    def from_result(cls, result: object) -> Fault:
        """A returned value that ``failure_on_result`` judged a failure."""
        try:
            shown = repr(result)
        except Exception:
            shown = f"<{type(result).__name__} whose repr cannot be read>"
        return cls(safe_text(type(result).__name__), safe_text(f"result judged a failure: {shown}"))


@dataclass(frozen=True, slots=True)
class FailureInfo:
    """The last counted failure, as shown in status, stamped with the store's clock."""

    type: str
    message: str
    at: float


@dataclass(frozen=True, slots=True)
class BreakerRecord:
    """A breaker's shared state; a fresh record is CLOSED with zero counters.

    ``generation`` grows whenever the state changes or someone acts by hand. A call
    remembers the generation it was admitted in, and its failure counts only in that
    same generation: a call that started before the breaker opened (and recovered)
    cannot re-open it. ``seq`` grows with every write; readers keep the newest record.

    ``window`` holds a fleet's rate-rule counts (:mod:`circuit_breaker.core.window`);
    it is emptied whenever the state changes. ``tripped_by`` names the rule of the last
    trip: "threshold", "failure_rate" or "slow_call_rate". ``detail`` is free text kept
    with the last transition (why someone asked to open it for a while).
    """

    state: CircuitBreakerState = CircuitBreakerState.CLOSED
    failure_count: int = 0
    consecutive_breaks: int = 0
    opened_at: float | None = None
    retry_at: float | None = None
    probe_token: str | None = None
    probe_until: float | None = None
    reason: str | None = None
    detail: str | None = None
    changed_at: float | None = None
    changed_by: str | None = None
    last_failure: FailureInfo | None = None
    tripped_by: str | None = None
    window: tuple[Bucket, ...] = ()
    generation: int = 0
    seq: int = 0


FRESH_RECORD = BreakerRecord()
