"""A breaker's local view of its store record: what makes the hot path free.

The view holds the last record the store returned or pushed, and the time base to read
it with (store clock = ``store_now + (local clock - local_at)``), so admission decides
from memory. From the record it derives the fast paths the breaker's entry points read:
``_hot`` (CLOSED, no failures, nobody listening: call the function and nothing else) and
``_reject_until`` (OPEN before its deadline, or FORCED_OPEN: reject without a lock).

While the store cannot be reached, operations run on a private memory store seeded with
the last record (the outage fallback), and the process keeps deciding on its own. A
probe permit or verdict taken that way is remembered by its token and settled with the
store by the store's background thread as soon as the store answers again
(:meth:`StoreView.flush`), so an orphan permit never locks the fleet out.

An observing breaker (``mode="observe"``) keeps its record in a private memory store
from the start and never follows the configured store: the mode is each process's own
setting, so traffic a process only observes must never open the breaker for processes
that enforce. Only manual actions, which are the operator's and not traffic, also reach
the configured store.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.core.operations import (
    AcquireProbe,
    CompleteProbe,
    FlushWindow,
    Operation,
    ReleaseProbe,
)
from circuit_breaker.core.record import FRESH_RECORD, BreakerRecord
from circuit_breaker.core.schedule import jitter_factor
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.core.status import StoreHealth, visible_state
from circuit_breaker.core.window import Totals, bucket_key, merge, settled_key, settled_totals
from circuit_breaker.errors import StoreUnavailableError
from circuit_breaker.events import BreakerEvent, Listener, dispatch
from circuit_breaker.local_window import LocalWindow
from circuit_breaker.stores.base import BreakerStore, StoreResult
from circuit_breaker.stores.memory import MemoryStore

logger = logging.getLogger("circuit_breaker")

CLOSED = CircuitBreakerState.CLOSED
OPEN = CircuitBreakerState.OPEN
FORCED_OPEN = CircuitBreakerState.FORCED_OPEN
DISABLED = CircuitBreakerState.DISABLED


@dataclass(frozen=True, slots=True)
class Admission:
    """Why a call may proceed: an ordinary call of ``generation``, or the probe ``token``.

    ``counted`` is False while the breaker is DISABLED: the call passes, nothing counts.
    """

    generation: int
    token: str | None = None
    counted: bool = True


UNCOUNTED = Admission(-1, counted=False)


class StoreView:
    """The record-following half of a breaker (see the module docstring)."""

    # Set by the breaker (see fallback.py); with a fallback on failure, no fast path.
    _fallback_handler: Callable[[Exception], Any] | None = None
    _fallback_on_failure = False

    def __init__(
        self,
        name: str,
        config: BreakerConfig,
        store: BreakerStore,
        clock: Callable[[], float],
        listeners: Iterable[Listener],
        *,
        load: bool = True,
    ) -> None:
        self.name = name
        self._config = config
        # An observer's configured store, reached by manual actions only (None: enforcing).
        self._fleet: BreakerStore | None = None
        if config.mode == "observe":
            self._fleet, store = store, MemoryStore()
        self._store = store
        self._clock = clock
        self._listeners: tuple[Listener, ...] = tuple(listeners)
        self._lock = threading.Lock()
        self._record = FRESH_RECORD
        self._store_now = self._local_at = 0.0
        self._fallback: MemoryStore | None = None  # local state while the store is down
        self._store_error: str | None = None
        self._unsettled: dict[str, Operation] = {}  # probe token -> what the store must hear
        self._transitions: dict[tuple[str, str], int] = {}
        self._ordinary = Admission(0)
        self._hot: Admission | None = None
        self._window: LocalWindow | None = None  # this process's rate-rule counts
        self._windowed: LocalWindow | None = None  # set when a call only needs counting
        self._reject_until = -math.inf
        if load:  # a registry reads all its breakers at once instead
            self._sync_now()
        store.watch(name, self)

    # -- time ------------------------------------------------------------------------

    def _store_time(self, local_now: float) -> float:
        return self._store_now + (local_now - self._local_at)

    # -- running operations ------------------------------------------------------------

    def _run(self, operation: Operation) -> StoreResult:
        """One operation on the store; if it cannot be reached, on local state instead.

        Nothing the store raises reaches the caller: an unexpected error is a store bug,
        logged, and handled like an outage for this one operation.
        """
        local_now = self._clock()
        now = self._store_time(local_now)
        try:
            result = self._store.apply(self.name, operation, self._config, now)
        except StoreUnavailableError as exc:
            return self._run_locally(operation, now, local_now, str(exc))
        except Exception as exc:
            logger.exception("circuit breaker %r: the store failed; using local state", self.name)
            return self._run_locally(operation, now, local_now, f"{type(exc).__name__}: {exc}")
        if isinstance(operation, CompleteProbe | ReleaseProbe):
            with self._lock:
                self._unsettled.pop(operation.token, None)
        self._accept(result, local_now, from_store=True)
        return result

    def _run_locally(
        self, operation: Operation, now: float, local_now: float, error: str
    ) -> StoreResult:
        with self._lock:
            fallback = self._fallback
            if fallback is None:
                fallback = self._fallback = MemoryStore({self.name: self._record})
            self._store_error = error
            # The store may hold a permit granted without our hearing the answer (or
            # one granted before it went away): it must learn what became of the token.
            if isinstance(operation, AcquireProbe):
                self._unsettled.setdefault(operation.token, ReleaseProbe(operation.token))
            elif isinstance(operation, CompleteProbe | ReleaseProbe):
                self._unsettled[operation.token] = operation
        result = fallback.apply(self.name, operation, self._config, now)
        self._accept(result, local_now, from_store=False)
        return result

    def _run_manual(self, operation: Operation, actor: str | None) -> StoreResult:
        """A manual action reaches the store or fails loudly (StoreUnavailableError); an
        observer's reaches the configured store first, then its private record."""
        local_now = self._clock()
        now = self._store_time(local_now)
        fleet = self._fleet
        if fleet is not None:
            fleet.apply(self.name, operation, self._config, now)
        result = self._store.apply(self.name, operation, self._config, now)
        self._accept(result, local_now, from_store=True, actor=actor)
        return result

    def _sync_now(self) -> None:
        """Read the record now (at construction, and for status pages)."""
        local_now = self._clock()
        try:
            results = self._store.load_many([self.name], self._store_time(local_now))
        except Exception as exc:  # StoreUnavailableError, or a store that is not ready
            self.lost(str(exc) or type(exc).__name__)
            return
        self._accept(results[self.name], local_now, from_store=True)

    def _change_mode(self, observe: bool) -> None:
        """Start observing (a private record, seeded with the current one) or stop (follow
        the configured store again; its record wins, as after an outage)."""
        with self._lock:
            if observe:
                fleet, self._store = self._store, MemoryStore({self.name: self._record})
                self._fleet, self._fallback, self._store_error = fleet, None, None
            else:
                assert self._fleet is not None
                fleet, self._store, self._fleet = self._fleet, self._fleet, None
                self._fallback = MemoryStore({self.name: self._record})
        if observe:
            fleet.unwatch(self.name, self)
        else:
            fleet.watch(self.name, self)
            self._sync_now()

    # -- what the store's background thread calls (the Follower protocol) ---------------

    # An observer follows no store: a delivery racing a switch to observe is dropped.

    def adopt(self, result: StoreResult) -> None:
        if self._fleet is None:
            self._accept(result, self._clock(), from_store=True)

    def lost(self, error: str) -> None:
        if self._fleet is not None:
            return
        with self._lock:
            if self._fallback is None:
                self._fallback = MemoryStore({self.name: self._record})
            self._store_error = error

    def flush(self) -> None:
        """Send what the breaker owes the store: what became of probe permits taken while
        it was down, and this process's rate-rule counts."""
        if self._fleet is not None:
            return
        with self._lock:
            pending = list(self._unsettled.items())
        for token, operation in pending:
            local_now = self._clock()
            try:
                result = self._store.apply(
                    self.name, operation, self._config, self._store_time(local_now)
                )
            except Exception:  # still unreachable: keep it for the next cycle
                return
            with self._lock:
                if self._unsettled.get(token) is operation:
                    del self._unsettled[token]
            self._accept(result, local_now, from_store=True)
        window = self._window
        drained = None if window is None or self._fallback is not None else window.drain()
        if window is not None and drained is not None:
            generation, buckets, fault = drained
            config = self._config
            jitter = jitter_factor(config.jitter_ratio, config.jitter_enabled)
            flush = FlushWindow(generation, buckets, self._store.flush_interval, fault, jitter)
            local_now = self._clock()
            try:
                result = self._store.apply(self.name, flush, config, self._store_time(local_now))
            except Exception:  # the store is away: the counts go back, to be judged here
                window.restore(generation, buckets, fault)
                return
            self._accept(result, local_now, from_store=True)

    # -- the view ----------------------------------------------------------------------

    def _accept(
        self,
        result: StoreResult,
        local_now: float,
        *,
        from_store: bool,
        actor: str | None = None,
    ) -> None:
        """Keep ``result`` if it is newer; after an outage the store's record wins."""
        record = result.record
        with self._lock:
            old = self._record
            seen = visible_state(old, result.now)  # what a person acting by hand saw
            force = from_store and self._fallback is not None
            if from_store:
                self._fallback = None
                self._store_error = None
            newer = force or record.seq >= old.seq
            if newer:
                self._record = record
                if math.isfinite(local_now) and math.isfinite(result.now):
                    self._store_now, self._local_at = result.now, local_now
                self._update_fast_paths()
        previous = result.previous_state
        if previous is not None:
            if actor is not None and previous is old.state:
                previous = seen
            self._state_changed(previous, record, "local", actor)
        elif (
            newer
            and old.state is not record.state
            and (force or record.changed_by != self._store.instance_id)
        ):
            self._state_changed(old.state, record, "remote", None)

    def _update_fast_paths(self) -> None:
        """Derive what the entry points read without a lock (call with ``_lock`` held)."""
        record, config = self._record, self._config
        if self._ordinary.generation != record.generation:
            self._ordinary = Admission(record.generation)
        rules = config.window
        window = self._window
        if rules is None:
            window = None
        elif window is None or window.rules != rules:
            window = LocalWindow(rules, record.generation)
        elif window.generation != record.generation:
            window.restart(record.generation)  # opened or closed: the window starts empty
        if window is not None:
            window.set_clock(self._local_at - self._store_now)
        self._window = window
        quiet = not self._listeners  # listeners want every event: take the full path
        plain = config.failure_on_result is None and not self._fallback_on_failure
        hot = quiet and plain and record.state is CLOSED and not record.failure_count
        self._hot = self._ordinary if hot and window is None else None
        self._windowed = window if hot else None
        until = -math.inf
        if quiet and config.mode == "enforce":
            if record.state is OPEN and record.retry_at is not None:
                until = self._local_at + (record.retry_at - self._store_now)
            elif record.state is FORCED_OPEN:
                until = math.inf
        self._reject_until = until

    def _store_health(self) -> StoreHealth:
        error = self._store_error
        return StoreHealth(reachable=self._fallback is None, error=error)

    def _judged_record(self) -> BreakerRecord:
        """The record, with the last failure of a rate window judged in this process (a
        rate rule alone sends no failure to a local store until it trips)."""
        record, window = self._record, self._window
        if window is None or (self._store.shared and self._fallback is None):
            return record
        recent = window.last_failure
        if recent is None or (record.last_failure and record.last_failure.at >= recent.at):
            return record
        return replace(record, last_failure=recent)

    def _window_totals(self, store_now: float) -> Totals | None:
        """The window the verdict looks at: this process's, or the fleet's settled part."""
        rules, window = self._config.window, self._window
        if rules is None or window is None:
            return None
        if not self._store.shared or self._fallback is not None:
            return window.totals(store_now)
        settled = settled_key(rules, store_now, self._store.flush_interval)
        current = bucket_key(rules, store_now)  # buckets the window slid past count no more
        return settled_totals(
            merge(self._record.window, (), rules, current, settled), rules, settled
        )

    # -- transitions: logs, events, counts ---------------------------------------------

    def _state_changed(
        self,
        old: CircuitBreakerState,
        record: BreakerRecord,
        origin: str,
        actor: str | None,
    ) -> None:
        new = record.state
        with self._lock:
            key = (old.value, new.value)
            self._transitions[key] = self._transitions.get(key, 0) + 1
        if origin == "local":
            _log_transition(self.name, old, record, actor, self._config.mode)
        if self._listeners:
            event = BreakerEvent(
                "state_change",
                self.name,
                old=old,
                new=new,
                reason=record.reason,
                origin="local" if origin == "local" else "remote",
                actor=actor,
                consecutive_breaks=record.consecutive_breaks,
                detail=record.detail,
            )
            dispatch(self._listeners, event)

    def transition_counts(self) -> dict[tuple[str, str], int]:
        """State changes this process made or learned of, by (from, to)."""
        with self._lock:
            return dict(self._transitions)


def _log_transition(
    name: str, old: CircuitBreakerState, record: BreakerRecord, actor: str | None, mode: str
) -> None:
    new = record.state
    retry_in = None
    if new is OPEN and record.retry_at is not None and record.opened_at is not None:
        retry_in = round(record.retry_at - record.opened_at, 3)
    logger.log(
        logging.WARNING if new in (OPEN, FORCED_OPEN) else logging.INFO,
        "circuit breaker %r: %s -> %s (%s)%s%s",
        name,
        old.value,
        new.value,
        record.reason,
        "" if retry_in is None else f", retry in {retry_in:g}s",
        "; observing: no call is rejected" if mode == "observe" else "",
        extra={
            "mode": mode,
            "breaker": name,
            "from_state": old.value,
            "to_state": new.value,
            "reason": record.reason,
            "consecutive_breaks": record.consecutive_breaks,
            "retry_in_seconds": retry_in,
            "actor": actor,
        },
    )
