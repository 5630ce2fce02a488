"""What one process costs Redis at rest with 1,000 breakers: commands per second.

A quiet fleet changes nothing, so a process should send only what keeps its event
subscription trustworthy (one PING per subscription connection per ``sync_interval``),
not a read of every breaker. Counted with ``INFO commandstats`` on the run's private
server, and on every node of its private 3-node cluster, over a quiet stretch after the
process has subscribed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from benchmarks.context import Context
from benchmarks.redis_cluster import shared
from benchmarks.redis_server import commands_between
from benchmarks.report import Row, skipped
from benchmarks.scenarios.optional import find

SCENARIO = "at_rest"
BREAKERS = 1_000
SYNC_INTERVAL = 1.0  # the default
LIMIT = 5.0
TARGET = f"<= {LIMIT:g} commands per process per second"


def run(context: Context) -> list[Row]:
    module, reason = find("circuit_breaker.stores.redis", "RedisStore")
    if module is None:
        return [skipped(SCENARIO, str(reason), TARGET)]
    quiet = 2.0 if context.quick else 10.0
    rows = []
    if context.redis.unavailable:
        rows.append(skipped(SCENARIO, str(context.redis.unavailable), TARGET))
    else:
        server = context.redis

        def count_server() -> dict[str, int]:
            return server.commandstats()

        store = module.RedisStore(server.url, key_prefix=_prefix(), sync_interval=SYNC_INTERVAL)
        rows.append(_measure(context, "one server", store, count_server, quiet))
    cluster = shared()
    if cluster.unavailable:
        rows.append(skipped(SCENARIO, str(cluster.unavailable), TARGET))
    else:

        def count_cluster() -> dict[str, int]:
            totals: dict[str, int] = {}
            for stats in cluster.commandstats().values():
                for command, calls in stats.items():
                    totals[command] = totals.get(command, 0) + calls
            return totals

        store = module.RedisStore(cluster.url, cluster=True, key_prefix=_prefix(),
                                  sync_interval=SYNC_INTERVAL)
        rows.append(_measure(context, "a 3-node cluster", store, count_cluster, quiet))
    return rows


def _prefix() -> str:
    return f"cb-rest-{uuid.uuid4().hex[:8]}"


def _measure(
    context: Context, where: str, store: Any, count: Callable[[], dict[str, int]], quiet: float
) -> Row:
    from circuit_breaker import BreakerRegistry

    names = {f"svc{n}": {"failure_threshold": 3} for n in range(BREAKERS)}
    registry = BreakerRegistry.from_dict({"breakers": names}, store=store)
    try:
        time.sleep(3 * SYNC_INTERVAL)  # subscribed, read once, then quiet
        before, started = count(), time.monotonic()
        time.sleep(quiet)
        after, elapsed = count(), time.monotonic() - started
    finally:
        registry.close()
        store.close()
    delta = commands_between(before, after)
    delta.pop("info", None)  # the counting's own INFO calls, one per node
    delta.pop("hello", None)  # the counting's own connections
    per_second = sum(delta.values()) / elapsed
    row = Row(
        SCENARIO, f"{BREAKERS} breakers at rest, {where}: commands per process per second",
        "cmds/s", per_second, target=TARGET,
        notes=f"sync_interval {SYNC_INTERVAL:g}s, over {elapsed:.1f}s: "
        + ", ".join(f"{name} {calls}" for name, calls in sorted(delta.items())),
    )
    row.judge(per_second <= LIMIT, context.quick)
    return row
