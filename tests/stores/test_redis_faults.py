"""Faults an adversary can cause around a Redis store: no permit, verdict or action is lost.

Each test uses a real ``redis-server`` (its own when it stalls, pauses or kills it).
Waits are real but short, and polled with a deadline.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis

from circuit_breaker import CircuitBreaker, CircuitBreakerState, CircuitOpenError
from circuit_breaker.errors import StoreUnavailableError
from circuit_breaker.stores.redis import RedisStore
from tests.redis_servers import RedisServer
from tests.stores.store_factory import StoreFactory

CLOSED = CircuitBreakerState.CLOSED
OPEN = CircuitBreakerState.OPEN
HALF_OPEN = CircuitBreakerState.HALF_OPEN
FORCED_OPEN = CircuitBreakerState.FORCED_OPEN
TINY_MINUTES = 0.0002  # a 12 ms recovery interval
# A script that keeps the server busy for ARGV[1] seconds, as a stall would: commands
# sent meanwhile wait in their sockets and run afterwards, even if their clients gave up.
STALL = """
local function now() local t = redis.call('TIME') return t[1] + t[2] / 1000000 end
local start = now()
while now() - start < tonumber(ARGV[1]) do end
"""

pytestmark = pytest.mark.e2e


class Boom(Exception):
    pass


def boom() -> None:
    raise Boom("down")


def poll(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)  # real wait: the store or another process acts
    return condition()


def record_of(store: RedisStore, name: str) -> Any:
    return store.load_many([name], 0.0)[name]


def open_and_due(breaker: CircuitBreaker, store: RedisStore) -> None:
    """Trip ``breaker`` and wait until its 12 ms deadline has passed, for the store and
    for the breaker's own view (which reads the store's clock a round trip late)."""
    for _ in range(breaker.failure_threshold or 1):
        with pytest.raises(Boom):
            breaker.call(boom)
    assert poll(lambda: _due(record_of(store, breaker.name)), 2.0)
    assert poll(lambda: breaker.state is HALF_OPEN, 2.0)


def _due(result: Any) -> bool:
    retry_at = result.record.retry_at
    return retry_at is not None and result.now >= retry_at


def make(store: RedisStore, name: str = "svc", **options: Any) -> CircuitBreaker:
    settings: dict[str, Any] = {
        "failure_threshold": 1,
        "base_interval_minutes": TINY_MINUTES,
        "jitter_enabled": False,
        "name": name,
        "store": store,
    }
    settings.update(options)
    return CircuitBreaker(**settings)


# -- exceptions a store cannot encode --------------------------------------------------


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ is broken")


@pytest.mark.parametrize(
    "exception",
    [
        FileNotFoundError("no such file: " + b"r\xff.csv".decode("utf-8", "surrogateescape")),
        Unprintable(),
    ],
    ids=["lone-surrogate", "str-raises"],
)
def test_an_exception_redis_cannot_encode_is_counted_and_the_probe_permit_comes_back(
    make_store: StoreFactory, exception: Exception
) -> None:
    store = make_store()
    breaker = make(store)

    def raise_it() -> None:
        raise exception

    with pytest.raises(type(exception)):
        breaker.call(raise_it)  # the caller's own exception, not UnicodeEncodeError
    assert record_of(store, "svc").record.state is OPEN  # counted in the fleet record
    assert poll(lambda: _due(record_of(store, "svc")), 2.0)
    assert poll(lambda: breaker.state is HALF_OPEN, 2.0)
    with pytest.raises(type(exception)):
        breaker.call(raise_it)  # the probe fails the same way
    record = record_of(store, "svc").record
    assert (record.state, record.consecutive_breaks, record.probe_token) == (OPEN, 2, None)


# -- a probe permit while the caller goes away ------------------------------------------


def test_a_task_cancelled_while_acquiring_the_probe_gives_the_permit_back(
    own_redis: RedisServer, make_store: StoreFactory
) -> None:
    store = make_store(url=own_redis.url, socket_timeout=3.0)
    breaker = make(store)
    open_and_due(breaker, store)
    admin = own_redis.client()

    async def cancel_while_acquiring() -> None:
        admin.client_pause(400, all=True)  # the acquire blocks in its worker thread
        task = asyncio.create_task(breaker.call_async(asyncio.sleep, 0))
        await asyncio.sleep(0.1)  # real wait: the task is inside the acquire
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_while_acquiring())
    admin.close()
    other = make(make_store(url=own_redis.url), name="svc")  # another process
    assert poll(lambda: _probe_once(other), 3.0)  # the permit came back, no 60 s lease


def test_an_interrupt_while_acquiring_the_probe_gives_the_permit_back(
    own_redis: RedisServer, make_store: StoreFactory
) -> None:
    store = make_store(url=own_redis.url, socket_timeout=5.0)
    breaker = make(store)
    open_and_due(breaker, store)
    caller = threading.get_ident()
    # A process started in the background (as CI may start the tests) ignores SIGINT:
    # Python's own Ctrl-C handler is put in place for the test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with stalled(own_redis, seconds=3):  # still stalled when the interrupt comes
            # Sent to the caller's thread, the signal interrupts the read it is blocked in.
            threading.Timer(0.1, signal.pthread_kill, args=(caller, signal.SIGINT)).start()
            with pytest.raises(KeyboardInterrupt):
                breaker.call(lambda: "never called")  # Ctrl-C while the acquire waits
    finally:
        signal.signal(signal.SIGINT, previous)
    # The server then ran the acquire the client no longer waited for.
    other = make(make_store(url=own_redis.url), name="svc")
    assert poll(lambda: _probe_once(other), 3.0)  # no permit held for 60 s


@contextmanager
def stalled(server: RedisServer, *, seconds: float) -> Iterator[None]:
    """Keep ``server`` busy for ``seconds``; the block runs once it has stopped answering
    (asked on a connection made before the stall: under load a slow connect is no
    stall), and the stall has ended when the block is left."""
    watcher = redis.Redis.from_url(server.url, socket_timeout=0.25)
    watcher.ping()
    admin = server.client()
    stall = threading.Thread(target=admin.eval, args=(STALL, 0, seconds))
    stall.start()
    try:
        assert poll(lambda: not _answers(watcher), 1.0)
        yield
    finally:
        stall.join()
        admin.close()
        watcher.close()


def _answers(client: redis.Redis[Any]) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def _probe_once(breaker: CircuitBreaker) -> bool:
    try:
        breaker.call(lambda: None)
    except CircuitOpenError:
        return False
    return breaker.state is CLOSED


# -- a stall: the script runs after the client gave up -----------------------------------


def test_a_probe_decided_locally_during_a_stall_is_settled_when_redis_answers(
    own_redis: RedisServer, make_store: StoreFactory
) -> None:
    store = make_store(url=own_redis.url, sync_interval=0.2)
    breaker = make(store)
    open_and_due(breaker, store)
    with stalled(own_redis, seconds=1):
        assert breaker.call(lambda: "healthy") == "healthy"  # probed on local state
    # Redis ran the acquire after the client timed out: it holds an orphan permit. The
    # background thread tells it the verdict; nobody calls through this breaker again.
    other = make(make_store(url=own_redis.url), name="svc")
    assert poll(lambda: record_of(store, "svc").record.state is CLOSED, 1.5)
    assert poll(lambda: _probe_once(other), 1.0)  # it hears of the close, or reads it


# -- an outage: the staleness bound holds from the moment Redis answers -------------------


def test_a_trip_made_elsewhere_is_honoured_within_sync_interval_of_redis_returning(
    own_redis: RedisServer,
) -> None:
    here = RedisStore(own_redis.url, sync_interval=0.2, key_prefix="staleness")
    there = RedisStore(own_redis.url, sync_interval=0.2, key_prefix="staleness")
    try:
        watching = make(here, base_interval_minutes=5)
        own_redis.stop()
        for _ in range(50):  # long enough for an exponential backoff to reach 4 s
            assert watching.call(lambda: "local") == "local"
            time.sleep(0.1)  # real wait: a five-second outage
        own_redis.start()
        tripping = make(there, base_interval_minutes=5)
        with pytest.raises(Boom):
            tripping.call(boom)
        tripped_at = time.monotonic()
        assert poll(lambda: watching.state is OPEN, 2.0)
        assert time.monotonic() - tripped_at < 1.0  # sync_interval is 0.2 s
    finally:
        here.close()
        there.close()


# -- manual actions reach the store or fail loudly -------------------------------------


def test_a_manual_action_while_redis_is_down_raises_and_changes_nothing(
    own_redis: RedisServer,
) -> None:
    store = RedisStore(own_redis.url, sync_interval=60.0, key_prefix="manual")
    try:
        breaker = make(store, base_interval_minutes=5)
        own_redis.stop()
        for action in (breaker.force_open, breaker.disable, breaker.reset):
            with pytest.raises(StoreUnavailableError):
                action()
        assert breaker.state is CLOSED
        own_redis.start()
        # The store is still believed down (next background retry in 60 s): a manual
        # action tries anyway, on a fresh connection, and reaches it.
        breaker.force_open(actor="operator")
        assert record_of(store, "svc").record.state is FORCED_OPEN
    finally:
        store.close()


# -- a server's back-off while Redis is down -------------------------------------------


def test_open_for_without_an_actor_while_redis_is_down_opens_locally_and_never_raises(
    own_redis: RedisServer,
) -> None:
    store = RedisStore(own_redis.url, sync_interval=60.0, key_prefix="backoff")
    try:
        breaker = make(store, base_interval_minutes=5)
        own_redis.stop()
        breaker.open_for(30, reason="HTTP 429, Retry-After: 30")  # a response's back-off
        status = breaker.status()
        assert (status.state, status.reason, status.detail) == (
            OPEN,
            "open_for",
            "HTTP 429, Retry-After: 30",
        )
        assert status.store.reachable is False
        with pytest.raises(CircuitOpenError):
            breaker.call(lambda: None)
    finally:
        store.close()


def test_open_for_with_an_actor_while_redis_is_down_raises_and_changes_nothing(
    own_redis: RedisServer,
) -> None:
    store = RedisStore(own_redis.url, sync_interval=60.0, key_prefix="backoff-manual")
    try:
        breaker = make(store, base_interval_minutes=5)
        own_redis.stop()
        with pytest.raises(StoreUnavailableError):
            breaker.open_for(300, reason="maintenance", actor="operator")
        assert breaker.state is CLOSED
        own_redis.start()
        breaker.open_for(300, reason="maintenance", actor="operator")  # tried anyway
        stored = record_of(store, "svc").record
        assert (stored.state, stored.reason, stored.detail) == (OPEN, "open_for", "maintenance")
    finally:
        store.close()
