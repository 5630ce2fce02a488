"""The ``django`` store: breaker records in the ``Breaker`` table, through the ORM.

Every operation is one ``transaction.atomic()`` holding the breaker's row lock:

1. ``INSERT ... ON CONFLICT DO NOTHING`` makes sure the row exists (safe when many
   processes create it at once; ``seq`` seeded from the database clock in microseconds).
   On SQLite this write, being the transaction's first statement, also takes the
   database write lock up front -- ``BEGIN IMMEDIATE`` semantics -- so the read below
   cannot race another writer (``select_for_update`` is a no-op there).
2. ``SELECT ... FOR UPDATE`` reads the row and the database server's clock.
3. The state machine decides (:func:`circuit_breaker.stores.base.decide`); an
   ``UPDATE`` writes the result if any.

The store clock is the database server's (epoch seconds), so app-server clock skew is
harmless. Reads (``load_many``) are one query, clock included. A background thread
re-reads the watched breakers every ``sync_interval`` (a database pushes nothing).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import RawSQL
from django.utils import timezone

from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.core.operations import Operation
from circuit_breaker.core.record import BreakerRecord, FailureInfo
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.stores.base import Follower, OutageGuard, StoreResult, decide
from circuit_breaker.stores.sync import BackgroundSync

# The database server's clock as epoch seconds (a float), by vendor.
CLOCK_SQL = {
    "postgresql": "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}
STORE_ERRORS: tuple[type[BaseException], ...] = (DatabaseError, InterfaceError)
OPTION_NAMES = ("using", "sync_interval")
_FIELDS = (
    "state",
    "failure_count",
    "consecutive_breaks",
    "opened_at",
    "retry_at",
    "probe_token",
    "probe_until",
    "reason",
    "changed_at",
    "changed_by",
    "last_failure_type",
    "last_failure_message",
    "last_failure_at",
    "generation",
    "seq",
)


def is_outage(exc: BaseException) -> bool:
    """The database cannot be talked to (not: it refused one statement's data)."""
    return isinstance(exc, OperationalError | InterfaceError)


def clock_sql(connection: BaseDatabaseWrapper) -> str:
    """The SQL expression of ``connection``'s server clock; ValueError if unsupported."""
    try:
        return CLOCK_SQL[connection.vendor]
    except KeyError:
        raise ValueError(
            f"the django circuit-breaker store supports {' and '.join(sorted(CLOCK_SQL))}, "
            f"not {connection.vendor!r}; use STORE 'redis://...' or 'memory'"
        ) from None


def database_now(using: str = "default") -> float:
    """The database server's time, epoch seconds (one query)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {clock_sql(connection)}")
        return float(cursor.fetchone()[0])


def _process_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _to_record(row: Mapping[str, Any]) -> BreakerRecord:
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
        changed_at=row["changed_at"],
        changed_by=row["changed_by"],
        last_failure=failure,
        generation=row["generation"],
        seq=row["seq"],
    )


def _to_columns(record: BreakerRecord) -> dict[str, Any]:
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
        "changed_at": record.changed_at,
        "changed_by": record.changed_by,
        "last_failure_type": "" if failure is None else failure.type,
        "last_failure_message": "" if failure is None else failure.message,
        "last_failure_at": None if failure is None else failure.at,
        "generation": record.generation,
        "seq": record.seq,
    }


class DjangoStore:
    """Breaker state shared by every process that uses the same database."""

    shared = True

    def __init__(
        self,
        *,
        using: str = "default",
        sync_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.using = using
        self.sync_interval = float(sync_interval)
        self.instance_id = _process_id()
        self._guard = OutageGuard(
            "circuit breaker database store",
            STORE_ERRORS,
            is_outage=is_outage,
            retry_interval=self.sync_interval or 1.0,
            clock=clock,
        )
        self._sync = BackgroundSync(
            self, name=f"django-{using}", sync_interval=self.sync_interval or 1.0
        )

    # -- plumbing ----------------------------------------------------------------------

    @property
    def _connection(self) -> BaseDatabaseWrapper:
        return connections[self.using]

    @contextmanager
    def _round_trip(self, *, probe: bool) -> Iterator[BaseDatabaseWrapper]:
        """One guarded round trip; after an error, drop a connection that is broken."""
        with self._guard.probe() if probe else self._guard.attempt():
            connection = self._connection
            try:
                yield connection
            except STORE_ERRORS:
                if not connection.in_atomic_block:
                    connection.close_if_unusable_or_obsolete()
                raise

    def _table(self, connection: BaseDatabaseWrapper) -> str:
        from circuit_breaker_django.models import Breaker

        return connection.ops.quote_name(Breaker._meta.db_table)

    # -- the protocol ------------------------------------------------------------------

    def apply(
        self, name: str, operation: Operation, config: BreakerConfig, now: float
    ) -> StoreResult:
        from circuit_breaker_django.models import Breaker

        manual = operation.manual
        with self._round_trip(probe=manual) as connection, transaction.atomic(using=self.using):
            clock = clock_sql(connection)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {self._table(connection)} "
                    "(name, state, failure_count, consecutive_breaks, last_failure_type, "
                    "last_failure_message, generation, seq, updated_at) "
                    "VALUES (%s, 'closed', 0, 0, '', '', 0, "
                    f"CAST({clock} * 1000000 AS BIGINT), %s) "
                    "ON CONFLICT (name) DO NOTHING",
                    [name, connection.ops.adapt_datetimefield_value(timezone.now())],
                )
            row = (
                Breaker.objects.using(self.using)
                .select_for_update()
                .filter(name=name)
                .annotate(store_now=RawSQL(clock, ()))
                .values("pk", "store_now", *_FIELDS)
                .get()
            )
            store_now = float(row["store_now"])
            updated, result = decide(
                _to_record(row), operation, config, store_now, self.instance_id
            )
            if updated is not None:
                Breaker.objects.using(self.using).filter(pk=row["pk"]).update(
                    **_to_columns(updated), updated_at=timezone.now()
                )
        return result

    def load_many(self, names: Sequence[str], now: float) -> dict[str, StoreResult]:
        """One query: the rows that exist, and the clock (a fresh record for the rest)."""
        if not names:
            return {}
        with self._round_trip(probe=True) as connection, connection.cursor() as cursor:
            columns = ", ".join(f"b.{connection.ops.quote_name(f)}" for f in ("name", *_FIELDS))
            placeholders = ", ".join(["%s"] * len(names))
            cursor.execute(
                f"SELECT c.store_now, {columns} "
                f"FROM (SELECT {clock_sql(connection)} AS store_now) c "
                f"LEFT JOIN {self._table(connection)} b ON b.name IN ({placeholders})",
                list(names),
            )
            rows = cursor.fetchall()
        store_now = float(rows[0][0])
        fields = ("name", *_FIELDS)
        found = {
            row[1]: _to_record(dict(zip(fields, row[1:], strict=True)))
            for row in rows
            if row[1] is not None
        }
        fresh = BreakerRecord()
        return {name: StoreResult(found.get(name, fresh), store_now) for name in names}

    def watch(self, name: str, follower: Follower) -> None:
        self._sync.watch(name, follower)

    def unwatch(self, name: str, follower: Follower) -> None:
        self._sync.unwatch(name, follower)

    def close(self) -> None:
        """Stop the background thread (connections belong to Django, which closes them)."""
        self._sync.stop()

    # -- what the background thread calls (the SyncSource protocol) ----------------------

    def refresh(self, names: Sequence[str]) -> Mapping[str, StoreResult]:
        try:
            return self.load_many(names, 0.0)
        finally:
            connections[self.using].close_if_unusable_or_obsolete()

    def listen(self, timeout: float) -> Iterable[tuple[str, StoreResult]]:
        """A database pushes nothing: wait for the next cycle."""
        time.sleep(timeout)
        return ()

    def reset(self) -> None:
        """Nothing to drop: the next query opens a connection if needed."""

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
