"""The events a store applies to a record, one small frozen value per kind.

A breaker hands one of these to ``store.apply``; the store runs
:func:`circuit_breaker.core.transitions.apply` on it atomically (or, in Redis, the Lua
mirror of it). Operations that carry a probe ``token`` can be replayed: a token's
verdict taken on local state while the store was down is settled with the store once
it answers (see ``circuit_breaker.view``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from circuit_breaker.core.record import Fault
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.core.window import Bucket


@dataclass(frozen=True, slots=True)
class RecordFailure:
    """An ordinary call admitted in ``generation`` failed in a way that counts."""

    generation: int
    fault: Fault
    jitter: float
    manual: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class RecordSuccess:
    """An ordinary call admitted in ``generation`` succeeded: the failure streak ends."""

    generation: int
    manual: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class AcquireProbe:
    """Ask for the single probe permit; granted iff the record then holds ``token``."""

    token: str
    manual: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class CompleteProbe:
    """The probe's verdict: ``fault`` None means it succeeded."""

    token: str
    fault: Fault | None
    jitter: float
    manual: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class ReleaseProbe:
    """Give the permit back unjudged (cancelled, interrupted): the next caller may probe."""

    token: str
    manual: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class SetState:
    """Manual control: CLOSED (reset), FORCED_OPEN or DISABLED."""

    state: CircuitBreakerState
    manual: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.state not in SETTABLE_STATES:
            raise ValueError(f"cannot set a breaker to {self.state.name} by hand")


@dataclass(frozen=True, slots=True)
class Trip:
    """A rate rule holds over this process's own window (a process-local store)."""

    generation: int
    rule: str
    fault: Fault | None
    jitter: float
    manual: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class FlushWindow:
    """A process's buffered rate-rule counts for the fleet's window; the store merges
    them and takes the verdict over the settled buckets. Counts of another generation
    (the breaker opened or closed meanwhile) are dropped."""

    generation: int
    buckets: tuple[Bucket, ...]
    settle_seconds: float
    fault: Fault | None
    jitter: float
    manual: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class OpenFor:
    """Stay open at least ``seconds`` (server-directed back-off), then let one probe.

    ``generation`` is the admission of the call that was told to back off: a response to
    a call admitted before the breaker last changed state is ignored. A manual request
    (``manual``) has none and always applies.
    """

    seconds: float
    detail: str
    generation: int | None
    jitter: float
    manual: bool = False


SETTABLE_STATES = frozenset(
    {CircuitBreakerState.CLOSED, CircuitBreakerState.FORCED_OPEN, CircuitBreakerState.DISABLED}
)
Operation = (
    RecordFailure
    | RecordSuccess
    | AcquireProbe
    | CompleteProbe
    | ReleaseProbe
    | SetState
    | Trip
    | FlushWindow
    | OpenFor
)
ProbeOperation = AcquireProbe | CompleteProbe | ReleaseProbe
