"""CircuitBreaker behaviour with one process and the memory store, through every entry point."""

from __future__ import annotations

import asyncio
import json
import logging
import math

import pytest

from circuit_breaker import (
    BreakerEvent,
    CircuitBreaker,
    CircuitBreakerState,
    CircuitOpenError,
    MemoryStore,
)
from tests.helpers import ENTRY_POINTS, FakeClock, Invoke

State = CircuitBreakerState


class Boom(Exception):
    pass


def fail() -> None:
    raise Boom("upstream said no")


def ok() -> str:
    return "ok"


def trip(cb: CircuitBreaker, times: int | None = None, invoke: Invoke | None = None) -> None:
    for _ in range(times or cb.failure_threshold):
        with pytest.raises(Boom):
            (invoke or ENTRY_POINTS["call"])(cb, fail)


def make(clock: FakeClock, **kwargs: object) -> CircuitBreaker:
    options: dict[str, object] = {
        "failure_threshold": 3,
        "base_interval_minutes": 5,
        "fixed_interval_retries": 3,
        "max_exponential_retries": 5,
        "jitter_enabled": False,
        "name": "external_api",
        "clock": clock,
    }
    options.update(kwargs)
    return CircuitBreaker(**options)  # type: ignore[arg-type]


# -- construction ---------------------------------------------------------------------


def test_original_positional_order_and_defaults() -> None:
    cb = CircuitBreaker()
    assert (
        cb.failure_threshold,
        cb.base_interval_minutes,
        cb.fixed_interval_retries,
        cb.max_exponential_retries,
        cb.jitter_enabled,
    ) == (5, 5, 3, 5, True)
    positional = CircuitBreaker(2, 0.5, 1, 2, False)
    assert positional.get_status_info()["config"]["base_interval_minutes"] == 0.5
    assert positional.config.base_interval_seconds == 30


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"failure_threshold": 0}, "failure_threshold"),
        ({"failure_threshold": -1}, "failure_threshold"),
        ({"failure_threshold": 2.5}, "failure_threshold"),
        ({"base_interval_minutes": -1}, "base_interval_minutes"),
        ({"base_interval_minutes": math.nan}, "base_interval_minutes"),
        ({"base_interval_minutes": 0}, "base_interval_minutes"),
        ({"fixed_interval_retries": -1}, "fixed_interval_retries"),
        ({"max_exponential_retries": -2}, "max_exponential_retries"),
        ({"jitter_enabled": "yes"}, "jitter_enabled"),
        ({"backoff_multiplier": 0.5}, "backoff_multiplier"),
        ({"max_interval_minutes": math.inf}, "max_interval_minutes"),
        ({"jitter_ratio": 1.0}, "jitter_ratio"),
        ({"jitter_ratio": -0.1}, "jitter_ratio"),
        ({"after_exhausted": "give_up"}, "after_exhausted"),
        ({"probe_timeout_seconds": 0}, "probe_timeout_seconds"),
        ({"ignore_exceptions": [str]}, "ignore_exceptions"),
        ({"is_failure": 3}, "is_failure"),
    ],
)
def test_invalid_values_raise_value_error_naming_the_parameter(
    kwargs: dict[str, object], parameter: str
) -> None:
    with pytest.raises(ValueError, match=parameter):
        CircuitBreaker(**kwargs)  # type: ignore[arg-type]


# -- CLOSED ---------------------------------------------------------------------------


def test_opens_after_threshold_consecutive_failures(clock: FakeClock) -> None:
    cb = make(clock)
    trip(cb, 2)
    assert cb.state is State.CLOSED and cb.failure_count == 2
    trip(cb, 1)
    assert cb.state is State.OPEN
    assert cb.consecutive_circuit_breaks == 1


def test_success_resets_the_failure_streak(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock)
    trip(cb, 2, invoke)
    assert invoke(cb, ok) == "ok"
    assert cb.failure_count == 0
    trip(cb, 2, invoke)
    assert cb.state is State.CLOSED


def test_call_passes_arguments_and_returns_result(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock)
    assert invoke(cb, lambda a, b=0: a + b, 2, b=3) == 5


# -- OPEN -----------------------------------------------------------------------------


def test_open_rejects_without_calling_the_function(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock)
    trip(cb, None, invoke)
    calls: list[int] = []
    clock.advance(60)
    with pytest.raises(CircuitOpenError) as info:
        invoke(cb, lambda: calls.append(1))
    assert calls == []
    error = info.value
    assert error.name == "external_api"
    assert error.state is State.OPEN
    assert error.retry_after == pytest.approx(240)
    assert str(error) == "Circuit breaker 'external_api' is OPEN; next retry in 4m0s"


def test_deadline_passed_means_half_open_and_one_probe_closes(
    clock: FakeClock, invoke: Invoke
) -> None:
    cb = make(clock)
    trip(cb, None, invoke)
    clock.advance(300)
    assert cb.state is State.HALF_OPEN
    assert invoke(cb, ok) == "ok"
    assert cb.state is State.CLOSED
    assert (cb.failure_count, cb.consecutive_circuit_breaks) == (0, 0)


def test_failed_probe_reopens_and_escalates_on_schedule(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock)
    trip(cb, None, invoke)
    waits = []
    for _ in range(9):
        status = cb.get_status_info()
        waits.append(status["current_recovery_timeout_minutes"])
        clock.advance(status["current_recovery_timeout_minutes"] * 60)
        with pytest.raises(Boom):
            invoke(cb, fail)
    assert waits == [5, 5, 5, 10, 20, 40, 80, 160, 160]
    assert cb.consecutive_circuit_breaks == 10
    assert cb.get_status_info()["exhausted"] is True


def test_stay_open_goes_forced_open_once_the_schedule_is_exhausted(
    clock: FakeClock, invoke: Invoke
) -> None:
    cb = make(
        clock, fixed_interval_retries=1, max_exponential_retries=1, after_exhausted="stay_open"
    )
    events: list[BreakerEvent] = []
    cb.add_listener(events.append)
    trip(cb, None, invoke)
    for minutes in (5, 10):
        clock.advance(minutes * 60)
        with pytest.raises(Boom):
            invoke(cb, fail)
    assert cb.state is State.FORCED_OPEN
    assert [e.reason for e in events if e.kind == "state_change"][-1] == "exhausted"
    clock.advance(10**6)
    with pytest.raises(CircuitOpenError):
        invoke(cb, ok)
    cb.reset()
    assert invoke(cb, ok) == "ok"


def test_max_interval_caps_the_deadline(clock: FakeClock) -> None:
    cb = make(clock, fixed_interval_retries=0, max_interval_minutes=7)
    trip(cb)
    assert cb.get_status_info()["current_recovery_timeout_minutes"] == 7


def test_jitter_is_drawn_once_per_opening(clock: FakeClock) -> None:
    cb = make(clock, jitter_enabled=True, jitter_ratio=0.2)
    trip(cb)
    first = cb.get_status_info()
    assert 4 <= first["current_recovery_timeout_minutes"] <= 6
    again = cb.get_status_info()
    assert again["next_retry_at"] == first["next_retry_at"]
    assert again["current_recovery_timeout_minutes"] == first["current_recovery_timeout_minutes"]


def test_jittered_deadlines_spread_across_breakers(clock: FakeClock) -> None:
    timeouts = set()
    for _ in range(20):
        cb = make(clock, jitter_enabled=True)
        trip(cb)
        timeouts.add(cb.get_status_info()["current_recovery_timeout_minutes"])
    assert len(timeouts) > 10
    assert all(4.5 <= t <= 5.5 for t in timeouts)


def test_failure_from_a_call_started_before_opening_does_not_move_schedule(
    clock: FakeClock,
    invoke: Invoke,
) -> None:
    cb = make(clock)

    def slow_call_that_fails_after_the_breaker_opened() -> None:
        trip(cb)  # meanwhile, other calls open the breaker
        clock.advance(200)
        raise Boom("late")

    with pytest.raises(Boom):
        cb.call(slow_call_that_fails_after_the_breaker_opened)
    status = cb.get_status_info()
    assert status["consecutive_circuit_breaks"] == 1
    assert status["time_until_retry_minutes"] == pytest.approx(100 / 60)


def test_success_from_a_call_started_before_opening_does_not_close(
    clock: FakeClock, invoke: Invoke
) -> None:
    cb = make(clock)

    def slow_success() -> str:
        trip(cb)
        return "late"

    assert invoke(cb, slow_success) == "late"
    assert cb.state is State.OPEN


# -- HALF_OPEN ------------------------------------------------------------------------


def test_half_open_rejects_others_while_the_probe_runs(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock)
    trip(cb, None, invoke)
    clock.advance(300)
    inner: list[BaseException] = []

    def probe() -> str:
        try:
            cb.call(ok)
        except CircuitOpenError as exc:
            inner.append(exc)
        return "probed"

    assert invoke(cb, probe) == "probed"
    assert len(inner) == 1
    assert inner[0].state is State.HALF_OPEN  # type: ignore[attr-defined]
    assert "probe is in progress" in str(inner[0])


def test_timed_out_probe_loses_its_permit_and_its_late_verdict(
    clock: FakeClock, invoke: Invoke
) -> None:
    cb = make(clock, probe_timeout_seconds=10)
    trip(cb, None, invoke)
    clock.advance(300)

    def hung_probe() -> None:
        clock.advance(11)  # the probe outlives its lease
        assert cb.call(ok) == "ok"  # another caller takes the permit and succeeds
        raise Boom("too late")

    with pytest.raises(Boom):
        cb.call(hung_probe)
    assert cb.state is State.CLOSED
    assert cb.consecutive_circuit_breaks == 0


def test_interrupted_probe_releases_the_permit_without_counting(
    clock: FakeClock, invoke: Invoke
) -> None:
    cb = make(clock)
    trip(cb, None, invoke)
    clock.advance(300)

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        invoke(cb, interrupted)
    assert cb.consecutive_circuit_breaks == 1
    assert invoke(cb, ok) == "ok"
    assert cb.state is State.CLOSED


async def test_cancelled_async_probe_releases_the_permit(clock: FakeClock) -> None:
    cb = make(clock)
    trip(cb)
    clock.advance(300)
    started = asyncio.Event()

    async def never_returns() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(cb.call_async(never_returns))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async def fine() -> str:
        return "ok"

    assert await cb.call_async(fine) == "ok"
    assert cb.state is State.CLOSED


def test_base_exceptions_are_never_counted(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock, failure_threshold=1)

    def exit_now() -> None:
        raise SystemExit(1)

    for _ in range(3):
        with pytest.raises(SystemExit):
            invoke(cb, exit_now)
    assert cb.state is State.CLOSED and cb.failure_count == 0


# -- what counts ----------------------------------------------------------------------


class CardDeclined(Exception):
    pass


def test_ignored_exception_is_reraised_and_counts_as_success(
    clock: FakeClock, invoke: Invoke
) -> None:
    cb = make(clock, ignore_exceptions=[CardDeclined])
    trip(cb, 2, invoke)

    def declined() -> None:
        raise CardDeclined

    with pytest.raises(CardDeclined):
        invoke(cb, declined)
    assert cb.failure_count == 0


def test_ignored_exception_closes_a_half_open_breaker(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock, ignore_exceptions=[CardDeclined])
    trip(cb, None, invoke)
    clock.advance(300)

    def declined() -> None:
        raise CardDeclined

    with pytest.raises(CardDeclined):
        invoke(cb, declined)
    assert cb.state is State.CLOSED


def test_is_failure_decides_what_counts(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock, failure_threshold=1, is_failure=lambda exc: "fatal" in str(exc))

    def soft() -> None:
        raise Boom("soft")

    def fatal() -> None:
        raise Boom("fatal")

    with pytest.raises(Boom):
        invoke(cb, soft)
    assert cb.state is State.CLOSED
    with pytest.raises(Boom):
        invoke(cb, fatal)
    assert cb.state is State.OPEN


def test_is_failure_that_raises_counts_the_failure(
    clock: FakeClock, invoke: Invoke, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(exc: BaseException) -> bool:
        raise RuntimeError("bug in predicate")

    cb = make(clock, failure_threshold=1, is_failure=broken)
    with pytest.raises(Boom):
        invoke(cb, fail)
    assert cb.state is State.OPEN
    assert "is_failure" in caplog.text


# -- manual control -------------------------------------------------------------------


def test_force_open_rejects_everything_until_reset(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock)
    cb.force_open()
    clock.advance(10**6)
    with pytest.raises(CircuitOpenError) as info:
        invoke(cb, ok)
    assert info.value.state is State.FORCED_OPEN
    assert info.value.retry_after is None
    assert "until it is reset" in str(info.value)
    cb.reset()
    assert invoke(cb, ok) == "ok"


def test_disabled_lets_everything_through_and_counts_nothing(
    clock: FakeClock, invoke: Invoke
) -> None:
    cb = make(clock, failure_threshold=1)
    cb.disable()
    for _ in range(5):
        with pytest.raises(Boom):
            invoke(cb, fail)
    assert cb.state is State.DISABLED and cb.failure_count == 0
    cb.reset()
    assert cb.state is State.CLOSED


def test_reset_clears_an_open_breaker(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock)
    trip(cb, None, invoke)
    cb.reset()
    assert (cb.state, cb.failure_count, cb.consecutive_circuit_breaks) == (State.CLOSED, 0, 0)
    assert invoke(cb, ok) == "ok"


# -- decorator and async --------------------------------------------------------------


def test_decorator_keeps_name_and_doc_and_protects(clock: FakeClock) -> None:
    cb = make(clock, failure_threshold=1)

    @cb
    def fetch(x: int) -> int:
        """Fetch a thing."""
        if x < 0:
            raise Boom
        return x * 2

    assert (fetch.__name__, fetch.__doc__) == ("fetch", "Fetch a thing.")
    assert fetch(2) == 4
    with pytest.raises(Boom):
        fetch(-1)
    with pytest.raises(CircuitOpenError):
        fetch(2)


async def test_async_decorator_and_alias(clock: FakeClock) -> None:
    cb = make(clock, failure_threshold=2)

    @cb
    async def fetch(x: int) -> int:
        """Async fetch."""
        if x < 0:
            raise Boom
        return x + 1

    assert fetch.__name__ == "fetch" and asyncio.iscoroutinefunction(fetch)
    assert await fetch(1) == 2
    for _ in range(2):
        with pytest.raises(Boom):
            await fetch(-1)
    with pytest.raises(CircuitOpenError):
        await fetch(1)

    async def value() -> int:
        return 7

    cb.reset()
    assert await cb.async_call(value) == 7


# -- status ---------------------------------------------------------------------------


def test_status_info_is_json_and_complete(clock: FakeClock) -> None:
    cb = make(clock, profile="api", critical=True)
    trip(cb)
    clock.advance(30)
    status = json.loads(json.dumps(cb.get_status_info()))
    assert status["name"] == "external_api"
    assert status["profile"] == "api"
    assert status["state"] == "open"
    assert status["failure_count"] == 0
    assert status["consecutive_circuit_breaks"] == 1
    assert status["retry_phase"] == "fixed-interval (attempt 1/3)"
    assert status["current_recovery_timeout_minutes"] == 5
    assert status["time_until_retry_minutes"] == pytest.approx(4.5)
    assert status["opened_at"].endswith("+00:00")
    assert status["next_retry_at"] > status["opened_at"]
    assert status["exhausted"] is False
    assert status["critical"] is True
    assert status["last_failure"]["type"] == "Boom"
    assert status["last_failure"]["message"] == "upstream said no"
    assert status["config"]["failure_threshold"] == 3
    assert status["config"]["jitter_enabled"] is False


def test_status_of_a_closed_breaker(clock: FakeClock) -> None:
    status = make(clock).get_status_info()
    assert status["state"] == "closed"
    assert status["retry_phase"] == "closed"
    assert status["time_until_retry_minutes"] is None
    assert status["opened_at"] is None and status["next_retry_at"] is None
    assert status["last_failure"] is None


def test_last_failure_message_is_cut_to_200_chars(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock)

    def verbose() -> None:
        raise Boom("x" * 1000)

    with pytest.raises(Boom):
        invoke(cb, verbose)
    assert len(cb.get_status_info()["last_failure"]["message"]) == 200


def test_exponential_phase_is_reported(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock, fixed_interval_retries=1)
    trip(cb, None, invoke)
    clock.advance(300)
    with pytest.raises(Boom):
        invoke(cb, fail)
    assert cb.get_status_info()["retry_phase"] == "exponential-interval (attempt 1/5)"


# -- events and logging ---------------------------------------------------------------


def test_listeners_receive_every_kind_of_event(clock: FakeClock) -> None:
    events: list[BreakerEvent] = []
    cb = make(clock, failure_threshold=1, listeners=[events.append], ignore_exceptions=[KeyError])
    cb.call(ok)

    def missing() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        cb.call(missing)
    with pytest.raises(Boom):
        cb.call(fail)
    with pytest.raises(CircuitOpenError):
        cb.call(ok)
    clock.advance(300)
    cb.call(ok)
    cb.force_open(actor="alice")
    kinds = [e.kind for e in events]
    assert kinds == [
        "success",
        "ignored",
        "state_change",
        "failure",
        "rejected",
        "state_change",
        "state_change",
        "success",
        "state_change",
    ]
    changes = [(e.old, e.new, e.reason, e.origin) for e in events if e.kind == "state_change"]
    assert changes == [
        (State.CLOSED, State.OPEN, "threshold", "local"),
        (State.OPEN, State.HALF_OPEN, "retry_due", "local"),
        (State.HALF_OPEN, State.CLOSED, "probe_succeeded", "local"),
        (State.CLOSED, State.FORCED_OPEN, "forced_open", "local"),
    ]
    assert events[-1].actor == "alice"


def test_a_raising_listener_is_logged_and_never_breaks_the_call(
    clock: FakeClock, invoke: Invoke, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: BreakerEvent) -> None:
        raise RuntimeError("listener bug")

    cb = make(clock, failure_threshold=1, listeners=[broken])
    assert invoke(cb, ok) == "ok"
    with pytest.raises(Boom):
        invoke(cb, fail)
    assert cb.state is State.OPEN
    assert "listener" in caplog.text and "listener bug" in caplog.text


def test_opening_is_logged_as_warning_with_structured_fields(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    cb = make(clock)
    with caplog.at_level(logging.INFO, logger="circuit_breaker"):
        trip(cb)
    records = [r for r in caplog.records if getattr(r, "to_state", None) == "open"]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.WARNING
    assert record.__dict__["breaker"] == "external_api"
    assert record.__dict__["reason"] == "threshold"
    assert record.__dict__["retry_in_seconds"] == 300


def test_call_counting_tallies_outcomes_without_listeners(clock: FakeClock) -> None:
    cb = make(clock, failure_threshold=1)
    cb.enable_call_counting()
    cb.call(ok)
    with pytest.raises(Boom):
        cb.call(fail)
    with pytest.raises(CircuitOpenError):
        cb.call(ok)
    assert cb.call_counts() == {
        "success": 1,
        "failure": 1,
        "ignored": 0,
        "rejected": 1,
        "would_reject": 0,
    }
    assert cb.transition_counts() == {("closed", "open"): 1}


def test_call_passes_when_another_breaker_on_the_store_closed_it_meanwhile(
    clock: FakeClock,
) -> None:
    store = MemoryStore()
    first = make(clock, store=store)
    second = make(clock, store=store)
    trip(first)
    second.sync()
    clock.advance(300)
    assert first.call(ok) == "ok"  # the probe closes the shared record
    assert second.call(ok) == "ok"  # second's view was OPEN and due: not a rejection
    assert second.state is State.CLOSED


# -- hostile exceptions and clocks ----------------------------------------------------


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ is broken")


def test_an_exception_whose_message_cannot_be_read_is_counted_and_reraised(
    clock: FakeClock, invoke: Invoke
) -> None:
    cb = make(clock, failure_threshold=1)

    def raise_unprintable() -> None:
        raise Unprintable

    with pytest.raises(Unprintable):
        invoke(cb, raise_unprintable)
    assert cb.state is State.OPEN
    failure = cb.get_status_info()["last_failure"]
    assert failure["type"] == "Unprintable"
    assert "cannot be read" in failure["message"]


def test_a_message_that_cannot_be_encoded_is_stored_escaped(
    clock: FakeClock, invoke: Invoke
) -> None:
    cb = make(clock, failure_threshold=1)
    name = b"report-\xff.csv".decode("utf-8", "surrogateescape")

    def missing_file() -> None:
        raise FileNotFoundError(f"no such file: {name}\x00")

    with pytest.raises(FileNotFoundError):
        invoke(cb, missing_file)
    message = cb.get_status_info()["last_failure"]["message"]
    assert message == "no such file: report-\\udcff.csv\\x00"
    message.encode("utf-8")  # storable anywhere


def test_a_failure_of_a_call_admitted_before_the_breaker_opened_and_recovered_is_ignored(
    clock: FakeClock, invoke: Invoke
) -> None:
    cb = make(clock)

    def outlives_a_whole_outage() -> None:
        trip(cb)  # meanwhile the breaker opens...
        clock.advance(300)
        assert cb.call(ok) == "ok"  # ...and a probe closes it again
        raise Boom("late")

    with pytest.raises(Boom):
        invoke(cb, outlives_a_whole_outage)
    assert cb.state is State.CLOSED
    assert cb.failure_count == 0


def test_a_clock_that_returns_nan_never_opens_the_gate(clock: FakeClock, invoke: Invoke) -> None:
    cb = make(clock)
    trip(cb)
    clock.now = math.nan
    calls: list[int] = []
    for _ in range(5):
        with pytest.raises(CircuitOpenError):
            invoke(cb, lambda: calls.append(1))
    assert calls == []
    assert cb.consecutive_circuit_breaks == 1
