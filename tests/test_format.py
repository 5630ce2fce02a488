"""How breakers read to people: the one formatting module every surface uses."""

from __future__ import annotations

import pytest

from circuit_breaker import CircuitBreaker
from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.format import (
    format_duration,
    next_retry_label,
    retry_phase_label,
    setting_items,
    state_label,
    status_table,
    unreachable_notice,
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
        "NAME", "PROFILE", "STATE", "FAILURES", "TRIPS", "RETRY PHASE", "NEXT RETRY",
        "CRITICAL", "LAST FAILURE",
    ]  # fmt: skip
    assert cells[1] == [
        "a", "api", "open", "0/1", "1", "fixed-interval (attempt 1/1)", "in 4m12s", "no",
        "ConnectionError",
    ]  # fmt: skip
    assert cells[2] == [
        "forced", "-", "forced_open", "0/5", "0", "manual, until reset", "after a reset", "yes",
        "-",
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
