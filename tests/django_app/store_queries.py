"""What one thread sends on a django store's own connection (its background thread
reads on the same connection, on its own schedule)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from circuit_breaker_django.store import DjangoStore


@contextmanager
def statements_of_this_thread(store: DjangoStore) -> Iterator[list[str]]:
    """SQL this thread sends through ``store`` meanwhile (SQLite's local PRAGMAs left out)."""
    store.now()  # the connection exists, so the wrapper can be attached to it
    connection = store.database.connection
    assert connection is not None
    caller = threading.current_thread()
    sent: list[str] = []

    def record(execute: Any, sql: str, *args: Any) -> Any:
        if threading.current_thread() is caller and not sql.startswith("PRAGMA"):
            sent.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(record):
        yield sent
