"""Admission and verdicts: what every entry point decides beyond the fast path.

Each decision is made once, here, for sync and async callers alike: :meth:`Gate._admit`
lets a call through or raises :class:`CircuitOpenError`; :meth:`Gate._judge_error` and
:meth:`Gate._success_operation` turn a call's outcome into the store operation (if any)
that records it. The async variants only differ in running store I/O off the loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Literal

from circuit_breaker.core.config import BreakerConfig, InvalidSetting, check_number
from circuit_breaker.core.operations import (
    AcquireProbe,
    CompleteProbe,
    OpenFor,
    Operation,
    RecordFailure,
    RecordSuccess,
    ReleaseProbe,
    Trip,
)
from circuit_breaker.core.record import BreakerRecord, Fault, safe_text
from circuit_breaker.core.schedule import MAX_INTERVAL_SECONDS, jitter_factor
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.errors import CircuitOpenError
from circuit_breaker.events import (
    OUTCOMES,
    BreakerEvent,
    Counter,
    EventKind,
    Listener,
    dispatch,
)
from circuit_breaker.stores.base import BreakerStore, StoreResult
from circuit_breaker.view import UNCOUNTED, Admission, StoreView

logger = logging.getLogger("circuit_breaker")

CLOSED = CircuitBreakerState.CLOSED
OPEN = CircuitBreakerState.OPEN
FORCED_OPEN = CircuitBreakerState.FORCED_OPEN
DISABLED = CircuitBreakerState.DISABLED

Outcome = Literal["success", "failure", "ignored", "uncounted"]
Verdict = tuple[Outcome, "Operation | None", "Fault | None"]


class _Handoff:
    """A probe permit acquired in a worker thread for a task that may be cancelled."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.abandoned = False
        self.delivered = False


class Gate(StoreView):
    """The deciding half of a breaker (the view keeps the record it decides from)."""

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
        # Outcome tallies for metrics; successes are counted only once metrics ask.
        self._tally = {outcome: Counter() for outcome in OUTCOMES}
        self._count_success = self._tally["success"].increment
        self._count_rejection = self._tally["rejected"].increment
        self._counting = False
        super().__init__(name, config, store, clock, listeners, load=load)

    def enable_call_counting(self) -> None:
        """Count successes too (for metrics): one lock-free increment per call."""
        self._counting = True

    def call_counts(self) -> dict[str, int]:
        """Calls by outcome; successes are tallied only while counting is enabled."""
        return {outcome: counter.value for outcome, counter in self._tally.items()}

    # -- admission ---------------------------------------------------------------------

    def _admit(self) -> Admission:
        local_now = self._clock()
        if local_now < self._reject_until:
            raise self._fast_rejection(local_now)
        admission = self._admit_locally(local_now)
        return admission if admission is not None else self._acquire_probe(_token())

    async def _admit_async(self) -> Admission:
        local_now = self._clock()
        if local_now < self._reject_until:
            raise self._fast_rejection(local_now)
        admission = self._admit_locally(local_now)
        if admission is not None:
            return admission
        if not self._store.shared:
            return self._acquire_probe(_token())
        return await self._acquire_off_loop(_token())

    def _admit_locally(self, local_now: float) -> Admission | None:
        """Decide from the local view alone; None when only the store can (a probe)."""
        record = self._record
        state = record.state
        if state is CLOSED:
            return self._ordinary
        if state is DISABLED:
            return UNCOUNTED
        if state is FORCED_OPEN:
            raise self._reject(record, None)
        store_now = self._store_time(local_now)
        if state is OPEN:
            retry_at = record.retry_at
            if retry_at is None or not store_now >= retry_at:
                wait = None if retry_at is None else retry_at - store_now
                raise self._reject(
                    record, wait if wait is not None and math.isfinite(wait) else None
                )
        elif record.probe_until is not None and not store_now >= record.probe_until:
            raise self._reject(record, None)  # HALF_OPEN: another call holds the permit
        return None

    def _acquire_probe(self, token: str) -> Admission:
        try:
            result = self._run(AcquireProbe(token))
        except BaseException:  # interrupted: the store may have granted the permit
            self._release_quietly(token)
            raise
        return self._admission_from(result, token)

    async def _acquire_off_loop(self, token: str) -> Admission:
        """Acquire in a worker thread; a task cancelled meanwhile gives the permit back."""
        handoff = _Handoff()

        def acquire() -> Admission:
            admission = self._acquire_probe(token)
            with handoff.lock:
                abandoned = handoff.abandoned
                handoff.delivered = not abandoned
            if abandoned:
                self._release_quietly(token)
            return admission

        try:
            return await asyncio.to_thread(acquire)
        except asyncio.CancelledError:
            with handoff.lock:
                handoff.abandoned = True
                delivered = handoff.delivered
            if delivered:  # acquired, but the task will never use it
                asyncio.get_running_loop().run_in_executor(None, self._release_quietly, token)
            raise

    def _open_for(
        self, seconds: float, reason: str, *, actor: str | None, generation: int | None
    ) -> None:
        check_number("seconds", seconds, above=0)
        if seconds > MAX_INTERVAL_SECONDS:
            raise InvalidSetting("seconds", "at most 365 days", seconds)
        config = self._config
        operation = OpenFor(
            float(seconds),
            safe_text(str(reason)),
            generation,
            jitter_factor(config.jitter_ratio, config.jitter_enabled),
            manual=actor is not None,
        )
        if actor is not None:
            self._run_manual(operation, actor)
        else:
            self._run(operation)

    def _release_quietly(self, token: str) -> None:
        try:
            self._run(ReleaseProbe(token))
        except Exception:  # pragma: no cover - _run already handles store errors
            logger.exception("circuit breaker %r: releasing a probe permit failed", self.name)

    def _admission_from(self, result: StoreResult, token: str) -> Admission:
        record = result.record
        if record.probe_token == token:
            return Admission(record.generation, token)
        if record.state is CLOSED:
            return Admission(record.generation)  # another process's probe closed it
        if record.state is DISABLED:
            return UNCOUNTED
        retry_after = None
        if record.state is OPEN and record.retry_at is not None:
            retry_after = max(0.0, record.retry_at - result.now)
        raise self._reject(record, retry_after)

    def _fast_rejection(self, local_now: float) -> CircuitOpenError:
        """OPEN before its deadline, or FORCED_OPEN, known without reading the record."""
        self._count_rejection()
        until = self._reject_until
        retry_after = None if until == math.inf else until - local_now
        return CircuitOpenError(self.name, self._record.state, retry_after)

    def _reject(self, record: BreakerRecord, retry_after: float | None) -> CircuitOpenError:
        self._count_rejection()
        state = record.state
        if self._listeners:
            dispatch(self._listeners, BreakerEvent("rejected", self.name, old=state, new=state))
        return CircuitOpenError(self.name, state, retry_after)

    # -- verdicts ----------------------------------------------------------------------

    def _judge_error(self, exc: BaseException, admission: Admission) -> Verdict:
        """What an exception leaving the call means: an outcome, the operation recording
        it (if any), and the fault it is."""
        token = admission.token
        if not isinstance(exc, Exception):
            # Cancellation and interrupts say nothing about the dependency.
            return "uncounted", None if token is None else ReleaseProbe(token), None
        if not admission.counted:
            return "uncounted", None, None
        if not self._counts_as_failure(exc):
            # The dependency answered: an ignored exception counts as a success.
            return "ignored", self._success_operation(admission), None
        return self._failure(admission, Fault.from_exception(exc))

    def _judge_result(self, admission: Admission, result: object) -> Verdict:
        """A returned value: a success, unless ``failure_on_result`` says otherwise."""
        if not admission.counted:
            return "uncounted", None, None
        judge = self._config.failure_on_result
        if judge is not None:
            try:
                failed = bool(judge(result))
            except Exception:
                logger.exception("failure_on_result of breaker %r raised", self.name)
                failed = False
            if failed:
                return self._failure(admission, Fault.from_result(result))
        return "success", self._success_operation(admission), None

    def _failure(self, admission: Admission, fault: Fault) -> Verdict:
        config = self._config
        jitter = jitter_factor(config.jitter_ratio, config.jitter_enabled)
        if admission.token is not None:
            return "failure", CompleteProbe(admission.token, fault, jitter), fault
        record = self._record
        streak = config.failure_threshold is not None
        if streak and record.state is CLOSED and record.generation == admission.generation:
            return "failure", RecordFailure(admission.generation, fault, jitter), fault
        return "failure", None, fault  # the breaker left CLOSED since, or no streak rule

    def _success_operation(self, admission: Admission) -> Operation | None:
        if admission.token is not None:
            return CompleteProbe(admission.token, None, 1.0)
        record = self._record
        if (
            admission.counted
            and record.failure_count
            and record.state is CLOSED
            and record.generation == admission.generation
        ):
            return RecordSuccess(admission.generation)
        return None

    def _counts_as_failure(self, exc: Exception) -> bool:
        config = self._config
        if config.ignore_exceptions and isinstance(exc, config.ignore_exceptions):
            return False
        if config.is_failure is None:
            return True
        try:
            return bool(config.is_failure(exc))
        except Exception:
            logger.exception("is_failure of breaker %r raised; counting a failure", self.name)
            return True

    def _conclude(
        self,
        verdict: Verdict,
        admission: Admission,
        started: float | None,
        exc: BaseException | None,
    ) -> None:
        """Record the verdict: the store operation, the rate window, tallies, events."""
        outcome, operation, fault = verdict
        if operation is not None:
            self._run(operation)
        if outcome == "uncounted":
            return
        if started is not None and self._window is not None:
            self._count(admission, started, fault)
        if outcome != "success" or self._counting:
            self._tally[outcome].increment()
        if self._listeners:
            kind: EventKind = outcome
            dispatch(self._listeners, BreakerEvent(kind, self.name, exception=exc))

    def _count(self, admission: Admission, started: float, fault: Fault | None) -> None:
        """Add one call to the rate window; act on the rule it makes hold."""
        window = self._window
        if window is None:
            return
        seconds = self._clock() - started if window.rules.slow_call_seconds is not None else 0.0
        judge_here = not self._store.shared or self._fallback is not None
        started_at = self._store_time(started)
        rule = window.add(admission.generation, started_at, seconds, fault, judge_here)
        if rule is None:
            return
        if judge_here:
            config = self._config
            jitter = jitter_factor(config.jitter_ratio, config.jitter_enabled)
            self._run(Trip(admission.generation, rule, fault, jitter))
        else:
            self._store.flush_soon()  # this process alone would trip it: no need to wait

    def _failed(self, exc: BaseException, admission: Admission, started: float | None) -> None:
        self._conclude(self._judge_error(exc, admission), admission, started, exc)

    def _succeeded(self, admission: Admission, started: float, result: object) -> None:
        self._conclude(self._judge_result(admission, result), admission, started, None)

    async def _failed_async(
        self, exc: BaseException, admission: Admission, started: float | None
    ) -> None:
        await self._conclude_async(self._judge_error(exc, admission), admission, started, exc)

    async def _succeeded_async(self, admission: Admission, started: float, result: object) -> None:
        await self._conclude_async(self._judge_result(admission, result), admission, started, None)

    async def _conclude_async(
        self,
        verdict: Verdict,
        admission: Admission,
        started: float | None,
        exc: BaseException | None,
    ) -> None:
        if verdict[1] is not None and self._store.shared:
            await asyncio.to_thread(self._conclude, verdict, admission, started, exc)
        else:
            self._conclude(verdict, admission, started, exc)


def _token() -> str:
    return uuid.uuid4().hex
