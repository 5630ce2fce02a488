"""The scenarios, in report order. Each is ``run(context) -> list[Row]``."""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.context import Context
from benchmarks.report import Row
from benchmarks.scenarios import (
    async_calls,
    closed,
    fleet,
    health,
    http_transport,
    redis_store,
    registry_load,
    rejection,
    threads,
)

Scenario = Callable[[Context], list[Row]]

SCENARIOS: dict[str, Scenario] = {
    "closed_call": closed.run_call,
    "decorator": closed.run_decorator,
    "call_async": async_calls.run,
    "rejection": rejection.run,
    "threads": threads.run,
    "redis": redis_store.run,
    "fleet_probes": fleet.run,
    "registry_load": registry_load.run,
    "health": health.run,
    "http_transport": http_transport.run,
}
