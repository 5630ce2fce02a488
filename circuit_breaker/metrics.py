"""Prometheus metrics for every breaker of a registry (the ``prometheus`` extra).

A custom collector reads each breaker when Prometheus scrapes, so a gauge is never stale
and the call path never touches a metrics object: breakers tally their own outcomes with
lock-free counters (:meth:`CircuitBreaker.enable_call_counting`).

    from circuit_breaker.metrics import register
    register(registry)                        # once per process
    prometheus_client.start_http_server(9100)

Exported, per breaker (label ``breaker``):

* ``circuit_breaker_state{state}``: 1 for the current state, 0 for the other four.
* ``circuit_breaker_calls_total{outcome}``: success, failure, ignored, rejected, and
  would_reject: calls an observing breaker let through that it would have rejected.
* ``circuit_breaker_transitions_total{from_state, to_state}``: changes this process made
  or learned of, so an OPEN shorter than the scrape interval still shows.
* ``circuit_breaker_consecutive_breaks``: the trip number (0 when CLOSED).
* ``circuit_breaker_next_retry_timestamp_seconds``: Unix time of the retry deadline
  while OPEN; 0 in every other state (no deadline ahead), so the series never vanishes.
* ``circuit_breaker_exhausted``: 1 once the recovery schedule is exhausted.
* ``circuit_breaker_info{profile, critical, mode}``: always 1; join on it to select
  breakers (``mode`` is ``enforce`` or ``observe``).
* ``circuit_breaker_window_calls``, ``circuit_breaker_window_failure_rate``,
  ``circuit_breaker_window_slow_call_rate``: the window the rate rules judge (the fleet's
  settled part on a shared store), rates as fractions 0-1; only for breakers that count
  a window, so a streak-only breaker adds no series that could never move.
"""

from __future__ import annotations

from collections.abc import Iterator

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
from circuit_breaker.events import OUTCOMES
from circuit_breaker.metric_readings import (
    DESCRIPTIONS,
    STATES,
    BreakerSource,
    counting_breakers,
    info_labels,
    next_retry_timestamp,
)
from circuit_breaker.registry import sync_breakers

__all__ = ["BreakerCollector", "BreakerSource", "register"]


class BreakerCollector:
    """Reads every breaker of ``source`` at scrape time (one store round trip per store)."""

    def __init__(self, source: BreakerSource) -> None:
        self._source = source

    def breakers(self) -> list[CircuitBreaker]:
        """The source's breakers now, each counting calls from here on."""
        return counting_breakers(self._source)

    def describe(self) -> Iterator[Metric]:
        """Names only, so registering neither reads breakers nor touches a store."""
        yield from _families()

    def collect(self) -> Iterator[Metric]:
        breakers = self.breakers()
        sync_breakers(breakers)
        families = _families()
        state, calls, moves, breaks, next_retry, exhausted, info, *window = families
        window_calls, failure_rate, slow_call_rate = window
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
            next_retry.add_metric([name], next_retry_timestamp(status))
            exhausted.add_metric([name], 1.0 if status.exhausted else 0.0)
            info.add_metric([name], info_labels(status))
            totals = status.window
            if totals is not None:
                window_calls.add_metric([name], totals.calls)
                failure_rate.add_metric([name], totals.failure_rate)
                slow_call_rate.add_metric([name], totals.slow_call_rate)
        yield from families


def _families() -> tuple[
    GaugeMetricFamily,
    CounterMetricFamily,
    CounterMetricFamily,
    GaugeMetricFamily,
    GaugeMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    GaugeMetricFamily,
    GaugeMetricFamily,
    GaugeMetricFamily,
]:
    def gauge(name: str, labels: list[str]) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, DESCRIPTIONS[name], labels=labels)

    def counter(name: str, labels: list[str]) -> CounterMetricFamily:
        return CounterMetricFamily(name, DESCRIPTIONS[name], labels=labels)

    return (
        gauge("circuit_breaker_state", ["breaker", "state"]),
        counter("circuit_breaker_calls", ["breaker", "outcome"]),
        counter("circuit_breaker_transitions", ["breaker", "from_state", "to_state"]),
        gauge("circuit_breaker_consecutive_breaks", ["breaker"]),
        gauge("circuit_breaker_next_retry_timestamp_seconds", ["breaker"]),
        gauge("circuit_breaker_exhausted", ["breaker"]),
        InfoMetricFamily(
            "circuit_breaker", DESCRIPTIONS["circuit_breaker_info"], labels=["breaker"]
        ),
        gauge("circuit_breaker_window_calls", ["breaker"]),
        gauge("circuit_breaker_window_failure_rate", ["breaker"]),
        gauge("circuit_breaker_window_slow_call_rate", ["breaker"]),
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
