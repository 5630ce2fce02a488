"""How breakers read to people: the one formatting module every surface uses."""

from __future__ import annotations

import contextlib

import pytest

from circuit_breaker import CircuitBreaker
from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.format import (
    failures_label,
    format_duration,
    next_retry_label,
    percent,
    retry_phase_label,
    setting_items,
    state_label,
    status_table,
    threshold_percent,
    tripped_by_label,
    unreachable_notice,
    window_size_label,
)
from tests.helpers import FakeClock


def fail() -> None:
    raise ConnectionError("refused")


def opened(clock: FakeClock, name: str = "a", **options: object) -> CircuitBreaker:
    cb = CircuitBreaker(1, 5, 1, 5, False, name=name, clock=clock, **options)  # type: ignore[arg-type]
    with pytest.raises(ConnectionError):
        cb.call(fail)
    return cb


@pytest.mark.parametrize(
    ("seconds", "countdown", "compact"),
    [(0, "0s", "0s"), (45, "45s", "45s"), (240, "4m0s", "4m"), (252, "4m12s", "4m12s"),
     (5400, "1h30m0s", "1h30m"), (20, "20s", "20s"), (3723.4, "1h2m3s", "1h2m3s")],
)  # fmt: skip
def test_durations_read_as_people_write_them(seconds: float, countdown: str, compact: str) -> None:
    assert format_duration(seconds) == countdown
    assert format_duration(seconds, compact=True) == compact


def test_state_labels() -> None:
    assert state_label("half_open") == "Half-open"
    assert state_label(CircuitBreakerState.FORCED_OPEN) == "Forced open"
    assert state_label("bogus") == "bogus"


def test_manual_states_wait_for_a_reset(clock: FakeClock) -> None:
    cb = CircuitBreaker(name="x", clock=clock)
    cb.force_open()
    status = cb.status()
    assert status.retry_phase == "closed"  # the status dict keeps its value...
    assert retry_phase_label(status) == "manual, until reset"  # ...people read this
    assert next_retry_label(status) == "after a reset"


def test_next_retry_tells_due_from_probing(clock: FakeClock) -> None:
    cb = opened(clock)
    assert next_retry_label(cb.status()) == "in 5m0s"
    clock.advance(300)
    assert next_retry_label(cb.status()) == "due now"

    def look() -> None:
        assert next_retry_label(cb.status()) == "probing now"

    cb.call(look)


def test_one_table_for_both_status_commands(clock: FakeClock) -> None:
    first = opened(clock, "a", profile="api")
    clock.advance(48)
    forced = CircuitBreaker(name="forced", clock=clock, critical=True)
    forced.force_open()
    rows = status_table([first.status(), forced.status()]).splitlines()
    cells = [[cell.strip() for cell in row.split("  ") if cell.strip()] for row in rows]
    assert cells[0] == [
        "NAME", "PROFILE", "STATE", "FAILURES", "TRIPS", "TRIPPED BY", "RETRY PHASE",
        "NEXT RETRY", "CRITICAL", "LAST FAILURE",
    ]  # fmt: skip
    assert cells[1] == [
        "a", "api", "open", "0/1", "1", "threshold", "fixed-interval (attempt 1/1)", "in 4m12s",
        "no", "ConnectionError",
    ]  # fmt: skip
    assert cells[2] == [
        "forced", "-", "forced_open", "0/5", "0", "-", "manual, until reset", "after a reset",
        "yes", "-",
    ]  # fmt: skip


def test_no_notice_while_the_store_answers(clock: FakeClock) -> None:
    assert unreachable_notice([CircuitBreaker(clock=clock).status()]) is None


@pytest.mark.parametrize(
    ("config", "key", "shown"),
    [
        (BreakerConfig(base_interval_seconds=20), "base_interval_minutes", "20s"),
        (BreakerConfig(base_interval_seconds=300), "base_interval_minutes", "5m"),
        (BreakerConfig(max_interval_seconds=5400), "max_interval_minutes", "1h30m"),
        (BreakerConfig(probe_timeout_seconds=0.5), "probe_timeout_seconds", "0.5s"),
        (BreakerConfig(probe_timeout_seconds=252), "probe_timeout_seconds", "4m12s"),
        (BreakerConfig(jitter_ratio=0.1), "jitter_ratio", "0.1"),
        (BreakerConfig(failure_threshold=3), "failure_threshold", "3"),
        (BreakerConfig(), "max_interval_minutes", "null"),
    ],
)
def test_settings_with_a_time_unit_read_as_durations(
    config: BreakerConfig, key: str, shown: str
) -> None:
    assert dict(setting_items(config))[key] == shown


# -- rate rules ---------------------------------------------------------------------------


def counted(clock: FakeClock, outcomes: str, **options: object) -> CircuitBreaker:
    """A breaker that saw ``outcomes`` (``f`` fails, ``s`` is slow, ``.`` succeeds)."""
    cb = CircuitBreaker(name="rated", clock=clock, jitter_enabled=False, **options)  # type: ignore[arg-type]

    def outcome(kind: str) -> None:
        if kind == "s":
            clock.advance(6)
        if kind == "f":
            raise ConnectionError("refused")

    for kind in outcomes:
        with contextlib.suppress(ConnectionError):
            cb.call(outcome, kind)
    return cb


RATE = {"failure_threshold": None, "failure_rate_threshold": 0.5, "minimum_calls": 4}


@pytest.mark.parametrize(
    ("options", "outcomes", "shown"),
    [
        ({"failure_threshold": 3}, "ff", "2/3"),
        (RATE, "f.......", "12.5% of 8 (>=50%)"),
        (RATE, "f.", "50% of 2 (>=50%, min 4)"),
        ({**RATE, "failure_threshold": 3}, "f..", "0/3, 33.3% of 3 (>=50%, min 4)"),
        (
            {**RATE, "slow_call_rate_threshold": 0.8, "slow_call_duration_seconds": 5},
            "f.s.",
            "25% of 4 (>=50%), slow 25% (>=80%)",
        ),
        (
            {**RATE, "failure_rate_threshold": None, "slow_call_rate_threshold": 0.8,
             "slow_call_duration_seconds": 5},
            "s...",
            "slow 25% of 4 (>=80%)",
        ),
        ({"failure_threshold": 3, "slow_call_duration_seconds": 5}, "s.f", "1/3, slow 33.3% of 3"),
    ],
)  # fmt: skip
def test_the_failures_column_shows_each_rule_against_its_threshold(
    clock: FakeClock, options: dict[str, object], outcomes: str, shown: str
) -> None:
    cb = counted(clock, outcomes, **options)
    assert cb.state is CircuitBreakerState.CLOSED
    assert failures_label(cb.status()) == shown
    assert "None" not in status_table([cb.status()])


def test_a_breaker_tripped_by_a_rate_says_so_in_the_table(clock: FakeClock) -> None:
    cb = counted(clock, "ff.f", **RATE)
    assert cb.state is CircuitBreakerState.OPEN
    header, row = status_table([cb.status()]).splitlines()
    assert row[header.index("TRIPPED BY") :].startswith("failure_rate ")
    assert row[header.index("FAILURES") :].startswith("0% of 0 (>=50%, min 4) ")
    assert tripped_by_label(cb.status()) == "failure rate"
    assert tripped_by_label(CircuitBreaker(clock=clock).status()) == "-"


@pytest.mark.parametrize(
    ("fraction", "shown"),
    [(0.0, "0%"), (0.125, "12.5%"), (1 / 3, "33.3%"), (0.29, "29%"), (0.4999, "49.9%"),
     (0.5, "50%"), (1.0, "100%")],
)  # fmt: skip
def test_a_measured_rate_is_rounded_down_so_it_never_reads_as_reaching_a_threshold(
    fraction: float, shown: str
) -> None:
    assert percent(fraction) == shown


@pytest.mark.parametrize(
    ("fraction", "shown"), [(0.5, "50%"), (0.025, "2.5%"), (0.0005, "0.05%"), (1.0, "100%")]
)
def test_a_threshold_reads_as_it_was_written(fraction: float, shown: str) -> None:
    assert threshold_percent(fraction) == shown


def test_window_sizes_read_as_yaml_writes_them() -> None:
    time_window = BreakerConfig(failure_rate_threshold=0.5, sliding_window_seconds=90).window
    count_window = BreakerConfig(failure_rate_threshold=0.5, sliding_window_calls=100).window
    assert time_window is not None and count_window is not None
    assert window_size_label(time_window) == "1m30s"
    assert window_size_label(count_window) == "100 calls"
