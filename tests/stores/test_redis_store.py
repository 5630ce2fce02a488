"""RedisStore specifics: keys, expiry, the server clock, publishing, options, outages."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from redis.crc import key_slot

from circuit_breaker.errors import StoreUnavailableError
from circuit_breaker.state import CircuitBreakerState
from circuit_breaker.stores import build_store
from circuit_breaker.stores.base import BreakerRecord, BreakerStore, FailureInfo
from circuit_breaker.stores.redis import RedisStore, from_options
from circuit_breaker.stores.redis_script import FIELDS
from tests.stores.conftest import RedisServer, StoreFactory
from tests.stores.test_store_contract import BOOM, make_policy


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)  # real wait: a background thread delivers
    return condition()


def test_it_satisfies_the_store_protocol(make_store: StoreFactory) -> None:
    store = make_store()
    assert isinstance(store, BreakerStore)
    assert (store.performs_io, store.polled, store.sync_interval) == (True, False, 1.0)


def test_each_breaker_is_one_hash_whose_name_is_the_cluster_hash_tag(
    make_store: StoreFactory, redis_client: redis.Redis[Any]
) -> None:
    store = make_store(key_prefix="fleet-a")
    store.record_failure("external_api", make_policy(), BOOM, 1.0, 0.0)
    key = "fleet-a:{external_api}"
    assert store.key("external_api") == key
    assert redis_client.hlen(key) == len(FIELDS)
    assert redis_client.hget(key, "failure_count") == "1"
    assert key_slot(key.encode()) == key_slot(b"external_api")
    redis_client.delete(key)


def test_every_write_renews_the_idle_expiry(
    make_store: StoreFactory, redis_client: redis.Redis[Any]
) -> None:
    store = make_store(idle_ttl_seconds=500)
    store.record_failure("svc", make_policy(), BOOM, 1.0, 0.0)
    redis_client.expire(store.key("svc"), 10)
    store.record_success("svc", 0.0)
    assert 490 < redis_client.ttl(store.key("svc")) <= 500


def test_a_record_created_again_after_expiry_continues_its_seq(
    make_store: StoreFactory, redis_client: redis.Redis[Any]
) -> None:
    store = make_store()
    for _ in range(2):
        before = store.record_failure("svc", make_policy(), BOOM, 1.0, 0.0).record.seq
    redis_client.delete(store.key("svc"))  # what expiry does
    assert store.load("svc", 0.0).record.seq > before
    again = store.record_failure("svc", make_policy(), BOOM, 1.0, 0.0).record
    assert again.seq > before and again.failure_count == 1


def test_the_server_clock_decides_whatever_the_caller_passes(
    make_store: StoreFactory, redis_client: redis.Redis[Any]
) -> None:
    store = make_store()
    seconds, micros = redis_client.time()
    server_now = seconds + micros / 1e6
    policy = make_policy(threshold=1, base=60.0)
    for claimed_now in (0.0, 1e12, -5.0):
        result = store.record_failure(f"svc-{claimed_now}", policy, BOOM, 1.0, claimed_now)
        assert result.now == pytest.approx(server_now, abs=5)
        assert result.record.retry_at == pytest.approx(result.now + 60, abs=1e-3)


def test_a_failure_message_round_trips_unchanged(make_store: StoreFactory) -> None:
    store = make_store()
    info = FailureInfo("ValueError", 'bad "json", \u00e9t\u00e9 \n {x} , ; \u2603', 12.5)
    record = store.record_failure("svc", make_policy(), info, 1.0, 0.0).record
    assert record.last_failure == info
    assert store.load("svc", 0.0).record.last_failure == info


def test_writes_are_published_and_no_ops_are_not(
    make_store: StoreFactory, redis_client: redis.Redis[Any]
) -> None:
    store = make_store()
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(store.channel)
    store.record_failure("svc", make_policy(), BOOM, 1.0, 0.0)
    store.record_success("svc", 0.0)
    store.record_success("svc", 0.0)  # no streak: no change, no message
    messages: list[list[str]] = []
    deadline = time.monotonic() + 2
    while len(messages) < 3 and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message:
            messages.append(json.loads(message["data"]))
    pubsub.close()
    assert len(messages) == 2
    writer, name, previous, _now, state, count, *_ = messages[0]
    assert (writer, name, previous, state, count) == (store.instance_id, "svc", "", "closed", "1")


def test_load_many_is_one_pipelined_round_trip(
    own_redis: RedisServer, make_store: StoreFactory
) -> None:
    store = make_store(url=own_redis.url)
    names = [f"svc-{i}" for i in range(50)]
    admin = own_redis.client()
    admin.config_resetstat()
    results = store.load_many(names, 0.0)
    stats = admin.info("commandstats")
    admin.close()
    assert len(results) == 50
    assert stats["cmdstat_hgetall"]["calls"] == 50
    assert stats["cmdstat_time"]["calls"] == 1
    assert {result.now for result in results.values()} == {results["svc-0"].now}


# -- watching --------------------------------------------------------------------------


def test_a_watcher_hears_other_instances_at_once_and_not_its_own(
    make_store: StoreFactory,
) -> None:
    mine, theirs = make_store(sync_interval=30.0), make_store(sync_interval=30.0)
    heard: list[BreakerRecord] = []
    mine.watch("svc", lambda record, now: heard.append(record))
    assert _wait_for(lambda: len(heard) == 1, 2.0)  # the watcher's first reload
    mine.record_failure("svc", make_policy(), BOOM, 1.0, 0.0)
    theirs.set_state("svc", CircuitBreakerState.FORCED_OPEN, 0.0)
    assert _wait_for(lambda: len(heard) == 2, 2.0)
    assert heard[1].state is CircuitBreakerState.FORCED_OPEN
    assert heard[1].changed_by == theirs.instance_id
    assert not _wait_for(lambda: len(heard) > 2, 0.2)


def test_a_watcher_reloads_every_sync_interval_even_without_messages(
    make_store: StoreFactory, redis_client: redis.Redis[Any]
) -> None:
    store = make_store(sync_interval=0.1)
    heard: list[BreakerRecord] = []
    store.watch("svc", lambda record, now: heard.append(record))
    # A change nobody published (a lost message) still arrives with the next reload.
    redis_client.hset(store.key("svc"), mapping={"state": "forced_open", "seq": "9" * 17})
    assert _wait_for(lambda: any(r.state is CircuitBreakerState.FORCED_OPEN for r in heard), 2.0)


def test_the_watcher_is_one_daemon_thread_that_close_stops(make_store: StoreFactory) -> None:
    store = make_store()
    for name in ("a", "b", "c"):
        store.watch(name, lambda record, now: None)
    watchers = [t for t in threading.enumerate() if store.instance_id in t.name]
    assert len(watchers) == 1 and watchers[0].daemon
    store.close()
    assert not watchers[0].is_alive()


# -- outages ---------------------------------------------------------------------------


def test_an_unreachable_server_raises_only_store_unavailable_quickly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = RedisStore("redis://127.0.0.1:1/0", socket_timeout=0.1)
    try:
        started = time.monotonic()
        operations: list[Callable[[], object]] = [
            lambda: store.load("svc", 0.0),
            lambda: store.load_many(["a", "b"], 0.0),
            lambda: store.record_failure("svc", make_policy(), BOOM, 1.0, 0.0),
            lambda: store.record_success("svc", 0.0),
            lambda: store.acquire_probe("svc", make_policy(), "t", 0.0),
            lambda: store.complete_probe("svc", make_policy(), "t", None, 1.0, 0.0),
            lambda: store.release_probe("svc", "t", 0.0),
            lambda: store.set_state("svc", CircuitBreakerState.CLOSED, 0.0),
        ]
        with caplog.at_level(logging.WARNING, logger="circuit_breaker"):
            for operation in operations:
                with pytest.raises(StoreUnavailableError):
                    operation()
        assert time.monotonic() - started < 2.0
        warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
        assert len(warnings) == 1
    finally:
        store.close()


# -- options ---------------------------------------------------------------------------


def test_from_options_builds_a_configured_store(redis_server: RedisServer) -> None:
    store = from_options(
        {"url": redis_server.url, "key_prefix": "shop", "sync_interval": 2.5, "socket_timeout": 0.5}
    )
    try:
        assert (store.key_prefix, store.sync_interval) == ("shop", 2.5)
        assert store.key("x") == "shop:{x}"
    finally:
        store.close()


def test_the_backend_registry_builds_it_by_name(redis_server: RedisServer) -> None:
    store = build_store("redis", {"url": redis_server.url})
    try:
        assert isinstance(store, RedisStore)
        assert store.load("x", 0.0).record.state is CircuitBreakerState.CLOSED
    finally:
        store.close()


def test_unknown_options_are_named_in_the_error() -> None:
    with pytest.raises(ValueError, match=r"sync_intervall.*expected: url, key_prefix"):
        from_options({"url": "redis://127.0.0.1:6379/0", "sync_intervall": 1})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "http://example.com"}, "invalid Redis url 'http://example.com'"),
        ({"sync_interval": 0}, "sync_interval must be a number > 0"),
        ({"socket_timeout": "fast"}, "socket_timeout must be a number > 0"),
        ({"key_prefix": ""}, "key_prefix must be a non-empty string"),
        ({"socket_connect_timeout": "1s"}, "socket_connect_timeout must be a number > 0"),
        ({"idle_ttl_seconds": 0.5}, "idle_ttl_seconds must be an integer >= 1"),
    ],
)
def test_bad_options_are_clear_value_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_options(options)


def test_a_forked_child_gets_a_watcher_of_its_own(make_store: StoreFactory) -> None:
    """gunicorn --preload builds breakers in the parent; workers must still stay fresh."""
    store = make_store(sync_interval=0.1)
    heard = threading.Event()
    store.watch("svc", lambda record, now: heard.set())
    pid = os.fork()
    if pid == 0:  # the child: exit code 0 only if its own watcher delivers
        heard.clear()
        os._exit(0 if heard.wait(3) and store._thread is not None else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
