"""The rate-rule check the windowed scenarios rely on: they measure only a breaker that
really counts its calls in a window, and skip with the reason otherwise."""

from __future__ import annotations

from benchmarks.simulation import rate_rule_counts


def test_this_build_counts_calls_in_a_window() -> None:
    assert rate_rule_counts() is True

