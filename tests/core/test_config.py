"""BreakerConfig: every default and every rule about values, in one place."""

from __future__ import annotations

import math

import pytest

from circuit_breaker import CircuitBreaker
from circuit_breaker.core.config import (
    MAX_NAME_LENGTH,
    BreakerConfig,
    InvalidSetting,
    check_name,
)
from circuit_breaker.core.schedule import MAX_INTERVAL_SECONDS


def test_the_defaults_are_the_original_librarys() -> None:
    config = BreakerConfig()
    assert (
        config.failure_threshold,
        config.base_interval_seconds,
        config.fixed_interval_retries,
        config.max_exponential_retries,
        config.jitter_enabled,
    ) == (5, 300.0, 3, 5, True)


def test_an_invalid_setting_names_the_field_and_what_is_expected() -> None:
    with pytest.raises(InvalidSetting) as caught:
        BreakerConfig(jitter_ratio=1.5)
    assert (caught.value.field, caught.value.value) == ("jitter_ratio", 1.5)
    assert "must be a finite number >= 0 and < 1" in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "field", ["base_interval_seconds", "max_interval_seconds", "probe_timeout_seconds"]
)
@pytest.mark.parametrize("seconds", [MAX_INTERVAL_SECONDS * 1.01, 1e300 * 60, math.inf])
def test_no_wait_may_run_past_a_year(field: str, seconds: float) -> None:
    with pytest.raises(InvalidSetting, match=field):
        BreakerConfig(**{field: seconds})


def test_the_constructor_names_its_own_minute_parameters() -> None:
    expected = r"base_interval_minutes must be at most 365 days.*1e\+300"
    with pytest.raises(ValueError, match=expected):
        CircuitBreaker(base_interval_minutes=1e300)
    with pytest.raises(ValueError, match="max_interval_minutes"):
        CircuitBreaker(max_interval_minutes=-1)


def test_a_long_growing_schedule_still_reports_a_date() -> None:
    cb = CircuitBreaker(1, 60 * 24 * 300, 0, 10_000, False, name="glacial")
    with pytest.raises(ConnectionError):
        cb.call(_refuse)
    status = cb.get_status_info()
    assert status["current_recovery_timeout_minutes"] == MAX_INTERVAL_SECONDS / 60
    assert status["next_retry_at"] is not None


def _refuse() -> None:
    raise ConnectionError("refused")


def test_names_are_limited_to_what_every_store_can_hold() -> None:
    assert check_name("x" * MAX_NAME_LENGTH) == "x" * MAX_NAME_LENGTH
    with pytest.raises(InvalidSetting, match="at most 200 characters"):
        check_name("x" * (MAX_NAME_LENGTH + 1))
    with pytest.raises(ValueError, match="name"):
        CircuitBreaker(name="x" * 201)


def test_replace_validates_the_copy() -> None:
    config = BreakerConfig(failure_threshold=3)
    assert config.replace(failure_threshold=4).failure_threshold == 4
    with pytest.raises(InvalidSetting, match="failure_threshold"):
        config.replace(failure_threshold=0)


def test_equal_configs_build_breakers_that_behave_the_same() -> None:
    assert BreakerConfig(base_interval_seconds=30) == BreakerConfig(base_interval_seconds=30.0)
    assert BreakerConfig(critical=True) != BreakerConfig()
