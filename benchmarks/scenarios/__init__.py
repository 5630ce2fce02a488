"""The scenarios, in report order. Each is ``run(context) -> list[Row]``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from benchmarks.context import Context
from benchmarks.report import Row
from benchmarks.scenarios import (
    async_calls,
    at_rest,
    baseline,
    closed,
    fleet,
    fleet_cluster,
    health,
    http_transport,
    redis_store,
    registry_load,
    rejection,
    threads,
    trip_model,
    windowed,
)

Scenario = Callable[[Context], list[Row]]

SCENARIOS: dict[str, Scenario] = {
    "closed_call": closed.run_call,
    "decorator": closed.run_decorator,
    "call_async": async_calls.run,
    "baseline": baseline.run,
    "windowed_call": windowed.run,
    "rejection": rejection.run,
    "threads": threads.run,
    "redis": redis_store.run,
    "fleet_probes": fleet.run,
    "fleet_cluster": fleet_cluster.run,
    "at_rest": at_rest.run,
    "registry_load": registry_load.run,
    "health": health.run,
    "trip_model": trip_model.run,
    "http_transport": http_transport.run,
}

Table = Callable[[Sequence[Row]], str]

TABLES: dict[str, Table] = {
    "trip_model": trip_model.markdown,
}
"""Scenarios whose rows also make a Markdown table of their own (ready for the docs)."""
