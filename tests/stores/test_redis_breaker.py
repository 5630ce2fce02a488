"""CircuitBreaker on the Redis store: hot path cost, clocks, config changes, outages, async."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from circuit_breaker import (
    CircuitBreaker,
    CircuitBreakerState,
    CircuitOpenError,
    StoreUnavailableError,
)
from circuit_breaker.stores.base import StoreResult
from tests.redis_servers import RedisServer
from tests.stores.store_factory import StoreFactory

OPEN = CircuitBreakerState.OPEN
CLOSED = CircuitBreakerState.CLOSED


class Boom(Exception):
    pass


def boom() -> None:
    raise Boom("upstream down")


def _commands(admin: redis.Redis[Any]) -> dict[str, int]:
    """Calls per command since the last CONFIG RESETSTAT (script-internal calls included).

    Every store round trip runs TIME exactly once (inside the script, or first in the
    load pipeline), so ``time`` counts round trips and ``evalsha`` the transitions.
    """
    stats = admin.info("commandstats")
    calls = {key.removeprefix("cmdstat_"): value["calls"] for key, value in stats.items()}
    return {cmd: n for cmd, n in calls.items() if not cmd.startswith(("config", "info"))}


class Heard:
    """A follower that only notes that the store's background thread delivered."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def adopt(self, result: StoreResult) -> None:
        self.event.set()

    def lost(self, error: str) -> None:
        """Not expected here."""

    def flush(self) -> None:
        """Owes nothing."""


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)  # real wait: background resync
    return condition()


def test_successful_calls_make_no_round_trip(
    own_redis: RedisServer, make_store: StoreFactory
) -> None:
    store = make_store(url=own_redis.url, sync_interval=1.0)
    breaker = CircuitBreaker(3, 1, name="hot", store=store)
    admin = own_redis.client()
    breaker.call(lambda: None)
    admin.config_resetstat()
    started = time.monotonic()
    for _ in range(10_000):
        breaker.call(lambda: None)
    elapsed = time.monotonic() - started
    commands = _commands(admin)
    admin.close()
    checks_allowed = int(elapsed / store.sync_interval) + 1
    assert commands.get("evalsha", 0) == 0
    assert commands.get("ping", 0) <= checks_allowed
    # The background thread's own start (subscribe, then one read), if it falls in here.
    assert set(commands) <= {"ping", "hello", "subscribe", "time", "hgetall"}
    assert commands.get("time", 0) <= 1
    print(f"\n10,000 successful calls in {elapsed * 1000:.1f} ms: Redis commands {commands}")


def test_a_failure_costs_one_round_trip_and_so_does_the_success_that_clears_it(
    own_redis: RedisServer, make_store: StoreFactory
) -> None:
    store = make_store(url=own_redis.url, sync_interval=60.0)
    first_read = Heard()
    store.watch("warm-up", first_read)
    assert first_read.event.wait(5)  # the background thread's first read; the next in 60 s
    warm_up = CircuitBreaker(3, 1, name="warm-up", store=store)
    with pytest.raises(Boom):  # the script is loaded (EVALSHA, NOSCRIPT, LOAD)
        warm_up.call(boom)
    breaker = CircuitBreaker(3, 1, name="one-trip", store=store)
    admin = own_redis.client()
    admin.config_resetstat()
    with pytest.raises(Boom):
        breaker.call(boom)
    after_failure = _commands(admin)
    breaker.call(lambda: None)
    breaker.call(lambda: None)
    after_successes = _commands(admin)
    admin.close()
    assert (after_failure["evalsha"], after_failure["time"]) == (1, 1)
    assert (after_successes["evalsha"], after_successes["time"]) == (2, 2)


@pytest.mark.parametrize("skew", [3600.0, -3600.0])
def test_a_client_clock_off_by_an_hour_changes_nothing(
    make_store: StoreFactory, skew: float
) -> None:
    plain = CircuitBreaker(2, 1, name="skew", store=make_store(), clock=time.monotonic)
    skewed = CircuitBreaker(
        2, 1, name="skew", store=make_store(), clock=lambda: time.monotonic() + skew
    )
    for _ in range(2):
        with pytest.raises(Boom):
            skewed.call(boom)
    plain.sync()
    rejections = []
    for breaker in (skewed, plain):
        with pytest.raises(CircuitOpenError) as caught:
            breaker.call(lambda: None)
        rejections.append(caught.value.retry_after)
    for retry_after in rejections:
        assert retry_after is not None and 54 - 1 <= retry_after <= 66
    skewed_status, plain_status = skewed.get_status_info(), plain.get_status_info()
    assert skewed_status["state"] == plain_status["state"] == "open"
    assert skewed_status["next_retry_at"] == plain_status["next_retry_at"]
    assert (
        abs(skewed_status["time_until_retry_minutes"] - plain_status["time_until_retry_minutes"])
        < 0.05
    )


def test_a_new_failure_threshold_takes_effect_without_clearing_redis(
    make_store: StoreFactory,
) -> None:
    before = CircuitBreaker(5, 1, name="reconfigured", store=make_store())
    for _ in range(3):
        with pytest.raises(Boom):
            before.call(boom)
    after = CircuitBreaker(3, 1, name="reconfigured", store=make_store())
    assert after.failure_count == 3
    with pytest.raises(Boom):
        after.call(boom)
    assert after.state is OPEN


@pytest.mark.e2e
def test_redis_killed_mid_run_then_restarted(
    own_redis: RedisServer,
    make_store: StoreFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = make_store(url=own_redis.url, sync_interval=0.2, socket_timeout=0.1)
    breaker = CircuitBreaker(3, 0.5, name="outage", store=store)
    leaked: list[BaseException] = []

    def call(fn: Callable[[], object]) -> None:
        try:
            breaker.call(fn)
        except (Boom, CircuitOpenError):
            pass
        except BaseException as exc:  # anything else is a store error leaking out
            leaked.append(exc)

    call(lambda: None)
    with caplog.at_level(logging.INFO, logger="circuit_breaker"):
        own_redis.stop()
        for _ in range(50):
            call(lambda: None)
        for _ in range(5):
            call(boom)
        assert breaker.state is OPEN  # tripped on local state while Redis is away
        assert breaker.get_status_info()["store"]["reachable"] is False
        own_redis.start()
        assert _wait_for(lambda: breaker.state is CLOSED, 10.0)  # resynced: Redis was empty
        call(lambda: None)
    assert leaked == []
    warnings = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and "unreachable" in r.getMessage()
    ]
    assert len(warnings) == 1
    assert any("reachable again" in r.getMessage() for r in caplog.records)


@pytest.mark.e2e
def test_state_resyncs_after_a_partition_that_lost_no_data(
    own_redis: RedisServer, make_store: StoreFactory
) -> None:
    store = make_store(url=own_redis.url, sync_interval=0.2, socket_timeout=0.1)
    breaker = CircuitBreaker(3, 10, name="partition", store=store)
    with pytest.raises(Boom):
        breaker.call(boom)
    breaker.call(lambda: None)  # the record exists in Redis, CLOSED
    admin = own_redis.client()
    admin.client_pause(600)  # the store times out: a partition, Redis keeps its data
    for _ in range(3):
        with pytest.raises(Boom):
            breaker.call(boom)
    assert breaker.state is OPEN  # local only: Redis still says CLOSED
    assert _wait_for(lambda: breaker.state is CLOSED, 5.0)  # once the pause ends
    assert breaker.get_status_info()["store"]["reachable"] is True
    admin.close()


@pytest.mark.e2e
async def test_call_async_keeps_the_event_loop_running_while_redis_is_slow(
    own_redis: RedisServer, make_store: StoreFactory
) -> None:
    store = make_store(url=own_redis.url, socket_timeout=3.0)
    breaker = CircuitBreaker(5, 1, name="async", store=store)
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            await asyncio.sleep(0.01)  # real wait: the loop's heartbeat
            ticks += 1

    async def failing() -> None:
        raise Boom("down")

    admin = own_redis.client()
    heartbeat = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)  # real wait: the heartbeat starts
    admin.client_pause(400)  # every Redis command now waits ~0.4 s
    started, ticks_before = time.monotonic(), ticks
    with pytest.raises(Boom):
        await breaker.call_async(failing)  # its record_failure waits on Redis
    took, ticks_during = time.monotonic() - started, ticks - ticks_before
    stop.set()
    await heartbeat
    admin.close()
    assert took >= 0.3
    assert ticks_during >= 10
    assert breaker.failure_count == 1


def test_a_breaker_built_while_redis_is_unreachable_works_on_local_state(
    make_store: StoreFactory,
) -> None:
    store = make_store(url="redis://127.0.0.1:1/0", socket_timeout=0.1)
    breaker = CircuitBreaker(2, 1, name="offline", store=store)
    assert breaker.call(lambda: "ok") == "ok"
    for _ in range(2):
        with pytest.raises(Boom):
            breaker.call(boom)
    with pytest.raises(CircuitOpenError):
        breaker.call(lambda: "ok")


def test_a_rate_rule_built_while_redis_is_unreachable_judges_on_local_state(
    make_store: StoreFactory,
) -> None:
    store = make_store(url="redis://127.0.0.1:1/0", socket_timeout=0.1)
    breaker = CircuitBreaker(
        None, 1, name="offline", store=store, failure_rate_threshold=0.5, minimum_calls=4
    )
    assert breaker.status().window is not None
    for _ in range(4):
        with pytest.raises(Boom):
            breaker.call(boom)
    assert breaker.get_status_info()["tripped_by"] == "failure_rate"
    with pytest.raises(CircuitOpenError):
        breaker.call(lambda: "ok")


def test_a_breaker_reconfigured_by_a_reload_keeps_hearing_other_processes(
    make_store: StoreFactory, redis_server: Any
) -> None:
    from circuit_breaker import BreakerRegistry

    store = make_store(url=redis_server.url, sync_interval=60.0)
    config: dict[str, Any] = {"breakers": {"orders_db": {"failure_threshold": 3}}}
    registry = BreakerRegistry.from_dict(config, store=store)
    held = registry.get("orders_db")
    config["breakers"]["orders_db"]["failure_threshold"] = 1
    assert registry.reload().rebuilt == ("orders_db",)
    other = CircuitBreaker(1, 1, name="orders_db", store=make_store(url=redis_server.url))
    with pytest.raises(Boom):
        other.call(boom)
    assert _wait_for(lambda: held.state is CircuitBreakerState.OPEN, timeout=5)


@pytest.mark.e2e
def test_counts_a_flush_could_not_deliver_reach_the_store_once_it_answers(
    own_redis: RedisServer, make_store: StoreFactory
) -> None:
    store = make_store(
        url=own_redis.url, sync_interval=1.0, flush_interval=60.0, socket_timeout=0.3
    )
    breaker = CircuitBreaker(
        None, 1, name="buffered", store=store, failure_rate_threshold=0.5, minimum_calls=100
    )
    reader = make_store(url=own_redis.url)
    admin = own_redis.client()
    admin.client_pause(1500)  # Redis stalls: the subscription notices nothing
    for _ in range(3):
        breaker.call(lambda: "ok")
    with pytest.raises(Boom):
        breaker.call(boom)
    store.flush_soon()  # this flush times out: its counts must not be lost

    def delivered() -> tuple[int, int] | None:
        store.flush_soon()
        try:
            window = reader.load_many(["buffered"], time.time())["buffered"].record.window
        except StoreUnavailableError:
            return None  # still paused
        return sum(b[1] for b in window), sum(b[2] for b in window)

    assert _wait_for(lambda: delivered() == (4, 1), timeout=10)
    admin.close()
