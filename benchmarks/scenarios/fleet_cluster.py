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

import uuid
from contextlib import suppress

from benchmarks.context import Context
from benchmarks.harness import interleave
from benchmarks.loops import bare
from benchmarks.redis_cluster import shared
from benchmarks.report import Row, skipped
from benchmarks.scenarios.fleet import TARGET, UpstreamDown, fail, fleet_breaker, probes_row
from benchmarks.scenarios.optional import find

SCENARIO = "fleet_cluster"
HUGE_THRESHOLD = 10**9  # every failure is counted, none trips
TIMES_PING = 2.0
TARGET_COST = f"<={TIMES_PING:g}x a PING"


def run(context: Context) -> list[Row]:
    module, reason = find("circuit_breaker.stores.redis", "RedisStore")
    if module is None:
        return [skipped(SCENARIO, str(reason), TARGET)]
    cluster = shared()
    if cluster.unavailable:
        return [skipped(SCENARIO, str(cluster.unavailable), TARGET)]
    rows = [probes_row(SCENARIO, ", 3-node cluster", cluster.url, cluster=True,
                       quick=context.quick)]
    rows.append(_failure_cost(context, "a 3-node cluster", cluster.url, cluster=True))
    if not context.redis.unavailable:
        rows.append(_failure_cost(context, "one server", context.redis.url, cluster=False))
    return rows


def _failure_cost(context: Context, where: str, url: str, *, cluster: bool) -> Row:
    """A counted failure (one script) against a PING of the same node, same client."""
    prefix = f"cb-cost-{uuid.uuid4().hex[:8]}"
    breaker = fleet_breaker(url, prefix, "costly", cluster=cluster, threshold=HUGE_THRESHOLD)
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
            breaker.call(fail)

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
