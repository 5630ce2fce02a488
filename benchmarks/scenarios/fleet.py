"""A fleet of processes sharing one RedisStore, calling an upstream that is down.

The breaker is tripped first; then every process calls as fast as a small pause allows.
Each call that reaches the upstream is a recovery probe: it records the Redis server's
time and fails, which re-opens the breaker with a new deadline. Exactly one probe per
deadline means: as many probes as re-openings, and no two probes within half an interval.
The same fleet runs on one server here and on a 3-node cluster in ``fleet_cluster``.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
import uuid
from contextlib import suppress
from typing import Any

from benchmarks.context import Context
from benchmarks.report import Row, skipped
from benchmarks.scenarios.optional import find

TARGET = "exactly 1 probe per deadline"
INTERVAL_SECONDS = 0.25
# More than a run's deadlines: every deadline of the run is one interval after the last.
FIXED_RETRIES = 100
PAUSE_SECONDS = 0.002  # between a worker's calls: keeps 8 processes off the 2 cores
NAME = "fleet_upstream"


class UpstreamDown(Exception):
    """The upstream's answer while it is down."""


def fail() -> None:
    raise UpstreamDown("down")


def fleet_breaker(url: str, prefix: str, name: str, *, cluster: bool, threshold: int = 1) -> Any:
    from circuit_breaker import CircuitBreaker
    from circuit_breaker.stores.redis import RedisStore

    store = RedisStore(url, cluster=cluster, key_prefix=prefix, sync_interval=1.0)
    return CircuitBreaker(threshold, INTERVAL_SECONDS / 60, FIXED_RETRIES, 0, False,
                          name=name, store=store, probe_timeout_seconds=5.0)


def _client(url: str, cluster: bool) -> Any:
    import redis
    from redis.cluster import RedisCluster

    return RedisCluster.from_url(url) if cluster else redis.Redis.from_url(url)


def _probes_key(prefix: str) -> str:
    """Beside the breaker's key (same hash tag, same node): one clock for every probe."""
    return f"{prefix}:{{{NAME}}}:probes"


def _worker(url: str, cluster: bool, prefix: str, seconds: float, start: Any, out: Any) -> None:
    """One process of the fleet: call through the breaker until ``seconds`` have passed."""
    import logging

    from circuit_breaker import CircuitOpenError

    logging.getLogger("circuit_breaker").setLevel(logging.ERROR)
    client = _client(url, cluster)
    breaker = fleet_breaker(url, prefix, NAME, cluster=cluster)
    probes_key = _probes_key(prefix)
    on_node = {"target_nodes": client.get_node_from_key(probes_key)} if cluster else {}

    def upstream() -> None:
        seconds_now, micros = client.time(**on_node)
        client.rpush(probes_key, f"{seconds_now + micros / 1e6:.6f}")
        raise UpstreamDown("still down")

    calls = rejected = 0
    start.wait()
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        calls += 1
        try:
            breaker.call(upstream)
        except CircuitOpenError:
            rejected += 1
        except UpstreamDown:
            pass
        time.sleep(PAUSE_SECONDS)
    breaker.store.close()
    client.close()
    out.put((calls, rejected))


def probes_row(scenario: str, where: str, url: str, *, cluster: bool, quick: bool) -> Row:
    """Run the fleet against ``url`` and judge it: exactly one probe per deadline."""
    processes = 3 if quick else 8
    seconds = 1.0 if quick else 4.0
    prefix = f"cb-{scenario}-{uuid.uuid4().hex[:8]}"
    tripper = fleet_breaker(url, prefix, NAME, cluster=cluster)
    with suppress(UpstreamDown):
        tripper.call(fail)
    breaks_before = tripper.consecutive_circuit_breaks

    spawn = multiprocessing.get_context("spawn")
    start, out = spawn.Barrier(processes + 1), spawn.Queue()
    workers = [spawn.Process(target=_worker, args=(url, cluster, prefix, seconds, start, out))
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    try:
        start.wait(timeout=60)
        totals = [out.get(timeout=seconds + 60) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=10)
    tripper.sync()
    deadlines = tripper.consecutive_circuit_breaks - breaks_before
    tripper.store.close()

    client = _client(url, cluster)
    try:
        times = sorted(float(t) for t in client.lrange(_probes_key(prefix), 0, -1))
    finally:
        client.close()
    crowded = sum(1 for a, b in itertools.pairwise(times) if b - a < INTERVAL_SECONDS / 2)
    row = Row(
        scenario,
        f"{processes} processes{where}, upstream down {seconds:g}s: probes per deadline",
        "probes",
        len(times) / deadlines if deadlines else float(len(times)),
        target=TARGET,
        notes=(
            f"{len(times)} probes for {deadlines} re-openings, {crowded} probes closer than "
            f"half an interval ({INTERVAL_SECONDS:g}s) to the previous one; "
            f"{sum(c for c, _ in totals)} calls, {sum(r for _, r in totals)} rejected"
        ),
    )
    exact = deadlines > 0 and len(times) == deadlines and crowded == 0
    row.judge(exact, quick=False)  # correctness, judged even in quick mode
    return row


def run(context: Context) -> list[Row]:
    module, reason = find("circuit_breaker.stores.redis", "RedisStore")
    if module is None:
        return [skipped("fleet_probes", str(reason), TARGET)]
    if context.redis.unavailable:
        return [skipped("fleet_probes", str(context.redis.unavailable), TARGET)]
    return [probes_row("fleet_probes", "", context.redis.url, cluster=False,
                       quick=context.quick)]
