"""The store protocol: what a breaker needs from wherever its state lives.

A store keeps one :class:`BreakerRecord` per breaker name and performs every transition
as ONE atomic operation (a lock, a Lua script, a transaction with a row lock). The
decision itself is made by the pure functions of :mod:`circuit_breaker.transitions`
(a Lua store mirrors them), so every store agrees on the state machine.

Rules every store keeps:

* Times are seconds in the store's own clock. The caller passes ``now`` from its clock;
  a shared store ignores it and uses its server's clock (so host clock skew is
  harmless), and returns the time it used in :attr:`StoreResult.now`.
* ``record.seq`` grows with every change of a record and never goes backwards, even if
  the record expires and is created again (seed it from the store clock, in microseconds).
  Breakers ignore results older than what they already know.
* Operations return the record as it is after the operation. ``previous_state`` is set
  only when THIS operation changed the state: exactly one process reports a transition.
* Configuration travels with each call (:class:`Policy`), it is never stored as truth:
  a YAML change takes effect on the next transition.
* A shared store that cannot be reached raises :class:`StoreUnavailableError` (and only
  that); the breaker then goes on with its local state. Use :class:`OutageGuard` to log
  once per outage and back off.
* ``performs_io`` tells async callers to run operations in a worker thread. ``polled``
  tells breakers their view goes stale: they reload a record at most every
  ``sync_interval`` seconds unless the store pushes changes through ``watch``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from circuit_breaker.errors import StoreUnavailableError
from circuit_breaker.schedule import RecoverySchedule, lookup
from circuit_breaker.state import CircuitBreakerState

logger = logging.getLogger("circuit_breaker")


@dataclass(frozen=True, slots=True)
class FailureInfo:
    """The last counted failure, as shown in status (message at most 200 chars)."""

    type: str
    message: str
    at: float

    @classmethod
    def from_exception(cls, exc: BaseException, at: float) -> FailureInfo:
        return cls(type(exc).__name__, str(exc)[:200], at)


@dataclass(frozen=True, slots=True)
class Policy:
    """The part of a breaker's configuration a transition needs."""

    failure_threshold: int
    schedule: RecoverySchedule
    after_exhausted: str
    probe_timeout: float
    intervals: tuple[float, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "intervals", self.schedule.compact_intervals())

    def interval(self, trip: int) -> float:
        """Nominal interval after trip ``trip`` (stores with a Lua mirror use ``intervals``)."""
        return lookup(self.intervals, self.schedule.fixed_retries, trip)


@dataclass(frozen=True, slots=True)
class BreakerRecord:
    """A breaker's shared state; a fresh record is CLOSED with zero counters."""

    state: CircuitBreakerState = CircuitBreakerState.CLOSED
    failure_count: int = 0
    consecutive_breaks: int = 0
    opened_at: float | None = None
    retry_at: float | None = None
    probe_token: str | None = None
    probe_until: float | None = None
    reason: str | None = None
    changed_at: float | None = None
    changed_by: str | None = None
    last_failure: FailureInfo | None = None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What an operation leaves behind, and whether it moved the state."""

    record: BreakerRecord
    now: float
    previous_state: CircuitBreakerState | None = None


RemoteListener = Callable[[BreakerRecord, float], None]


@runtime_checkable
class BreakerStore(Protocol):
    """Where breaker state lives. See the module docstring for the rules."""

    performs_io: bool
    polled: bool
    sync_interval: float
    instance_id: str

    def load(self, name: str, now: float) -> StoreResult: ...

    def load_many(self, names: Sequence[str], now: float) -> dict[str, StoreResult]:
        """Several records in one round trip (health endpoint, status)."""
        ...

    def record_failure(
        self, name: str, policy: Policy, failure: FailureInfo, jitter: float, now: float
    ) -> StoreResult: ...

    def record_success(self, name: str, now: float) -> StoreResult: ...

    def acquire_probe(self, name: str, policy: Policy, token: str, now: float) -> StoreResult:
        """Grant the probe permit to ``token`` if due; granted iff record.probe_token == token."""
        ...

    def complete_probe(
        self,
        name: str,
        policy: Policy,
        token: str,
        failure: FailureInfo | None,
        jitter: float,
        now: float,
    ) -> StoreResult:
        """The probe's outcome: ``failure`` None means it succeeded."""
        ...

    def release_probe(self, name: str, token: str, now: float) -> StoreResult: ...

    def set_state(self, name: str, state: CircuitBreakerState, now: float) -> StoreResult:
        """Manual control: CLOSED (reset), FORCED_OPEN or DISABLED."""
        ...

    def watch(self, name: str, listener: RemoteListener) -> None:
        """Call ``listener(record, now)`` when another process changes ``name``.

        Stores without push notifications do nothing here (``polled`` covers them).
        """
        ...

    def unwatch(self, name: str, listener: RemoteListener) -> None:
        """Undo ``watch`` (listeners compare with ``==``: bound methods are fresh objects)."""
        ...

    def close(self) -> None: ...


class OutageGuard:
    """Shared-store helper: one warning per outage, exponential backoff between retries.

    Wrap each round trip in ``with guard.attempt():``. While backing off it raises
    StoreUnavailableError at once, without touching the network.
    """

    def __init__(
        self,
        store_name: str,
        errors: tuple[type[BaseException], ...],
        *,
        initial_backoff: float = 0.5,
        max_backoff: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store_name = store_name
        self._errors = errors
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._clock = clock
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._backoff = initial_backoff
        self._retry_at = 0.0

    @property
    def is_down(self) -> bool:
        return self._down_since is not None

    @contextmanager
    def attempt(self) -> Iterator[None]:
        if self._down_since is not None and self._clock() < self._retry_at:
            raise StoreUnavailableError(f"{self._store_name} unavailable (backing off)")
        try:
            yield
        except self._errors as exc:
            self._failed(exc)
            raise StoreUnavailableError(f"{self._store_name} unavailable: {exc}") from exc
        else:
            self._succeeded()

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            now = self._clock()
            if self._down_since is None:
                self._down_since = now
                self._backoff = self._initial_backoff
                logger.warning(
                    "%s unreachable (%s); breakers go on with local state until it returns",
                    self._store_name,
                    exc,
                    extra={"store": self._store_name},
                )
            else:
                self._backoff = min(self._backoff * 2, self._max_backoff)
            self._retry_at = now + self._backoff

    def _succeeded(self) -> None:
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is not None:
                logger.info(
                    "%s reachable again after %.1fs; breaker state resyncs from it",
                    self._store_name,
                    self._clock() - self._down_since,
                    extra={"store": self._store_name},
                )
                self._down_since = None
