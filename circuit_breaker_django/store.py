"""The ``django`` store: breaker records in the ``Breaker`` table, on the app's own connection.

Every operation is one transaction on a dedicated, bounded connection
(:mod:`circuit_breaker_django.database`: the host project's queries and transactions are
never touched, and a database that stops answering fails the operation within
``DATABASE_TIMEOUT``):

1. ``INSERT ... ON CONFLICT DO NOTHING`` makes sure the row exists (safe when many
   processes create it at once; ``seq`` seeded from the database clock in microseconds).
   On SQLite the transaction began with ``BEGIN IMMEDIATE``, holding the write lock.
2. ``SELECT ... FOR UPDATE`` reads the row and the database server's clock.
3. The state machine decides (:func:`circuit_breaker.stores.base.decide`); an ``UPDATE``
   writes the result if any.

The store clock is the database server's (epoch seconds), so app-server clock skew is
harmless. A background thread re-reads the watched breakers every ``sync_interval``
(a database pushes nothing); callers never read.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import DatabaseError, InterfaceError
from django.db.backends.utils import CursorWrapper

from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.core.operations import Operation
from circuit_breaker.core.record import BreakerRecord, FailureInfo
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.stores.base import Follower, OutageGuard, StoreResult, decide
from circuit_breaker.stores.sync import DEFAULT_FLUSH_INTERVAL, BackgroundSync
from circuit_breaker_django.database import StoreDatabase, is_outage
from circuit_breaker_django.db_clock import clock_sql, seq_sql
from circuit_breaker_django.models import Breaker

STORE_ERRORS: tuple[type[BaseException], ...] = (DatabaseError, InterfaceError)
OPTION_NAMES = ("using", "sync_interval", "timeout", "flush_interval")
COLUMNS = (
    "state",
    "failure_count",
    "consecutive_breaks",
    "opened_at",
    "retry_at",
    "probe_token",
    "probe_until",
    "reason",
    "detail",
    "changed_at",
    "changed_by",
    "last_failure_type",
    "last_failure_message",
    "last_failure_at",
    "tripped_by",
    "window",
    "generation",
    "seq",
)


def _process_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def to_record(row: Mapping[str, Any]) -> BreakerRecord:
    failure = None
    if row["last_failure_type"]:
        failure = FailureInfo(
            row["last_failure_type"], row["last_failure_message"], row["last_failure_at"] or 0.0
        )
    return BreakerRecord(
        state=CircuitBreakerState(row["state"]),
        failure_count=row["failure_count"],
        consecutive_breaks=row["consecutive_breaks"],
        opened_at=row["opened_at"],
        retry_at=row["retry_at"],
        probe_token=row["probe_token"],
        probe_until=row["probe_until"],
        reason=row["reason"],
        detail=row["detail"],
        changed_at=row["changed_at"],
        changed_by=row["changed_by"],
        last_failure=failure,
        tripped_by=row["tripped_by"],
        window=tuple(tuple(bucket) for bucket in json.loads(row["window"]))
        if row["window"]
        else (),
        generation=row["generation"],
        seq=row["seq"],
    )


def to_columns(record: BreakerRecord) -> dict[str, Any]:
    failure = record.last_failure
    return {
        "state": record.state.value,
        "failure_count": record.failure_count,
        "consecutive_breaks": record.consecutive_breaks,
        "opened_at": record.opened_at,
        "retry_at": record.retry_at,
        "probe_token": record.probe_token,
        "probe_until": record.probe_until,
        "reason": record.reason,
        "detail": record.detail,
        "changed_at": record.changed_at,
        "changed_by": record.changed_by,
        "last_failure_type": "" if failure is None else failure.type,
        "last_failure_message": "" if failure is None else failure.message,
        "last_failure_at": None if failure is None else failure.at,
        "tripped_by": record.tripped_by,
        "window": json.dumps([list(bucket) for bucket in record.window]) if record.window else "",
        "generation": record.generation,
        "seq": record.seq,
    }


_INSERTED = (
    "name",
    "state",
    "failure_count",
    "consecutive_breaks",
    "last_failure_type",
    "last_failure_message",
    "window",
    "generation",
    "seq",
    "updated_at",
)


def _quoted(cursor: CursorWrapper, name: str) -> str:
    return str(cursor.db.ops.quote_name(name))


class DjangoStore:
    """Breaker state shared by every process that uses the same database."""

    shared = True

    def __init__(
        self,
        *,
        using: str = "default",
        sync_interval: float = 1.0,
        timeout: float | None = None,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for option, value in (("sync_interval", sync_interval), ("flush_interval", flush_interval)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{option} must be a number > 0, got {value!r}")
        self.using = using
        self.sync_interval = float(sync_interval)
        self.flush_interval = float(flush_interval)
        self.instance_id = _process_id()
        self.database = StoreDatabase(using, timeout=timeout)
        self._guard = OutageGuard(
            f"circuit breaker database store ({using!r})",
            STORE_ERRORS,
            is_outage=is_outage,
            retry_interval=self.sync_interval,
            clock=clock,
        )
        self._sync = BackgroundSync(
            self,
            name=f"django-{using}",
            sync_interval=self.sync_interval,
            flush_interval=self.flush_interval,
        )

    # -- the protocol ------------------------------------------------------------------

    def apply(
        self, name: str, operation: Operation, config: BreakerConfig, now: float
    ) -> StoreResult:
        def transition(cursor: CursorWrapper) -> StoreResult:
            return self._transition(cursor, name, operation, config)

        if operation.manual:
            # An operator acting right after a failover must reach the database as it is.
            self.database.close()
            with self._guard.probe():
                return self.database.run(transition, atomic=True)
        with self._guard.attempt():
            return self.database.run(transition, atomic=True)

    def _transition(
        self, cursor: CursorWrapper, name: str, operation: Operation, config: BreakerConfig
    ) -> StoreResult:
        vendor = cursor.db.vendor
        table = _quoted(cursor, Breaker._meta.db_table)
        now_iso = cursor.db.ops.adapt_datetimefield_value(datetime.now(UTC))
        # Quoted names: ``window`` is a reserved word in PostgreSQL.
        inserted = ", ".join(_quoted(cursor, column) for column in _INSERTED)
        cursor.execute(
            f"INSERT INTO {table} ({inserted}) "
            f"VALUES (%s, 'closed', 0, 0, '', '', '', 0, {seq_sql(vendor)}, %s) "
            "ON CONFLICT (name) DO NOTHING",
            [name, now_iso],
        )
        lock = " FOR UPDATE" if vendor == "postgresql" else ""
        columns = ", ".join(_quoted(cursor, column) for column in COLUMNS)
        cursor.execute(
            f"SELECT {clock_sql(vendor)}, {columns} FROM {table} WHERE name = %s{lock}", [name]
        )
        store_now, *values = cursor.fetchone()
        now = float(store_now)
        updated, result = decide(
            to_record(dict(zip(COLUMNS, values, strict=True))),
            operation,
            config,
            now,
            self.instance_id,
        )
        if updated is not None:
            changes = to_columns(updated)
            assignments = ", ".join(f"{_quoted(cursor, column)} = %s" for column in changes)
            cursor.execute(
                f"UPDATE {table} SET {assignments}, updated_at = %s WHERE name = %s",
                [*changes.values(), now_iso, name],
            )
        return result

    def load_many(self, names: Sequence[str], now: float) -> dict[str, StoreResult]:
        """One query: the rows that exist, and the clock (a fresh record for the rest)."""
        if not names:
            return {}

        def read(cursor: CursorWrapper) -> list[tuple[Any, ...]]:
            table = _quoted(cursor, Breaker._meta.db_table)
            columns = ", ".join(f"b.{_quoted(cursor, c)}" for c in ("name", *COLUMNS))
            placeholders = ", ".join(["%s"] * len(names))
            cursor.execute(
                f"SELECT c.store_now, {columns} "
                f"FROM (SELECT {clock_sql(cursor.db.vendor)} AS store_now) c "
                f"LEFT JOIN {table} b ON b.name IN ({placeholders})",
                list(names),
            )
            return list(cursor.fetchall())

        with self._guard.probe():
            rows = self.database.run(read, atomic=False)
        store_now = float(rows[0][0])
        found = {
            row[1]: to_record(dict(zip(COLUMNS, row[2:], strict=True)))
            for row in rows
            if row[1] is not None
        }
        fresh = BreakerRecord()
        return {name: StoreResult(found.get(name, fresh), store_now) for name in names}

    def now(self) -> float:
        """The database server's time, epoch seconds (one query)."""

        def read(cursor: CursorWrapper) -> float:
            cursor.execute(f"SELECT {clock_sql(cursor.db.vendor)}")
            return float(cursor.fetchone()[0])

        return self.database.run(read, atomic=False)

    def watch(self, name: str, follower: Follower) -> None:
        self._sync.watch(name, follower)

    def unwatch(self, name: str, follower: Follower) -> None:
        self._sync.unwatch(name, follower)

    def flush_soon(self) -> None:
        self._sync.flush_soon()

    def close(self) -> None:
        """Stop the background thread and close the store's connection."""
        self._sync.stop()
        self.database.close()

    # -- what the background thread calls (the SyncSource protocol) ----------------------

    def refresh(self, names: Sequence[str]) -> Mapping[str, StoreResult]:
        return self.load_many(names, 0.0)

    def listen(self, timeout: float) -> Iterable[tuple[str, StoreResult]]:
        """A database pushes nothing: wait for the next cycle."""
        time.sleep(timeout)
        return ()

    def reset(self) -> None:
        """Nothing to drop: the bounded connection replaces a broken one by itself."""

    def __repr__(self) -> str:
        return f"<DjangoStore using={self.using!r} sync_interval={self.sync_interval:g}>"


def from_options(options: Mapping[str, Any]) -> DjangoStore:
    """Build the store from a YAML ``store:`` block (``backend: django``)."""
    unknown = sorted(set(options) - {"backend", *OPTION_NAMES})
    if unknown:
        raise ValueError(
            f"unknown option(s) for the django store: {', '.join(unknown)} "
            f"(expected: {', '.join(OPTION_NAMES)})"
        )
    kwargs: dict[str, Any] = {name: options[name] for name in OPTION_NAMES if name in options}
    return DjangoStore(**kwargs)
