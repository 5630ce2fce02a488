"""OpenTelemetry metrics, read through the SDK's in-memory reader: the Prometheus names."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from circuit_breaker import CircuitOpenError
from circuit_breaker.integrations.opentelemetry import instrument
from circuit_breaker.metrics import BreakerCollector
from circuit_breaker.registry import BreakerRegistry
from tests.helpers import FakeClock

Points = dict[str, dict[frozenset[tuple[str, Any]], float]]


class Down(Exception):
    pass


def down() -> None:
    raise Down("refused")


def read(reader: InMemoryMetricReader) -> tuple[Points, dict[str, bool]]:
    """``{name: {attributes: value}}`` and whether each metric is a monotonic sum."""
    points: Points = {}
    monotonic: dict[str, bool] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                monotonic[metric.name] = bool(getattr(metric.data, "is_monotonic", False))
                points[metric.name] = {
                    frozenset(point.attributes.items()): point.value  # type: ignore[union-attr]
                    for point in metric.data.data_points
                }
    return points, monotonic


@pytest.fixture
def registry(clock: FakeClock) -> BreakerRegistry:
    return BreakerRegistry.from_dict(
        {
            "defaults": {"jitter_enabled": False},
            "breakers": {
                "orders_db": {"profile": "db"},
                "payments": {"critical": True},
                "search_api": {"profile": "api_rate"},  # counts a window
            },
        },
        clock=clock,
    )


@pytest.fixture
def reader(registry: BreakerRegistry) -> InMemoryMetricReader:
    made = InMemoryMetricReader()
    instrument(registry, MeterProvider(metric_readers=[made]))
    return made


def test_metric_names_are_the_prometheus_collectors(
    registry: BreakerRegistry, reader: InMemoryMetricReader
) -> None:
    points, monotonic = read(reader)
    exported = {name + ("_total" if monotonic[name] else "") for name in points}
    prometheus = {
        sample.name
        for family in BreakerCollector(registry).collect()
        for sample in family.samples
    }
    assert exported == prometheus - {"circuit_breaker_transitions_total"}  # none yet
    assert monotonic["circuit_breaker_calls"] and not monotonic["circuit_breaker_state"]


def test_values_follow_the_breakers(
    registry: BreakerRegistry, reader: InMemoryMetricReader, clock: FakeClock
) -> None:
    orders = registry.get("orders_db")
    orders.call(lambda: None)
    for _ in range(5):
        with suppress(Down):
            orders.call(down)
    with suppress(CircuitOpenError):
        orders.call(lambda: None)

    points, _ = read(reader)

    def point(name: str, **attributes: str) -> float:
        return points[name][frozenset({"breaker": "orders_db", **attributes}.items())]

    assert point("circuit_breaker_state", state="open") == 1
    assert point("circuit_breaker_state", state="closed") == 0
    assert point("circuit_breaker_calls", outcome="success") == 1
    assert point("circuit_breaker_calls", outcome="failure") == 5
    assert point("circuit_breaker_calls", outcome="rejected") == 1
    assert point("circuit_breaker_transitions", from_state="closed", to_state="open") == 1
    assert point("circuit_breaker_consecutive_breaks") == 1
    assert point("circuit_breaker_next_retry_timestamp_seconds") > 1_600_000_000
    assert point("circuit_breaker_exhausted") == 0
    assert point("circuit_breaker_info", profile="db", critical="false", mode="enforce") == 1
    payments = {"breaker": "payments", "profile": "", "critical": "true", "mode": "enforce"}
    assert points["circuit_breaker_info"][frozenset(payments.items())] == 1
    search = registry.get("search_api")
    search.call(lambda: None)
    with suppress(Down):
        search.call(down)
    points, _ = read(reader)
    only_search = frozenset({("breaker", "search_api")})
    assert set(points["circuit_breaker_window_calls"]) == {only_search}  # windows only
    assert points["circuit_breaker_window_calls"][only_search] == 2
    assert points["circuit_breaker_window_failure_rate"][only_search] == 0.5
    assert points["circuit_breaker_window_slow_call_rate"][only_search] == 0.0


def test_breakers_created_on_first_use_show_at_the_next_collection(
    registry: BreakerRegistry, reader: InMemoryMetricReader
) -> None:
    read(reader)
    created = registry.get_or_create("api.example.com", profile="api")
    points, _ = read(reader)
    key = frozenset({"breaker": "api.example.com", "state": "closed"}.items())
    assert points["circuit_breaker_state"][key] == 1
    created.call(lambda: None)  # counted: the collection enabled counting, as Prometheus does
    points, _ = read(reader)
    calls = frozenset({"breaker": "api.example.com", "outcome": "success"}.items())
    assert points["circuit_breaker_calls"][calls] == 1
