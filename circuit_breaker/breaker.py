"""The circuit breaker: the public API and the hot paths of its four entry points.

``call``, ``call_async`` and the two decorator wrappers each inline the fast path (a
CLOSED breaker with no failures and nobody listening calls the function and nothing
else: no lock, no clock, no store); everything they decide beyond it is decided once,
in :mod:`circuit_breaker.gate`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ParamSpec, TypeVar, overload

from circuit_breaker.core.config import BreakerConfig, InvalidSetting, check_name
from circuit_breaker.core.operations import SetState
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.core.status import BreakerStatus, visible_state
from circuit_breaker.decorator import Decorator, decorator
from circuit_breaker.events import Listener
from circuit_breaker.fallback import (
    Fallback,
    call_async_with_fallback,
    call_with_fallback,
    check_fallback,
)
from circuit_breaker.permits import Permits
from circuit_breaker.stores.base import BreakerStore
from circuit_breaker.stores.memory import MemoryStore

P = ParamSpec("P")
R = TypeVar("R")

_anonymous = itertools.count(1)
# The constructor counts in minutes (the original library's unit); the config in seconds.
_MINUTE_PARAMETERS = {
    "base_interval_seconds": "base_interval_minutes",
    "max_interval_seconds": "max_interval_minutes",
}


def _in_seconds(minutes: Any) -> Any:
    if isinstance(minutes, bool) or not isinstance(minutes, int | float):
        return minutes  # the config rejects it, naming the parameter
    return minutes * 60


class CircuitBreaker(Permits):
    """Opens after ``failure_threshold`` consecutive failures (or when a failure or slow-call
    rate over a sliding window reaches its threshold); recovers on a hybrid schedule.

    The first five parameters keep the original library's order and defaults; everything
    else is keyword-only. Invalid values raise ValueError naming the parameter.
    """

    def __init__(
        self,
        failure_threshold: int | None = 5,
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
        failure_on_result: Callable[[Any], bool] | None = None,
        failure_rate_threshold: float | None = None,
        slow_call_rate_threshold: float | None = None,
        slow_call_duration_seconds: float | None = None,
        sliding_window_seconds: float | None = None,
        sliding_window_calls: int | None = None,
        minimum_calls: int = 20,
        mode: str = "enforce",
        failure_statuses: Iterable[int] | None = None,
        fallback: Fallback | None = None,
        fallback_on_failure: bool = False,
        store: BreakerStore | None = None,
        clock: Callable[[], float] | None = None,
        listeners: Iterable[Listener] = (),
        profile: str | None = None,
        critical: bool = False,
    ) -> None:
        given_minutes = {
            "base_interval_minutes": base_interval_minutes,
            "max_interval_minutes": max_interval_minutes,
        }
        try:
            config = BreakerConfig(
                failure_threshold=failure_threshold,
                base_interval_seconds=_in_seconds(base_interval_minutes),
                fixed_interval_retries=fixed_interval_retries,
                max_exponential_retries=max_exponential_retries,
                jitter_enabled=jitter_enabled,
                backoff_multiplier=backoff_multiplier,
                max_interval_seconds=_in_seconds(max_interval_minutes),
                jitter_ratio=jitter_ratio,
                after_exhausted=after_exhausted,
                probe_timeout_seconds=probe_timeout_seconds,
                ignore_exceptions=tuple(ignore_exceptions),
                is_failure=is_failure,
                failure_on_result=failure_on_result,
                failure_rate_threshold=failure_rate_threshold,
                slow_call_rate_threshold=slow_call_rate_threshold,
                slow_call_duration_seconds=slow_call_duration_seconds,
                sliding_window_seconds=sliding_window_seconds,
                sliding_window_calls=sliding_window_calls,
                minimum_calls=minimum_calls,
                mode=mode,
                failure_statuses=None if failure_statuses is None else frozenset(failure_statuses),
                profile=profile,
                critical=critical,
            )
        except InvalidSetting as exc:
            parameter = _MINUTE_PARAMETERS.get(exc.field)
            if parameter is None:
                raise
            raise InvalidSetting(parameter, exc.expected, given_minutes[parameter]) from None
        self._setup(name, config, store, clock, listeners, fallback, fallback_on_failure)

    @classmethod
    def from_config(
        cls,
        config: BreakerConfig,
        *,
        name: str | None = None,
        store: BreakerStore | None = None,
        clock: Callable[[], float] | None = None,
        listeners: Iterable[Listener] = (),
        load: bool = True,
        fallback: Fallback | None = None,
        fallback_on_failure: bool = False,
    ) -> CircuitBreaker:
        """A breaker from a ready configuration. ``load=False`` skips reading its record
        now (a registry reads all of its breakers in one round trip instead)."""
        breaker = cls.__new__(cls)
        breaker._setup(
            name, config, store, clock, listeners, fallback, fallback_on_failure, load=load
        )
        return breaker

    def _setup(
        self,
        name: str | None,
        config: BreakerConfig,
        store: BreakerStore | None,
        clock: Callable[[], float] | None,
        listeners: Iterable[Listener],
        fallback: Fallback | None = None,
        fallback_on_failure: bool = False,
        *,
        load: bool = True,
    ) -> None:
        if clock is not None and not callable(clock):
            raise InvalidSetting("clock", "a zero-argument callable", clock)
        check_fallback(fallback, fallback_on_failure)
        self._fallback_handler = fallback
        self._fallback_on_failure = fallback_on_failure
        super().__init__(
            check_name(name) if name is not None else f"breaker-{next(_anonymous)}",
            config,
            store if store is not None else MemoryStore(),
            clock or time.monotonic,
            listeners,
            load=load,
        )
        # Fast paths and the rate window from the start, even before (or without) a
        # first record from the store: a registry's local store is never read, and a
        # shared store may be down when the breaker is built.
        with self._lock:
            self._update_fast_paths()

    # -- configuration -----------------------------------------------------------------

    @property
    def config(self) -> BreakerConfig:
        return self._config

    @property
    def store(self) -> BreakerStore:
        """Where the record lives: an observing breaker's is its private memory store."""
        return self._store

    @property
    def profile(self) -> str | None:
        return self._config.profile

    @property
    def critical(self) -> bool:
        return self._config.critical

    @property
    def failure_threshold(self) -> int | None:
        """None when the streak rule is off (a rate rule decides alone)."""
        return self._config.failure_threshold

    @property
    def base_interval_minutes(self) -> float:
        return self._config.base_interval_seconds / 60

    @property
    def fixed_interval_retries(self) -> int:
        return self._config.fixed_interval_retries

    @property
    def max_exponential_retries(self) -> int:
        return self._config.max_exponential_retries

    @property
    def jitter_enabled(self) -> bool:
        return self._config.jitter_enabled

    def reconfigure(self, config: BreakerConfig) -> None:
        """Use ``config`` from the next call on; state, listeners and references stay.

        Switching to ``mode="observe"`` moves the breaker to a private record (seeded with
        the current one); switching back reads the configured store's record again.
        """
        with self._lock:
            self._config = config
            self._update_fast_paths()
        observe = config.mode == "observe"
        if observe != (self._fleet is not None):
            self._change_mode(observe)

    def add_listener(self, listener: Listener) -> None:
        with self._lock:
            self._listeners = (*self._listeners, listener)
            self._update_fast_paths()

    def remove_listener(self, listener: Listener) -> None:
        with self._lock:
            self._listeners = tuple(x for x in self._listeners if x is not listener)
            self._update_fast_paths()

    def detach(self) -> None:
        """Stop following the store's changes (the registry removed this breaker)."""
        self._store.unwatch(self.name, self)

    # -- calling -----------------------------------------------------------------------

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call ``fn`` through the breaker; raises CircuitOpenError when it rejects."""
        admission = self._hot
        if admission is not None:
            try:
                # Unpacking an empty kwargs dict costs a dict: skip it in the common case.
                result = fn(*args, **kwargs) if kwargs else fn(*args)  # type: ignore[call-arg]
            except BaseException as exc:
                self._failed(exc, admission, None)
                raise
            if self._counting:
                self._count_success()
            return result
        window = self._windowed
        if window is not None:  # CLOSED, quiet: only the rate window to count in
            clock = self._clock
            started = clock()
            try:
                result = fn(*args, **kwargs) if kwargs else fn(*args)  # type: ignore[call-arg]
            except BaseException as exc:
                self._failed(exc, self._ordinary, started)
                raise
            ended = clock()
            if ended < window.quick_until and ended - started < window.slow_limit:
                window.count_quick(None)  # no lock for the common success
            else:
                self._count(self._ordinary, started, None)
            if self._counting:
                self._count_success()
            return result
        fallback = self._fallback_handler
        if fallback is not None:
            on_failure = self._fallback_on_failure
            value: R = call_with_fallback(self, fallback, on_failure, fn, args, kwargs)
            return value
        admission = self._admit()
        started = self._clock()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._failed(exc, admission, started)
            raise
        self._succeeded(admission, started, result)
        return result

    async def call_async(
        self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Await ``fn(*args, **kwargs)`` through the breaker; store I/O runs off the loop."""
        admission = self._hot
        if admission is not None:
            try:
                result = await (fn(*args, **kwargs) if kwargs else fn(*args))  # type: ignore[call-arg]
            except BaseException as exc:
                await self._failed_async(exc, admission, None)
                raise
            if self._counting:
                self._count_success()
            return result
        window = self._windowed
        if window is not None:
            clock = self._clock
            started = clock()
            try:
                result = await (fn(*args, **kwargs) if kwargs else fn(*args))  # type: ignore[call-arg]
            except BaseException as exc:
                await self._failed_async(exc, self._ordinary, started)
                raise
            ended = clock()
            if ended < window.quick_until and ended - started < window.slow_limit:
                window.count_quick(None)  # no lock for the common success
            else:
                self._count(self._ordinary, started, None)
            if self._counting:
                self._count_success()
            return result
        fallback = self._fallback_handler
        if fallback is not None:
            on_failure = self._fallback_on_failure
            value: R = await call_async_with_fallback(self, fallback, on_failure, fn, args, kwargs)
            return value
        admission = await self._admit_async()
        started = self._clock()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            await self._failed_async(exc, admission, started)
            raise
        await self._succeeded_async(admission, started, result)
        return result

    async_call = call_async

    @overload
    def __call__(self, fn: Callable[P, Awaitable[R]], /) -> Callable[P, Awaitable[R]]: ...

    @overload
    def __call__(self, fn: Callable[P, R], /) -> Callable[P, R]: ...

    @overload
    def __call__(
        self,
        fn: None = None,
        /,
        *,
        fallback: Fallback | None = None,
        fallback_on_failure: bool | None = None,
    ) -> Decorator: ...

    def __call__(
        self,
        fn: Callable[P, Any] | None = None,
        /,
        *,
        fallback: Fallback | None = None,
        fallback_on_failure: bool | None = None,
    ) -> Any:
        """Decorate a function, coroutine function, generator or async generator function:
        ``@breaker``, or ``@breaker(fallback=..., fallback_on_failure=...)`` (each one left
        out is the breaker's). See :mod:`circuit_breaker.decorator`."""
        decorate = decorator(
            self,
            self.call,
            self.call_async,
            fallback=fallback,
            fallback_on_failure=fallback_on_failure,
        )
        return decorate if fn is None else decorate(fn)

    # -- manual control ----------------------------------------------------------------

    def reset(self, *, actor: str | None = None) -> None:
        """Back to automatic operation: CLOSED, both counters at zero.

        Manual actions reach the shared store or raise StoreUnavailableError: an action
        that only this process would see must not look done.
        """
        self._run_manual(SetState(CircuitBreakerState.CLOSED), actor)

    def force_open(self, *, actor: str | None = None) -> None:
        """Reject every call, with no probes, until ``reset()``."""
        self._run_manual(SetState(CircuitBreakerState.FORCED_OPEN), actor)

    def disable(self, *, actor: str | None = None) -> None:
        """Let every call through and count nothing, until ``reset()``."""
        self._run_manual(SetState(CircuitBreakerState.DISABLED), actor)

    def open_for(self, seconds: float, *, reason: str, actor: str | None = None) -> None:
        """Stay open ``seconds`` in every process sharing the store, then let one probe.

        For a server that asked for a pause (HTTP 429 / ``Retry-After``): it never
        overrides a manual state, only ever moves a deadline later, and counts as a
        failed probe while half-open. ``reason`` is kept with the transition. With
        ``actor`` it is a manual action (it reaches the store or raises
        StoreUnavailableError); without, it falls back to local state like any call.
        """
        self._open_for(seconds, reason, actor=actor, generation=None)

    # -- status ------------------------------------------------------------------------

    @property
    def state(self) -> CircuitBreakerState:
        """HALF_OPEN as soon as the retry deadline has passed, before any probe."""
        return visible_state(self._record, self._store_time(self._clock()))

    @property
    def failure_count(self) -> int:
        return self._record.failure_count

    @property
    def consecutive_circuit_breaks(self) -> int:
        return self._record.consecutive_breaks

    def sync(self) -> None:
        """Read the record from the store now (a status page, a test)."""
        self._sync_now()

    def status(self) -> BreakerStatus:
        """The breaker now, typed (see :meth:`get_status_info` for the dict)."""
        store_now = self._store_time(self._clock())
        return BreakerStatus.from_record(
            self.name,
            self._config,
            self._judged_record(),
            store_now,
            time.time() - store_now,
            self._store_health(),
            self._window_totals(store_now),
            would_have_rejected=self._tally["would_reject"].value,
        )

    def get_status_info(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot for monitoring: state, counters, schedule, config."""
        return self.status().to_dict()

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self._record.state.value}>"
