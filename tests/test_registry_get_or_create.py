"""BreakerRegistry.get_or_create: breakers built from a profile the first time a name is used."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

import pytest

from circuit_breaker import CircuitBreakerState, CircuitOpenError
from circuit_breaker.breaker import CircuitBreaker
from circuit_breaker.config.profiles import BUILTIN_PROFILES
from circuit_breaker.core.config import InvalidSetting
from circuit_breaker.errors import ConfigError, UnknownBreakerError
from circuit_breaker.registry import BreakerRegistry
from circuit_breaker.stores import MemoryStore
from tests.helpers import FakeClock


class Boom(Exception):
    pass


def fail() -> None:
    raise Boom("down")


def trip(breaker: CircuitBreaker) -> None:
    assert breaker.failure_threshold is not None
    for _ in range(breaker.failure_threshold):
        with pytest.raises(Boom):
            breaker.call(fail)
    assert breaker.state is CircuitBreakerState.OPEN


def settings() -> dict[str, Any]:
    return {
        "version": 1,
        "defaults": {"jitter_enabled": False},
        "profiles": {"slow_api": {"extends": "api", "failure_threshold": 2}},
        "breakers": {"orders_db": {"profile": "db"}},
    }


@pytest.fixture
def mapping() -> dict[str, Any]:
    return settings()


@pytest.fixture
def registry(mapping: dict[str, Any], clock: FakeClock) -> BreakerRegistry:
    return BreakerRegistry.from_dict(mapping, clock=clock)


def test_a_new_name_is_built_from_the_profile_under_the_defaults(registry: BreakerRegistry) -> None:
    breaker = registry.get_or_create("api.example.com", profile="slow_api")
    assert breaker.name == "api.example.com"
    assert breaker.profile == "slow_api"
    assert breaker.failure_threshold == 2  # the profile's own key
    assert breaker.base_interval_minutes == BUILTIN_PROFILES["api"]["base_interval_seconds"] / 60
    assert breaker.jitter_enabled is False  # defaults apply, as to a declared breaker
    assert registry.get_or_create("api.example.com", profile="slow_api") is breaker
    assert registry.get("api.example.com") is breaker


def test_without_a_profile_a_breaker_gets_the_defaults_alone(registry: BreakerRegistry) -> None:
    breaker = registry.get_or_create("plain")
    assert breaker.profile is None
    assert breaker.failure_threshold == 5 and breaker.jitter_enabled is False


def test_a_declared_name_keeps_its_own_breaker_and_configuration(
    registry: BreakerRegistry,
) -> None:
    declared = registry.get("orders_db")
    assert registry.get_or_create("orders_db", profile="slow_api") is declared
    assert declared.profile == "db" and declared.failure_threshold == 5


def test_get_stays_strict_for_names_never_created(registry: BreakerRegistry) -> None:
    with pytest.raises(UnknownBreakerError):
        registry.get("api.example.com")
    assert "api.example.com" not in registry


def test_created_breakers_show_in_names_iteration_status_and_health(
    registry: BreakerRegistry,
) -> None:
    trip(registry.get_or_create("b.example.com", profile="slow_api"))
    registry.get_or_create("a.example.com", profile="slow_api")
    assert registry.names() == ["a.example.com", "b.example.com", "orders_db"]
    assert [breaker.name for breaker in registry] == registry.names()
    assert len(registry) == 3
    statuses = registry.statuses()
    assert statuses["b.example.com"].state is CircuitBreakerState.OPEN
    assert statuses["a.example.com"].profile == "slow_api"
    assert registry.status(["b.example.com"])["b.example.com"]["state"] == "open"
    assert registry.health().status == "warn"


def test_created_breakers_share_the_store_with_other_processes_registries(
    mapping: dict[str, Any], clock: FakeClock
) -> None:
    store = MemoryStore()
    one = BreakerRegistry.from_dict(mapping, store=store, clock=clock)
    other = BreakerRegistry.from_dict(mapping, store=store, clock=clock)
    trip(one.get_or_create("api.example.com", profile="slow_api"))
    # A registry creating the same name later starts from the shared record.
    with pytest.raises(CircuitOpenError):
        other.get_or_create("api.example.com", profile="slow_api").call(lambda: None)


def test_created_breakers_survive_a_reload_and_follow_their_profile(
    registry: BreakerRegistry, mapping: dict[str, Any]
) -> None:
    breaker = registry.get_or_create("api.example.com", profile="slow_api")
    trip(breaker)
    mapping["profiles"]["slow_api"]["failure_threshold"] = 4
    report = registry.reload()
    assert report.removed == () and report.rebuilt == ("api.example.com",)
    assert registry.get("api.example.com") is breaker
    assert breaker.failure_threshold == 4
    assert breaker.state is CircuitBreakerState.OPEN  # state kept


def test_a_created_name_declared_later_takes_the_declared_configuration(
    registry: BreakerRegistry, mapping: dict[str, Any]
) -> None:
    breaker = registry.get_or_create("api.example.com", profile="slow_api")
    mapping["breakers"]["api.example.com"] = {"profile": "critical"}
    registry.reload()
    assert registry.get("api.example.com") is breaker
    assert breaker.profile == "critical"
    del mapping["breakers"]["api.example.com"]
    report = registry.reload()
    assert report.removed == ()
    assert registry.get("api.example.com") is breaker
    assert breaker.profile == "slow_api"  # back to what it was created from


def test_a_declared_breaker_used_on_demand_outlives_its_removal_from_the_file(
    registry: BreakerRegistry, mapping: dict[str, Any]
) -> None:
    declared = registry.get_or_create("orders_db", profile="slow_api")
    del mapping["breakers"]["orders_db"]
    report = registry.reload()
    assert report.removed == ()
    assert registry.get("orders_db") is declared
    assert declared.profile == "slow_api"


def test_a_declared_breaker_nobody_created_is_removed_as_before(
    registry: BreakerRegistry, mapping: dict[str, Any]
) -> None:
    del mapping["breakers"]["orders_db"]
    assert registry.reload().removed == ("orders_db",)


def test_a_created_breaker_whose_profile_disappears_keeps_its_configuration(
    registry: BreakerRegistry, mapping: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    breaker = registry.get_or_create("api.example.com", profile="slow_api")
    del mapping["profiles"]["slow_api"]
    registry.reload()
    assert registry.get("api.example.com") is breaker
    assert breaker.failure_threshold == 2
    assert "'api.example.com' keeps its configuration: unknown profile 'slow_api'" in caplog.text


def test_an_unknown_profile_is_a_config_error_naming_the_known_ones(
    registry: BreakerRegistry,
) -> None:
    with pytest.raises(ConfigError, match="unknown profile 'slow'; known profiles: api, "):
        registry.get_or_create("api.example.com", profile="slow")
    assert "api.example.com" not in registry


def test_a_profile_that_cannot_build_a_breaker_alone_says_so(clock: FakeClock) -> None:
    registry = BreakerRegistry.from_dict(
        {"profiles": {"rates": {"failure_threshold": "off"}}}, clock=clock
    )
    with pytest.raises(ConfigError) as caught:
        registry.get_or_create("api.example.com", profile="rates")
    problem = caught.value.problems[0]
    assert problem.path == "profiles.rates"
    assert "profile 'rates' cannot build a breaker by itself: failure_threshold" in problem.message


def test_a_name_no_store_can_hold_is_refused(registry: BreakerRegistry) -> None:
    with pytest.raises(InvalidSetting, match="name must be at most 200 characters"):
        registry.get_or_create("x" * 201)
    with pytest.raises(InvalidSetting, match="non-empty printable text"):
        registry.get_or_create("")


def test_sixteen_threads_asking_for_fifty_new_names_at_once_build_each_once(
    registry: BreakerRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    names = [f"host-{index:02d}.example.com" for index in range(50)]
    start = threading.Barrier(16)
    seen: list[list[CircuitBreaker]] = []

    def worker(offset: int) -> None:
        start.wait()
        mine = [registry.get_or_create(names[(offset + i) % 50]) for i in range(50)]
        seen.append(sorted(mine, key=lambda breaker: breaker.name))

    caplog.set_level(logging.INFO, logger="circuit_breaker")
    threads = [threading.Thread(target=worker, args=(offset,)) for offset in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(registry) == 51  # and orders_db
    assert all([id(b) for b in found] == [id(b) for b in seen[0]] for found in seen)
    created = Counter(
        record.args[0]
        for record in caplog.records
        if isinstance(record.args, tuple) and "created on first use" in record.msg
    )
    assert created == dict.fromkeys(names, 1)


def test_created_breakers_are_exported_as_metrics(registry: BreakerRegistry) -> None:
    from circuit_breaker.metrics import BreakerCollector

    trip(registry.get_or_create("api.example.com", profile="slow_api"))
    samples = {
        (sample.name, sample.labels.get("breaker"), sample.labels.get("state")): sample.value
        for family in BreakerCollector(registry).collect()
        for sample in family.samples
    }
    assert samples[("circuit_breaker_state", "api.example.com", "open")] == 1.0
    assert samples[("circuit_breaker_consecutive_breaks", "api.example.com", None)] == 1.0
