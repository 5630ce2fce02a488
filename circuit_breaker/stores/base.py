"""The store protocol: what a breaker needs from wherever its state lives.

A store keeps one :class:`BreakerRecord` per breaker name and applies every operation
(:mod:`circuit_breaker.core.operations`) atomically -- under a lock, in one Lua script,
in one transaction holding a row lock -- deciding with the one state machine,
:func:`circuit_breaker.core.transitions.apply` (the Redis script mirrors it).

Rules every store keeps:

* Times are seconds in the store's own clock. The caller passes ``now`` from its clock;
  a shared store ignores it and uses its server's clock (so host clock skew is
  harmless), and returns the time it used in :attr:`StoreResult.now`.
* ``record.seq`` grows with every write and never goes backwards, even if the record
  expires and is created again (seed it from the store clock, in microseconds).
* ``apply`` returns the record as it is afterwards; ``previous_state`` is set only when
  THIS operation changed the state, so exactly one process reports a transition.
* The configuration travels with each operation; it is never stored as truth, so a
  YAML change takes effect on the next transition.
* A shared store that cannot be reached raises :class:`StoreUnavailableError` and
  nothing else; the breaker then goes on with local state. :class:`OutageGuard` keeps
  callers off the network while the store is down and logs once per outage.
* A shared store runs a background thread: it pushes other processes' changes to the
  breakers that ``watch`` a name, refreshes them every ``sync_interval``, and lets them
  ``flush`` what they owe the store. Callers never wait for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, runtime_checkable

from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.core.operations import Operation
from circuit_breaker.core.record import BreakerRecord
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.core.transitions import apply
from circuit_breaker.errors import StoreUnavailableError

logger = logging.getLogger("circuit_breaker")


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What an operation leaves behind, and whether it moved the state."""

    record: BreakerRecord
    now: float
    previous_state: CircuitBreakerState | None = None


def decide(
    record: BreakerRecord,
    operation: Operation,
    config: BreakerConfig,
    now: float,
    actor: str | None,
) -> tuple[BreakerRecord | None, StoreResult]:
    """The state machine's verdict as a store reports it: ``(record to write, result)``.

    Stores that hold the record in Python (memory, database) call this inside their
    lock or transaction and write the first element when it is not None.
    """
    updated = apply(record, operation, config, now, actor)
    if updated is None:
        return None, StoreResult(record, now)
    moved = updated.state is not record.state
    return updated, StoreResult(updated, now, record.state if moved else None)


class Follower(Protocol):
    """A breaker's local view, as a shared store's background thread sees it."""

    def adopt(self, result: StoreResult) -> None:
        """A record the store holds now (pushed by another process, or a refresh)."""

    def lost(self, error: str) -> None:
        """The store cannot be reached: go on with local state."""

    def flush(self) -> None:
        """Send what the breaker owes the store (verdicts taken while it was down)."""


@runtime_checkable
class BreakerStore(Protocol):
    """Where breaker state lives. See the module docstring for the rules."""

    shared: bool
    """True for stores other processes see: operations are I/O (run off an event loop)."""
    sync_interval: float
    flush_interval: float
    """How often breakers send their rate-rule counts (0: a local store, judged at once)."""
    instance_id: str

    def apply(
        self, name: str, operation: Operation, config: BreakerConfig, now: float
    ) -> StoreResult:
        """Apply ``operation`` atomically. A manual operation (``operation.manual``) is
        tried even while the store is believed down, on a fresh connection."""
        ...

    def load_many(self, names: Sequence[str], now: float) -> dict[str, StoreResult]:
        """Several records in one round trip (per node), tried even while believed down."""
        ...

    def watch(self, name: str, follower: Follower) -> None:
        """Keep ``follower`` up to date with ``name`` (nothing to do for a local store)."""
        ...

    def unwatch(self, name: str, follower: Follower) -> None: ...

    def flush_soon(self) -> None:
        """A breaker's own counts would trip it: let followers flush now, off the caller."""
        ...

    def close(self) -> None: ...


class OutageGuard:
    """Keeps callers off an unreachable store; one warning per outage.

    Callers wrap a round trip in :meth:`attempt`: while the store is down it raises
    StoreUnavailableError at once, without touching the network -- a store that hangs
    rather than refuses would otherwise cost a caller a timeout now and then. The
    store's background thread (every ``sync_interval``) and manual actions use
    :meth:`probe`, which always tries; its success lets callers back at once, so the
    staleness bound holds from the moment the store answers again.

    ``is_outage`` tells an outage (the store cannot be talked to) from an error about
    one operation (bad data): only an outage keeps callers away from other breakers.
    """

    def __init__(
        self,
        store_name: str,
        errors: tuple[type[BaseException], ...],
        *,
        is_outage: Callable[[BaseException], bool] = lambda exc: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store_name = store_name
        self._errors = errors
        self._is_outage = is_outage
        self._clock = clock
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self.error: str | None = None
        self._round_trip = _GuardedRoundTrip(self)

    @property
    def is_down(self) -> bool:
        return self._down_since is not None

    def attempt(self) -> RoundTrip:
        """Around a caller's round trip: raises StoreUnavailableError at once while down."""
        if self._down_since is not None:
            raise StoreUnavailableError(f"{self._store_name} unavailable: {self.error}")
        return self._round_trip

    def probe(self) -> RoundTrip:
        """Around a round trip that is tried even while the store is believed down."""
        return self._round_trip

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            now = self._clock()
            self.error = str(exc) or type(exc).__name__
            if self._down_since is None:
                self._down_since = now
                logger.warning(
                    "%s unreachable (%s); breakers go on with local state until it returns",
                    self._store_name,
                    self.error,
                    extra={"store": self._store_name},
                )

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
                self.error = None


class RoundTrip:
    """The context of one round trip: ``with`` it, and ``settle`` learns how it went.

    A class, not a generator: it runs on every store call. Stateless, so one instance
    serves every thread.
    """

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.settle(exc)

    def settle(self, exc: BaseException | None) -> None:
        """The round trip ended, with ``exc`` or without; raise to replace ``exc``."""
        raise NotImplementedError


class _GuardedRoundTrip(RoundTrip):
    __slots__ = ("_guard",)

    def __init__(self, guard: OutageGuard) -> None:
        self._guard = guard

    def settle(self, exc: BaseException | None) -> None:
        guard = self._guard
        if exc is None:
            guard._succeeded()
        elif isinstance(exc, guard._errors):
            if not guard._is_outage(exc):
                raise StoreUnavailableError(f"{guard._store_name} refused: {exc}") from exc
            guard._failed(exc)
            raise StoreUnavailableError(f"{guard._store_name} unavailable: {exc}") from exc
