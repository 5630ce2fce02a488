"""The circuit breaker: admission, the hot path, events and status.

Transitions are decided by :mod:`circuit_breaker.transitions` inside the store; this
class keeps a local view of the store's record so that the common case (a successful
call on a CLOSED breaker with no failures) touches neither a lock nor the store.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import logging
import math
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar, overload

from circuit_breaker.errors import CircuitOpenError, StoreUnavailableError
from circuit_breaker.events import BreakerEvent, EventKind, Listener, dispatch
from circuit_breaker.schedule import RecoverySchedule, jitter_factor
from circuit_breaker.state import CircuitBreakerState
from circuit_breaker.stores.base import (
    BreakerRecord,
    BreakerStore,
    FailureInfo,
    Policy,
    StoreResult,
)
from circuit_breaker.stores.memory import MemoryStore

logger = logging.getLogger("circuit_breaker")

P = ParamSpec("P")
R = TypeVar("R")

CLOSED = CircuitBreakerState.CLOSED
OPEN = CircuitBreakerState.OPEN
HALF_OPEN = CircuitBreakerState.HALF_OPEN
FORCED_OPEN = CircuitBreakerState.FORCED_OPEN
DISABLED = CircuitBreakerState.DISABLED

# Admission permits: None for an ordinary call, a token string for the probe.
_UNCOUNTED = "-"  # DISABLED: the call passes and nothing is counted
_ASK_STORE = "?"  # the local view cannot decide: refresh or acquire the probe

AFTER_EXHAUSTED = ("keep_probing", "stay_open")
OUTCOMES = ("success", "failure", "ignored", "rejected")
_anonymous = itertools.count(1)
StoreOperation = Callable[[BreakerStore, float], StoreResult]


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _check_number(
    name: str, value: object, *, minimum: float, inclusive: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value)
    too_small = number < minimum if inclusive else number <= minimum
    if math.isnan(number) or math.isinf(number) or too_small:
        relation = ">=" if inclusive else ">"
        raise ValueError(f"{name} must be a finite number {relation} {minimum}, got {value!r}")
    return number


def _dotted(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _peek(counter: itertools.count[int]) -> int:
    """Current value of an itertools.count without advancing it."""
    return int(repr(counter)[6:-1])


def _iso(wall_seconds: float | None) -> str | None:
    if wall_seconds is None:
        return None
    return datetime.fromtimestamp(wall_seconds, UTC).isoformat(timespec="seconds")


class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive failures; recovers on a hybrid schedule.

    The first five parameters keep the original library's order and defaults.
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        base_interval_minutes: float = 5,
        fixed_interval_retries: int = 3,
        max_exponential_retries: int = 5,
        jitter_enabled: bool = True,
        *,
        name: str | None = None,
        backoff_multiplier: float = 2.0,
        max_interval_minutes: float | None = None,
        jitter_ratio: float = 0.1,
        after_exhausted: str = "keep_probing",
        probe_timeout_seconds: float = 60.0,
        ignore_exceptions: Iterable[type[BaseException]] = (),
        is_failure: Callable[[BaseException], bool] | None = None,
        store: BreakerStore | None = None,
        clock: Callable[[], float] | None = None,
        listeners: Iterable[Listener] = (),
        profile: str | None = None,
        critical: bool = False,
    ) -> None:
        self.failure_threshold = _check_int("failure_threshold", failure_threshold, 1)
        self.base_interval_minutes = _check_number(
            "base_interval_minutes", base_interval_minutes, minimum=0
        )
        self.fixed_interval_retries = _check_int(
            "fixed_interval_retries", fixed_interval_retries, 0
        )
        self.max_exponential_retries = _check_int(
            "max_exponential_retries", max_exponential_retries, 0
        )
        if not isinstance(jitter_enabled, bool):
            raise ValueError(f"jitter_enabled must be True or False, got {jitter_enabled!r}")
        self.jitter_enabled = jitter_enabled
        self.backoff_multiplier = _check_number(
            "backoff_multiplier", backoff_multiplier, minimum=1, inclusive=True
        )
        self.max_interval_minutes = (
            None
            if max_interval_minutes is None
            else _check_number("max_interval_minutes", max_interval_minutes, minimum=0)
        )
        self.jitter_ratio = _check_number("jitter_ratio", jitter_ratio, minimum=0, inclusive=True)
        if self.jitter_ratio >= 1:
            raise ValueError(f"jitter_ratio must be in [0, 1), got {jitter_ratio!r}")
        if after_exhausted not in AFTER_EXHAUSTED:
            raise ValueError(
                f"after_exhausted must be one of {', '.join(AFTER_EXHAUSTED)}, "
                f"got {after_exhausted!r}"
            )
        self.after_exhausted = after_exhausted
        self.probe_timeout_seconds = _check_number(
            "probe_timeout_seconds", probe_timeout_seconds, minimum=0
        )
        self.ignore_exceptions = tuple(ignore_exceptions)
        for cls in self.ignore_exceptions:
            if not (isinstance(cls, type) and issubclass(cls, BaseException)):
                raise ValueError(f"ignore_exceptions must hold exception classes, got {cls!r}")
        if is_failure is not None and not callable(is_failure):
            raise ValueError(f"is_failure must be callable, got {is_failure!r}")
        if clock is not None and not callable(clock):
            raise ValueError(f"clock must be a zero-argument callable, got {clock!r}")
        self.is_failure = is_failure
        self.name = name if name is not None else f"breaker-{next(_anonymous)}"
        self.profile = profile
        self.critical = bool(critical)

        self.schedule = RecoverySchedule(
            base=self.base_interval_minutes * 60,
            fixed_retries=self.fixed_interval_retries,
            max_exponential_retries=self.max_exponential_retries,
            multiplier=self.backoff_multiplier,
            max_interval=None
            if self.max_interval_minutes is None
            else self.max_interval_minutes * 60,
        )
        self._policy = Policy(
            failure_threshold=self.failure_threshold,
            schedule=self.schedule,
            after_exhausted=self.after_exhausted,
            probe_timeout=self.probe_timeout_seconds,
        )
        self._store: BreakerStore = store if store is not None else MemoryStore()
        self._clock: Callable[[], float] = clock or time.monotonic
        self._listeners: tuple[Listener, ...] = tuple(listeners)
        self._view_lock = threading.Lock()
        # Outcome tallies for metrics: itertools.count is atomic under the GIL, so
        # counting needs no lock. Off by default to keep the hot path bare.
        self._counting = False
        self._tally = {outcome: itertools.count() for outcome in OUTCOMES}
        self._successes = self._tally["success"]
        self._rejected = self._tally["rejected"]
        # Local-clock bounds of a rejection known in advance (see _update_hot).
        self._reject_until = -math.inf
        self._open_deadline = math.inf
        self._transitions: dict[tuple[str, str], int] = {}
        self._fallback: MemoryStore | None = None  # local state while the store is down

        # The local view of the store's record, and the time base to read it with.
        self._record = BreakerRecord()
        self._store_now = self._local_at = self._clock()
        self._fresh_until = -math.inf
        self._hot = False
        if not self._store.polled:
            self._refresh(self._clock())
        self._store.watch(self.name, self._on_remote)

    # -- configuration -----------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """The resolved configuration, JSON-serialisable (status ``config``)."""
        return {
            "failure_threshold": self.failure_threshold,
            "base_interval_minutes": self.base_interval_minutes,
            "fixed_interval_retries": self.fixed_interval_retries,
            "max_exponential_retries": self.max_exponential_retries,
            "jitter_enabled": self.jitter_enabled,
            "backoff_multiplier": self.backoff_multiplier,
            "max_interval_minutes": self.max_interval_minutes,
            "jitter_ratio": self.jitter_ratio,
            "after_exhausted": self.after_exhausted,
            "probe_timeout_seconds": self.probe_timeout_seconds,
            "ignore_exceptions": [_dotted(cls) for cls in self.ignore_exceptions],
            "is_failure": None
            if self.is_failure is None
            else getattr(self.is_failure, "__qualname__", repr(self.is_failure)),
        }

    @property
    def store(self) -> BreakerStore:
        return self._store

    def add_listener(self, listener: Listener) -> None:
        self._listeners = (*self._listeners, listener)
        self._update_hot()

    def remove_listener(self, listener: Listener) -> None:
        self._listeners = tuple(x for x in self._listeners if x is not listener)
        self._update_hot()

    def enable_call_counting(self) -> None:
        """Count calls by outcome (for metrics): one lock-free increment per success."""
        self._counting = True
        self._update_hot()

    def call_counts(self) -> dict[str, int]:
        """Calls by outcome; successes are tallied only while counting is enabled."""
        return {outcome: _peek(counter) for outcome, counter in self._tally.items()}

    def transition_counts(self) -> dict[tuple[str, str], int]:
        """State changes this process made or learned of, by (from, to)."""
        return dict(self._transitions)

    # -- calling -----------------------------------------------------------------------

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call ``fn`` through the breaker; raises CircuitOpenError when it rejects."""
        if self._hot:
            try:
                # Unpacking an empty kwargs dict costs a dict: skip it in the common case.
                result = fn(*args, **kwargs) if kwargs else fn(*args)  # type: ignore[call-arg]
            except BaseException as exc:
                self._after_error(exc, None)
                raise
            if self._counting:
                next(self._successes)
            return result
        local_now = self._clock()
        if local_now < self._reject_until:
            raise self._fast_rejection(local_now)
        permit = self._admit_locally(local_now)
        if permit == _ASK_STORE:
            permit = self._admit_via_store(local_now)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._after_error(exc, permit)
            raise
        if permit is not None or self._counting or self._listeners or self._record.failure_count:
            self._after_success(permit)
        return result

    async def call_async(
        self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Await ``fn(*args, **kwargs)`` through the breaker; store I/O runs off the loop."""
        if self._hot:
            try:
                result = await (fn(*args, **kwargs) if kwargs else fn(*args))  # type: ignore[call-arg]
            except BaseException as exc:
                await self._offload(self._after_error, exc, None)
                raise
            if self._counting:
                next(self._successes)
            return result
        local_now = self._clock()
        if local_now < self._reject_until:
            raise self._fast_rejection(local_now)
        permit = self._admit_locally(local_now)
        if permit == _ASK_STORE:
            permit = await self._offload(self._admit_via_store, local_now)
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            await self._offload(self._after_error, exc, permit)
            raise
        if permit is not None or self._record.failure_count:
            await self._offload(self._after_success, permit)
        elif self._counting or self._listeners:
            self._after_success(permit)
        return result

    async_call = call_async

    @overload
    def __call__(self, fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]: ...

    @overload
    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]: ...

    def __call__(self, fn: Callable[P, Any]) -> Callable[P, Any]:
        """Decorate a sync or async function; the hot path is inlined in the wrapper."""
        breaker = self
        if inspect.iscoroutinefunction(fn):
            call_async = self.call_async

            @functools.wraps(fn)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                if breaker._hot:
                    try:
                        result = await (fn(*args, **kwargs) if kwargs else fn(*args))  # type: ignore[call-arg]
                    except BaseException as exc:
                        await breaker._offload(breaker._after_error, exc, None)
                        raise
                    if breaker._counting:
                        next(breaker._successes)
                    return result
                return await call_async(fn, *args, **kwargs)

            return async_wrapper

        call = self.call

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            if breaker._hot:
                try:
                    result = fn(*args, **kwargs) if kwargs else fn(*args)  # type: ignore[call-arg]
                except BaseException as exc:
                    breaker._after_error(exc, None)
                    raise
                if breaker._counting:
                    next(breaker._successes)
                return result
            return call(fn, *args, **kwargs)

        return wrapper

    async def _offload(self, fn: Callable[..., R], *args: Any) -> R:
        if self._store.performs_io:
            return await asyncio.to_thread(fn, *args)
        return fn(*args)

    # -- admission ---------------------------------------------------------------------

    def _admit_locally(self, local_now: float) -> str | None:
        """Decide from the local view alone, or answer _ASK_STORE."""
        if local_now >= self._fresh_until and self._store.polled:
            return _ASK_STORE
        record = self._record
        state = record.state
        if state is CLOSED:
            return None
        if state is DISABLED:
            return _UNCOUNTED
        if state is FORCED_OPEN:
            raise self._reject(record, None)
        store_now = self._store_now + (local_now - self._local_at)
        if state is OPEN:
            if record.retry_at is not None and store_now < record.retry_at:
                raise self._reject(record, record.retry_at - store_now)
        elif record.probe_until is not None and store_now < record.probe_until:
            raise self._reject(record, None)
        return _ASK_STORE

    def _admit_via_store(self, local_now: float) -> str | None:
        if local_now >= self._fresh_until and self._store.polled:
            self._refresh(local_now)
            permit = self._admit_locally(local_now)
            if permit != _ASK_STORE:
                return permit
        token = uuid.uuid4().hex
        name, policy = self.name, self._policy
        result = self._run(lambda store, now: store.acquire_probe(name, policy, token, now))
        record = result.record
        if record.probe_token == token:
            return token
        if record.state is CLOSED:
            return None  # another process's probe closed it meanwhile: an ordinary call
        if record.state is DISABLED:
            return _UNCOUNTED
        retry_after = None
        if record.state is OPEN and record.retry_at is not None:
            retry_after = max(0.0, record.retry_at - result.now)
        raise self._reject(record, retry_after)

    def _fast_rejection(self, local_now: float) -> CircuitOpenError:
        """OPEN before its deadline, or FORCED_OPEN, known without reading the record."""
        next(self._rejected)
        deadline = self._open_deadline
        retry_after = None if deadline == math.inf else deadline - local_now
        return CircuitOpenError(self.name, self._record.state, retry_after)

    def _reject(self, record: BreakerRecord, retry_after: float | None) -> CircuitOpenError:
        state = record.state
        error = CircuitOpenError(self.name, state, retry_after)
        next(self._tally["rejected"])
        if self._listeners:
            dispatch(self._listeners, BreakerEvent("rejected", self.name, old=state, new=state))
        return error

    # -- outcomes ----------------------------------------------------------------------

    def _counts_as_failure(self, exc: Exception) -> bool:
        if self.ignore_exceptions and isinstance(exc, self.ignore_exceptions):
            return False
        if self.is_failure is None:
            return True
        try:
            return bool(self.is_failure(exc))
        except Exception:
            logger.exception("is_failure of breaker %r raised; counting a failure", self.name)
            return True

    def _after_error(self, exc: BaseException, permit: str | None) -> None:
        name = self.name
        if not isinstance(exc, Exception):
            # Cancellation and interrupts say nothing about the dependency.
            if permit is not None and permit != _UNCOUNTED:
                self._run(lambda store, now: store.release_probe(name, permit, now))
            return
        if permit == _UNCOUNTED:
            return
        if not self._counts_as_failure(exc):
            # The dependency answered: an ignored exception counts as a success.
            self._after_success(permit, "ignored", exc)
            return
        policy = self.policy
        jitter = jitter_factor(self.jitter_ratio, self.jitter_enabled)
        info = FailureInfo.from_exception(exc, self._store_time(self._clock()))
        if permit is not None:
            self._run(
                lambda store, now: store.complete_probe(name, policy, permit, info, jitter, now)
            )
        elif self._record.state is CLOSED:
            self._run(lambda store, now: store.record_failure(name, policy, info, jitter, now))
        next(self._tally["failure"])
        self._emit("failure", exception=exc)

    def _after_success(
        self,
        permit: str | None,
        outcome: EventKind = "success",
        exc: BaseException | None = None,
    ) -> None:
        if permit == _UNCOUNTED:
            return
        name = self.name
        if permit is not None:
            policy = self.policy
            self._run(
                lambda store, now: store.complete_probe(name, policy, permit, None, 1.0, now)
            )
        elif self._record.state is CLOSED and self._record.failure_count:
            self._run(lambda store, now: store.record_success(name, now))
        next(self._tally[outcome])
        self._emit(outcome, exception=exc)

    @property
    def policy(self) -> Policy:
        return self._policy

    # -- manual control ----------------------------------------------------------------

    def reset(self, *, actor: str | None = None) -> None:
        """Back to automatic operation: CLOSED, both counters at zero."""
        self._set_state(CLOSED, actor)

    def force_open(self, *, actor: str | None = None) -> None:
        """Reject every call, with no probes, until ``reset()``."""
        self._set_state(FORCED_OPEN, actor)

    def disable(self, *, actor: str | None = None) -> None:
        """Let every call through and count nothing, until ``reset()``."""
        self._set_state(DISABLED, actor)

    def _set_state(self, state: CircuitBreakerState, actor: str | None) -> None:
        name = self.name
        self._run(lambda store, now: store.set_state(name, state, now), actor=actor)

    # -- the local view ----------------------------------------------------------------

    def _store_time(self, local_now: float) -> float:
        return self._store_now + (local_now - self._local_at)

    def _run(self, operation: StoreOperation, *, actor: str | None = None) -> StoreResult:
        """One store operation; while the store is down, the same one on local state."""
        local_now = self._clock()
        now = self._store_time(local_now)
        degraded = self._fallback is not None
        try:
            result = operation(self._store, now)
        except StoreUnavailableError:
            if self._fallback is None:
                self._fallback = MemoryStore()
                self._fallback._records[self.name] = self._record
            result = operation(self._fallback, now)
        else:
            self._fallback = None
        self._accept(result, local_now, force=degraded and self._fallback is None, actor=actor)
        return result

    def _refresh(self, local_now: float) -> None:
        self._run(lambda store, now: store.load(self.name, now))

    def _on_remote(self, record: BreakerRecord, store_now: float) -> None:
        """A store pushes a record another process changed (or a periodic refresh).

        After an outage the store's record wins over local state, whatever its seq.
        """
        degraded = self._fallback is not None
        self._accept(StoreResult(record, store_now), self._clock(), force=degraded, actor=None)
        self._fallback = None

    def _accept(
        self,
        result: StoreResult,
        local_now: float,
        *,
        force: bool,
        actor: str | None,
    ) -> None:
        record = result.record
        with self._view_lock:
            old = self._record
            newer = force or record.seq >= old.seq
            if newer:
                self._record = record
                self._store_now = result.now
                self._local_at = local_now
                self._fresh_until = local_now + self._store.sync_interval
                self._update_hot()
        if result.previous_state is not None:
            self._state_changed(result.previous_state, record, "local", actor)
        elif newer and old.state is not record.state and (
            record.changed_by != self._store.instance_id or force
        ):
            self._state_changed(old.state, record, "remote", None)

    def _update_hot(self) -> None:
        record = self._record
        self._hot = (
            record.state is CLOSED
            and not record.failure_count
            and not self._listeners
            and not self._store.polled
        )
        until = deadline = -math.inf
        if not self._listeners:  # listeners want "rejected" events: take the full path
            if record.state is OPEN and record.retry_at is not None:
                until = deadline = self._local_at + (record.retry_at - self._store_now)
            elif record.state is FORCED_OPEN:
                until = deadline = math.inf
            if self._store.polled:
                until = min(until, self._fresh_until)
        self._open_deadline, self._reject_until = deadline, until

    def _state_changed(
        self,
        old: CircuitBreakerState,
        record: BreakerRecord,
        origin: str,
        actor: str | None,
    ) -> None:
        new = record.state
        with self._view_lock:
            key = (old.value, new.value)
            self._transitions[key] = self._transitions.get(key, 0) + 1
        if origin == "local":
            retry_in = None
            if new is OPEN and record.retry_at is not None and record.opened_at is not None:
                retry_in = round(record.retry_at - record.opened_at, 3)
            level = logging.WARNING if new in (OPEN, FORCED_OPEN) else logging.INFO
            logger.log(
                level,
                "circuit breaker %r: %s -> %s (%s)%s",
                self.name,
                old.value,
                new.value,
                record.reason,
                "" if retry_in is None else f", retry in {retry_in:g}s",
                extra={
                    "breaker": self.name,
                    "from_state": old.value,
                    "to_state": new.value,
                    "reason": record.reason,
                    "consecutive_breaks": record.consecutive_breaks,
                    "retry_in_seconds": retry_in,
                    "actor": actor,
                },
            )
        if self._listeners:
            event = BreakerEvent(
                "state_change",
                self.name,
                old=old,
                new=new,
                reason=record.reason,
                origin="local" if origin == "local" else "remote",
                actor=actor,
            )
            dispatch(self._listeners, event)

    def _emit(self, kind: EventKind, *, exception: BaseException | None = None) -> None:
        if self._listeners:
            dispatch(self._listeners, BreakerEvent(kind, self.name, exception=exception))

    def _current(self) -> BreakerRecord:
        """The view, reloaded first if a polled store's copy is stale."""
        if self._store.polled:
            local_now = self._clock()
            if local_now >= self._fresh_until:
                self._refresh(local_now)
        return self._record

    def detach(self) -> None:
        """Stop following the store's pushed changes (the registry replaced this breaker)."""
        self._store.unwatch(self.name, self._on_remote)

    def sync(self) -> None:
        """Reload the record from the store now (status pages, after a remote change)."""
        self._refresh(self._clock())

    # -- status ------------------------------------------------------------------------

    def _visible_state(self, record: BreakerRecord, store_now: float) -> CircuitBreakerState:
        if record.state is OPEN and record.retry_at is not None and store_now >= record.retry_at:
            return HALF_OPEN
        return record.state

    @property
    def state(self) -> CircuitBreakerState:
        """HALF_OPEN as soon as the retry deadline has passed, before any probe."""
        record = self._current()
        return self._visible_state(record, self._store_time(self._clock()))

    @property
    def failure_count(self) -> int:
        return self._current().failure_count

    @property
    def consecutive_circuit_breaks(self) -> int:
        return self._current().consecutive_breaks

    def get_status_info(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot for monitoring (DESIGN 2.3)."""
        return self._status(self._current())

    def _status(self, record: BreakerRecord) -> dict[str, Any]:
        store_now = self._store_time(self._clock())
        wall_offset = time.time() - store_now

        def wall(t: float | None) -> str | None:
            return None if t is None else _iso(t + wall_offset)

        state = self._visible_state(record, store_now)
        trip = record.consecutive_breaks
        if record.opened_at is not None and record.retry_at is not None:
            timeout = record.retry_at - record.opened_at
        else:
            timeout = self.schedule.interval(max(trip, 1))
        until_retry = None
        if state is OPEN and record.retry_at is not None:
            until_retry = max(0.0, record.retry_at - store_now) / 60
        failure = record.last_failure
        return {
            "name": self.name,
            "profile": self.profile,
            "state": state.value,
            "failure_count": record.failure_count,
            "consecutive_circuit_breaks": trip,
            "retry_phase": "closed" if state is CLOSED else self.schedule.phase(trip),
            "current_recovery_timeout_minutes": timeout / 60,
            "time_until_retry_minutes": until_retry,
            "opened_at": wall(record.opened_at),
            "next_retry_at": wall(record.retry_at) if state in (OPEN, HALF_OPEN) else None,
            "exhausted": self.schedule.exhausted(trip),
            "critical": self.critical,
            "last_failure": None
            if failure is None
            else {"type": failure.type, "message": failure.message, "at": wall(failure.at)},
            "last_transition": {
                "reason": record.reason,
                "at": wall(record.changed_at),
            },
            "config": self.settings(),
        }

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self._record.state.value}>"


def sync_breakers(breakers: Sequence[CircuitBreaker]) -> None:
    """Refresh many breakers with one round trip per store (health endpoint, status)."""
    by_store: dict[int, list[CircuitBreaker]] = {}
    for breaker in breakers:
        by_store.setdefault(id(breaker.store), []).append(breaker)
    for group in by_store.values():
        store = group[0].store
        local_now = group[0]._clock()
        try:
            results = store.load_many([b.name for b in group], group[0]._store_time(local_now))
        except StoreUnavailableError:
            continue
        for breaker in group:
            result = results.get(breaker.name)
            if result is not None:
                breaker._accept(
                    result,
                    breaker._clock(),
                    force=breaker._fallback is not None,
                    actor=None,
                )
                breaker._fallback = None

