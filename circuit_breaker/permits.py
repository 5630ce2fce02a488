"""Two-step calls: admission now, the verdict later.

``permit = breaker.acquire()`` admits a call (or raises :class:`CircuitOpenError`) and
``permit.success()`` / ``permit.failure(exc)`` settle it, for code that cannot hand the
breaker one function to call: middleware, streamed responses. The first settlement
counts and returns True; any later one is ignored and returns False, so a stream that
fails and is then closed cannot count twice. A half-open probe permit never settled is
freed by ``probe_timeout_seconds`` like any hung probe.

``with breaker:`` and ``async with breaker:`` are permits too. The permits of open
blocks are kept in a context variable, a stack per thread and per asyncio task, never on
the breaker, so blocks on the same breaker may nest and overlap across threads and tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextvars import ContextVar
from operator import length_hint
from types import TracebackType

from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.events import Listener
from circuit_breaker.gate import Gate
from circuit_breaker.stores.base import BreakerStore
from circuit_breaker.view import Admission


class Permit:
    """One admitted call, waiting for its verdict."""

    __slots__ = ("_admission", "_breaker", "_once", "_started")

    def __init__(self, breaker: Gate, admission: Admission, started: float) -> None:
        self._breaker = breaker
        self._admission = admission
        self._started = started
        self._once = iter((True,))  # next() on it is atomic: one settlement, whatever the thread

    @property
    def probe(self) -> bool:
        """Whether this permit is the half-open probe (its verdict closes or reopens)."""
        return self._admission.token is not None

    @property
    def settled(self) -> bool:
        return length_hint(self._once) == 0

    def _settle(self) -> bool:
        return next(self._once, False)

    def success(self) -> bool:
        """The call succeeded. False (and nothing counted) if the permit was settled already."""
        if not self._settle():
            return False
        self._breaker._completed(self._admission, self._started)
        return True

    def failure(self, exc: BaseException) -> bool:
        """The call raised ``exc``: judged like an exception leaving ``call()`` (ignored
        exceptions count as a success; cancellation and interrupts count for nothing and
        free a probe permit). False if the permit was settled already."""
        _check(exc)
        if not self._settle():
            return False
        self._breaker._failed(exc, self._admission, self._started)
        return True

    async def success_async(self) -> bool:
        """:meth:`success`, with any store I/O off the event loop."""
        if not self._settle():
            return False
        await self._breaker._completed_async(self._admission, self._started)
        return True

    async def failure_async(self, exc: BaseException) -> bool:
        """:meth:`failure`, with any store I/O off the event loop."""
        _check(exc)
        if not self._settle():
            return False
        await self._breaker._failed_async(exc, self._admission, self._started)
        return True

    def __repr__(self) -> str:
        kind = "probe" if self.probe else "call"
        settled = "settled" if self.settled else "open"
        return f"<Permit {kind} of {self._breaker.name!r}, {settled}>"


def _check(exc: object) -> None:
    if not isinstance(exc, BaseException):
        raise TypeError(f"permit.failure() takes the exception the call raised, got {exc!r}")


class Permits(Gate):
    """The two-step entry points of a breaker: ``acquire`` and the ``with`` blocks."""

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
        # The permits of open blocks: a stack per thread and per task, never shared.
        self._held: ContextVar[tuple[Permit, ...]] = ContextVar("circuit_breaker_held", default=())
        super().__init__(name, config, store, clock, listeners, load=load)

    def acquire(self) -> Permit:
        """Admit one call now and settle it later (``permit.success()`` or
        ``permit.failure(exc)``); raises CircuitOpenError when the call would be rejected."""
        admission = self._admit()
        return Permit(self, admission, self._clock())

    async def acquire_async(self) -> Permit:
        """:meth:`acquire` for async code: a probe's store round trip runs off the loop."""
        admission = await self._admit_async()
        return Permit(self, admission, self._clock())

    def __enter__(self) -> Permit:
        return self._hold(self.acquire())

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        permit = self._release()
        if exc is None:
            permit.success()
        else:
            permit.failure(exc)

    async def __aenter__(self) -> Permit:
        return self._hold(await self.acquire_async())

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        permit = self._release()
        if exc is None:
            await permit.success_async()
        else:
            await permit.failure_async(exc)

    def _hold(self, permit: Permit) -> Permit:
        self._held.set((*self._held.get(), permit))
        return permit

    def _release(self) -> Permit:
        """The permit of the innermost open block of this thread or task."""
        stack = self._held.get()
        if not stack:
            raise RuntimeError(f"circuit breaker {self.name!r}: a block exited without entering")
        self._held.set(stack[:-1])
        return stack[-1]
