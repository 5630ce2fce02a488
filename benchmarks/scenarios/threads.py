"""Threads: throughput of closed-state calls with 1, 2 and 8 threads, and exact counting.

Throughput is GIL-bound on CPython; what matters is that a breaker adds no lock
contention of its own. Counting: 8 threads report failures at once (with a tiny GIL
switch interval to provoke interleaving); every failure must be counted.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from contextlib import suppress
from itertools import repeat
from time import perf_counter_ns
from typing import Any

from benchmarks import peers
from benchmarks.context import Context
from benchmarks.harness import Sample, gc_paused
from benchmarks.report import Row
from benchmarks.scenarios.common import OURS, Down, fail, noop
from circuit_breaker import CircuitBreaker

THREAD_COUNTS = (1, 2, 8)
HUGE_THRESHOLD = 10**9
STRESS_SWITCH_INTERVAL = 1e-5

Caller = Callable[[Callable[[], Any]], Any]


def _callers(threshold: int) -> dict[str, tuple[Caller, Callable[[], int]]]:
    """name -> (call(fn), failures counted so far), one fresh breaker each."""
    ours = CircuitBreaker(threshold, name=f"bench_threads_{threshold}")
    built: dict[str, tuple[Caller, Callable[[], int]]] = {
        OURS: (ours.call, lambda: ours.failure_count)
    }
    if peers.load("pybreaker"):
        pb = peers.pybreaker_breaker(fail_max=threshold)
        built["pybreaker"] = (pb.call, lambda: int(pb.fail_counter))
    if peers.load("circuitbreaker"):
        cbk = peers.circuitbreaker_breaker(failure_threshold=threshold)
        built["circuitbreaker"] = (cbk.call, lambda: int(cbk.failure_count))
    if peers.load("aiobreaker"):
        ab = peers.aiobreaker_breaker(fail_max=threshold)
        built["aiobreaker"] = (ab.call, lambda: int(ab.fail_counter))
    if peers.load("purgatory"):
        factory = peers.purgatory_sync_factory(threshold=threshold)

        def purgatory_call(fn: Callable[[], Any]) -> Any:
            with factory.get_breaker("bench"):
                return fn()

        def purgatory_count() -> int:
            return int(factory.get_breaker("bench").context.failure_count or 0)

        built["purgatory"] = (purgatory_call, purgatory_count)
    return built


def _run_threads(threads: int, per_thread: int, call: Caller, fn: Callable[[], Any]) -> int:
    """Wall nanoseconds for ``threads`` threads making ``per_thread`` calls each."""
    start_line = threading.Barrier(threads + 1)

    def work() -> None:
        start_line.wait()
        for _ in repeat(None, per_thread):
            with suppress(Down):
                call(fn)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    start_line.wait()
    started = perf_counter_ns()
    for worker in workers:
        worker.join()
    return perf_counter_ns() - started


def run(context: Context) -> list[Row]:
    quick = context.quick
    total_calls = 2_000 if quick else 60_000
    rounds = 2 if quick else 9
    rows = []
    callers = _callers(HUGE_THRESHOLD)
    for threads in THREAD_COUNTS:
        per_thread = total_calls // threads
        per_call: dict[str, list[float]] = {name: [] for name in callers}
        with gc_paused():
            for round_index in range(rounds):
                names = list(callers)
                start = round_index % len(names)
                for name in names[start:] + names[:start]:
                    elapsed = _run_threads(threads, per_thread, callers[name][0], noop)
                    per_call[name].append(elapsed / (per_thread * threads))
        samples = {name: Sample(tuple(values)) for name, values in per_call.items()}
        throughput = {name: 1e9 / sample.median for name, sample in samples.items()}
        rows.append(Row(
            "threads",
            f"{threads} thread{'s' if threads > 1 else ''}: closed calls/s",
            "calls/s",
            throughput.pop(OURS),
            throughput,
            better="higher",
            target="(no target)",
            spread=samples[OURS].spread,
        ))
    rows.append(_counting_row(context))
    return rows


def _counting_row(context: Context) -> Row:
    threads = 8
    per_thread = 100 if context.quick else 3_000
    expected = threads * per_thread
    lost: dict[str, float] = {}
    previous = sys.getswitchinterval()
    sys.setswitchinterval(STRESS_SWITCH_INTERVAL)
    try:
        for name, (call, counted) in _callers(HUGE_THRESHOLD).items():
            _run_threads(threads, per_thread, call, fail)
            lost[name] = float(expected - counted())
    finally:
        sys.setswitchinterval(previous)
    row = Row(
        "threads",
        f"8 threads x {per_thread} failures: lost counts",
        "count",
        lost.pop(OURS),
        lost,
        target="0 lost",
        notes=f"expected {expected} each; GIL switch interval {STRESS_SWITCH_INTERVAL:g}s",
    )
    row.judge(row.ours == 0, quick=False)  # correctness, judged even in quick mode
    return row
