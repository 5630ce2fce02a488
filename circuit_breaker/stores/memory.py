"""The per-process store: records in a dict, every operation under one lock."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.core.operations import Operation
from circuit_breaker.core.record import FRESH_RECORD, BreakerRecord
from circuit_breaker.stores.base import Follower, StoreResult, decide


class MemoryStore:
    """Thread-safe, process-local. The default store of a breaker built by hand.

    ``records`` seeds it (a breaker's local state while a shared store is down).
    """

    shared = False
    sync_interval = 0.0
    flush_interval = 0.0

    def __init__(self, records: Mapping[str, BreakerRecord] | None = None) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, BreakerRecord] = dict(records or {})
        self.instance_id = uuid.uuid4().hex[:12]

    def apply(
        self, name: str, operation: Operation, config: BreakerConfig, now: float
    ) -> StoreResult:
        with self._lock:
            updated, result = decide(
                self._records.get(name, FRESH_RECORD), operation, config, now, self.instance_id
            )
            if updated is not None:
                self._records[name] = updated
        return result

    def load_many(self, names: Sequence[str], now: float) -> dict[str, StoreResult]:
        records = self._records
        return {name: StoreResult(records.get(name, FRESH_RECORD), now) for name in names}

    def watch(self, name: str, follower: Follower) -> None:
        """One process, one writer per record: nothing changes behind a breaker's back."""

    def unwatch(self, name: str, follower: Follower) -> None:
        """Nothing was registered."""

    def flush_soon(self) -> None:
        """Breakers judge their own windows here: nothing waits for a flush."""

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"<MemoryStore of {len(self._records)} breakers>"


def from_options(options: Mapping[str, Any]) -> MemoryStore:
    """``store: {backend: memory}`` takes no options."""
    unknown = sorted(set(options) - {"backend"})
    if unknown:
        raise ValueError(f"the memory store takes no options (got {', '.join(unknown)})")
    return MemoryStore()
