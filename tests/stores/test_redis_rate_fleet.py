"""Rate rules across a fleet: four real processes adding to one window in Redis."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import pytest

from circuit_breaker import CircuitBreakerState
from circuit_breaker.core.record import BreakerRecord
from circuit_breaker.stores.redis import RedisStore
from tests.redis_servers import RedisServer
from tests.stores import fleet_workers
from tests.stores.fleet_runs import gather_reports

SPAWN = multiprocessing.get_context("spawn")
PROCESSES = 4
FLUSH_INTERVAL = 0.1  # what fleet_workers.rate_traffic gives its store
SYNC_INTERVAL = 0.5


def _run_fleet(
    url: str,
    prefix: str,
    failure_shares: list[float],
    threads: int,
    calls_per_thread: int,
    pause: float,
    options: dict[str, Any],
) -> list[dict[str, Any]]:
    start, results = SPAWN.Barrier(len(failure_shares)), SPAWN.Queue()
    processes = [
        SPAWN.Process(
            target=fleet_workers.rate_traffic,
            args=(url, prefix, share, threads, calls_per_thread, pause, options, start, results),
        )
        for share in failure_shares
    ]
    return gather_reports(processes, results)


def _stored(url: str, prefix: str) -> BreakerRecord:
    """The fleet's record as the library reads it (a new record holds only what changed)."""
    store = RedisStore(url, key_prefix=prefix)
    try:
        return store.load_many(["rated"], time.time())["rated"].record
    finally:
        store.close()


@pytest.mark.e2e
def test_one_all_failing_process_among_three_healthy_ones_does_not_trip_the_fleet(
    redis_server: RedisServer, key_prefix: str
) -> None:
    # The failing process alone is at 100 % (it asks for early flushes); the fleet is at 25 %.
    options = {
        "failure_threshold": None,
        "failure_rate_threshold": 0.5,
        "sliding_window_seconds": 2.0,
        "minimum_calls": 20,
    }
    reports = _run_fleet(redis_server.url, key_prefix, [1.0, 0.0, 0.0, 0.0], 2, 150, 0.005, options)

    assert [r["rejected"] for r in reports] == [0] * PROCESSES
    assert [r["changes"] for r in reports] == [[]] * PROCESSES
    assert sum(r["unexpected"] for r in reports) == 0
    failing = [r for r in reports if r["share"] == 1.0]
    assert [r["failed"] for r in failing] == [2 * 150]  # it really failed throughout
    stored = _stored(redis_server.url, key_prefix)
    assert stored.state is CircuitBreakerState.CLOSED
    assert sum(b[1] for b in stored.window) > 0, "the processes flushed into the fleet's window"


@pytest.mark.e2e
def test_a_fleet_at_seventy_percent_errors_opens_in_every_process_within_flush_plus_sync(
    redis_server: RedisServer, key_prefix: str
) -> None:
    options = {
        "failure_threshold": None,
        "failure_rate_threshold": 0.5,
        "sliding_window_seconds": 2.0,
        "minimum_calls": 20,
        "base_interval_minutes": 10,  # stays open for the rest of the test
    }
    reports = _run_fleet(redis_server.url, key_prefix, [0.7] * PROCESSES, 2, 400, 0.005, options)

    stored = _stored(redis_server.url, key_prefix)
    assert stored.state is CircuitBreakerState.OPEN
    assert stored.tripped_by == "failure_rate"
    assert stored.opened_at is not None
    opened_at = stored.opened_at  # Redis TIME: the same machine's wall clock
    lags = [r["opened_seen"][0] - opened_at for r in reports]
    print(f"\nopened at {opened_at:.3f}; seen by each process after {lags} s")
    assert all(len(r["opened_seen"]) == 1 for r in reports)
    assert all(lag <= FLUSH_INTERVAL + SYNC_INTERVAL for lag in lags)
    assert all(r["rejected"] > 0 for r in reports)


@pytest.mark.e2e
def test_four_processes_of_eight_threads_lose_no_count_in_the_fleets_window(
    redis_server: RedisServer, key_prefix: str
) -> None:
    # A 60 s window keeps every count of this short run; all calls succeed (no trip).
    options = {
        "failure_threshold": None,
        "failure_rate_threshold": 0.5,
        "slow_call_rate_threshold": 0.5,
        "slow_call_duration_seconds": 30.0,
        "sliding_window_seconds": 60.0,
    }
    threads, per_thread = 8, 500
    reports = _run_fleet(
        redis_server.url, key_prefix, [0.0] * PROCESSES, threads, per_thread, 0.0, options
    )

    assert sum(r["calls"] for r in reports) == PROCESSES * threads * per_thread
    window = _stored(redis_server.url, key_prefix).window
    assert (
        sum(calls for _key, calls, _failures, _slow in window) == PROCESSES * threads * per_thread
    )
    assert sum(failures for _key, _calls, failures, _slow in window) == 0
