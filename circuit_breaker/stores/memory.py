"""The per-process store: records in a dict, every transition under one lock."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence

from circuit_breaker import transitions
from circuit_breaker.state import CircuitBreakerState
from circuit_breaker.stores.base import (
    BreakerRecord,
    FailureInfo,
    Policy,
    RemoteListener,
    StoreResult,
)

_FRESH = BreakerRecord()


class MemoryStore:
    """Thread-safe, process-local. The default store of a breaker built by hand."""

    performs_io = False
    polled = False
    sync_interval = 0.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, BreakerRecord] = {}
        self.instance_id = uuid.uuid4().hex[:12]

    def _apply(
        self,
        name: str,
        now: float,
        event: Callable[[BreakerRecord], BreakerRecord | None],
    ) -> StoreResult:
        with self._lock:
            record = self._records.get(name, _FRESH)
            updated = event(record)
            if updated is None:
                return StoreResult(record, now)
            self._records[name] = updated
        moved = updated.state is not record.state
        return StoreResult(updated, now, record.state if moved else None)

    def load(self, name: str, now: float) -> StoreResult:
        return StoreResult(self._records.get(name, _FRESH), now)

    def load_many(self, names: Sequence[str], now: float) -> dict[str, StoreResult]:
        records = self._records
        return {name: StoreResult(records.get(name, _FRESH), now) for name in names}

    def record_failure(
        self, name: str, policy: Policy, failure: FailureInfo, jitter: float, now: float
    ) -> StoreResult:
        actor = self.instance_id
        return self._apply(
            name, now, lambda r: transitions.failure(r, policy, failure, jitter, now, actor)
        )

    def record_success(self, name: str, now: float) -> StoreResult:
        return self._apply(name, now, transitions.success)

    def acquire_probe(self, name: str, policy: Policy, token: str, now: float) -> StoreResult:
        actor = self.instance_id
        return self._apply(
            name, now, lambda r: transitions.acquire_probe(r, policy, token, now, actor)
        )

    def complete_probe(
        self,
        name: str,
        policy: Policy,
        token: str,
        failure: FailureInfo | None,
        jitter: float,
        now: float,
    ) -> StoreResult:
        actor = self.instance_id
        return self._apply(
            name,
            now,
            lambda r: transitions.complete_probe(r, policy, token, failure, jitter, now, actor),
        )

    def release_probe(self, name: str, token: str, now: float) -> StoreResult:
        return self._apply(name, now, lambda r: transitions.release_probe(r, token))

    def set_state(self, name: str, state: CircuitBreakerState, now: float) -> StoreResult:
        actor = self.instance_id
        return self._apply(name, now, lambda r: transitions.set_state(r, state, now, actor))

    def watch(self, name: str, listener: RemoteListener) -> None:
        """One process, one writer per record: nothing changes behind a breaker's back."""

    def unwatch(self, name: str, listener: RemoteListener) -> None:
        """Nothing was registered."""

    def close(self) -> None:
        """Nothing to release."""
