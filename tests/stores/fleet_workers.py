"""Entry points of the processes a fleet test spawns (importable: spawn needs that).

Each process builds its own RedisStore and CircuitBreaker with the same name, as the
processes of a real fleet do, and reports back through a multiprocessing queue.
``options`` are more store keywords (``{"cluster": True}`` for a Redis Cluster).
"""

from __future__ import annotations

import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import redis

from circuit_breaker import BreakerEvent, CircuitBreaker, CircuitBreakerState, CircuitOpenError
from circuit_breaker.stores.redis import RedisStore


class UpstreamDown(Exception):
    """The fake upstream's error while it is down."""


@dataclass
class EventLog:
    """A listener keeping the state changes a breaker reports."""

    changes: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)

    def __call__(self, event: BreakerEvent) -> None:
        if event.kind == "state_change":
            assert event.old is not None and event.new is not None
            self.changes.append((event.old.value, event.new.value, event.reason, event.origin))


def _store(url: str, prefix: str, options: dict[str, Any] | None) -> RedisStore:
    return RedisStore(url, key_prefix=prefix, socket_timeout=5.0, **(options or {}))


def _client(url: str, options: dict[str, Any] | None) -> Any:
    """A client of the store's Redis for the fake upstream's bookkeeping."""
    if (options or {}).get("cluster"):
        return redis.RedisCluster.from_url(url, decode_responses=True)
    return redis.Redis.from_url(url, decode_responses=True)


def hammer_failures(
    url: str,
    prefix: str,
    name: str,
    threads: int,
    failures_per_thread: int,
    threshold: int,
    start: Any,
    results: Any,
    options: dict[str, Any] | None = None,
) -> None:
    """``threads`` threads each make ``failures_per_thread`` failing calls."""
    store = _store(url, prefix, options)
    log = EventLog()
    breaker = CircuitBreaker(threshold, 10, name=name, store=store, listeners=[log])
    lock = threading.Lock()
    tally = {"invocations": 0, "rejected": 0, "unexpected": 0}

    def failing() -> None:
        with lock:
            tally["invocations"] += 1
        raise UpstreamDown("down")

    def worker() -> None:
        for _ in range(failures_per_thread):
            try:
                breaker.call(failing)
            except UpstreamDown:
                pass
            except CircuitOpenError:
                with lock:
                    tally["rejected"] += 1
            except Exception:
                with lock:
                    tally["unexpected"] += 1

    start.wait()
    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    deadline = time.monotonic() + 3 * store.sync_interval
    while breaker.state is not CircuitBreakerState.OPEN and time.monotonic() < deadline:
        time.sleep(0.01)  # real wait: the trip may come from another process
    results.put({**tally, "changes": log.changes, "state": breaker.state.value})
    store.close()


def call_recovering_upstream(
    url: str,
    prefix: str,
    name: str,
    base_interval_seconds: float,
    run_seconds: float,
    ready: Any,
    go: Any,
    results: Any,
    options: dict[str, Any] | None = None,
) -> None:
    """Call the upstream every 10 ms for ``run_seconds``; it logs each hit in Redis."""
    client = _client(url, options)
    healthy_key, hits_key = f"{prefix}:upstream:healthy", f"{prefix}:upstream:hits"

    def upstream() -> str:
        healthy = client.exists(healthy_key) == 1
        client.rpush(hits_key, f"{time.time():.6f} {'up' if healthy else 'down'}")
        if not healthy:
            raise UpstreamDown("503")
        return "ok"

    store = _store(url, prefix, options)
    log = EventLog()
    breaker = CircuitBreaker(
        3,
        base_interval_seconds / 60,
        name=name,
        store=store,
        listeners=[log],
        fixed_interval_retries=10,
    )
    tally = {"ok": 0, "down": 0, "rejected": 0, "unexpected": 0}
    ready.put(breaker.state.value)
    go.wait()
    end = time.monotonic() + run_seconds
    while time.monotonic() < end:
        try:
            breaker.call(upstream)
            tally["ok"] += 1
        except UpstreamDown:
            tally["down"] += 1
        except CircuitOpenError:
            tally["rejected"] += 1
        except Exception:
            tally["unexpected"] += 1
        time.sleep(0.01)  # real wait: pacing of this process's traffic
    results.put({**tally, "changes": log.changes})
    store.close()
    client.close()


def trip_breaker(
    url: str,
    prefix: str,
    name: str,
    threshold: int,
    done: Any,
    options: dict[str, Any] | None = None,
) -> None:
    """Open breaker ``name`` from this process and say when (monotonic clock)."""
    store = _store(url, prefix, options)
    breaker = CircuitBreaker(threshold, 10, name=name, store=store)
    for _ in range(threshold):
        with suppress(UpstreamDown):
            breaker.call(_fail)
    done.put((time.monotonic(), breaker.state.value))
    store.close()


def _fail() -> None:
    raise UpstreamDown("down")


def rate_traffic(
    url: str,
    prefix: str,
    failure_share: float,
    threads: int,
    calls_per_thread: int,
    pause: float,
    options: dict[str, Any],
    start: Any,
    results: Any,
) -> None:
    """Threads calling a rate-ruled breaker, ``failure_share`` of the calls failing.

    Reports the calls made and rejected, and when (wall clock) this process saw the
    breaker open. The store is closed at the end, which flushes what is still buffered.
    """
    import random

    store = RedisStore(url, key_prefix=prefix, sync_interval=0.5, flush_interval=0.1)
    log = EventLog()
    opened_seen: list[float] = []

    def seen(event: BreakerEvent) -> None:
        if event.kind == "state_change" and event.new is CircuitBreakerState.OPEN:
            opened_seen.append(time.time())

    breaker = CircuitBreaker(name="rated", store=store, listeners=[log, seen], **options)
    lock = threading.Lock()
    tally = {"calls": 0, "failed": 0, "rejected": 0, "unexpected": 0}

    def failing() -> None:
        raise UpstreamDown("down")

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(calls_per_thread):
            fails = rng.random() < failure_share
            try:
                breaker.call(failing if fails else (lambda: None))
                outcome = "calls"
            except UpstreamDown:
                outcome = "failed"
            except CircuitOpenError:
                outcome = "rejected"
            except Exception:
                outcome = "unexpected"
            with lock:
                tally[outcome] += 1
            if pause:
                time.sleep(pause)  # real wait: pacing of this process's traffic

    start.wait()
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    store.close()
    results.put(
        {**tally, "share": failure_share, "changes": log.changes, "opened_seen": opened_seen}
    )


def http_back_off(
    url: str,
    prefix: str,
    upstream: str,
    index: int,
    run_seconds: float,
    ready: Any,
    triggered: Any,
    results: Any,
) -> None:
    """One process of a fleet calling ``upstream`` through a BreakerTransport on Redis.

    Process 0 first gets a 429 with ``Retry-After: 2``; then every process calls the slow
    ``/delay/0.3`` every 20 ms for ``run_seconds`` and reports what happened, when.
    """
    import httpx

    from circuit_breaker.integrations.httpx import BreakerTransport
    from circuit_breaker.registry import BreakerRegistry

    store = RedisStore(url, key_prefix=prefix, socket_timeout=5.0)
    log = EventLog()
    registry = BreakerRegistry.from_dict(
        {"version": 1, "defaults": {"jitter_enabled": False}}, store=store, listeners=[log]
    )
    client = httpx.Client(transport=BreakerTransport(registry), timeout=10)
    ready.wait()
    if index == 0:
        status = client.get(f"{upstream}/status/429?retry_after=2").status_code
        assert status == 429
        triggered.set()
    triggered.wait()
    tally: dict[str, Any] = {"ok": [], "rejected": [], "unexpected": 0}
    end = time.monotonic() + run_seconds
    while time.monotonic() < end:
        sent = time.time()
        try:
            client.get(f"{upstream}/delay/0.3")
            tally["ok"].append(sent)
        except CircuitOpenError:
            tally["rejected"].append(sent)
        except Exception:
            tally["unexpected"] += 1
        time.sleep(0.02)  # real wait: pacing of this process's traffic
    client.close()
    results.put({**tally, "index": index, "changes": log.changes})
    store.close()
