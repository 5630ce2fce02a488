"""The recovery schedule: intervals per trip for each built-in profile."""

from __future__ import annotations

import random

import pytest

from circuit_breaker.schedule import RecoverySchedule, jitter_factor, lookup


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


def test_huge_exponent_does_not_overflow() -> None:
    schedule = RecoverySchedule(60, 0, 5000)
    assert schedule.interval(5000) == float("inf")
    assert RecoverySchedule(60, 0, 5000, max_interval=600).interval(5000) == 600


def test_exhausted_after_fixed_plus_exponential_trips() -> None:
    schedule = RecoverySchedule(300, 3, 5)
    assert [schedule.exhausted(k) for k in (1, 8, 9)] == [False, False, True]


def test_phase_names_follow_the_original_library() -> None:
    schedule = RecoverySchedule(300, 3, 5)
    assert schedule.phase(0) == "closed"
    assert schedule.phase(2) == "fixed-interval (attempt 2/3)"
    assert schedule.phase(4) == "exponential-interval (attempt 1/5)"
    assert schedule.phase(20) == "exponential-interval (attempt 5/5)"


@pytest.mark.parametrize(
    "schedule",
    [
        RecoverySchedule(60, 2, 2),
        RecoverySchedule(60, 0, 0),
        RecoverySchedule(60, 0, 4),
        RecoverySchedule(300, 3, 5),
        RecoverySchedule(60, 1, 8, multiplier=3, max_interval=1000),
        RecoverySchedule(60, 2, 6, multiplier=1),
    ],
)
def test_compact_table_gives_the_interval_of_every_trip(schedule: RecoverySchedule) -> None:
    table = schedule.compact_intervals()
    for trip in range(1, schedule.last_trip + 5):
        assert lookup(table, schedule.fixed_retries, trip) == schedule.interval(trip)


def test_compact_table_stays_small_for_huge_retry_counts() -> None:
    assert RecoverySchedule(60, 10**6, 10**6, max_interval=600).compact_intervals() == (
        60, 120, 240, 480, 600,
    )
    assert RecoverySchedule(60, 10**6, 10**6, multiplier=1).compact_intervals() == (60,)


def test_jitter_factor_stays_within_ratio() -> None:
    rng = random.Random(7)
    factors = [jitter_factor(0.1, True, rng) for _ in range(1000)]
    assert min(factors) >= 0.9 and max(factors) <= 1.1
    assert max(factors) - min(factors) > 0.15  # it really varies


def test_jitter_disabled_or_zero_ratio_is_exact() -> None:
    assert jitter_factor(0.1, False) == 1.0
    assert jitter_factor(0.0, True) == 1.0
