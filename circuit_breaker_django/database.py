"""The app's own bounded connection to the breakers' database.

Breaker bookkeeping must never hold a caller hostage. Django's connections have no
bound: a server that accepts TCP but never answers blocks a query for as long as the
kernel keeps the socket (minutes), and the host project's ``DATABASES`` is not ours to
change. So the app talks to its tables through a connection of its own:

* **Dedicated.** Built at first use from a copy of the alias's settings (the test
  runner's database name included) with the host's own backend class, so vendor SQL,
  adapters and error classes are Django's. It is never registered in
  ``django.db.connections``: the host's queries, transactions and ``ATOMIC_REQUESTS``
  never see it, and its commits never wait for the host's.
* **Bounded.** Each :meth:`StoreDatabase.run` has one deadline, ``timeout`` seconds after
  it is called; waiting for the connection counts. Connecting uses libpq's
  ``connect_timeout`` (whole start-up, authentication included; whole seconds, 2 at
  least, per address a host name resolves to). The session gets PostgreSQL
  ``lock_timeout`` and ``statement_timeout`` below the deadline, so a held row lock or a
  slow server ends with a clean error and the connection survives. SQLite's busy
  timeout is set from what is left of the deadline. A watchdog thread covers the rest --
  a server that stops answering mid-statement while its kernel still ACKs, where no TCP
  timeout fires: at the deadline it shuts the socket down (SQLite: interrupts the
  statement), the blocked call raises at once, and the connection is replaced on next
  use.
* **One connection per process and alias, behind a lock.** Store operations are rare
  (failures, probes, syncs), so serialising them costs little; a connection per thread
  would multiply the database's connection count by every worker's thread count.
* **Fork-safe.** A child process never touches a connection it inherited (closing it
  would end the parent's session); it opens its own.

:func:`is_outage` sorts errors: only "cannot talk to the database" is an outage (the
store backs off and goes on locally); a held lock, bad data or a missing table are the
database answering, and must not make other breakers skip their writes.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import selectors
import socket
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.utils import Error as DbApiError  # base of DatabaseError and InterfaceError

from circuit_breaker_django.conf import SETTING, get_config

logger = logging.getLogger("circuit_breaker")

T = TypeVar("T")

SUPPORTED_VENDORS = ("postgresql", "sqlite")
# Shares of the bound: a lock wait or a slow statement ends with the server's own clean
# error well before the watchdog has to cut the connection.
LOCK_WAIT_SHARE = 0.5
STATEMENT_SHARE = 0.75
BEGIN_SQL = {
    # The store's transitions rely on READ COMMITTED row locking, whatever the server's
    # default isolation; SQLite takes the write lock up front, so no writer slips in
    # between a transition's read and its write.
    "postgresql": "BEGIN ISOLATION LEVEL READ COMMITTED",
    "sqlite": "BEGIN IMMEDIATE",
}
# SQLSTATE classes that mean the session is gone or the server cannot serve it:
# connection exception, insufficient resources, operator intervention (shutdown,
# statement_timeout, terminated), system error.
OUTAGE_SQLSTATE_CLASSES = frozenset({"08", "53", "57", "58"})
# SQLite errors that mean the file cannot be used (a lock wait, SQLITE_BUSY, is not one).
SQLITE_OUTAGE_CODES = frozenset(
    {
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_NOTADB,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_READONLY,
    }
)


class DatabaseUnavailable(OperationalError):
    """The app's connection could not reach the database within its bound."""


def is_outage(exc: BaseException) -> bool:
    """True if ``exc`` (raised by :meth:`StoreDatabase.run`) means the database cannot be
    talked to, False if the database answered (lock timeout, bad data, missing table)."""
    if isinstance(exc, DatabaseUnavailable | InterfaceError):
        return True
    if not isinstance(exc, DatabaseError):
        return False
    driver_error = exc.__cause__ or exc  # Django keeps the driver's error as the cause
    sqlstate = getattr(driver_error, "sqlstate", None) or getattr(driver_error, "pgcode", None)
    if isinstance(sqlstate, str):
        return sqlstate[:2] in OUTAGE_SQLSTATE_CLASSES
    sqlite_code = getattr(driver_error, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code & 0xFF in SQLITE_OUTAGE_CODES
    # No code: a lost connection, reported by the driver itself.
    return isinstance(exc, OperationalError)


def timeout_problem(value: object, name: str = "DATABASE_TIMEOUT") -> str | None:
    """Why ``value`` is not a usable bound in seconds, or None."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        return f"{name} must be a number of seconds > 0, got {value!r}"
    return None


class _Watchdog:
    """One daemon thread per process: calls each armed callback at its deadline unless it
    is disarmed first. Callbacks run under the watchdog's lock, so once ``disarm`` has
    returned, the callback cannot run any more."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._condition = threading.Condition(threading.Lock())
        self._armed: dict[int, tuple[float, Callable[[], None]]] = {}
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float, callback: Callable[[], None]) -> int:
        with self._condition:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="circuit-breaker-db-watchdog", daemon=True
                )
                self._thread.start()
            token = next(self._tokens)
            self._armed[token] = (deadline, callback)
            self._condition.notify()
        return token

    def disarm(self, token: int) -> bool:
        """Stop watching ``token``; True if its deadline had passed and the callback ran."""
        with self._condition:
            return self._armed.pop(token, None) is None

    def _serve(self) -> None:
        condition = self._condition
        with condition:
            while True:
                now = time.monotonic()
                for token, (deadline, callback) in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[token]
                        try:
                            callback()
                        except Exception:
                            logger.exception("circuit breaker database watchdog failed")
                upcoming = min((deadline for deadline, _ in self._armed.values()), default=None)
                condition.wait(None if upcoming is None else upcoming - now)


_WATCHDOG = _Watchdog()
_INSTANCES: weakref.WeakSet[StoreDatabase] = weakref.WeakSet()
_INHERITED: list[object] = []  # a child's copies of its parent's connections: never finalised
_SHARED: dict[str, StoreDatabase] = {}
_SHARED_LOCK = threading.Lock()


class StoreDatabase:
    """A bounded, dedicated connection to database ``alias``; see the module docstring.

    ``timeout`` defaults to ``CIRCUIT_BREAKERS["DATABASE_TIMEOUT"]``.
    """

    def __init__(self, alias: str = "default", *, timeout: float | None = None) -> None:
        if alias not in connections:
            raise ValueError(
                f"database alias {alias!r} is not in DATABASES (aliases: {', '.join(connections)})"
            )
        if timeout is None:
            timeout = get_config().database_timeout
            problem = timeout_problem(timeout)
            if problem is not None:
                raise ImproperlyConfigured(f"{SETTING}: {problem}")
        elif (problem := timeout_problem(timeout, "timeout")) is not None:
            raise ValueError(problem)
        vendor = connections[alias].vendor
        if vendor not in SUPPORTED_VENDORS:
            raise ValueError(
                f"the circuit breaker app's tables need PostgreSQL or SQLite; database "
                f"{alias!r} is {vendor}"
            )
        self.alias = alias
        self.timeout = float(timeout)
        self.vendor: str = vendor
        self._lock = threading.Lock()
        self._wrapper: BaseDatabaseWrapper | None = None
        self._cut = False  # the watchdog cut this run's connection at the deadline
        _INSTANCES.add(self)

    def __del__(self) -> None:
        # Django's connection objects are reference cycles: left to the garbage
        # collector, a dropped instance would keep its session open for a while.
        with suppress(Exception):
            self._discard()

    def __repr__(self) -> str:
        return f"<StoreDatabase {self.alias!r} timeout={self.timeout:g}s>"

    @property
    def _name(self) -> str:
        return f"circuit breaker connection to database {self.alias!r}"

    # -- public API ----------------------------------------------------------------------

    def run(self, work: Callable[[CursorWrapper], T], *, atomic: bool = True) -> T:
        """``work(cursor)`` on the dedicated connection, all within ``timeout`` seconds.

        ``atomic`` wraps it in BEGIN ... COMMIT (rolled back if ``work`` raises); on
        SQLite the BEGIN takes the write lock. Without it each statement commits alone.
        ``work`` must use only ``cursor`` (``cursor.db`` is the connection, for its
        ``ops``): the ORM would run on the host's connection instead. Raises Django's
        database errors, and :class:`DatabaseUnavailable` when the bound is hit or the
        connection cannot be made; :func:`is_outage` tells them apart.
        """
        deadline = time.monotonic() + self.timeout
        if not self._lock.acquire(timeout=self.timeout):
            raise DatabaseUnavailable(
                f"{self._name}: busy: another operation held it for the whole "
                f"{self.timeout:g}s bound"
            )
        try:
            self._cut = False
            token = _WATCHDOG.arm(deadline, self._interrupt)
            try:
                result = self._run(work, atomic, deadline)
            except BaseException as exc:
                expired = _WATCHDOG.disarm(token)
                if expired or not isinstance(exc, Exception) or is_outage(exc):
                    self._discard()
                if not isinstance(exc, DbApiError):
                    raise
                if self._cut:
                    raise DatabaseUnavailable(
                        f"{self._name}: no answer within {self.timeout:g}s; "
                        "the connection was dropped"
                    ) from exc
                if not isinstance(exc, DatabaseUnavailable):
                    exc.add_note(f"(on the {self._name})")
                raise
            if _WATCHDOG.disarm(token):  # it fired after the last answer: socket is gone
                self._discard()
            return result
        finally:
            self._lock.release()

    @property
    def connection(self) -> BaseDatabaseWrapper | None:
        """The open connection, if any (for ``CaptureQueriesContext`` in tests)."""
        return self._wrapper

    def close(self) -> None:
        """Close the connection (a later ``run`` opens a new one)."""
        with self._lock:
            self._discard()

    # -- internals -----------------------------------------------------------------------

    def _run(self, work: Callable[[CursorWrapper], T], atomic: bool, deadline: float) -> T:
        wrapper = self._usable_wrapper(deadline)
        with wrapper.cursor() as cursor:
            if self.vendor == "sqlite":
                left = max(deadline - time.monotonic(), 0.0)
                cursor.execute(f"PRAGMA busy_timeout = {self._milliseconds(left)}")
            if not atomic:
                return work(cursor)
            cursor.execute(BEGIN_SQL[self.vendor])
            try:
                result = work(cursor)
                cursor.execute("COMMIT")
            except BaseException:
                self._roll_back(cursor)
                raise
            return result

    def _roll_back(self, cursor: CursorWrapper) -> None:
        try:
            cursor.execute("ROLLBACK")
        except DbApiError:
            self._discard()  # transaction state unknown: never reuse this connection

    @staticmethod
    def _milliseconds(seconds: float, share: float = LOCK_WAIT_SHARE) -> int:
        return max(1, int(seconds * share * 1000))

    def _usable_wrapper(self, deadline: float) -> BaseDatabaseWrapper:
        wrapper = self._wrapper
        if wrapper is not None and not self._hung_up(wrapper.connection):
            return wrapper
        self._discard()
        return self._connect(deadline)

    def _hung_up(self, raw: Any) -> bool:
        """True if the server closed this idle connection (restart, idle timeout,
        ``pg_terminate_backend``): an idle session has nothing to read otherwise.
        Reconnecting here keeps such an event from looking like an outage."""
        if raw is None:
            return True
        if self.vendor == "sqlite":
            return False
        try:
            if raw.closed:
                return True
            with selectors.DefaultSelector() as selector:
                selector.register(raw.fileno(), selectors.EVENT_READ)
                return bool(selector.select(0))
        except Exception:
            return True

    def _connect(self, deadline: float) -> BaseDatabaseWrapper:
        host = connections[self.alias]
        settings_dict = {
            **host.settings_dict,
            "ATOMIC_REQUESTS": False,
            "AUTOCOMMIT": True,  # run() begins and ends its own transactions
            "CONN_MAX_AGE": None,
            "CONN_HEALTH_CHECKS": False,
        }
        options = dict(settings_dict.get("OPTIONS") or {})
        options.pop("pool", None)  # a pool would outlive the bounds set here
        if self.vendor == "postgresql":
            options["connect_timeout"] = max(2, math.ceil(self.timeout))
        else:
            options["timeout"] = self.timeout * LOCK_WAIT_SHARE
        settings_dict["OPTIONS"] = options
        wrapper = type(host)(settings_dict, alias=f"{self.alias}-circuit-breaker")
        wrapper.inc_thread_sharing()  # one connection, used by any thread holding the lock
        self._wrapper = wrapper
        try:
            wrapper.ensure_connection()
            if time.monotonic() >= deadline:  # connect_timeout is whole seconds, 2 at least
                raise DatabaseUnavailable(
                    f"{self._name}: connecting took longer than the {self.timeout:g}s bound"
                )
            if self.vendor == "postgresql":
                with wrapper.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('lock_timeout', %s, false), "
                        "set_config('statement_timeout', %s, false)",
                        [
                            f"{self._milliseconds(self.timeout)}ms",
                            f"{self._milliseconds(self.timeout, STATEMENT_SHARE)}ms",
                        ],
                    )
        except DatabaseUnavailable:
            raise
        except DbApiError as exc:
            raise DatabaseUnavailable(f"{self._name}: cannot connect: {exc}") from exc
        return wrapper

    def _discard(self) -> None:
        wrapper, self._wrapper = self._wrapper, None
        if wrapper is not None:
            with suppress(DbApiError):  # a broken connection may fail to close: gone anyway
                wrapper.close()

    def _interrupt(self) -> None:
        """The watchdog's callback: make the blocked call return now."""
        wrapper = self._wrapper
        raw = None if wrapper is None else wrapper.connection
        if raw is None:
            return  # still connecting: connect_timeout bounds that, _connect checks the rest
        self._cut = True
        if self.vendor == "sqlite":
            raw.interrupt()
            return
        # A copy of the descriptor: shutting it down ends the connection for every copy.
        with socket.socket(fileno=os.dup(raw.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)

    def _forget_after_fork(self) -> None:
        if self._wrapper is not None:
            _INHERITED.append(self._wrapper)
        self._wrapper = None
        self._lock = threading.Lock()  # another thread may have held it at the fork


def shared_database(alias: str = "default") -> StoreDatabase:
    """The process's connection for ``alias`` with the configured ``DATABASE_TIMEOUT``:
    the store and the admin's row sync share it. A changed setting gives a new one."""
    with _SHARED_LOCK:
        current = _SHARED.get(alias)
        if current is not None and current.timeout == get_config().database_timeout:
            return current
        fresh = _SHARED[alias] = StoreDatabase(alias)
    if current is not None:
        current.close()
    return fresh


def close_all() -> None:
    """Close every connection this module opened (tests; before a host forks or exits)."""
    for database in list(_INSTANCES):
        database.close()


def _after_fork_in_child() -> None:
    global _SHARED_LOCK
    _WATCHDOG.reset()
    _SHARED_LOCK = threading.Lock()
    for database in list(_INSTANCES):
        database._forget_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
