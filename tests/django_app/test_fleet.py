"""Four real processes sharing the django store: one trip honoured by all, exactly one probe."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from django.db import connection

from tests.django_app.fleet_worker import RETRY_SECONDS, SYNC_INTERVAL

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4


class Worker:
    def __init__(self, environ: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.django_app.fleet_worker"],
            cwd=ROOT,
            env=environ,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def reply(self, timeout: float = 60.0) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        assert ready, "worker did not answer in time"
        return self.process.stdout.readline().strip()

    def ask(self, command: str) -> str:
        self.send(command)
        return self.reply()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.send("quit")
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def eventually(workers: Sequence[Worker], command: str, expected: str, timeout: float) -> bool:
    """Whether every worker answers ``command`` with ``expected`` before ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if [worker.ask(command) for worker in workers] == [expected] * len(workers):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)  # real wait: the workers' background sync


def all_at_once(workers: Sequence[Worker], command: str) -> list[str]:
    for worker in workers:
        worker.send(command)
    return [worker.reply() for worker in workers]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """PostgreSQL: the test database itself; SQLite: a fresh file the workers migrate."""
    if connection.vendor == "postgresql":  # the test database, committed (transaction=True)
        s = connection.settings_dict
        return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"
    url = f"sqlite:///{tmp_path / 'fleet.sqlite3'}"
    environ = {**os.environ, "DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-m", "tests.django_app.fleet_worker", "migrate"],
        cwd=ROOT,
        env=environ,
        check=True,
        timeout=120,
    )
    return url


@pytest.fixture
def fleet(database_url: str) -> Iterator[list[Worker]]:
    environ = {**os.environ, "DATABASE_URL": database_url}
    workers = [Worker(environ) for _ in range(WORKERS)]
    try:
        yield workers
    finally:
        for worker in workers:
            worker.stop()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_four_processes_share_one_breaker(fleet: list[Worker]) -> None:
    first, *others = fleet
    # Concurrent writers lose no count (SQLite: insert-first write lock; PostgreSQL: row lock).
    assert all_at_once(fleet, "hammer 25") == ["done"] * WORKERS
    assert first.ask("count") == str(25 * WORKERS)

    assert all_at_once(fleet, "call") == ["called"] * WORKERS
    assert [first.ask("fail"), first.ask("fail")] == ["failed", "failed"]
    assert first.ask("state") == "open"
    assert eventually(others, "state", "open", SYNC_INTERVAL + 1.0)  # the others reload
    assert [worker.ask("call") for worker in others] == ["rejected"] * (WORKERS - 1)

    assert eventually(fleet, "state", "half_open", RETRY_SECONDS + 2.0)  # the deadline passed
    outcomes = all_at_once(fleet, "probe")
    assert sorted(outcomes) == ["called"] + ["rejected"] * (WORKERS - 1)

    assert eventually(fleet, "state", "closed", SYNC_INTERVAL + 1.0)  # everyone reloads
    assert all_at_once(fleet, "call") == ["called"] * WORKERS


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_four_processes_of_eight_threads_lose_no_count_in_the_fleets_window(
    fleet: list[Worker],
) -> None:
    threads, calls = 8, 250
    assert all_at_once(fleet, f"rated {threads} {calls}") == ["done"] * WORKERS
    expected = str(WORKERS * threads * calls)
    # The counts reach the database with each process's next flush (0.25 s).
    assert eventually(fleet[:1], "window", expected, 5.0)
    assert [worker.ask("window") for worker in fleet] == [expected] * WORKERS
