"""A fleet: several processes, each with its own breaker on one Redis record."""

from __future__ import annotations

import itertools
import multiprocessing
import time
from typing import Any

import pytest
import redis

from circuit_breaker import CircuitBreaker, CircuitBreakerState, CircuitOpenError
from tests.redis_servers import RedisServer
from tests.stores import fleet_workers
from tests.stores.store_factory import StoreFactory

SPAWN = multiprocessing.get_context("spawn")


def _collect(results: Any, count: int, processes: list[Any], timeout: float) -> list[Any]:
    collected = [results.get(timeout=timeout) for _ in range(count)]
    for process in processes:
        process.join(timeout=10)
        assert process.exitcode == 0
    return collected


def test_four_processes_of_sixteen_threads_count_every_failure_and_open_once(
    redis_server: RedisServer, key_prefix: str, redis_client: redis.Redis[Any]
) -> None:
    processes_count, threads, per_thread = 4, 16, 20
    threshold = processes_count * threads * per_thread  # opens on the very last failure
    start, results = SPAWN.Barrier(processes_count), SPAWN.Queue()
    processes = [
        SPAWN.Process(
            target=fleet_workers.hammer_failures,
            args=(
                redis_server.url,
                key_prefix,
                "shared",
                threads,
                per_thread,
                threshold,
                start,
                results,
            ),
        )
        for _ in range(processes_count)
    ]
    for process in processes:
        process.start()
    reports = _collect(results, processes_count, processes, timeout=60)

    assert sum(r["invocations"] for r in reports) == threshold
    assert sum(r["rejected"] for r in reports) == 0
    assert sum(r["unexpected"] for r in reports) == 0
    changes = [change for r in reports for change in r["changes"]]
    local = [c for c in changes if c[3] == "local"]
    assert local == [("closed", "open", "threshold", "local")]
    remote = [c for c in changes if c[3] == "remote"]
    assert remote == [("closed", "open", "threshold", "remote")] * (processes_count - 1)
    assert [r["state"] for r in reports] == ["open"] * processes_count
    stored = redis_client.hgetall(f"{key_prefix}:{{shared}}")
    assert (stored["state"], stored["consecutive_breaks"], stored["failure_count"]) == (
        "open",
        "1",
        "0",
    )


@pytest.mark.e2e
def test_eight_processes_send_one_probe_per_deadline_then_resume(
    redis_server: RedisServer,
    key_prefix: str,
    make_store: StoreFactory,
    redis_client: redis.Redis[Any],
) -> None:
    base, down_for, run_for = 2.0, 5.0, 8.5
    # Tripped before the fleet starts: every hit the upstream sees while down is a probe.
    opener = CircuitBreaker(
        3, base / 60, name="upstream", store=make_store(), fixed_interval_retries=10
    )
    for _ in range(3):
        with pytest.raises(fleet_workers.UpstreamDown):
            opener.call(fleet_workers._fail)
    ready, go, results = SPAWN.Queue(), SPAWN.Event(), SPAWN.Queue()
    processes = [
        SPAWN.Process(
            target=fleet_workers.call_recovering_upstream,
            args=(redis_server.url, key_prefix, "upstream", base, run_for, ready, go, results),
        )
        for _ in range(8)
    ]
    for process in processes:
        process.start()
    assert [ready.get(timeout=60) for _ in processes] != []
    go.set()
    started = time.time()
    time.sleep(down_for)  # real wait: the upstream stays down
    redis_client.set(f"{key_prefix}:upstream:healthy", "1")
    recovered_at = time.time()
    reports = _collect(results, len(processes), processes, timeout=60)

    hits = [line.split() for line in redis_client.lrange(f"{key_prefix}:upstream:hits", 0, -1)]
    down_hits = [float(at) for at, health in hits if health == "down"]
    up_hits = [float(at) for at, health in hits if health == "up"]
    changes = [c for r in reports for c in r["changes"] if c[3] == "local"]
    probes_failed = [c for c in changes if c[2] == "probe_failed"]
    probes_granted = [c for c in changes if c[2] == "retry_due"]

    assert sum(r["unexpected"] for r in reports) == 0
    # One deadline after another while down: each saw exactly one probe, spaced by the interval.
    assert 1 <= len(down_hits) == len(probes_failed)
    gaps = [b - a for a, b in itertools.pairwise(down_hits)]
    assert all(gap >= base * 0.9 - 0.05 for gap in gaps), gaps
    assert all(at >= started - 0.05 for at in down_hits)
    # Recovery: exactly one probe succeeded, then every process's traffic resumed.
    assert [c[2] for c in changes if c[1] == "closed"] == ["probe_succeeded"]
    assert len(probes_granted) == len(down_hits) + 1
    assert up_hits and up_hits[0] - recovered_at < base * 1.1 + 0.5
    assert all(r["ok"] > 0 for r in reports)
    print(f"\nupstream probes while down: {len(down_hits)}; gaps {[round(g, 2) for g in gaps]}")


@pytest.mark.e2e
def test_a_trip_in_one_process_is_honoured_by_another_within_sync_interval(
    redis_server: RedisServer, key_prefix: str, make_store: StoreFactory
) -> None:
    store = make_store(sync_interval=1.0)
    breaker = CircuitBreaker(3, 10, name="shared", store=store)
    assert breaker.call(lambda: "ok") == "ok"
    done = SPAWN.Queue()
    child = SPAWN.Process(
        target=fleet_workers.trip_breaker, args=(redis_server.url, key_prefix, "shared", 3, done)
    )
    child.start()
    tripped_at, child_state = done.get(timeout=60)
    assert child_state == "open"
    honoured_at = None
    while time.monotonic() < tripped_at + 2 * store.sync_interval:
        try:
            breaker.call(lambda: "ok")
        except CircuitOpenError:
            honoured_at = time.monotonic()
            break
        time.sleep(0.005)  # real wait: the other process's change travels
    child.join(timeout=10)
    assert honoured_at is not None
    assert honoured_at - tripped_at <= store.sync_interval
    print(f"\ntrip honoured by the other process after {(honoured_at - tripped_at) * 1000:.1f} ms")
    assert breaker.state is CircuitBreakerState.OPEN
