"""contrib/: the sample alert rules and the Grafana dashboard only use metrics we export."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from circuit_breaker import CircuitBreaker
from circuit_breaker.metrics import STATES, register
from tests.helpers import FakeClock
from tests.observability.registries import StaticRegistry

CONTRIB = Path(__file__).resolve().parents[2] / "contrib"
SELECTOR = re.compile(r"\b(circuit_breaker_\w+)\s*(\{[^}]*\})?")
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')


@pytest.fixture(scope="module")
def exported_labels() -> dict[str, set[str]]:
    """Sample name -> its label names, from a real scrape of a tripped breaker."""
    clock = FakeClock()
    cb = CircuitBreaker(1, 1, 1, 1, False, name="api", clock=clock)
    prom = CollectorRegistry()
    register(StaticRegistry(cb), prom)
    with contextlib.suppress(ZeroDivisionError):
        cb.call(lambda: 1 / 0)
    labels: dict[str, set[str]] = {}
    text = generate_latest(prom).decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(sample.labels)
    return labels


def check_expression(expr: str, exported: dict[str, set[str]]) -> list[str]:
    """Every metric an expression names is exported, with the labels it filters on."""
    problems = []
    selectors = SELECTOR.findall(expr)
    if not selectors:
        problems.append(f"no circuit_breaker metric in {expr!r}")
    for name, braces in selectors:
        if name not in exported:
            problems.append(f"{name} is not exported (in {expr!r})")
            continue
        for label, _, value in MATCHER.findall(braces):
            if label not in exported[name]:
                problems.append(f"{name} has no label {label} (in {expr!r})")
            if label == "state" and not set(value.split("|")) <= set(STATES):
                problems.append(f"unknown state in {label}={value!r}")
    return problems


def test_expression_check_catches_unknown_metrics_and_labels(
    exported_labels: dict[str, set[str]],
) -> None:
    assert check_expression('circuit_breaker_state{state="opne"}', exported_labels)
    assert check_expression('circuit_breaker_calls{outcome="failure"}', exported_labels)
    assert check_expression('circuit_breaker_exhausted{colour="red"}', exported_labels)
    assert check_expression('circuit_breaker_state{state=~"open|half_open"}', exported_labels) == []


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((CONTRIB / "prometheus" / "alerts.yaml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_alert_rules_parse_and_use_exported_metrics(exported_labels: dict[str, set[str]]) -> None:
    rules = alert_rules()
    problems = [p for rule in rules for p in check_expression(rule["expr"], exported_labels)]
    assert problems == []
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]


def test_alert_rules_cover_open_too_long_critical_and_exhausted() -> None:
    by_name = {rule["alert"]: rule for rule in alert_rules()}
    assert {"CircuitBreakerOpen", "CircuitBreakerCriticalOpen", "CircuitBreakerExhausted"} <= set(
        by_name
    )
    assert by_name["CircuitBreakerOpen"]["for"] == "10m"
    assert 'critical="true"' in by_name["CircuitBreakerCriticalOpen"]["expr"]
    assert by_name["CircuitBreakerCriticalOpen"]["labels"]["severity"] == "critical"
    assert "circuit_breaker_exhausted" in by_name["CircuitBreakerExhausted"]["expr"]


def dashboard() -> dict[str, Any]:
    with (CONTRIB / "grafana" / "circuit-breakers.json").open() as file:
        loaded: dict[str, Any] = json.load(file)
    return loaded


def test_dashboard_parses_and_queries_exported_metrics(
    exported_labels: dict[str, set[str]],
) -> None:
    board = dashboard()
    assert board["title"] and board["uid"] and isinstance(board["schemaVersion"], int)
    panels = board["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    expressions = [target["expr"] for panel in panels for target in panel["targets"]]
    problems = [p for expr in expressions for p in check_expression(expr, exported_labels)]
    assert problems == []
    used = {name for expr in expressions for name, _ in SELECTOR.findall(expr)}
    assert {
        "circuit_breaker_state",
        "circuit_breaker_calls_total",
        "circuit_breaker_transitions_total",
        "circuit_breaker_next_retry_timestamp_seconds",
    } <= used


def test_dashboard_variables_are_defined_where_used() -> None:
    board = dashboard()
    variables = {variable["name"] for variable in board["templating"]["list"]}
    text = json.dumps(board["panels"])
    used = set(re.findall(r"\$\{?(\w+)", text)) - {"__rate_interval", "__range"}
    assert used <= variables
    breaker = next(v for v in board["templating"]["list"] if v["name"] == "breaker")
    assert "circuit_breaker_state" in breaker["definition"]
