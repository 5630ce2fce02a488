"""The recovery schedule: intervals per trip for each built-in profile."""

from __future__ import annotations

import random

import pytest

from circuit_breaker.core.schedule import MAX_INTERVAL_SECONDS, RecoverySchedule, jitter_factor


def minutes(schedule: RecoverySchedule, trips: int) -> list[float]:
    return [schedule.interval(k) / 60 for k in range(1, trips + 1)]


@pytest.mark.parametrize(
    ("base", "fixed", "exponential", "expected"),
    [
        # api: 3 fixed at 5 min, then x2 for up to 5 trips, then the last interval again
        (5, 3, 5, [5, 5, 5, 10, 20, 40, 80, 160, 160, 160]),
        # db: 5 fixed at 1 min, then 3 growing
        (1, 5, 3, [1, 1, 1, 1, 1, 2, 4, 8, 8, 8]),
        # critical: 2 fixed at 10 min, then 4 growing
        (10, 2, 4, [10, 10, 20, 40, 80, 160, 160, 160, 160, 160]),
    ],
    ids=["api", "db", "critical"],
)
def test_builtin_profile_intervals(
    base: float, fixed: int, exponential: int, expected: list[float]
) -> None:
    schedule = RecoverySchedule(base * 60, fixed, exponential)
    assert minutes(schedule, 10) == expected


def test_base_one_minute_still_grows_unlike_the_original_formula() -> None:
    schedule = RecoverySchedule(60, 0, 3)
    assert minutes(schedule, 4) == [2, 4, 8, 8]


def test_zero_exponential_retries_always_waits_the_base() -> None:
    assert minutes(RecoverySchedule(300, 2, 0), 6) == [5] * 6


def test_max_interval_caps_growth() -> None:
    schedule = RecoverySchedule(300, 1, 10, multiplier=3, max_interval=1800)
    assert minutes(schedule, 5) == [5, 15, 30, 30, 30]


def test_huge_exponent_is_capped_at_the_longest_readable_wait() -> None:
    schedule = RecoverySchedule(60, 0, 5000)
    assert schedule.interval(5000) == MAX_INTERVAL_SECONDS
    assert RecoverySchedule(60, 0, 5000, max_interval=600).interval(5000) == 600


def test_a_hundred_million_retries_cost_one_power_not_a_table() -> None:
    schedule = RecoverySchedule(60, 0, 100_000_000, multiplier=1.0000001)
    assert schedule.interval(1) == pytest.approx(60 * 1.0000001)
    assert schedule.interval(50_000_000) == pytest.approx(60 * 1.0000001**50_000_000)
    assert schedule.interval(10**9) == schedule.interval(100_000_000)  # the last interval


def test_exhausted_after_fixed_plus_exponential_trips() -> None:
    schedule = RecoverySchedule(300, 3, 5)
    assert [schedule.exhausted(k) for k in (1, 8, 9)] == [False, False, True]


def test_phase_names_follow_the_original_library() -> None:
    schedule = RecoverySchedule(300, 3, 5)
    assert schedule.phase(0) == "closed"
    assert schedule.phase(2) == "fixed-interval (attempt 2/3)"
    assert schedule.phase(4) == "exponential-interval (attempt 1/5)"
    assert schedule.phase(20) == "exponential-interval (attempt 5/5)"


def test_jitter_factor_stays_within_ratio() -> None:
    rng = random.Random(7)
    factors = [jitter_factor(0.1, True, rng) for _ in range(1000)]
    assert min(factors) >= 0.9 and max(factors) <= 1.1
    assert max(factors) - min(factors) > 0.15  # it really varies


def test_jitter_disabled_or_zero_ratio_is_exact() -> None:
    assert jitter_factor(0.1, False) == 1.0
    assert jitter_factor(0.0, True) == 1.0
