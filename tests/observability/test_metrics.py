"""The Prometheus collector: the exposition parsed back after scripted calls."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from circuit_breaker import CircuitBreaker, CircuitOpenError, MemoryStore
from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.core.operations import Operation
from circuit_breaker.metrics import BreakerCollector, register
from circuit_breaker.registry import BreakerRegistry
from circuit_breaker.stores.base import StoreResult
from tests.helpers import FakeClock
from tests.observability.registries import StaticRegistry

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Boom(Exception):
    pass


class Declined(Exception):
    pass


def ok() -> str:
    return "ok"


def fail() -> None:
    raise Boom("upstream down")


def declined() -> None:
    raise Declined("card declined")


def scrape(prom: CollectorRegistry) -> Samples:
    """The text exposition, parsed back: (sample name, labels) -> value."""
    text = generate_latest(prom).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def make(clock: FakeClock, name: str = "payments", **options: Any) -> CircuitBreaker:
    settings: dict[str, Any] = {
        "failure_threshold": 2,
        "base_interval_minutes": 1,
        "fixed_interval_retries": 1,
        "max_exponential_retries": 1,
        "jitter_enabled": False,
        "name": name,
        "clock": clock,
        "ignore_exceptions": (Declined,),
    }
    settings.update(options)
    return CircuitBreaker(**settings)


def exported(breaker: CircuitBreaker) -> CollectorRegistry:
    prom = CollectorRegistry()
    collector = BreakerCollector(StaticRegistry(breaker))
    collector.breakers()
    prom.register(collector)
    return prom


def states(samples: Samples, breaker: str) -> dict[str, float]:
    return {
        dict(labels)["state"]: v
        for (name, labels), v in samples.items()
        if name == "circuit_breaker_state" and dict(labels)["breaker"] == breaker
    }


def calls(samples: Samples, breaker: str) -> dict[str, float]:
    return {
        dict(labels)["outcome"]: v
        for (name, labels), v in samples.items()
        if name == "circuit_breaker_calls_total" and dict(labels)["breaker"] == breaker
    }


def transitions(samples: Samples, breaker: str) -> dict[tuple[str, str], float]:
    return {
        (dict(labels)["from_state"], dict(labels)["to_state"]): v
        for (name, labels), v in samples.items()
        if name == "circuit_breaker_transitions_total" and dict(labels)["breaker"] == breaker
    }


def test_scripted_outage_and_recovery_is_exported_at_each_scrape(clock: FakeClock) -> None:
    cb = make(clock, profile="payments", critical=True)
    prom = exported(cb)

    for _ in range(3):
        cb.call(ok)
    with pytest.raises(Declined):
        cb.call(declined)
    for _ in range(2):
        with pytest.raises(Boom):
            cb.call(fail)
    for _ in range(4):
        with pytest.raises(CircuitOpenError):
            cb.call(ok)
    clock.advance(20)

    opened = scrape(prom)
    assert states(opened, "payments") == {
        "closed": 0,
        "open": 1,
        "half_open": 0,
        "forced_open": 0,
        "disabled": 0,
    }
    assert calls(opened, "payments") == {
        "success": 3,
        "failure": 2,
        "ignored": 1,
        "rejected": 4,
        "would_reject": 0,
    }
    assert transitions(opened, "payments") == {("closed", "open"): 1}
    assert value(opened, "circuit_breaker_consecutive_breaks", breaker="payments") == 1
    # Opened 20 s ago with a 60 s interval: the deadline is 40 s from the wall clock.
    next_retry = "circuit_breaker_next_retry_timestamp_seconds"
    assert value(opened, next_retry, breaker="payments") == pytest.approx(time.time() + 40, abs=2)
    assert value(opened, "circuit_breaker_exhausted", breaker="payments") == 0
    info = {"profile": "payments", "critical": "true", "mode": "enforce"}
    assert value(opened, "circuit_breaker_info", breaker="payments", **info) == 1

    clock.advance(41)
    due = scrape(prom)
    assert states(due, "payments")["half_open"] == 1
    assert value(due, next_retry, breaker="payments") == 0

    assert cb.call(ok) == "ok"  # the probe succeeds
    closed = scrape(prom)
    assert states(closed, "payments")["closed"] == 1
    assert sum(states(closed, "payments").values()) == 1
    assert calls(closed, "payments") == {
        "success": 4,
        "failure": 2,
        "ignored": 1,
        "rejected": 4,
        "would_reject": 0,
    }
    assert transitions(closed, "payments") == {
        ("closed", "open"): 1,
        ("open", "half_open"): 1,
        ("half_open", "closed"): 1,
    }
    assert value(closed, "circuit_breaker_consecutive_breaks", breaker="payments") == 0
    assert value(closed, next_retry, breaker="payments") == 0


def test_failed_probes_escalate_breaks_and_flag_exhaustion(clock: FakeClock) -> None:
    cb = make(clock, failure_threshold=1, fixed_interval_retries=1, max_exponential_retries=0)
    prom = exported(cb)
    with pytest.raises(Boom):
        cb.call(fail)
    assert value(scrape(prom), "circuit_breaker_exhausted", breaker="payments") == 0
    clock.advance(61)
    with pytest.raises(Boom):
        cb.call(fail)  # the probe fails: trip 2, beyond a one-trip schedule
    samples = scrape(prom)
    assert value(samples, "circuit_breaker_consecutive_breaks", breaker="payments") == 2
    assert value(samples, "circuit_breaker_exhausted", breaker="payments") == 1
    assert transitions(samples, "payments")[("half_open", "open")] == 1


def test_manual_states_are_exported(clock: FakeClock) -> None:
    cb = make(clock)
    prom = exported(cb)
    cb.force_open(actor="alice")
    assert states(scrape(prom), "payments")["forced_open"] == 1
    assert (
        value(scrape(prom), "circuit_breaker_next_retry_timestamp_seconds", breaker="payments") == 0
    )
    cb.disable()
    cb.call(ok)
    samples = scrape(prom)
    assert states(samples, "payments")["disabled"] == 1
    assert calls(samples, "payments")["success"] == 0  # DISABLED counts nothing
    assert transitions(samples, "payments") == {
        ("closed", "forced_open"): 1,
        ("forced_open", "disabled"): 1,
    }


def test_an_observing_breaker_exports_what_it_would_have_rejected(clock: FakeClock) -> None:
    cb = make(clock, mode="observe")
    prom = exported(cb)
    for _ in range(2):
        with pytest.raises(Boom):
            cb.call(fail)
    for _ in range(3):
        assert cb.call(ok) == "ok"
    samples = scrape(prom)
    assert states(samples, "payments")["open"] == 1  # what enforcing would do
    assert calls(samples, "payments") == {
        "success": 0,  # the calls it let through are not counted otherwise
        "failure": 2,
        "ignored": 0,
        "rejected": 0,
        "would_reject": 3,
    }
    info = {"profile": "", "critical": "false", "mode": "observe"}
    assert value(samples, "circuit_breaker_info", breaker="payments", **info) == 1


def test_register_counts_every_breaker_and_uses_the_default_labels(clock: FakeClock) -> None:
    first, second = make(clock, "first"), make(clock, "second")
    prom = CollectorRegistry()
    register(StaticRegistry(first, second), prom)
    first.call(ok)
    second.call(ok)
    second.call(ok)
    samples = scrape(prom)
    assert calls(samples, "first")["success"] == 1
    assert calls(samples, "second")["success"] == 2
    info = {"profile": "", "critical": "false", "mode": "enforce"}
    assert value(samples, "circuit_breaker_info", breaker="first", **info)


def test_breakers_added_by_a_reload_are_counted_from_the_next_scrape(clock: FakeClock) -> None:
    registry = StaticRegistry(make(clock, "old"))
    prom = CollectorRegistry()
    register(registry, prom)
    added = make(clock, "added")
    registry.breakers["added"] = added
    added.call(ok)  # before any scrape saw it: the breaker is not counting yet
    assert calls(scrape(prom), "added")["success"] == 0
    added.call(ok)
    added.call(ok)
    assert calls(scrape(prom), "added")["success"] == 2


def test_a_breaker_removed_during_the_scrape_is_skipped(clock: FakeClock) -> None:
    class Shrinking(StaticRegistry):
        def names(self) -> list[str]:
            return ["gone", *super().names()]

    prom = CollectorRegistry()
    register(Shrinking(make(clock, "kept")), prom)
    samples = scrape(prom)
    assert states(samples, "kept")["closed"] == 1
    assert states(samples, "gone") == {}


def test_registering_twice_says_so(clock: FakeClock) -> None:
    registry = StaticRegistry(make(clock))
    prom = CollectorRegistry()
    register(registry, prom)
    with pytest.raises(ValueError, match="already registered"):
        register(registry, prom)


class CountingStore(MemoryStore):
    """The memory store posing as a shared one, counting the operations asked of it."""

    shared = True

    def __init__(self) -> None:
        super().__init__()
        self.operations = 0

    def apply(
        self, name: str, operation: Operation, config: BreakerConfig, now: float
    ) -> StoreResult:
        self.operations += 1
        return super().apply(name, operation, config, now)

    def load_many(self, names: Sequence[str], now: float) -> dict[str, StoreResult]:
        self.operations += 1
        return super().load_many(names, now)


def test_counting_successes_makes_no_store_operation(clock: FakeClock) -> None:
    store = CountingStore()
    cb = make(clock, store=store)
    register(StaticRegistry(cb), CollectorRegistry())
    before = store.operations
    for _ in range(1000):
        cb.call(ok)
    assert store.operations == before
    assert cb.call_counts()["success"] == 1000


def test_registering_reads_no_breaker_state(clock: FakeClock) -> None:
    store = CountingStore()
    cb = make(clock, store=store)
    before = store.operations
    prom = CollectorRegistry(auto_describe=True)
    register(StaticRegistry(cb), prom)
    assert store.operations == before
    scrape(prom)
    assert store.operations == before + 1  # a scrape: one round trip for all breakers


def test_a_real_registry_reload_is_exported_without_re_registering(clock: FakeClock) -> None:
    config: dict[str, Any] = {
        "version": 1,
        "breakers": {"external_api": {"profile": "api", "jitter_enabled": False}},
    }
    registry = BreakerRegistry.from_dict(config, clock=clock)
    prom = CollectorRegistry()
    register(registry, prom)
    registry.get("external_api").call(ok)
    config["breakers"]["orders_db"] = {"profile": "db", "critical": True}
    registry.reload()
    scrape(prom)  # the first scrape after the reload starts counting orders_db
    registry.get("orders_db").call(ok)
    samples = scrape(prom)
    assert calls(samples, "external_api")["success"] == 1
    assert calls(samples, "orders_db")["success"] == 1
    info = {"profile": "db", "critical": "true", "mode": "enforce"}
    assert value(samples, "circuit_breaker_info", breaker="orders_db", **info)


WINDOW_METRICS = (
    "circuit_breaker_window_calls",
    "circuit_breaker_window_failure_rate",
    "circuit_breaker_window_slow_call_rate",
)


def window(samples: Samples, breaker: str) -> tuple[float, ...] | None:
    """The three window gauges of ``breaker``, or None when none is exported."""
    found = {
        name: v
        for (name, labels), v in samples.items()
        if name in WINDOW_METRICS and dict(labels) == {"breaker": breaker}
    }
    if not found:
        return None
    return tuple(found[name] for name in WINDOW_METRICS)


def test_the_window_of_a_rate_rule_is_exported_as_calls_and_fractions(clock: FakeClock) -> None:
    rated = make(
        clock,
        "search",
        failure_threshold=None,
        failure_rate_threshold=0.5,
        slow_call_rate_threshold=0.8,
        slow_call_duration_seconds=5,
        minimum_calls=8,
    )
    streak_only = make(clock, "payments")
    prom = CollectorRegistry()
    register(StaticRegistry(rated, streak_only), prom)

    def slow() -> str:
        clock.advance(5)
        return "ok"

    assert window(scrape(prom), "search") == (0, 0, 0)
    for _ in range(2):
        rated.call(ok)
    rated.call(slow)
    with pytest.raises(Boom):
        rated.call(fail)
    samples = scrape(prom)
    assert window(samples, "search") == (4, 0.25, 0.25)
    assert window(samples, "payments") is None  # no window: no series that cannot move


def test_the_window_gauges_start_again_from_zero_when_a_rate_trips_the_breaker(
    clock: FakeClock,
) -> None:
    rated = make(
        clock, "search", failure_threshold=None, failure_rate_threshold=0.5, minimum_calls=4
    )
    prom = exported(rated)
    for _ in range(4):
        with pytest.raises(Boom):
            rated.call(fail)
    samples = scrape(prom)
    assert states(samples, "search")["open"] == 1
    assert window(samples, "search") == (0, 0, 0)


def test_without_prometheus_client_the_import_error_names_the_extra_not_a_pypi_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``pip install circuit-breaker[...]`` would fetch an unrelated project from PyPI."""
    import importlib
    import sys

    for module in [m for m in sys.modules if m.startswith("prometheus_client")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # importing it fails
    monkeypatch.delitem(sys.modules, "circuit_breaker.metrics")
    with pytest.raises(ImportError) as raised:
        importlib.import_module("circuit_breaker.metrics")
    message = str(raised.value)
    assert "install the `prometheus` extra" in message
    assert "pip install" not in message
