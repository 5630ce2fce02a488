"""The Redis store on a Redis Cluster: breakers spread over the slots, events on shard
channels, each node read once with its own clock, processes sharing trips and probes,
and a lost node sending only its own breakers to local state."""

from __future__ import annotations

import itertools
import multiprocessing
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.crc import key_slot

from circuit_breaker import BreakerRegistry, CircuitBreaker, CircuitBreakerState, CircuitOpenError
from circuit_breaker.core.operations import RecordFailure
from circuit_breaker.stores.redis import RedisStore
from tests.redis_topologies import ClusterFactory, LocalCluster, RedisProcess
from tests.stores import fleet_workers
from tests.stores.test_store_contract import BOOM, make_config

SPAWN = multiprocessing.get_context("spawn")
OPEN = CircuitBreakerState.OPEN
CLUSTER = {"cluster": True}

ClusterStores = Callable[..., RedisStore]


class Boom(Exception):
    pass


def boom() -> None:
    raise Boom("upstream down")


def poll(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)  # real wait: another process, a node or the background thread acts
    return condition()


def names_on(cluster: LocalCluster, node: RedisProcess, count: int = 1) -> list[str]:
    """Breaker names whose key (``prefix:{name}``: the name is the hash tag) ``node`` holds."""
    first, last = cluster.slot_ranges[node.port]
    found = (f"svc{n}" for n in itertools.count() if first <= key_slot(f"svc{n}".encode()) <= last)
    return list(itertools.islice(found, count))


@pytest.fixture
def cluster_store(key_prefix: str) -> Iterator[ClusterStores]:
    """``cluster_store(cluster, **options)``: RedisStores on a cluster, closed after."""
    made: list[RedisStore] = []

    def make(cluster: LocalCluster, **options: Any) -> RedisStore:
        options = {"key_prefix": key_prefix, "cluster": True, **options}
        store = RedisStore(cluster.url, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


class Calls:
    """Calls through breakers that keep any exception the caller should never see."""

    def __init__(self) -> None:
        self.leaked: list[BaseException] = []

    def __call__(self, breaker: CircuitBreaker, fn: Callable[[], Any]) -> None:
        try:
            breaker.call(fn)
        except (Boom, CircuitOpenError):
            pass
        except BaseException as exc:  # a store error leaking out
            self.leaked.append(exc)


def reachable(breaker: CircuitBreaker) -> bool:
    return bool(breaker.get_status_info()["store"]["reachable"])


# -- layout ------------------------------------------------------------------------------


def test_breakers_spread_over_every_master_each_in_the_slot_of_its_name(
    redis_cluster: LocalCluster, cluster_store: ClusterStores
) -> None:
    store = cluster_store(redis_cluster)
    names = [f"spread{n}" for n in range(30)]
    holders = set()
    for name in names:
        store.apply(name, RecordFailure(0, BOOM, 1.0), make_config(threshold=5), 0.0)
        key = store.key(name)
        assert key_slot(key.encode()) == key_slot(store.channel(name).encode())
        assert key_slot(key.encode()) == key_slot(name.encode())
        holder = redis_cluster.node_for_key(key)
        assert holder.query("HGET", key, "failure_count") == "1"
        holders.add(holder.port)
    assert holders == {master.port for master in redis_cluster.masters}


def test_load_many_reads_each_node_once_with_its_own_clock(
    redis_cluster: LocalCluster, cluster_store: ClusterStores
) -> None:
    store = cluster_store(redis_cluster)
    names = [f"read{n}" for n in range(30)]
    for master in redis_cluster.masters:
        master.query("CONFIG", "RESETSTAT")
    results = store.load_many(names, 0.0)
    assert sorted(results) == sorted(names)
    for master in redis_cluster.masters:
        held = [name for name in names if redis_cluster.node_for_key(store.key(name)) is master]
        calls = {
            command.removeprefix("cmdstat_"): stats["calls"]
            for command, stats in master.info("commandstats").items()
        }
        assert (calls.get("time"), calls.get("hgetall")) == (1, len(held))
        assert len({results[name].now for name in held}) == 1  # that node's TIME


def test_a_script_a_node_forgot_is_loaded_again(
    redis_cluster: LocalCluster, cluster_store: ClusterStores
) -> None:
    store = cluster_store(redis_cluster)
    for master in redis_cluster.masters:
        master.query("SCRIPT", "FLUSH")
    for name in ("flushed0", "flushed1", "flushed2", "flushed3"):
        result = store.apply(name, RecordFailure(0, BOOM, 1.0), make_config(threshold=5), 0.0)
        assert result.record.failure_count == 1


def test_a_breaker_whose_slot_moved_to_another_master_follows_it(
    make_redis_cluster: ClusterFactory, cluster_store: ClusterStores
) -> None:
    cluster = make_redis_cluster()  # its own: the slot map changes
    source, target = cluster.masters[0], cluster.masters[1]
    [name] = names_on(cluster, source)
    store = cluster_store(cluster)
    breaker = CircuitBreaker(100, name=name, store=store)
    calls = Calls()
    calls(breaker, boom)
    key = store.key(name)
    slot = str(key_slot(key.encode()))
    source_id, target_id = source.query("CLUSTER", "MYID"), target.query("CLUSTER", "MYID")
    target.query("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
    source.query("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
    source.query("MIGRATE", "127.0.0.1", str(target.port), key, "0", "5000")
    for master in cluster.masters:
        master.query("CLUSTER", "SETSLOT", slot, "NODE", target_id)
    calls(breaker, boom)  # the store's slot map still names the source: MOVED
    assert calls.leaked == []
    assert breaker.get_status_info()["store"] == {"reachable": True, "error": None}
    assert target.client().hget(key, "failure_count") == "2"
    assert breaker.get_status_info()["failure_count"] == 2


def test_the_status_command_reads_breakers_on_a_cluster(
    redis_cluster: LocalCluster, key_prefix: str, tmp_path: Path
) -> None:
    config = tmp_path / "breakers.yaml"
    config.write_text(
        "breakers:\n"
        "  external_api: {failure_threshold: 1}\n"
        "  orders_db: {failure_threshold: 1}\n"
        "store:\n"
        "  backend: redis\n"
        f"  url: {redis_cluster.url}\n"
        "  cluster: true\n"
        f"  key_prefix: {key_prefix}\n"
    )
    registry = BreakerRegistry.from_files(config)
    try:
        with pytest.raises(Boom):
            registry.get("external_api").call(boom)
    finally:
        registry.close()
    command = [sys.executable, "-m", "circuit_breaker", "status", "--config", str(config)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    rows = {name: line for line in done.stdout.splitlines() for name in
            ("external_api", "orders_db") if line.startswith(name)}  # fmt: skip
    assert "OPEN" in rows["external_api"].upper() and "CLOSED" in rows["orders_db"].upper()


# -- a fleet on a cluster ----------------------------------------------------------------


def _collect(results: Any, processes: list[Any], timeout: float) -> list[Any]:
    collected = [results.get(timeout=timeout) for _ in processes]
    for process in processes:
        process.join(timeout=10)
        assert process.exitcode == 0
    return collected


def test_processes_count_every_failure_and_open_once_on_a_cluster(
    redis_cluster: LocalCluster, key_prefix: str
) -> None:
    processes_count, threads, per_thread = 3, 8, 10
    threshold = processes_count * threads * per_thread  # opens on the very last failure
    start, results = SPAWN.Barrier(processes_count), SPAWN.Queue()
    arguments = (redis_cluster.url, key_prefix, "shared", threads, per_thread, threshold)
    processes = [
        SPAWN.Process(
            target=fleet_workers.hammer_failures, args=(*arguments, start, results, CLUSTER)
        )
        for _ in range(processes_count)
    ]
    for process in processes:
        process.start()
    reports = _collect(results, processes, timeout=60)

    assert sum(r["invocations"] for r in reports) == threshold
    assert sum(r["rejected"] for r in reports) + sum(r["unexpected"] for r in reports) == 0
    changes = [change for r in reports for change in r["changes"]]
    assert [c for c in changes if c[3] == "local"] == [("closed", "open", "threshold", "local")]
    remote = [c for c in changes if c[3] == "remote"]
    assert remote == [("closed", "open", "threshold", "remote")] * (processes_count - 1)
    stored = redis_cluster.client().hgetall(f"{key_prefix}:{{shared}}")
    assert (stored["state"], stored["failure_count"]) == ("open", "0")


@pytest.mark.e2e
def test_four_processes_send_one_probe_per_deadline_on_a_cluster(
    redis_cluster: LocalCluster, key_prefix: str, cluster_store: ClusterStores
) -> None:
    base, down_for, run_for = 1.0, 3.0, 5.0
    opener = CircuitBreaker(
        3, base / 60, name="upstream", store=cluster_store(redis_cluster), fixed_interval_retries=10
    )
    for _ in range(3):
        with pytest.raises(fleet_workers.UpstreamDown):
            opener.call(fleet_workers._fail)
    ready, go, results = SPAWN.Queue(), SPAWN.Event(), SPAWN.Queue()
    arguments = (redis_cluster.url, key_prefix, "upstream", base, run_for)
    processes = [
        SPAWN.Process(
            target=fleet_workers.call_recovering_upstream,
            args=(*arguments, ready, go, results, CLUSTER),
        )
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    assert [ready.get(timeout=60) for _ in processes] != []
    client = redis_cluster.client()
    go.set()
    started = time.time()
    time.sleep(down_for)  # real wait: the upstream stays down
    client.set(f"{key_prefix}:upstream:healthy", "1")
    reports = _collect(results, processes, timeout=60)

    hits = [line.split() for line in client.lrange(f"{key_prefix}:upstream:hits", 0, -1)]
    client.close()
    down_hits = [float(at) for at, health in hits if health == "down"]
    changes = [c for r in reports for c in r["changes"] if c[3] == "local"]
    assert sum(r["unexpected"] for r in reports) == 0
    assert 1 <= len(down_hits) == len([c for c in changes if c[2] == "probe_failed"])
    gaps = [b - a for a, b in itertools.pairwise(down_hits)]
    assert all(gap >= base * 0.9 - 0.05 for gap in gaps), gaps
    assert all(at >= started - 0.05 for at in down_hits)
    assert [c[2] for c in changes if c[1] == "closed"] == ["probe_succeeded"]
    assert all(r["ok"] > 0 for r in reports)


# -- a node lost -------------------------------------------------------------------------


def _two_registries(
    cluster: LocalCluster, cluster_store: ClusterStores, names: list[str]
) -> tuple[BreakerRegistry, BreakerRegistry]:
    config = {"breakers": {name: {"failure_threshold": 2, "base_interval": "5m"} for name in names}}
    options = {"sync_interval": 0.2, "socket_timeout": 0.25}
    return (
        BreakerRegistry.from_dict(config, store=cluster_store(cluster, **options)),
        BreakerRegistry.from_dict(config, store=cluster_store(cluster, **options)),
    )


@pytest.mark.e2e
def test_a_lost_node_sends_only_its_breakers_to_local_state(
    make_redis_cluster: ClusterFactory, cluster_store: ClusterStores
) -> None:
    cluster = make_redis_cluster(require_full_coverage=False)
    victim, survivor = cluster.masters[0], cluster.masters[1]
    (on_victim,) = names_on(cluster, victim)
    on_survivor, also_on_survivor = names_on(cluster, survivor, 2)
    mine, theirs = _two_registries(
        cluster, cluster_store, [on_victim, on_survivor, also_on_survivor]
    )
    calls = Calls()
    cluster.kill(victim)

    lost = mine.get(on_victim)
    for _ in range(20):
        calls(lost, lambda: "served locally")
    for _ in range(2):
        calls(lost, boom)
    assert lost.state is OPEN and not reachable(lost)  # tripped on local state
    for _ in range(2):
        calls(theirs.get(on_survivor), boom)
    assert poll(lambda: mine.get(on_survivor).state is OPEN, 2.0)  # still shared
    assert reachable(mine.get(on_survivor))
    # The other process's background thread finds the node gone for that breaker only.
    assert poll(lambda: not reachable(theirs.get(on_victim)), 2.0)
    assert reachable(theirs.get(on_survivor))

    def flagged_failed() -> bool:
        return " fail " in f" {survivor.query('CLUSTER', 'NODES')} ".replace(",", " ")

    assert poll(flagged_failed, 10.0)  # without full coverage the cluster stays ok
    for _ in range(2):
        calls(theirs.get(also_on_survivor), boom)
    assert poll(lambda: mine.get(also_on_survivor).state is OPEN, 2.0)
    statuses = mine.statuses()
    assert not statuses[on_victim].store.reachable and statuses[on_survivor].store.reachable
    assert calls.leaked == []


@pytest.mark.e2e
def test_with_full_coverage_required_a_lost_node_sends_every_breaker_to_local_state(
    make_redis_cluster: ClusterFactory, cluster_store: ClusterStores
) -> None:
    cluster = make_redis_cluster()  # cluster-require-full-coverage yes: the default
    victim, survivor = cluster.masters[0], cluster.masters[1]
    (on_victim,) = names_on(cluster, victim)
    on_survivor, untouched = names_on(cluster, survivor, 2)
    mine, theirs = _two_registries(cluster, cluster_store, [on_victim, on_survivor, untouched])
    calls = Calls()
    cluster.kill(victim)
    cluster.wait_state("fail")  # every live node refuses every key now
    for _ in range(2):
        calls(mine.get(on_survivor), boom)
    assert mine.get(on_survivor).state is OPEN  # on local state
    # The whole process knows: its background thread finds every breaker unreadable.
    for name in (on_victim, on_survivor, untouched):
        assert poll(lambda n=name: not reachable(mine.get(n)), 2.0), name
    # Another process falls back as soon as a breaker needs the store.
    calls(theirs.get(untouched), boom)
    assert not reachable(theirs.get(untouched))
    assert theirs.get(on_survivor).state is CircuitBreakerState.CLOSED  # not shared any more
    assert calls.leaked == []


@pytest.mark.e2e
def test_a_promoted_replica_keeps_the_state_and_the_store_follows_it(
    make_redis_cluster: ClusterFactory, cluster_store: ClusterStores
) -> None:
    cluster = make_redis_cluster(replicas=1, require_full_coverage=False)
    victim = cluster.masters[0]
    tripped, other = names_on(cluster, victim, 2)
    mine, theirs = _two_registries(cluster, cluster_store, [tripped, other])
    calls = Calls()
    for _ in range(2):
        calls(mine.get(tripped), boom)
    assert poll(lambda: theirs.get(tripped).state is OPEN, 2.0)
    store = mine.store
    assert isinstance(store, RedisStore)
    key = store.key(tripped)
    cluster.kill(victim)
    for _ in range(20):
        calls(mine.get(tripped), lambda: "rejected while open")
        calls(theirs.get(other), lambda: "served")
    assert poll(lambda: cluster.node_for_key(key) is not victim, 15.0)  # a replica promoted
    # A manual action right after the failover reaches the promoted replica.
    mine.get(other).force_open(actor="operator")
    assert cluster.node_for_key(key).query("HGET", store.key(other), "state") == "forced_open"
    assert poll(lambda: theirs.get(other).state is CircuitBreakerState.FORCED_OPEN, 3.0)
    assert poll(lambda: reachable(theirs.get(tripped)), 3.0)
    assert theirs.get(tripped).state is OPEN  # replicated before the master was lost
    assert calls.leaked == []


# -- clients built by hand ---------------------------------------------------------------


def test_a_cluster_client_built_by_hand_serves_the_store_and_stays_open(
    redis_cluster: LocalCluster, cluster_store: ClusterStores, key_prefix: str
) -> None:
    client = redis_cluster.client(decode_responses=False)
    mine = RedisStore(client=client, key_prefix=key_prefix, sync_interval=0.2)
    try:
        assert mine.topology.sharded and "Redis Cluster via" in mine.topology.describe()
        config = {"breakers": {"by_hand": {"failure_threshold": 1}}}
        watching = BreakerRegistry.from_dict(config, store=mine)
        tripping = BreakerRegistry.from_dict(config, store=cluster_store(redis_cluster))
        with pytest.raises(Boom):
            tripping.get("by_hand").call(boom)
        assert poll(lambda: watching.get("by_hand").state is OPEN, 2.0)
    finally:
        mine.close()
    assert client.ping()  # the application's client: the store does not close it
    client.close()


def test_connection_options_with_a_client_built_by_hand_are_refused(
    redis_cluster: LocalCluster,
) -> None:
    client = redis_cluster.client()
    with pytest.raises(ValueError, match=r"client= replaces the connection options.*cluster"):
        RedisStore(client=client, cluster=True)
    client.close()
