"""The trip model: seeded traffic, every call through a breaker on a fake clock."""

from __future__ import annotations

import random

import pytest

from benchmarks.report import Row
from benchmarks.scenarios.trip_model import (
    RATE_CONFIG,
    STREAK_CONFIG,
    Outcome,
    Traffic,
    _row,
    markdown,
    simulate,
)


def test_traffic_is_the_same_on_every_run() -> None:
    assert Traffic.poisson(100, 0.2, 60) == Traffic.poisson(100, 0.2, 60)
    assert Traffic.poisson(100, 0.2, 60) != Traffic.poisson(100, 0.05, 60)


def test_traffic_has_the_asked_rate_and_error_share() -> None:
    traffic = Traffic.poisson(1000, 0.2, 60)
    calls = len(traffic.arrivals)
    assert 0.95 * 60_000 < calls < 1.05 * 60_000
    assert 0.18 < sum(traffic.failures) / calls < 0.22
    assert list(traffic.arrivals) == sorted(traffic.arrivals)
    assert 0 < traffic.arrivals[0] < traffic.arrivals[-1] < 60


def test_streak_rule_opens_on_the_third_failure_in_a_row_and_rejects_after() -> None:
    traffic = Traffic(arrivals=(1.0, 2.0, 3.0, 4.0, 5.0), failures=(True, True, True, False, False))
    outcome = simulate(STREAK_CONFIG, traffic)
    assert outcome == Outcome(calls=5, rejected=2, openings=1, first_rejection=4.0)
    assert outcome.rejected_percent == 40.0


def test_healthy_traffic_is_never_rejected() -> None:
    traffic = Traffic.poisson(100, 0.0, 60)
    for config in (STREAK_CONFIG, RATE_CONFIG):
        outcome = simulate(config, traffic)
        assert (outcome.rejected, outcome.openings, outcome.first_rejection) == (0, 0, None)


def test_simulation_leaves_the_global_random_generator_as_it_found_it() -> None:
    state = random.getstate()
    simulate(STREAK_CONFIG, Traffic.poisson(100, 0.5, 10))
    assert random.getstate() == state


def test_rate_rule_is_the_api_schedule_with_the_streak_off() -> None:
    assert RATE_CONFIG.failure_threshold is None
    assert RATE_CONFIG.window is not None
    assert (RATE_CONFIG.window.failure_rate, RATE_CONFIG.window.seconds) == (0.5, 10.0)
    assert RATE_CONFIG.minimum_calls == 20
    assert RATE_CONFIG.schedule == STREAK_CONFIG.schedule
    assert STREAK_CONFIG.failure_threshold == 3


def _cell(error_rate: float, rate: Outcome, *, quick: bool = False) -> Row:
    streak = Outcome(calls=rate.calls, rejected=rate.calls // 2, openings=2, first_rejection=3.0)
    return _row(error_rate, 1000, 600.0, {"streak rule (api)": streak, "rate rule": rate}, quick)


@pytest.mark.parametrize(
    ("error_rate", "rejected", "verdict"),
    [(0.05, 5, "PASS"), (0.20, 10, "MISS"), (0.01, 500, "INFO")],
)
def test_rate_rule_rejecting_under_one_percent_passes_for_a_healthy_enough_dependency(
    error_rate: float, rejected: int, verdict: str
) -> None:
    outcome = Outcome(calls=1000, rejected=rejected, openings=0, first_rejection=None)
    row = _cell(error_rate, outcome)
    assert row.unit == "%"
    assert row.verdict == verdict
    assert row.peers == {"streak rule (api)": 50.0}


@pytest.mark.parametrize(("first", "verdict"), [(12.5, "PASS"), (25.0, "MISS"), (None, "MISS")])
def test_rate_rule_must_reject_within_two_windows_for_a_broken_dependency(
    first: float | None, verdict: str
) -> None:
    row = _cell(0.70, Outcome(calls=1000, rejected=900, openings=1, first_rejection=first))
    assert (row.unit, row.ours, row.verdict) == ("s", first, verdict)


def test_quick_runs_judge_nothing() -> None:
    row = _cell(0.05, Outcome(calls=1000, rejected=0, openings=0, first_rejection=None), quick=True)
    assert row.verdict == "QUICK"


def test_markdown_has_one_line_per_cell_with_both_rules() -> None:
    rows = [
        _cell(0.05, Outcome(calls=1000, rejected=0, openings=0, first_rejection=None)),
        _cell(0.70, Outcome(calls=1000, rejected=990, openings=1, first_rejection=2.3)),
    ]
    lines = markdown(rows).splitlines()
    assert len(lines) == 2 + len(rows)
    assert lines[2].startswith("| 5% | 1,000 | 50.0 % | 2 | 0.00 % | 0 | never |")
    assert lines[2].endswith("| PASS |")
    assert "| 99.00 % | 1 | 2.3 s |" in lines[3]


def test_markdown_gives_a_first_rejection_under_a_second_in_milliseconds() -> None:
    rate = Outcome(calls=1000, rejected=990, openings=1, first_rejection=0.0225)
    assert "| 99.00 % | 1 | 22 ms |" in markdown([_cell(0.70, rate)])
