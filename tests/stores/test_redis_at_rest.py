"""What a process costs Redis at rest: one PING per subscription connection per
``sync_interval``, whatever the number of breakers (INFO commandstats on servers of the
test's own, so that no other test's commands are counted)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from circuit_breaker import BreakerRegistry
from circuit_breaker.stores.redis import RedisStore
from tests.redis_servers import RedisServer
from tests.redis_topologies import ClusterFactory, RedisProcess

BREAKERS = 1_000
SYNC_INTERVAL = 0.5
QUIET_SECONDS = 2.0

pytestmark = pytest.mark.e2e


def _commands(query: Callable[..., Any]) -> dict[str, int]:
    """Calls per command since CONFIG RESETSTAT, the test's own INFO and CONFIG left out."""
    stats: dict[str, Any] = query("commandstats")
    calls = {key.removeprefix("cmdstat_"): value["calls"] for key, value in stats.items()}
    return {name: n for name, n in calls.items() if not name.startswith(("config", "info"))}


def _registry(store: RedisStore) -> BreakerRegistry:
    names = {f"svc{n}": {"failure_threshold": 3} for n in range(BREAKERS)}
    return BreakerRegistry.from_dict({"breakers": names}, store=store)


def _settled(count_subscriptions: Callable[[], int]) -> None:
    """Every breaker subscribed, then the one read that follows a new subscription."""
    deadline = time.monotonic() + 30
    while count_subscriptions() < BREAKERS:
        assert time.monotonic() < deadline, "the store never subscribed to every breaker"
        time.sleep(0.05)  # real wait: the background thread subscribes
    time.sleep(SYNC_INTERVAL)  # real wait: the read that follows the subscriptions


def test_at_rest_a_process_sends_one_ping_per_sync_interval_whatever_its_breakers(
    own_redis: RedisServer,
) -> None:
    store = RedisStore(own_redis.url, sync_interval=SYNC_INTERVAL, key_prefix="rest")
    admin = own_redis.client()
    registry = _registry(store)
    try:
        _settled(lambda: len(admin.pubsub_channels("rest:*")))
        admin.config_resetstat()
        started = time.monotonic()
        time.sleep(QUIET_SECONDS)  # real wait: a quiet fleet
        commands = _commands(admin.info)
        elapsed = time.monotonic() - started
    finally:
        registry.close()
        store.close()
        admin.close()
    cycles = elapsed / SYNC_INTERVAL
    assert set(commands) <= {"ping"}, commands
    assert commands.get("ping", 0) <= cycles + 1
    print(
        f"\nat rest, {BREAKERS} breakers, one server: {commands} in {elapsed:.2f}s = "
        f"{sum(commands.values()) / cycles:.2f} commands per sync_interval"
    )


def test_at_rest_a_process_pings_each_cluster_node_once_per_sync_interval(
    make_redis_cluster: ClusterFactory,
) -> None:
    cluster = make_redis_cluster()
    store = RedisStore(cluster.url, cluster=True, sync_interval=SYNC_INTERVAL, key_prefix="rest")
    registry = _registry(store)
    masters: list[RedisProcess] = cluster.masters
    try:
        _settled(
            lambda: sum(
                len(master.query("PUBSUB", "SHARDCHANNELS", "rest:*")) for master in masters
            )
        )
        for master in masters:
            master.query("CONFIG", "RESETSTAT")
        started = time.monotonic()
        time.sleep(QUIET_SECONDS)  # real wait: a quiet fleet
        per_node = [_commands(master.info) for master in masters]
        elapsed = time.monotonic() - started
    finally:
        registry.close()
        store.close()
    cycles = elapsed / SYNC_INTERVAL
    for commands in per_node:
        # ``hello``: the test's own connection for INFO.
        assert set(commands) <= {"ping", "hello"}, commands
        assert 1 <= commands.get("ping", 0) <= cycles + 1
    total = sum(commands.get("ping", 0) for commands in per_node)
    print(
        f"\nat rest, {BREAKERS} breakers, 3-node cluster: {per_node} in {elapsed:.2f}s = "
        f"{total / cycles:.2f} commands per sync_interval"
    )
