"""The Redis store on a Sentinel-managed primary, and over TLS with a password: a failover
keeps the state, callers never see an error, the store follows the new primary within
``sync_interval``, and a manual action right after the failover lands on it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from circuit_breaker import BreakerRegistry, CircuitBreakerState, CircuitOpenError, load_registry
from circuit_breaker.stores.redis import RedisStore
from tests.redis_topologies import PASSWORD, LocalSentinel, SentinelFactory, TlsRedis

OPEN = CircuitBreakerState.OPEN
FORCED_OPEN = CircuitBreakerState.FORCED_OPEN


class Boom(Exception):
    pass


def boom() -> None:
    raise Boom("upstream down")


def poll(condition: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.01)  # real wait: Sentinel or the background thread acts
    return condition()


@pytest.fixture
def sentinel_stores(key_prefix: str) -> Iterator[Callable[..., RedisStore]]:
    made: list[RedisStore] = []

    def make(topology: LocalSentinel, **options: Any) -> RedisStore:
        store = RedisStore(
            sentinels=topology.sentinel_addresses,
            service_name=topology.service_name,
            key_prefix=key_prefix,
            **options,
        )
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


class Traffic(threading.Thread):
    """Calls through breakers until stopped, keeping what a caller should never see."""

    def __init__(self, registry: BreakerRegistry, names: list[str]) -> None:
        super().__init__(daemon=True)
        self.registry, self.names = registry, names
        self.leaked: list[BaseException] = []
        self.calls = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            for name in self.names:
                for fn in (boom, lambda: "ok"):
                    try:
                        self.registry.get(name).call(fn)
                    except (Boom, CircuitOpenError):
                        pass
                    except BaseException as exc:
                        self.leaked.append(exc)
                    self.calls += 1
            time.sleep(0.005)  # real wait: pacing of the traffic

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


def test_the_store_runs_on_the_primary_the_sentinels_name(
    redis_sentinel: LocalSentinel, sentinel_stores: Callable[..., RedisStore]
) -> None:
    here, there = sentinel_stores(redis_sentinel), sentinel_stores(redis_sentinel)
    config = {"breakers": {"orders_db": {"failure_threshold": 1}}}
    mine = BreakerRegistry.from_dict(config, store=here)
    theirs = BreakerRegistry.from_dict(config, store=there)
    with pytest.raises(Boom):
        mine.get("orders_db").call(boom)
    assert poll(lambda: theirs.get("orders_db").state is OPEN, 2.0)
    assert redis_sentinel.primary.query("HGET", here.key("orders_db"), "state") == "open"


@pytest.mark.e2e
def test_a_failover_keeps_the_state_and_the_store_follows_the_new_primary(
    make_redis_sentinel: SentinelFactory, sentinel_stores: Callable[..., RedisStore]
) -> None:
    topology = make_redis_sentinel()
    interval = 0.5
    here = sentinel_stores(topology, sync_interval=interval)
    there = sentinel_stores(topology, sync_interval=interval)
    config = {
        "breakers": {
            "tripped": {"failure_threshold": 1, "base_interval": "5m"},
            "manual": {"failure_threshold": 5},
            "busy": {"failure_threshold": 1_000_000},
        }
    }
    mine = BreakerRegistry.from_dict(config, store=here)
    theirs = BreakerRegistry.from_dict(config, store=there)
    with pytest.raises(Boom):
        mine.get("tripped").call(boom)
    assert poll(lambda: theirs.get("tripped").state is OPEN, 2.0)
    assert poll(lambda: topology.primary.query("WAIT", "1", "1000") == 1, 2.0)  # replicated
    traffic = Traffic(mine, ["busy", "tripped"])
    traffic.start()
    try:
        new_primary = topology.failover()
        promoted_at = time.monotonic()
        # A manual action right after the failover reaches the new primary.
        mine.get("manual").force_open(actor="operator")
        assert new_primary.query("HGET", here.key("manual"), "state") == "forced_open"

        def listening_on_new_primary() -> bool:
            _channel, subscribers = new_primary.query("PUBSUB", "NUMSUB", here.channel("busy"))
            return int(subscribers) == 2  # both stores

        assert poll(listening_on_new_primary, 3 * interval)
        followed_after = time.monotonic() - promoted_at
        assert poll(lambda: theirs.get("manual").state is FORCED_OPEN, 2.0)
        assert theirs.get("tripped").state is OPEN and mine.get("tripped").state is OPEN
        assert new_primary.query("HGET", here.key("tripped"), "state") == "open"
    finally:
        traffic.stop()
    assert traffic.leaked == [] and traffic.calls > 0
    print(f"\nboth stores subscribed on the new primary {followed_after:.2f}s after promotion")


def test_tls_with_a_password_from_the_yaml(
    tls_redis: TlsRedis, key_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CB_TEST_REDIS_PASSWORD", PASSWORD)
    config = tmp_path / "breakers.yaml"
    config.write_text(
        "breakers:\n"
        "  payments_api: {failure_threshold: 1}\n"
        "store:\n"
        "  backend: redis\n"
        f"  url: {tls_redis.url}\n"
        "  password: ${CB_TEST_REDIS_PASSWORD}\n"
        f"  ssl_ca_certs: {tls_redis.certificates.ca}\n"
        f"  key_prefix: {key_prefix}\n"
    )
    mine, theirs = load_registry(config), load_registry(config)
    try:
        with pytest.raises(Boom):
            mine.get("payments_api").call(boom)
        assert poll(lambda: theirs.get("payments_api").state is OPEN, 2.0)
        assert theirs.statuses()["payments_api"].store.reachable
    finally:
        mine.close()
        theirs.close()
