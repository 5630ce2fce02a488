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

from circuit_breaker.core.operations import (
    AcquireProbe,
    CompleteProbe,
    Operation,
    RecordFailure,
    RecordSuccess,
    ReleaseProbe,
    SetState,
)
from circuit_breaker.core.record import BreakerRecord, Fault
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.errors import StoreUnavailableError
from circuit_breaker.stores import build_store
from circuit_breaker.stores.base import BreakerStore, StoreResult
from circuit_breaker.stores.redis import RedisStore, from_options
from circuit_breaker.stores.redis.script import FIELDS
from tests.redis_servers import RedisServer
from tests.stores.store_factory import StoreFactory
from tests.stores.test_store_contract import BOOM, IMMEDIATE, make_config

FORCED_OPEN = CircuitBreakerState.FORCED_OPEN


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)  # real wait: a background thread delivers
    return condition()


class Recorder:
    """A follower that keeps what the store's background thread delivers."""

    def __init__(self) -> None:
        self.records: list[BreakerRecord] = []
        self.delivered = threading.Event()

    def adopt(self, result: StoreResult) -> None:
        self.records.append(result.record)
        self.delivered.set()

    def lost(self, error: str) -> None:
        """Not expected here."""

    def flush(self) -> None:
        """Owes nothing."""


def apply(store: RedisStore, name: str, operation: Operation, **config: Any) -> StoreResult:
    return store.apply(name, operation, make_config(**config), 0.0)


def fail(store: RedisStore, name: str, **config: Any) -> StoreResult:
    generation = store.load_many([name], 0.0)[name].record.generation
    return apply(store, name, RecordFailure(generation, BOOM, 1.0), **config)


def succeed(store: RedisStore, name: str) -> StoreResult:
    generation = store.load_many([name], 0.0)[name].record.generation
    return apply(store, name, RecordSuccess(generation))


def test_it_satisfies_the_store_protocol(make_store: StoreFactory) -> None:
    store = make_store()
    assert isinstance(store, BreakerStore)
    assert (store.shared, store.sync_interval) == (True, 1.0)


def test_each_breaker_is_one_hash_whose_name_is_the_cluster_hash_tag(
    make_store: StoreFactory, redis_client: redis.Redis[Any]
) -> None:
    store = make_store(key_prefix="fleet-a")
    fail(store, "external_api")
    key = "fleet-a:{external_api}"
    assert store.key("external_api") == key
    # A counted failure on a fresh record writes what it changed, not every field.
    assert set(redis_client.hkeys(key)) == {
        "failure_count", "failure_type", "failure_message", "failure_at", "seq"
    }  # fmt: skip
    assert redis_client.hget(key, "failure_count") == "1"
    assert key_slot(key.encode()) == key_slot(b"external_api")
    redis_client.delete(key)


def test_every_write_renews_the_idle_expiry(
    make_store: StoreFactory, redis_client: redis.Redis[Any]
) -> None:
    store = make_store(idle_ttl_seconds=500)
    fail(store, "svc")
    redis_client.expire(store.key("svc"), 10)
    succeed(store, "svc")
    assert 490 < redis_client.ttl(store.key("svc")) <= 500


@pytest.mark.parametrize("state", [FORCED_OPEN, CircuitBreakerState.DISABLED])
def test_a_manual_state_never_expires_with_the_idle_key(
    make_store: StoreFactory, redis_client: redis.Redis[Any], state: CircuitBreakerState
) -> None:
    store = make_store(idle_ttl_seconds=500)
    fail(store, "svc")
    apply(store, "svc", SetState(state))
    assert redis_client.ttl(store.key("svc")) == -1  # lasts until a reset
    apply(store, "svc", SetState(CircuitBreakerState.CLOSED))
    assert 490 < redis_client.ttl(store.key("svc")) <= 500


def test_an_exhausted_stay_open_breaker_never_expires_either(
    make_store: StoreFactory, redis_client: redis.Redis[Any]
) -> None:
    store = make_store(idle_ttl_seconds=500)
    result = fail(store, "svc", threshold=1, fixed=0, exponential=0, after_exhausted="stay_open")
    assert result.record.state is FORCED_OPEN
    assert redis_client.ttl(store.key("svc")) == -1


def test_a_record_created_again_after_expiry_continues_its_seq(
    make_store: StoreFactory, redis_client: redis.Redis[Any]
) -> None:
    store = make_store()
    for _ in range(2):
        before = fail(store, "svc").record.seq
    redis_client.delete(store.key("svc"))  # what expiry does
    assert store.load_many(["svc"], 0.0)["svc"].record.seq > before
    again = fail(store, "svc").record
    assert again.seq > before and again.failure_count == 1


def test_the_server_clock_decides_whatever_the_caller_passes(
    make_store: StoreFactory, redis_client: redis.Redis[Any]
) -> None:
    store = make_store()
    seconds, micros = redis_client.time()
    server_now = seconds + micros / 1e6
    config = make_config(threshold=1, base=60.0)
    for claimed_now in (0.0, 1e12, -5.0):
        operation = RecordFailure(0, BOOM, 1.0)
        result = store.apply(f"svc-{claimed_now}", operation, config, claimed_now)
        assert result.now == pytest.approx(server_now, abs=5)
        assert result.record.retry_at == pytest.approx(result.now + 60, abs=1e-3)


def test_a_failure_message_round_trips_unchanged(make_store: StoreFactory) -> None:
    store = make_store()
    fault = Fault("ValueError", 'bad "json", \u00e9t\u00e9 \n {x} , ; \u2603')
    record = apply(store, "svc", RecordFailure(0, fault, 1.0)).record
    assert record.last_failure is not None
    assert (record.last_failure.type, record.last_failure.message) == (fault.type, fault.message)
    assert store.load_many(["svc"], 0.0)["svc"].record.last_failure == record.last_failure


def test_changes_of_state_or_permit_are_published_and_counts_are_not(
    make_store: StoreFactory, redis_client: redis.Redis[Any]
) -> None:
    store = make_store()
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(store.channel("svc"))
    fail(store, "svc", threshold=2)  # counted: other processes learn it at their next read
    succeed(store, "svc")
    fail(store, "svc", threshold=1, base=IMMEDIATE)  # CLOSED -> OPEN
    apply(store, "svc", AcquireProbe("t"))  # OPEN -> HALF_OPEN
    apply(store, "svc", ReleaseProbe("t"))  # the permit is free again
    apply(store, "svc", CompleteProbe("t", None, 1.0))  # not the holder: a no-op
    messages: list[list[str]] = []
    deadline = time.monotonic() + 2
    while len(messages) < 4 and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message:
            messages.append(json.loads(message["data"]))
    pubsub.close()
    assert [(m[2], m[3 + 1 + FIELDS.index("state")]) for m in messages] == [
        ("closed", "open"),
        ("open", "half_open"),
        ("", "half_open"),
    ]
    writer, name = messages[0][:2]
    assert (writer, name) == (store.instance_id, "svc")


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
    heard = Recorder()
    mine.watch("svc", heard)
    assert _wait_for(lambda: len(heard.records) == 1, 2.0)  # the thread's first read
    fail(mine, "svc", threshold=1)
    apply(theirs, "svc", SetState(FORCED_OPEN))
    assert _wait_for(lambda: len(heard.records) == 2, 2.0)
    assert heard.records[1].state is FORCED_OPEN
    assert heard.records[1].changed_by == theirs.instance_id
    assert not _wait_for(lambda: len(heard.records) > 2, 0.2)


def test_each_process_subscribes_to_the_breakers_it_watches_and_no_other(
    make_store: StoreFactory, redis_client: redis.Redis[Any]
) -> None:
    orders, payments = make_store(), make_store()
    orders.watch("orders_db", Recorder())
    payments.watch("payments_api", Recorder())

    # One subscriber each (the stores share a key prefix: both could have heard both).
    expected = {orders.channel("orders_db"): 1, orders.channel("payments_api"): 1}
    assert _wait_for(lambda: dict(redis_client.pubsub_numsub(*expected)) == expected, 5.0)


def test_a_breaker_no_longer_watched_is_no_longer_subscribed(
    make_store: StoreFactory, redis_client: redis.Redis[Any]
) -> None:
    store = make_store(sync_interval=0.1)
    kept, dropped = Recorder(), Recorder()
    store.watch("kept", kept)
    store.watch("dropped", dropped)
    channels = {store.channel("kept"): 1, store.channel("dropped"): 1}
    assert _wait_for(lambda: dict(redis_client.pubsub_numsub(*channels)) == channels, 5.0)
    store.unwatch("dropped", dropped)
    channels[store.channel("dropped")] = 0
    assert _wait_for(lambda: dict(redis_client.pubsub_numsub(*channels)) == channels, 5.0)


def test_a_change_published_while_the_subscription_is_down_is_read_when_it_is_back(
    own_redis: RedisServer, make_store: StoreFactory
) -> None:
    """Redis drops the messages of a subscriber it disconnects (a kill, an output buffer
    that overflows): the watcher notices, subscribes again and reads what it missed."""
    mine = make_store(url=own_redis.url, sync_interval=0.2)
    theirs = make_store(url=own_redis.url, sync_interval=30.0)
    heard = Recorder()
    mine.watch("svc", heard)
    admin = own_redis.client()
    assert _wait_for(lambda: _subscribers(admin, mine.channel("svc")) == 1, 5.0)
    admin.client_kill_filter(_type="pubsub")
    fail(theirs, "svc", threshold=1)
    # Noticed within sync_interval + socket_timeout (0.45 s); the rest is for a busy machine.
    assert _wait_for(
        lambda: bool(heard.records) and heard.records[-1].state is CircuitBreakerState.OPEN, 3.0
    )
    assert _wait_for(lambda: _subscribers(admin, mine.channel("svc")) == 1, 3.0)
    admin.close()


@pytest.mark.e2e
def test_while_a_process_cannot_subscribe_it_reads_its_breakers_every_cycle(
    own_redis: RedisServer, make_store: StoreFactory
) -> None:
    admin = own_redis.client()
    user = f"watcher-{os.getpid()}-{time.monotonic_ns()}"
    admin.execute_command("ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all")
    try:
        url = own_redis.url.replace("redis://", f"redis://{user}:pw@")
        mine = make_store(url=url, sync_interval=0.2)
        theirs = make_store(url=own_redis.url, sync_interval=30.0)
        heard = Recorder()
        mine.watch("svc", heard)
        assert _wait_for(lambda: _subscribers(admin, mine.channel("svc")) == 1, 5.0)
        admin.execute_command("ACL", "SETUSER", user, "-subscribe")
        admin.client_kill_filter(_type="pubsub")
        assert _wait_for(lambda: len(heard.records) >= 4, 5.0)  # read again, cycle after cycle
        fail(theirs, "svc", threshold=1)  # heard by nobody: mine is not subscribed
        assert _wait_for(lambda: heard.records[-1].state is CircuitBreakerState.OPEN, 1.0)
        admin.execute_command("ACL", "SETUSER", user, "+subscribe")
        assert _wait_for(lambda: _subscribers(admin, mine.channel("svc")) == 1, 2.0)
        time.sleep(0.3)  # real wait: the one read that follows a new subscription
        settled = len(heard.records)
        time.sleep(0.5)  # real wait: two cycles of a quiet, subscribed watcher
        assert len(heard.records) == settled
    finally:
        admin.execute_command("ACL", "DELUSER", user)
        admin.close()


def _subscribers(admin: redis.Redis[Any], channel: str) -> int:
    return int(dict(admin.pubsub_numsub(channel)).get(channel, 0))


def test_the_watcher_is_one_daemon_thread_that_close_stops(make_store: StoreFactory) -> None:
    store = make_store()
    for name in ("a", "b", "c"):
        store.watch(name, Recorder())
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
            lambda: store.load_many(["a", "b"], 0.0),
            *(
                lambda op=op: apply(store, "svc", op)
                for op in (
                    RecordFailure(0, BOOM, 1.0),
                    RecordSuccess(0),
                    AcquireProbe("t"),
                    CompleteProbe("t", None, 1.0),
                    ReleaseProbe("t"),
                    SetState(CircuitBreakerState.CLOSED),
                )
            ),
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
        assert store.load_many(["x"], 0.0)["x"].record.state is CircuitBreakerState.CLOSED
    finally:
        store.close()


def test_unknown_options_are_named_in_the_error() -> None:
    with pytest.raises(ValueError, match=r"sync_intervall: unknown .*did you mean 'sync_interval'"):
        from_options({"url": "redis://127.0.0.1:6379/0", "sync_intervall": 1})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "http://example.com"}, "url: expected a redis://, rediss:// or unix:// URL"),
        ({"sync_interval": 0}, "sync_interval: expected a number of seconds greater than 0"),
        ({"socket_timeout": "fast"}, "socket_timeout: expected a number of seconds greater"),
        ({"key_prefix": ""}, "key_prefix: expected non-empty text"),
        ({"socket_connect_timeout": "1s"}, "socket_connect_timeout: expected a number of"),
        ({"idle_ttl_seconds": 0.5}, "idle_ttl_seconds: expected a whole number of at least 1"),
    ],
)
def test_bad_options_are_clear_value_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_options(options)


def test_a_forked_child_gets_a_watcher_of_its_own(make_store: StoreFactory) -> None:
    """gunicorn --preload builds breakers in the parent; workers must still stay fresh."""
    store = make_store(sync_interval=0.1)
    heard = Recorder()
    store.watch("svc", heard)
    pid = os.fork()
    if pid == 0:  # the child: exit code 0 only if its own thread delivers
        heard.delivered.clear()
        os._exit(0 if heard.delivered.wait(3) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_client_built_by_hand_serves_the_store_and_stays_open(
    redis_server: RedisServer, key_prefix: str, make_store: StoreFactory
) -> None:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    mine = RedisStore(client=client, key_prefix=key_prefix, sync_interval=0.2)
    try:
        heard = Recorder()
        mine.watch("svc", heard)
        fail(make_store(), "svc", threshold=1)
        assert _wait_for(lambda: bool(heard.records) and heard.records[-1].state.value == "open", 2)
        assert apply(mine, "svc", SetState(FORCED_OPEN)).record.state is FORCED_OPEN
    finally:
        mine.close()
    assert client.ping()  # the application's client: the store does not close it
    client.close()
