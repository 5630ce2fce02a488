"""BreakerRegistry: building, lookup, status and reload."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from circuit_breaker import CircuitBreakerState, CircuitOpenError
from circuit_breaker.breaker import CircuitBreaker
from circuit_breaker.errors import ConfigError, UnknownBreakerError
from circuit_breaker.events import BreakerEvent
from circuit_breaker.registry import BreakerRegistry, load_registry
from circuit_breaker.stores import MemoryStore
from tests.helpers import FakeClock

CONFIG = """\
version: 1
defaults: {profile: api, jitter_enabled: false}
profiles:
  payments: {extends: critical, base_interval: 30s}
breakers:
  external_api: {}
  orders_db: {profile: db, failure_threshold: 8}
  payment_gateway: {profile: payments, critical: true}
"""


class Boom(Exception):
    pass


def fail() -> None:
    raise Boom("down")


def trip(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.failure_threshold):
        with pytest.raises(Boom):
            breaker.call(fail)
    assert breaker.state is CircuitBreakerState.OPEN


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write(tmp_path / "breakers.yaml", CONFIG)


@pytest.fixture
def registry(config_file: Path, clock: FakeClock) -> BreakerRegistry:
    return load_registry(config_file, clock=clock)


def test_get_returns_the_same_configured_breaker(registry: BreakerRegistry) -> None:
    breaker = registry.get("orders_db")
    assert registry.get("orders_db") is breaker
    assert registry["orders_db"] is breaker
    assert breaker.name == "orders_db"
    assert breaker.profile == "db"
    assert breaker.failure_threshold == 8
    assert breaker.base_interval_minutes == 1
    assert breaker.jitter_enabled is False
    gateway = registry.get("payment_gateway")
    assert gateway.critical
    assert gateway.base_interval_minutes == 0.5
    assert not registry.get("external_api").critical


def test_unknown_name(registry: BreakerRegistry) -> None:
    with pytest.raises(UnknownBreakerError) as caught:
        registry.get("orders")
    assert isinstance(caught.value, KeyError)
    assert caught.value.suggestion == "orders_db"
    assert "external_api, orders_db, payment_gateway" in str(caught.value)


def test_membership_names_and_iteration(registry: BreakerRegistry) -> None:
    assert "orders_db" in registry
    assert "nope" not in registry
    assert registry.names() == ["external_api", "orders_db", "payment_gateway"]
    assert len(registry) == 3
    assert [breaker.name for breaker in registry] == registry.names()
    assert all(isinstance(breaker, CircuitBreaker) for breaker in registry)


def test_breakers_share_the_registry_store(registry: BreakerRegistry) -> None:
    assert isinstance(registry.store, MemoryStore)
    assert all(breaker.store is registry.store for breaker in registry)


def test_status(registry: BreakerRegistry) -> None:
    trip(registry.get("orders_db"))
    statuses = registry.status()
    assert list(statuses) == registry.names()
    assert statuses["orders_db"]["state"] == "open"
    assert statuses["orders_db"]["consecutive_circuit_breaks"] == 1
    assert statuses["external_api"]["state"] == "closed"
    assert statuses["payment_gateway"]["critical"] is True
    assert statuses["orders_db"]["config"]["failure_threshold"] == 8
    assert list(registry.status(["orders_db"])) == ["orders_db"]
    with pytest.raises(UnknownBreakerError):
        registry.status(["missing"])


def test_reload_keeps_unchanged_breakers_and_their_state(
    registry: BreakerRegistry, config_file: Path
) -> None:
    orders = registry.get("orders_db")
    trip(orders)
    report = registry.reload()
    assert report.added == report.removed == report.rebuilt == ()
    assert registry.get("orders_db") is orders
    assert orders.state is CircuitBreakerState.OPEN
    with pytest.raises(CircuitOpenError):
        orders.call(lambda: None)


def test_reload_rebuilds_changed_breakers_on_the_same_store(
    registry: BreakerRegistry, config_file: Path
) -> None:
    external, orders = registry.get("external_api"), registry.get("orders_db")
    trip(orders)
    write(
        config_file,
        CONFIG.replace("failure_threshold: 8", "failure_threshold: 2").replace(
            "external_api: {}", "search: {profile: db}"
        ),
    )
    report = registry.reload()
    assert (report.added, report.removed, report.rebuilt) == (
        ("search",),
        ("external_api",),
        ("orders_db",),
    )
    rebuilt = registry.get("orders_db")
    assert rebuilt is orders  # reconfigured in place: references taken before stay live
    assert rebuilt.failure_threshold == 2
    assert rebuilt.get_status_info()["config"]["failure_threshold"] == 2
    assert rebuilt.store is registry.store
    assert rebuilt.state is CircuitBreakerState.OPEN  # the state lives in the store
    assert "external_api" not in registry
    assert registry.get("search").profile == "db"
    assert external.name == "external_api"  # callers holding it are not broken


def test_new_threshold_takes_effect_after_reload(
    registry: BreakerRegistry, config_file: Path
) -> None:
    write(config_file, CONFIG.replace("external_api: {}", "external_api: {failure_threshold: 1}"))
    registry.reload()
    breaker = registry.get("external_api")
    with pytest.raises(Boom):
        breaker.call(fail)
    assert breaker.state is CircuitBreakerState.OPEN


def test_reload_switches_a_breaker_between_observe_and_enforce(
    registry: BreakerRegistry, config_file: Path
) -> None:
    orders = registry.get("orders_db")
    trip(orders)
    observing = CONFIG.replace("failure_threshold: 8", "failure_threshold: 8, mode: observe")
    write(config_file, observing)
    assert registry.reload().rebuilt == ("orders_db",)
    assert orders.state is CircuitBreakerState.OPEN  # it goes on from where it was...
    assert orders.call(lambda: "ran") == "ran"  # ...and rejects nothing
    assert registry.status(["orders_db"])["orders_db"]["would_have_rejected"] == 1
    assert registry.health().status == "warn"

    write(config_file, CONFIG)
    registry.reload()
    assert orders.store is registry.store
    with pytest.raises(CircuitOpenError):  # the store's record again: still open
        orders.call(lambda: "ran")


def test_failure_on_result_from_yaml_judges_values_the_caller_still_gets(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "judged.yaml",
        """\
        breakers:
          search:
            failure_threshold: 2
            failure_on_result: tests.config.sample_judges.is_error_page
        """,
    )
    search = load_registry(path).get("search")
    error_page = {"status": "error"}
    assert search.call(lambda: error_page) is error_page
    assert search.call(lambda: {"status": "ok"}) == {"status": "ok"}
    assert search.failure_count == 0
    for _ in range(2):
        assert search.call(lambda: error_page) is error_page
    assert search.state is CircuitBreakerState.OPEN
    assert search.get_status_info()["last_failure"]["type"] == "dict"


def test_reload_error_keeps_the_old_configuration(
    registry: BreakerRegistry, config_file: Path
) -> None:
    before = {name: registry.get(name) for name in registry.names()}
    config = registry.config
    write(config_file, CONFIG.replace("failure_threshold: 8", "failure_threshold: 0"))
    with pytest.raises(ConfigError, match="failure_threshold: expected a whole number"):
        registry.reload()
    assert registry.config is config
    assert {name: registry.get(name) for name in registry.names()} == before
    config_file.unlink()
    with pytest.raises(ConfigError, match="file not found"):
        registry.reload()
    assert registry.get("orders_db") is before["orders_db"]


def test_from_dict_and_its_reload(clock: FakeClock) -> None:
    mapping: dict[str, Any] = {"breakers": {"a": {"profile": "critical"}}}
    registry = BreakerRegistry.from_dict(mapping, clock=clock)
    assert registry.get("a").failure_threshold == 2
    mapping["breakers"]["b"] = {}
    assert registry.reload().added == ("b",)
    assert registry.get("b").failure_threshold == 5


def test_from_dict_reports_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"breakers\.a\.failure_threshold"):
        BreakerRegistry.from_dict({"breakers": {"a": {"failure_threshold": "x"}}})


def test_several_files_later_ones_override(tmp_path: Path, config_file: Path) -> None:
    local = write(tmp_path / "local.yaml", "breakers:\n  orders_db: {failure_threshold: 3}\n")
    registry = BreakerRegistry.from_files(config_file, local)
    assert registry.get("orders_db").failure_threshold == 3
    assert registry.get("orders_db").base_interval_minutes == 1


def test_a_store_passed_in_overrides_the_store_section(tmp_path: Path) -> None:
    path = write(
        tmp_path / "redis.yaml",
        "store: {backend: redis, url: 'redis://192.0.2.1:1/0'}\nbreakers:\n  a: {}\n",
    )
    store = MemoryStore()
    registry = load_registry(path, store=store)
    assert registry.store is store
    assert registry.get("a").store is store
    registry.close()  # leaves the caller's store alone


def test_store_built_from_the_store_section(tmp_path: Path) -> None:
    path = write(tmp_path / "memory.yaml", "store: {backend: memory}\nbreakers: {a: {}}\n")
    registry = load_registry(path)
    assert isinstance(registry.store, MemoryStore)


def test_store_options_reach_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from circuit_breaker import stores

    received: list[dict[str, Any]] = []
    store = MemoryStore()

    def factory(options: Any) -> MemoryStore:
        received.append(dict(options))
        return store

    monkeypatch.setitem(stores._FACTORIES, "recording", factory)
    path = write(
        tmp_path / "store.yaml",
        """\
        store:
          backend: recording
          url: redis://cache:6379/1
          key_prefix: shop
          sync_interval: 500ms
          socket_timeout: 2
          socket_connect_timeout: 1s
          idle_ttl_seconds: 3600
        """,
    )
    assert load_registry(path).store is store
    assert received == [
        {
            "url": "redis://cache:6379/1",
            "key_prefix": "shop",
            "sync_interval": 0.5,
            "socket_timeout": 2.0,
            "socket_connect_timeout": 1.0,
            "idle_ttl_seconds": 3600,
        }
    ]


def test_a_backend_that_cannot_load_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from circuit_breaker import stores

    monkeypatch.setitem(stores._LAZY_FACTORIES, "broken", "no_such_module_xyz:build")
    path = write(tmp_path / "broken.yaml", "store:\n  backend: broken\n")
    with pytest.raises(ConfigError) as caught:
        load_registry(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.path) == (2, "store.backend")
    assert "'broken' store cannot be built" in problem.message


def test_a_rule_only_the_breaker_config_knows_is_a_located_config_error(
    config_file: Path,
) -> None:
    write(
        config_file,
        """\
        version: 1
        breakers:
          fine: {}
          glacial:
            base_interval: 400d
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_registry(config_file)
    (problem,) = caught.value.problems
    assert problem.path == "breakers.glacial.base_interval"
    assert problem.line == 5
    assert "at most 365 days" in problem.message
    assert "400d" in str(caught.value)  # shown as written, not converted to seconds


def test_listeners_and_clock_reach_every_breaker(config_file: Path, clock: FakeClock) -> None:
    events: list[BreakerEvent] = []
    registry = load_registry(config_file, clock=clock, listeners=[events.append])
    breaker = registry.get("payment_gateway")
    trip(breaker)
    assert any(
        event.kind == "state_change" and event.breaker == "payment_gateway" for event in events
    )
    clock.advance(31)  # the 30 s interval without jitter
    assert breaker.state is CircuitBreakerState.HALF_OPEN


def test_a_thousand_breakers(tmp_path: Path) -> None:
    lines = ["version: 1", "profiles:", "  payments: {extends: critical}", "breakers:"]
    profiles = ("api", "db", "critical", "payments")
    for index in range(1000):
        lines.append(f"  service_{index:04d}:")
        lines.append(f"    profile: {profiles[index % 4]}")
        lines.append(f"    failure_threshold: {index % 7 + 1}")
        lines.append("    ignore_exceptions: [TimeoutError, json.JSONDecodeError]")
    path = tmp_path / "fleet.yaml"
    path.write_text("\n".join(lines) + "\n")
    registry = load_registry(path)
    assert len(registry) == 1000
    assert registry.get("service_0999").failure_threshold == 999 % 7 + 1
    assert len(registry.status()) == 1000


def test_store_changes_wait_for_a_restart(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path / "s.yaml", "store: {backend: memory}\nbreakers: {a: {}}\n")
    registry = load_registry(path)
    store = registry.store
    write(path, "store: {backend: memory, key_prefix: other}\nbreakers: {a: {}}\n")
    registry.reload()
    assert registry.store is store
    assert "store settings changed; restart to apply them" in caplog.text


def test_a_breaker_taken_before_a_reload_keeps_following_the_store(config_file: Path) -> None:
    store = MemoryStore()
    registry = load_registry(config_file, store=store)
    held = registry.get("orders_db")  # e.g. by a decorator at import time
    write(config_file, CONFIG.replace("failure_threshold: 8", "failure_threshold: 2"))
    report = registry.reload()
    assert report.rebuilt == ("orders_db",)
    trip(registry.get("orders_db"))
    with pytest.raises(CircuitOpenError):
        held.call(lambda: "reaches the dependency")
    assert held.failure_threshold == 2


def test_a_rate_rule_breaker_of_a_registry_on_the_memory_store_counts_and_trips(
    clock: FakeClock,
) -> None:
    built = BreakerRegistry.from_dict(
        {
            "breakers": {
                "ledger": {
                    "failure_threshold": "off",
                    "failure_rate_threshold": "50%",
                    "minimum_calls": 4,
                }
            }
        },
        clock=clock,
    )
    ledger = built.get("ledger")
    assert ledger.status().window is not None  # counted from the start, before any call

    def refused() -> None:
        raise ConnectionError("refused")

    for _ in range(4):
        with pytest.raises(ConnectionError):
            ledger.call(refused)
    assert ledger.state is CircuitBreakerState.OPEN
    assert ledger.get_status_info()["tripped_by"] == "failure_rate"


def test_a_registry_breaker_on_the_memory_store_takes_the_fast_path_from_the_first_call(
    clock: FakeClock,
) -> None:
    reads = 0

    def counting_clock() -> float:
        nonlocal reads
        reads += 1
        return clock()

    breaker = BreakerRegistry.from_dict({"breakers": {"plain": {}}}, clock=counting_clock)
    before = reads
    assert breaker.get("plain").call(len, "abc") == 3
    assert reads == before  # the fast path reads no clock
