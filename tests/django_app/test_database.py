"""The app's own database connection: bounded, dedicated, outages told from answers.

The connection commits on its own, so tests that look at its rows from the test's
connection use ``transactional_db``: a ``db`` test's transaction would hide its own rows
from it (and, on SQLite, hold the locks it needs).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.db.backends.utils import CursorWrapper
from django.test.utils import CaptureQueriesContext

from circuit_breaker_django.database import (
    DatabaseUnavailable,
    StoreDatabase,
    is_outage,
    shared_database,
)
from circuit_breaker_django.models import Breaker
from tests.django_app.app_helpers import on_postgres
from tests.django_app.servers import (
    answer_start_up_then_freeze,
    say_nothing,
    tcp_server,
    temporary_alias,
)

BOUND = 0.5  # seconds: short, so the tests that hit the bound wait little


def postgres_only() -> None:
    if not on_postgres():
        pytest.skip("PostgreSQL only; `make test` runs it again on PostgreSQL")


def one(cursor: CursorWrapper, sql: str, params: list[Any] | None = None) -> Any:
    cursor.execute(sql, params)
    return cursor.fetchone()[0]


def backend_pid(database: StoreDatabase) -> int:
    pid: int = database.run(lambda c: one(c, "SELECT pg_backend_pid()"), atomic=False)
    return pid


def failure_count(cursor: CursorWrapper) -> int:
    count: int = one(
        cursor, "SELECT failure_count FROM circuit_breaker_django_breaker WHERE name = 'counted'"
    )
    return count


def bump(cursor: CursorWrapper) -> int:
    cursor.execute(
        "UPDATE circuit_breaker_django_breaker SET failure_count = failure_count + 1 "
        "WHERE name = 'counted'"
    )
    return failure_count(cursor)


# -- bounded -------------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_server_that_accepts_tcp_but_never_answers_fails_as_an_outage(
    django_db_blocker: Any,
) -> None:
    with (
        tcp_server(say_nothing) as port,
        temporary_alias("silent", HOST="127.0.0.1", PORT=str(port)),
        django_db_blocker.unblock(),
    ):
        database = StoreDatabase("silent", timeout=2.0)
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match="cannot connect") as raised:
            database.run(lambda c: c.execute("SELECT 1"))  # real wait: the connect bound
        elapsed = time.monotonic() - started
    assert is_outage(raised.value)
    assert elapsed < 5 * database.timeout  # bounded (a correctness check, not a speed figure)


@pytest.mark.e2e
def test_a_server_that_freezes_after_the_start_up_is_cut_off_at_the_bound(
    django_db_blocker: Any,
) -> None:
    with (
        tcp_server(answer_start_up_then_freeze) as port,
        temporary_alias("frozen", HOST="127.0.0.1", PORT=str(port)),
        django_db_blocker.unblock(),
    ):
        database = StoreDatabase("frozen", timeout=BOUND)
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match=r"no answer within 0\.5s") as raised:
            database.run(lambda c: c.execute("SELECT 1"))  # real wait: the bound
        elapsed = time.monotonic() - started
    assert is_outage(raised.value)
    assert elapsed < 5 * BOUND


def _signalable_local_backend(pid: int) -> bool:
    """Only a backend of a server on this machine, seen as a postgres process here."""
    host = connection.settings_dict["HOST"]
    if host not in ("", "localhost", "127.0.0.1", "::1") and not host.startswith("/"):
        return False
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"postgres")
    except OSError:
        return False


@pytest.mark.e2e
def test_a_postgres_backend_that_stops_mid_session_is_cut_off_and_replaced(
    transactional_db: None,
) -> None:
    postgres_only()
    database = StoreDatabase(timeout=BOUND)
    frozen = backend_pid(database)  # the dedicated session's own server process
    if not _signalable_local_backend(frozen):
        pytest.skip("the PostgreSQL server is not a process on this machine that we may stop")
    try:
        os.kill(frozen, signal.SIGSTOP)  # idle, holding no lock: stopped for BOUND seconds
    except PermissionError:
        pytest.skip("not allowed to signal the PostgreSQL server's processes")
    try:
        with pytest.raises(DatabaseUnavailable, match="no answer within") as raised:
            database.run(lambda c: c.execute("SELECT 1"))  # real wait: the bound
    finally:
        os.kill(frozen, signal.SIGCONT)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [frozen])
    assert is_outage(raised.value)
    assert backend_pid(database) != frozen  # a new session on next use


@pytest.mark.e2e
def test_a_row_lock_held_elsewhere_ends_in_an_error_that_is_not_an_outage(
    transactional_db: None,
) -> None:
    Breaker.objects.create(name="counted")
    database = StoreDatabase(timeout=BOUND)
    database.run(failure_count)  # connected before the lock is taken
    with transaction.atomic():  # the test's connection holds the row (SQLite: the file)
        Breaker.objects.filter(name="counted").update(failure_count=10)
        with pytest.raises(OperationalError) as raised:
            database.run(bump)  # real wait: the lock wait bound
    assert not isinstance(raised.value, DatabaseUnavailable)
    assert not is_outage(raised.value)  # the database answered: the row is busy
    assert database.run(bump) == 11  # the same connection goes on once the lock is free


@pytest.mark.e2e
def test_a_statement_the_server_is_too_slow_for_ends_cleanly_and_counts_as_an_outage(
    transactional_db: None,
) -> None:
    postgres_only()
    database = StoreDatabase(timeout=BOUND)
    with pytest.raises(OperationalError, match="statement timeout") as raised:
        database.run(lambda c: c.execute("SELECT pg_sleep(5)"))  # real wait: 0.75 x bound
    # The server's own statement_timeout, before the watchdog: a clean error, but a
    # server this slow is treated like one that is down (the store backs off).
    assert not isinstance(raised.value, DatabaseUnavailable)
    assert is_outage(raised.value)


def test_a_caller_queued_behind_a_hung_run_gives_up_at_its_own_bound(
    transactional_db: None,
) -> None:
    database = StoreDatabase(timeout=BOUND)
    inside, release = threading.Event(), threading.Event()
    first: list[BaseException] = []

    def hang(cursor: CursorWrapper) -> None:
        inside.set()
        release.wait(10)  # real wait: holds the connection past its bound

    def hung_run() -> None:
        try:
            database.run(hang)
        except BaseException as exc:
            first.append(exc)

    hung = threading.Thread(target=hung_run)
    hung.start()
    assert inside.wait(10)
    try:
        with pytest.raises(DatabaseUnavailable, match="busy") as raised:
            database.run(lambda c: c.execute("SELECT 1"))  # real wait: the bound
    finally:
        release.set()
        hung.join(10)
    assert is_outage(raised.value)
    # The hung run overstayed its bound: on PostgreSQL its socket was cut, so its COMMIT
    # failed; on SQLite nothing was running to interrupt, so it committed.
    assert all(isinstance(exc, DatabaseUnavailable) for exc in first)
    assert database.run(lambda c: one(c, "SELECT 1")) == 1  # the next run (re)connects


# -- outage or answer ----------------------------------------------------------------------


def test_a_refused_connection_is_an_outage_with_a_clear_message(django_db_blocker: Any) -> None:
    database = StoreDatabase("unreachable", timeout=BOUND)
    with django_db_blocker.unblock(), pytest.raises(DatabaseUnavailable) as raised:
        database.run(lambda c: c.execute("SELECT 1"))
    assert is_outage(raised.value)
    message = str(raised.value)
    assert "circuit breaker connection to database 'unreachable': cannot connect" in message


def test_an_sqlite_file_that_cannot_be_opened_is_an_outage(
    django_db_blocker: Any, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-directory" / "breakers.sqlite3"
    with (
        temporary_alias("lost", ENGINE="django.db.backends.sqlite3", NAME=str(missing), OPTIONS={}),
        django_db_blocker.unblock(),
        pytest.raises(DatabaseUnavailable, match="unable to open database file") as raised,
    ):
        StoreDatabase("lost", timeout=BOUND).run(lambda c: c.execute("SELECT 1"))
    assert is_outage(raised.value)


def test_bad_data_is_a_data_error_not_an_outage(transactional_db: None) -> None:
    if not on_postgres():
        pytest.skip("SQLite stores NUL bytes and over-long strings: no error to classify")
    Breaker.objects.create(name="counted")
    database = StoreDatabase(timeout=BOUND)
    before = backend_pid(database)
    rename = "UPDATE circuit_breaker_django_breaker SET name = %s WHERE name = 'counted'"
    for name in ("nul\x00inside", "n" * 201):  # PostgreSQL text cannot hold NUL; max 200
        with pytest.raises(DataError) as raised:
            database.run(lambda c, name=name: c.execute(rename, [name]))
        assert not is_outage(raised.value), name
    assert list(Breaker.objects.values_list("name", flat=True)) == ["counted"]
    assert backend_pid(database) == before  # the connection was fine and stays


def test_errors_the_database_answers_with_are_not_outages(transactional_db: None) -> None:
    database = StoreDatabase(timeout=BOUND)
    with pytest.raises(DatabaseError) as missing_table:  # SQLite says OperationalError
        database.run(lambda c: c.execute("SELECT * FROM no_such_table"))
    with pytest.raises(IntegrityError) as incomplete_row:  # NOT NULL columns left out
        database.run(
            lambda c: c.execute("INSERT INTO circuit_breaker_django_breaker (name) VALUES ('x')")
        )
    assert not is_outage(missing_table.value)
    assert not is_outage(incomplete_row.value)
    assert "circuit breaker connection to database 'default'" in str(incomplete_row.value.__notes__)


def wrapped_by_django(driver_error: Exception) -> BaseException:
    """``driver_error`` wrapped the way Django's cursor wraps it."""
    wrapped = {
        psycopg.OperationalError: OperationalError,
        psycopg.DataError: DataError,
        psycopg.IntegrityError: IntegrityError,
        psycopg.InterfaceError: InterfaceError,
    }
    for driver_class, django_class in wrapped.items():
        if isinstance(driver_error, driver_class):
            error = django_class(str(driver_error))
            error.__cause__ = driver_error
            return error
    raise AssertionError(f"no Django class for {driver_error!r}")


@pytest.mark.parametrize(
    ("driver_error", "outage"),
    [
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (psycopg.errors.ConnectionFailure("08006"), True),
        (psycopg.errors.AdminShutdown("terminating connection"), True),
        (psycopg.errors.TooManyConnections("too many clients"), True),
        (psycopg.errors.QueryCanceled("statement timeout"), True),  # alive but too slow
        (psycopg.InterfaceError("the connection is closed"), True),
        (psycopg.errors.LockNotAvailable("lock timeout"), False),  # alive, row busy
        (psycopg.errors.SerializationFailure("could not serialize"), False),
        (psycopg.errors.DeadlockDetected("deadlock"), False),
        (psycopg.errors.StringDataRightTruncation("value too long"), False),
        (psycopg.errors.UniqueViolation("duplicate key"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_postgres_errors_are_outages_only_when_the_server_cannot_be_talked_to(
    driver_error: Exception, outage: bool
) -> None:
    assert is_outage(wrapped_by_django(driver_error)) is outage


def test_non_database_errors_are_not_outages() -> None:
    assert not is_outage(ValueError("a bug in the work function"))
    assert is_outage(DatabaseUnavailable("no answer"))


# -- dedicated -----------------------------------------------------------------------------


def test_the_host_connection_is_left_alone(transactional_db: None) -> None:
    Breaker.objects.create(name="counted")
    aliases = list(connections)
    with CaptureQueriesContext(connection) as host_queries:
        assert StoreDatabase(timeout=BOUND).run(bump) == 1
    assert host_queries.captured_queries == []
    assert list(connections) == aliases  # never registered
    assert all(wrapper.alias in aliases for wrapper in connections.all())


def test_the_host_transaction_neither_sees_nor_undoes_the_store_commits(
    transactional_db: None,
) -> None:
    if not on_postgres():
        pytest.skip("SQLite's file lock makes a writer wait for any open transaction")
    Breaker.objects.create(name="counted")
    database = StoreDatabase(timeout=BOUND)
    rows = "SELECT COUNT(*) FROM circuit_breaker_django_breaker"
    with transaction.atomic():
        Breaker.objects.create(name="uncommitted")
        assert database.run(lambda c: one(c, rows)) == 1  # the host's row is not visible
        assert database.run(bump) == 1  # committed at once
        transaction.set_rollback(True)
    assert list(Breaker.objects.values_list("name", "failure_count")) == [("counted", 1)]


def test_an_atomic_run_rolls_back_when_the_work_raises(transactional_db: None) -> None:
    Breaker.objects.create(name="counted")
    database = StoreDatabase(timeout=BOUND)

    def bump_then_fail(cursor: CursorWrapper) -> None:
        bump(cursor)
        raise ValueError("the decision failed")

    with pytest.raises(ValueError, match="decision"):
        database.run(bump_then_fail)
    assert database.run(failure_count) == 0


def test_an_atomic_run_on_sqlite_holds_the_write_lock_from_its_first_statement(
    transactional_db: None,
) -> None:
    if on_postgres():
        pytest.skip("SQLite only: PostgreSQL locks rows, not the database")
    import sqlite3

    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0, isolation_level=None)

    def try_to_write_from_elsewhere(cursor: CursorWrapper) -> str:
        cursor.execute("SELECT 1")  # a read first: the lock is held already
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            return str(exc)
        other.execute("ROLLBACK")
        return "the other connection got the write lock"

    try:
        assert StoreDatabase(timeout=BOUND).run(try_to_write_from_elsewhere) == (
            "database is locked"
        )
    finally:
        other.close()


def test_threads_hammering_one_database_lose_no_update(transactional_db: None) -> None:
    Breaker.objects.create(name="counted")
    database = StoreDatabase(timeout=5.0)
    threads, per_thread = 8, 25
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(per_thread):
                database.run(bump)
                database.run(failure_count, atomic=False)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not errors
    assert Breaker.objects.get(name="counted").failure_count == threads * per_thread


def test_a_session_the_server_ended_while_idle_is_replaced_without_an_error(
    transactional_db: None,
) -> None:
    postgres_only()
    database = StoreDatabase(timeout=BOUND)
    ended = backend_pid(database)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [ended])
        deadline = time.monotonic() + 10
        while one(cursor, "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = %s", [ended]):
            assert time.monotonic() < deadline, "the terminated backend did not exit"
            time.sleep(0.01)  # real wait: the backend exits asynchronously
    assert backend_pid(database) != ended


def test_a_forked_child_opens_its_own_connection_and_leaves_the_parents_alone(
    transactional_db: None,
) -> None:
    postgres_only()
    database = StoreDatabase(timeout=2.0)
    parent_session = backend_pid(database)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child, which reports through the pipe
        status = 1
        try:
            os.write(write_end, str(backend_pid(database)).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child_session = int(pipe.read() or 0)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child_session not in (0, parent_session)
    assert backend_pid(database) == parent_session  # the child did not end it


# -- settings ------------------------------------------------------------------------------


def test_the_timeout_comes_from_the_setting_and_must_be_positive(settings: Any) -> None:
    assert shared_database().timeout == 2.0
    settings.CIRCUIT_BREAKERS = {**settings.CIRCUIT_BREAKERS, "DATABASE_TIMEOUT": 0.75}
    assert shared_database().timeout == 0.75
    assert shared_database() is shared_database()
    with pytest.raises(ValueError, match="timeout must be a number of seconds > 0, got 0"):
        StoreDatabase(timeout=0)
    settings.CIRCUIT_BREAKERS = {**settings.CIRCUIT_BREAKERS, "DATABASE_TIMEOUT": "2"}
    with pytest.raises(ImproperlyConfigured, match="DATABASE_TIMEOUT must be a number"):
        shared_database()


def test_an_unknown_alias_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="alias 'nope' is not in DATABASES"):
        StoreDatabase("nope")
