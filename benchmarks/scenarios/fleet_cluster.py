"""A fleet on a 3-node Redis Cluster the benchmark starts: probes per deadline, and what a
counted failure costs next to a PING.

Probes: as in ``fleet_probes`` (one server), the breaker is tripped first, then every
process calls an upstream that stays down; each call that reaches it is a probe and
re-opens the breaker. Exactly one probe per deadline means as many probes as re-openings
and no two within half an interval, across all processes.

Cost: a counted failure is one script (read, decide, write, expire) on the node holding
the breaker; it is timed against a PING to that same node through the same client, on
the cluster and on one server (the private server of the run). Target: at most two
PINGs, the whole failure path of ``breaker.call`` included.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
import uuid
from contextlib import suppress
from typing import Any

from benchmarks.context import Context
from benchmarks.harness import interleave
from benchmarks.loops import bare
from benchmarks.redis_cluster import shared
from benchmarks.report import Row, skipped
from benchmarks.scenarios.optional import find

SCENARIO = "fleet_cluster"
TARGET = "exactly 1 probe per deadline"
INTERVAL_SECONDS = 0.25
FIXED_RETRIES = 100
PAUSE_SECONDS = 0.002  # between a worker's calls: keeps 8 processes off the 2 cores
HUGE_THRESHOLD = 10**9  # every failure is counted, none trips
TIMES_PING = 2.0
TARGET_COST = f"<={TIMES_PING:g}x a PING"


class UpstreamDown(Exception):
    """The upstream's answer while it is down."""


def _breaker(url: str, prefix: str, name: str, threshold: int = 1) -> Any:
    from circuit_breaker import CircuitBreaker
    from circuit_breaker.stores.redis import RedisStore

    store = RedisStore(url, cluster=True, key_prefix=prefix, sync_interval=1.0)
    return CircuitBreaker(threshold, INTERVAL_SECONDS / 60, FIXED_RETRIES, 0, False,
                          name=name, store=store, probe_timeout_seconds=5.0)


def _worker(url: str, prefix: str, name: str, seconds: float, start: Any, out: Any) -> None:
    """One process of the fleet: call through the breaker until ``seconds`` have passed."""
    import logging

    from redis.cluster import RedisCluster

    from circuit_breaker import CircuitOpenError

    logging.getLogger("circuit_breaker").setLevel(logging.ERROR)
    client = RedisCluster.from_url(url)
    breaker = _breaker(url, prefix, name)
    probes_key = f"{prefix}:{{{name}}}:probes"  # on the breaker's node: one clock

    def upstream() -> None:
        node = client.get_node_from_key(probes_key)
        seconds_now, micros = client.time(target_nodes=node)
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


def run(context: Context) -> list[Row]:
    module, reason = find("circuit_breaker.stores.redis", "RedisStore")
    if module is None:
        return [skipped(SCENARIO, str(reason), TARGET)]
    cluster = shared()
    if cluster.unavailable:
        return [skipped(SCENARIO, str(cluster.unavailable), TARGET)]
    rows = [_probes(context, cluster.url)]
    rows.append(_failure_cost(context, "a 3-node cluster", cluster.url, cluster=True))
    if not context.redis.unavailable:
        rows.append(_failure_cost(context, "one server", context.redis.url, cluster=False))
    return rows


def _probes(context: Context, url: str) -> Row:
    processes = 3 if context.quick else 8
    seconds = 1.0 if context.quick else 4.0
    prefix = f"cb-fleet-cluster-{uuid.uuid4().hex[:8]}"
    name = "fleet_upstream"
    tripper = _breaker(url, prefix, name)
    with suppress(UpstreamDown):
        tripper.call(_fail)
    breaks_before = tripper.consecutive_circuit_breaks

    spawn = multiprocessing.get_context("spawn")
    start, out = spawn.Barrier(processes + 1), spawn.Queue()
    workers = [spawn.Process(target=_worker, args=(url, prefix, name, seconds, start, out))
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

    from redis.cluster import RedisCluster

    client = RedisCluster.from_url(url)
    try:
        times = sorted(float(t) for t in client.lrange(f"{prefix}:{{{name}}}:probes", 0, -1))
    finally:
        client.close()
    crowded = sum(1 for a, b in itertools.pairwise(times) if b - a < INTERVAL_SECONDS / 2)
    row = Row(
        SCENARIO, f"{processes} processes, 3-node cluster, upstream down {seconds:g}s: "
        "probes per deadline", "probes",
        len(times) / deadlines if deadlines else float(len(times)), target=TARGET,
        notes=(f"{len(times)} probes for {deadlines} re-openings, {crowded} closer than half "
               f"an interval ({INTERVAL_SECONDS:g}s); {sum(c for c, _ in totals)} calls, "
               f"{sum(r for _, r in totals)} rejected"),
    )
    row.judge(deadlines > 0 and len(times) == deadlines and crowded == 0, quick=False)
    return row


def _failure_cost(context: Context, where: str, url: str, *, cluster: bool) -> Row:
    """A counted failure (one script) against a PING of the same node, same client."""
    prefix = f"cb-cost-{uuid.uuid4().hex[:8]}"
    breaker = _breaker(url, prefix, "costly", HUGE_THRESHOLD) if cluster else _server_breaker(
        url, prefix)
    store = breaker.store
    client = store.topology.client()
    if cluster:
        node = client.get_node_from_key(store.key("costly"))

        def ping() -> None:
            client.ping(target_nodes=node)
    else:
        ping = client.ping

    def counted_failure() -> None:
        with suppress(UpstreamDown):
            breaker.call(_fail)

    settings = context.settings
    try:
        counted_failure()  # loads the script
        # Every round of the run: a round trip's time swings with the machine's other
        # work, and a few rounds would judge a target of a ratio on a moment's load.
        samples = interleave({"failure": bare(counted_failure), "PING": bare(ping)}, settings)
    finally:
        store.close()
    failure, ping_ns = samples["failure"].median / 1000, samples["PING"].median / 1000
    row = Row(
        SCENARIO, f"counted failure on {where} (one script)", "µs", failure,
        {"PING (same node, same client)": ping_ns}, target=TARGET_COST,
        spread=samples["failure"].spread,
        notes=f"{failure / ping_ns:.2f} PINGs; failure path of breaker.call, script included",
    )
    row.judge(failure <= TIMES_PING * ping_ns, quick=settings.quick)
    return row


def _server_breaker(url: str, prefix: str) -> Any:
    from circuit_breaker import CircuitBreaker
    from circuit_breaker.stores.redis import RedisStore

    store = RedisStore(url, key_prefix=prefix, sync_interval=1.0)
    return CircuitBreaker(HUGE_THRESHOLD, name="costly", store=store)


def _fail() -> None:
    raise UpstreamDown("down")
