"""The ``redis`` store against pybreaker's CircuitRedisStorage and purgatory's Redis storage.

Success path: overhead of a closed-state call (target: no round trip per call, within
3x of the memory store, 50x faster than pybreaker's Redis storage). Failure path: time of
a counted failure. Commands per call come from the private server's commandstats.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import suppress
from itertools import repeat
from typing import Any

from benchmarks import loops, peers
from benchmarks.context import Context
from benchmarks.harness import Measure, Settings, interleave
from benchmarks.redis_server import RedisServer, RoundTripCounter, commands_between
from benchmarks.report import Row, skipped
from benchmarks.scenarios.common import BARE, OURS, Down, at_most, fail, noop, overhead_row
from benchmarks.scenarios.optional import find
from circuit_breaker import CircuitBreaker

MEMORY = "ours (memory store)"
HUGE_THRESHOLD = 10**9
TARGET = "<=3x memory store, >=50x faster than pybreaker[redis], 0 round trips/call"

Caller = Callable[[Callable[[], Any]], Any]


def run(context: Context) -> list[Row]:
    module, reason = find("circuit_breaker.stores.redis", "RedisStore")
    if module is None:
        return [skipped("redis", str(reason), TARGET)]
    if context.redis.unavailable:
        return [skipped("redis", str(context.redis.unavailable), TARGET)]
    server = context.redis
    prefix = f"cb-bench-{uuid.uuid4().hex[:8]}"
    store = module.RedisStore(server.url, key_prefix=prefix)
    clients: list[Any] = []
    try:
        success = _callers(server, store, prefix, clients, threshold=5)
        failure = _callers(server, store, prefix + "-f", clients, threshold=HUGE_THRESHOLD)
        return [
            *_success_rows(context, server, success),
            *_failure_rows(context, server, failure),
        ]
    finally:
        store.close()
        for client in clients:
            client.close()


def _callers(
    server: RedisServer, store: Any, prefix: str, clients: list[Any], threshold: int
) -> dict[str, Caller]:
    """One breaker per library, every one keeping its state in Redis."""
    ours = CircuitBreaker(threshold, name=f"{prefix}-ours", store=store)
    built: dict[str, Caller] = {OURS: ours.call}
    if module := peers.load("pybreaker"):
        client = server.client()
        clients.append(client)
        storage = module.CircuitRedisStorage(module.STATE_CLOSED, client, namespace=prefix)
        built["pybreaker[redis]"] = peers.pybreaker_breaker(
            fail_max=threshold, state_storage=storage
        ).call
    if peers.load("purgatory"):
        built["purgatory[redis]"] = _purgatory_caller(server, prefix, threshold, clients)
    return built


def _purgatory_caller(
    server: RedisServer, prefix: str, threshold: int, clients: list[Any]
) -> Caller:
    """purgatory 3.0.1's SyncRedisUnitOfWork builds an asyncio client (its sync calls
    return coroutines): the benchmark hands its repository a sync client instead."""
    import purgatory

    uow = purgatory.SyncRedisUnitOfWork(server.url)
    client = server.client()
    clients.append(client)
    repository: Any = uow.contexts
    repository.redis = client
    repository.prefix = f"{prefix}::"
    factory = purgatory.SyncCircuitBreakerFactory(
        default_threshold=threshold, default_ttl=peers.LONG_SECONDS, uow=uow
    )

    def call(fn: Callable[[], Any]) -> Any:
        with factory.get_breaker("bench"):
            return fn()

    return call


def _per_call(
    server: RedisServer, call: Caller, fn: Callable[[], Any], calls: int
) -> tuple[float, float, dict[str, int]]:
    """Round trips per call, commands per call (commandstats) and the commands run."""
    before = server.commandstats()
    with RoundTripCounter().counting() as trips:
        for _ in repeat(None, calls):
            with suppress(Down):
                call(fn)
    delta = commands_between(before, server.commandstats())
    return trips.count / calls, sum(delta.values()) / calls, delta


def _count_rows(
    context: Context, server: RedisServer, callers: dict[str, Caller], path: str,
    fn: Callable[[], Any], calls: int, trips_target: tuple[str, float],
) -> list[Row]:
    trips: dict[str, float] = {}
    commands: dict[str, float] = {}
    details = []
    for name, call in callers.items():
        trips[name], commands[name], delta = _per_call(server, call, fn, calls)
        details.append(f"{name}: {', '.join(f'{k} {v}' for k, v in sorted(delta.items()))}")
    target, limit = trips_target
    trips_row = Row(
        "redis", f"{path}: round trips per call", "trips", trips.pop(OURS), trips,
        target=target, notes=f"over {calls} calls, counted at the redis-py socket",
    )
    trips_row.judge(trips_row.ours is not None and trips_row.ours <= limit, context.quick)
    commands_row = Row(
        "redis", f"{path}: Redis commands per call", "cmds", commands.pop(OURS), commands,
        target="(INFO commandstats, script commands included)",
        notes=f"over {calls} calls; " + "; ".join(details),
    )
    return [trips_row, commands_row]


def _success_rows(context: Context, server: RedisServer, callers: dict[str, Caller]) -> list[Row]:
    settings = context.settings
    candidates: dict[str, Measure] = {BARE: loops.bare(noop), MEMORY: loops.via(
        CircuitBreaker(name="bench_redis_memory").call, noop
    )}
    candidates.update({name: loops.via(call, noop) for name, call in callers.items()})
    for call in callers.values():
        call(noop)  # first call: peers create their keys
    # Peers make round trips per call: fewer, shorter rounds keep the run bounded.
    samples = interleave(candidates, Settings(max(3, settings.rounds // 3), settings.round_ns,
                                              settings.quick))
    memory = samples.pop(MEMORY).minus(samples[BARE]).median
    timing = overhead_row("redis", "success: call() overhead", samples, target=TARGET)
    assert timing.ours is not None
    timing.notes += f"; memory store {memory:.0f} ns -> redis/memory {timing.ours / memory:.2f}x"

    counts = _count_rows(context, server, callers, "success", noop,
                         200 if context.quick else 2_000, ("0 per call", 0.01))
    trips = counts[0].ours
    faster = all(at_most(timing, peer, 1 / 50) for peer in ("pybreaker[redis]",))
    within_memory = timing.ours <= 3 * max(memory, 1.0)
    timing.judge(faster and within_memory and trips is not None and trips < 0.01, context.quick)
    return [timing, *counts]


def _failure_rows(context: Context, server: RedisServer, callers: dict[str, Caller]) -> list[Row]:
    settings = context.settings
    candidates: dict[str, Measure] = {BARE: loops.rejecting(lambda fn: fn(), fail, Down)}
    candidates.update({name: loops.rejecting(call, fail, Down) for name, call in callers.items()})
    samples = interleave(candidates, Settings(max(3, settings.rounds // 3),
                                              settings.round_ns, settings.quick))
    timing = overhead_row("redis", "failure: counted failure overhead", samples,
                          target="(no target)")
    to_us = 1 / 1000
    timing.unit = "µs"
    timing.ours = None if timing.ours is None else timing.ours * to_us
    timing.peers = {name: value * to_us for name, value in timing.peers.items()}

    counts = _count_rows(context, server, callers, "failure", fail,
                         50 if context.quick else 500, ("1 per call (one script)", 1.01))
    return [timing, *counts]
