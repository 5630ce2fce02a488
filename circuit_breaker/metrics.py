"""Prometheus metrics for every breaker of a registry (the ``prometheus`` extra).

A custom collector reads each breaker when Prometheus scrapes, so a gauge is never stale
and the call path never touches a metrics object: breakers tally their own outcomes with
lock-free counters (:meth:`CircuitBreaker.enable_call_counting`).

    from circuit_breaker.metrics import register
    register(registry)                        # once per process
    prometheus_client.start_http_server(9100)

Exported, per breaker (label ``breaker``):

* ``circuit_breaker_state{state}``: 1 for the current state, 0 for the other four.
* ``circuit_breaker_calls_total{outcome}``: success, failure, ignored, rejected.
* ``circuit_breaker_transitions_total{from_state, to_state}``: changes this process made
  or learned of, so an OPEN shorter than the scrape interval still shows.
* ``circuit_breaker_consecutive_breaks``: the trip number (0 when CLOSED).
* ``circuit_breaker_next_retry_timestamp_seconds``: Unix time of the retry deadline
  while OPEN; 0 in every other state (no deadline ahead), so the series never vanishes.
* ``circuit_breaker_exhausted``: 1 once the recovery schedule is exhausted.
* ``circuit_breaker_info{profile, critical}``: always 1; join on it to select breakers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

try:
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        InfoMetricFamily,
        Metric,
    )
    from prometheus_client.registry import REGISTRY, CollectorRegistry
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    # Not "pip install circuit-breaker[prometheus]": that name on PyPI is another project.
    raise ImportError(
        "circuit_breaker.metrics needs prometheus_client: install the `prometheus` extra "
        "of this package from where you installed it (a path, git or a wheel), or "
        "prometheus_client itself"
    ) from exc

from circuit_breaker.breaker import CircuitBreaker
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.events import OUTCOMES
from circuit_breaker.registry import sync_breakers

STATES = tuple(state.value for state in CircuitBreakerState)

# name -> help; the exposition appends ``_total`` to counters and ``_info`` to the info.
METRICS: dict[str, str] = {
    "circuit_breaker_state": "1 for the breaker's current state, 0 for the others.",
    "circuit_breaker_calls": "Calls through the breaker, by outcome.",
    "circuit_breaker_transitions": "State changes this process made or learned of.",
    "circuit_breaker_consecutive_breaks": "Consecutive trips (0 when closed).",
    "circuit_breaker_next_retry_timestamp_seconds": (
        "Unix time of the retry deadline while open; 0 otherwise."
    ),
    "circuit_breaker_exhausted": "1 once the breaker's recovery schedule is exhausted.",
    "circuit_breaker": "Static facts about the breaker (profile, critical).",
}


class BreakerSource(Protocol):
    """What the collector reads: a BreakerRegistry, or anything with these two methods."""

    def names(self) -> Iterable[str]: ...

    def get(self, name: str) -> CircuitBreaker: ...


class BreakerCollector:
    """Reads every breaker of ``source`` at scrape time (one store round trip per store)."""

    def __init__(self, source: BreakerSource) -> None:
        self._source = source

    def breakers(self) -> list[CircuitBreaker]:
        """The source's breakers now, each counting calls from here on.

        Enabling is idempotent, so breakers a registry reload added are picked up at the
        next scrape; a name removed between ``names()`` and ``get()`` is skipped.
        """
        found = []
        for name in list(self._source.names()):
            try:
                breaker = self._source.get(name)
            except KeyError:
                continue
            breaker.enable_call_counting()
            found.append(breaker)
        return found

    def describe(self) -> Iterator[Metric]:
        """Names only, so registering neither reads breakers nor touches a store."""
        yield from _families()

    def collect(self) -> Iterator[Metric]:
        breakers = self.breakers()
        sync_breakers(breakers)
        state, calls, moves, breaks, next_retry, exhausted, info = _families()
        for breaker in breakers:
            name = breaker.name
            status = breaker.status()
            for value in STATES:
                state.add_metric([name, value], 1.0 if status.state == value else 0.0)
            counts = breaker.call_counts()
            for outcome in OUTCOMES:
                calls.add_metric([name, outcome], counts[outcome])
            for (old, new), count in sorted(breaker.transition_counts().items()):
                moves.add_metric([name, old, new], count)
            breaks.add_metric([name], status.consecutive_breaks)
            deadline = status.next_retry_at
            is_open = status.state is CircuitBreakerState.OPEN and deadline is not None
            next_retry.add_metric([name], deadline.timestamp() if is_open and deadline else 0.0)
            exhausted.add_metric([name], 1.0 if status.exhausted else 0.0)
            info.add_metric(
                [name],
                {
                    "profile": status.profile or "",
                    "critical": "true" if status.critical else "false",
                },
            )
        yield from (state, calls, moves, breaks, next_retry, exhausted, info)


def _families() -> tuple[
    GaugeMetricFamily,
    CounterMetricFamily,
    CounterMetricFamily,
    GaugeMetricFamily,
    GaugeMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
]:
    def gauge(name: str, labels: list[str]) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, METRICS[name], labels=labels)

    def counter(name: str, labels: list[str]) -> CounterMetricFamily:
        return CounterMetricFamily(name, METRICS[name], labels=labels)

    return (
        gauge("circuit_breaker_state", ["breaker", "state"]),
        counter("circuit_breaker_calls", ["breaker", "outcome"]),
        counter("circuit_breaker_transitions", ["breaker", "from_state", "to_state"]),
        gauge("circuit_breaker_consecutive_breaks", ["breaker"]),
        gauge("circuit_breaker_next_retry_timestamp_seconds", ["breaker"]),
        gauge("circuit_breaker_exhausted", ["breaker"]),
        InfoMetricFamily("circuit_breaker", METRICS["circuit_breaker"], labels=["breaker"]),
    )


def register(
    registry: BreakerSource, prometheus_registry: CollectorRegistry = REGISTRY
) -> BreakerCollector:
    """Count calls on every breaker of ``registry`` and export them; once per process."""
    collector = BreakerCollector(registry)
    collector.breakers()
    try:
        prometheus_registry.register(collector)
    except ValueError as exc:
        raise ValueError(
            "circuit breaker metrics are already registered with this Prometheus "
            f"registry ({exc}); call circuit_breaker.metrics.register() once per process"
        ) from exc
    return collector
