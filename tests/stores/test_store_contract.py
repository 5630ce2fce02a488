"""The store contract: every store makes the same decisions as the state machine.

Each scenario runs against the MemoryStore (the reference, built on the pure functions),
the RedisStore (the Lua mirror) and the DjangoStore (on the test database: SQLite, or
PostgreSQL when DATABASE_URL says so), so a drift between them fails here. Time-dependent
cases do not wait: a record is seeded with a deadline in the store's past or future.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.core.operations import (
    AcquireProbe,
    CompleteProbe,
    FlushWindow,
    OpenFor,
    Operation,
    RecordFailure,
    RecordSuccess,
    ReleaseProbe,
    SetState,
    Trip,
)
from circuit_breaker.core.record import BreakerRecord, Fault
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.stores.base import BreakerStore, StoreResult
from circuit_breaker.stores.memory import MemoryStore
from circuit_breaker.stores.redis import RedisStore
from tests.stores.seeding import seed_record
from tests.stores.store_factory import StoreFactory

CLOSED = CircuitBreakerState.CLOSED
OPEN = CircuitBreakerState.OPEN
HALF_OPEN = CircuitBreakerState.HALF_OPEN
FORCED_OPEN = CircuitBreakerState.FORCED_OPEN
DISABLED = CircuitBreakerState.DISABLED

BOOM = Fault("ConnectionError", "upstream refused")
IMMEDIATE = 1e-6  # a deadline that has passed by the next operation, in any store's clock

# The django store works on a connection of its own, which sees committed rows only.
pytestmark = pytest.mark.django_db(transaction=True)


def make_config(
    *,
    threshold: int = 3,
    base: float = 100.0,
    fixed: int = 2,
    exponential: int = 3,
    after_exhausted: str = "keep_probing",
    probe_timeout: float = 3600.0,
) -> BreakerConfig:
    return BreakerConfig(
        failure_threshold=threshold,
        base_interval_seconds=base,
        fixed_interval_retries=fixed,
        max_exponential_retries=exponential,
        jitter_enabled=False,
        after_exhausted=after_exhausted,
        probe_timeout_seconds=probe_timeout,
    )


class Harness:
    """One store under test, with the store-specific parts (clock, seeding) hidden."""

    def __init__(self, store: BreakerStore) -> None:
        self.store = store
        self._tick = 1000.0
        self.first_flush_second: int | None = None  # the random sequences' bucket anchor

    def now(self) -> float:
        """The ``now`` to pass: a moving clock for the memory store (others ignore it)."""
        self._tick += 0.001  # as fast as a real store's clock moves between operations
        return self._tick

    def load(self, name: str) -> StoreResult:
        return self.store.load_many([name], self.now())[name]

    def store_now(self, name: str) -> float:
        """The store's clock, for seeding deadlines relative to it."""
        return self.load(name).now

    def apply(self, name: str, operation: Operation, config: BreakerConfig) -> StoreResult:
        return self.store.apply(name, operation, config, self.now())

    def seed(self, name: str, record: BreakerRecord) -> None:
        """Put ``record`` in the store as if earlier operations had left it there."""
        if isinstance(self.store, MemoryStore):
            self.store = MemoryStore({name: record})
        else:
            seed_record(self.store, name, record)

    def fail(self, name: str, config: BreakerConfig, jitter: float = 1.0) -> StoreResult:
        """A counted failure of a call admitted in the record's current generation."""
        generation = self.load(name).record.generation
        return self.apply(name, RecordFailure(generation, BOOM, jitter), config)

    def succeed(self, name: str) -> StoreResult:
        generation = self.load(name).record.generation
        return self.apply(name, RecordSuccess(generation), make_config())


@pytest.fixture(params=["memory", "redis", "django"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "memory":
        yield Harness(MemoryStore())
    elif request.param == "redis":
        make_store: StoreFactory = request.getfixturevalue("make_store")
        yield Harness(make_store())
    else:
        from circuit_breaker_django.store import DjangoStore

        store = DjangoStore()
        yield Harness(store)
        store.close()


@pytest.fixture
def name() -> str:
    return f"svc-{uuid.uuid4().hex[:8]}"


def open_record(h: Harness, name: str, *, due: bool, breaks: int = 1) -> BreakerRecord:
    now = h.store_now(name)
    return BreakerRecord(
        state=OPEN,
        consecutive_breaks=breaks,
        opened_at=now - 200,
        retry_at=now - 1 if due else now + 3600,
        reason="threshold",
        generation=4,
        seq=7,
    )


def half_open_record(h: Harness, name: str, token: str, *, breaks: int = 1) -> BreakerRecord:
    now = h.store_now(name)
    return BreakerRecord(
        state=HALF_OPEN,
        consecutive_breaks=breaks,
        opened_at=now - 200,
        retry_at=now - 100,
        probe_token=token,
        probe_until=now + 3600,
        reason="retry_due",
        generation=5,
        seq=7,
    )


# -- CLOSED ----------------------------------------------------------------------------


def test_a_breaker_never_written_is_closed_with_zero_counters(harness: Harness, name: str) -> None:
    result = harness.load(name)
    record = result.record
    assert (record.state, record.failure_count, record.consecutive_breaks) == (CLOSED, 0, 0)
    assert result.previous_state is None
    assert record.last_failure is None


def test_failures_below_the_threshold_are_counted_one_seq_each(harness: Harness, name: str) -> None:
    config = make_config(threshold=3)
    first = harness.fail(name, config)
    second = harness.fail(name, config)
    assert (first.record.failure_count, second.record.failure_count) == (1, 2)
    assert second.record.seq == first.record.seq + 1
    assert second.record.state is CLOSED and second.previous_state is None
    assert second.record.last_failure is not None
    assert (second.record.last_failure.type, second.record.last_failure.message) == (
        "ConnectionError",
        "upstream refused",
    )
    assert second.record.last_failure.at == pytest.approx(second.now, abs=1e-5)


def test_reaching_the_threshold_opens_for_the_jittered_first_interval(
    harness: Harness, name: str
) -> None:
    config = make_config(threshold=2, base=100.0)
    harness.fail(name, config)
    result = harness.fail(name, config, jitter=1.05)
    record = result.record
    assert result.previous_state is CLOSED
    assert (record.state, record.reason, record.failure_count, record.consecutive_breaks) == (
        OPEN,
        "threshold",
        0,
        1,
    )
    assert record.opened_at == pytest.approx(result.now, abs=1e-5)
    assert record.retry_at is not None and record.opened_at is not None
    assert record.retry_at - record.opened_at == pytest.approx(105.0, abs=1e-5)
    assert record.changed_by == harness.store.instance_id


def test_opening_starts_a_new_generation(harness: Harness, name: str) -> None:
    before = harness.load(name).record.generation
    opened = harness.fail(name, make_config(threshold=1)).record
    assert opened.generation == before + 1


def test_a_failure_of_a_call_admitted_in_another_generation_is_not_counted(
    harness: Harness, name: str
) -> None:
    generation = harness.load(name).record.generation
    stale = RecordFailure(generation - 1, BOOM, 1.0)
    result = harness.apply(name, stale, make_config(threshold=1))
    assert result.record.state is CLOSED and result.record.failure_count == 0


def test_a_success_clears_the_failure_streak(harness: Harness, name: str) -> None:
    failed = harness.fail(name, make_config(threshold=3))
    cleared = harness.succeed(name)
    assert cleared.record.failure_count == 0
    assert cleared.record.seq == failed.record.seq + 1
    assert cleared.previous_state is None


def test_a_success_with_no_streak_changes_nothing(harness: Harness, name: str) -> None:
    harness.fail(name, make_config())
    before = harness.succeed(name).record
    after = harness.succeed(name).record
    assert after.seq == before.seq
    assert after.failure_count == 0


def test_a_config_change_applies_to_the_next_failure(harness: Harness, name: str) -> None:
    for _ in range(3):
        harness.fail(name, make_config(threshold=10))
    result = harness.fail(name, make_config(threshold=4))
    assert result.record.state is OPEN and result.previous_state is CLOSED


# -- OPEN ------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [OPEN, HALF_OPEN, FORCED_OPEN, DISABLED])
def test_a_failure_outside_closed_does_not_move_anything(
    harness: Harness, name: str, state: CircuitBreakerState
) -> None:
    seeded = dataclasses.replace(open_record(harness, name, due=False), state=state)
    harness.seed(name, seeded)
    result = harness.apply(name, RecordFailure(4, BOOM, 1.0), make_config(threshold=1))
    assert result.record.seq == seeded.seq
    assert result.record.state is state
    assert result.record.consecutive_breaks == seeded.consecutive_breaks
    assert result.record.retry_at == pytest.approx(seeded.retry_at)
    assert result.previous_state is None


def test_the_probe_is_refused_before_the_deadline(harness: Harness, name: str) -> None:
    harness.seed(name, open_record(harness, name, due=False))
    result = harness.apply(name, AcquireProbe("token-a"), make_config())
    assert result.record.state is OPEN
    assert result.record.probe_token is None
    assert result.record.seq == 7


def test_the_probe_is_granted_once_the_deadline_passed(harness: Harness, name: str) -> None:
    harness.seed(name, open_record(harness, name, due=True))
    result = harness.apply(name, AcquireProbe("token-a"), make_config(probe_timeout=30.0))
    record = result.record
    assert result.previous_state is OPEN
    assert (record.state, record.probe_token, record.reason) == (HALF_OPEN, "token-a", "retry_due")
    assert record.probe_until == pytest.approx(result.now + 30.0, abs=1e-5)
    assert record.changed_by == harness.store.instance_id
    assert (record.seq, record.generation) == (8, 5)


def test_only_one_caller_gets_the_probe_while_it_is_out(harness: Harness, name: str) -> None:
    harness.seed(name, open_record(harness, name, due=True))
    first = harness.apply(name, AcquireProbe("token-a"), make_config())
    second = harness.apply(name, AcquireProbe("token-b"), make_config())
    assert first.record.probe_token == "token-a"
    assert second.record.probe_token == "token-a"
    assert second.record.seq == first.record.seq
    assert second.previous_state is None


def test_a_timed_out_probe_loses_its_permit_to_the_next_caller(harness: Harness, name: str) -> None:
    seeded = dataclasses.replace(
        half_open_record(harness, name, "token-a"), probe_until=harness.store_now(name) - 1
    )
    harness.seed(name, seeded)
    result = harness.apply(name, AcquireProbe("token-b"), make_config())
    assert result.record.probe_token == "token-b"
    assert result.previous_state is None  # HALF_OPEN stays HALF_OPEN
    assert result.record.reason == "retry_due"
    assert result.record.changed_at == seeded.changed_at
    late = harness.apply(name, CompleteProbe("token-a", None, 1.0), make_config())
    assert late.record.state is HALF_OPEN and late.record.probe_token == "token-b"


@pytest.mark.parametrize("state", [CLOSED, FORCED_OPEN, DISABLED])
def test_no_probe_outside_open_and_half_open(
    harness: Harness, name: str, state: CircuitBreakerState
) -> None:
    harness.seed(name, dataclasses.replace(open_record(harness, name, due=True), state=state))
    result = harness.apply(name, AcquireProbe("token-a"), make_config())
    assert result.record.state is state and result.record.probe_token is None


# -- HALF_OPEN -------------------------------------------------------------------------


def test_a_successful_probe_closes_and_clears_both_counters(harness: Harness, name: str) -> None:
    harness.seed(name, half_open_record(harness, name, "token-a", breaks=3))
    result = harness.apply(name, CompleteProbe("token-a", None, 1.0), make_config())
    record = result.record
    assert result.previous_state is HALF_OPEN
    assert (record.state, record.failure_count, record.consecutive_breaks) == (CLOSED, 0, 0)
    assert (record.opened_at, record.retry_at, record.probe_token, record.probe_until) == (
        None,
        None,
        None,
        None,
    )
    assert record.reason == "probe_succeeded"
    assert record.generation == 6


def test_a_verdict_from_a_stranger_token_is_ignored(harness: Harness, name: str) -> None:
    harness.seed(name, half_open_record(harness, name, "token-a"))
    result = harness.apply(name, CompleteProbe("token-x", BOOM, 1.0), make_config())
    assert result.record.state is HALF_OPEN and result.record.seq == 7


@pytest.mark.parametrize(
    ("breaks_before", "interval"),
    [(0, 10.0), (1, 10.0), (2, 20.0), (3, 40.0), (4, 80.0), (5, 80.0), (9, 80.0)],
)
def test_a_failed_probe_reopens_with_the_next_trips_interval(
    harness: Harness, name: str, breaks_before: int, interval: float
) -> None:
    # base 10 s, 2 fixed trips, then x2 for up to 3 trips: 10, 10, 20, 40, 80, 80...
    config = make_config(base=10.0, fixed=2, exponential=3)
    harness.seed(name, half_open_record(harness, name, "token-a", breaks=breaks_before))
    result = harness.apply(name, CompleteProbe("token-a", BOOM, 0.9), config)
    record = result.record
    assert result.previous_state is HALF_OPEN
    assert (record.state, record.reason) == (OPEN, "probe_failed")
    assert record.consecutive_breaks == breaks_before + 1
    assert record.retry_at is not None and record.opened_at is not None
    assert record.retry_at - record.opened_at == pytest.approx(interval * 0.9, abs=1e-5)


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


HOSTILE = [
    FileNotFoundError(
        "no such file: report-" + b"\xff".decode("utf-8", "surrogateescape") + "\x00"
    ),
    Unprintable(),
]


@pytest.mark.parametrize("exc", HOSTILE, ids=["surrogate-and-nul", "str-raises"])
def test_a_failure_whose_message_cannot_be_stored_as_it_is_is_counted_escaped(
    harness: Harness, name: str, exc: Exception
) -> None:
    fault = Fault.from_exception(exc)
    generation = harness.load(name).record.generation
    record = harness.apply(name, RecordFailure(generation, fault, 1.0), make_config()).record
    assert record.failure_count == 1
    assert record.last_failure is not None
    assert record.last_failure.message == fault.message
    assert harness.load(name).record.last_failure == record.last_failure


@pytest.mark.parametrize("exc", HOSTILE, ids=["surrogate-and-nul", "str-raises"])
def test_a_probe_failing_with_such_a_message_still_settles_its_permit(
    harness: Harness, name: str, exc: Exception
) -> None:
    harness.seed(name, half_open_record(harness, name, "token-a"))
    fault = Fault.from_exception(exc)
    record = harness.apply(name, CompleteProbe("token-a", fault, 1.0), make_config()).record
    assert (record.state, record.probe_token) == (OPEN, None)


def test_a_schedule_of_huge_retry_counts_is_one_closed_form(harness: Harness, name: str) -> None:
    config = BreakerConfig(
        failure_threshold=1,
        base_interval_seconds=60,
        fixed_interval_retries=0,
        max_exponential_retries=100_000_000,
        backoff_multiplier=1.0000001,
        jitter_enabled=False,
    )
    harness.seed(name, half_open_record(harness, name, "token-a", breaks=49_999_999))
    record = harness.apply(name, CompleteProbe("token-a", BOOM, 1.0), config).record
    assert record.retry_at is not None and record.opened_at is not None
    expected = config.schedule.interval(50_000_000)
    assert record.retry_at - record.opened_at == pytest.approx(expected, rel=1e-9)


def test_stay_open_goes_forced_open_once_the_schedule_is_exhausted(
    harness: Harness, name: str
) -> None:
    config = make_config(fixed=1, exponential=1, after_exhausted="stay_open")
    harness.seed(name, half_open_record(harness, name, "token-a", breaks=2))
    result = harness.apply(name, CompleteProbe("token-a", BOOM, 1.0), config)
    record = result.record
    assert (record.state, record.reason, record.consecutive_breaks) == (FORCED_OPEN, "exhausted", 3)
    assert record.retry_at is None


def test_a_schedule_with_no_retries_is_exhausted_at_the_first_trip(
    harness: Harness, name: str
) -> None:
    config = make_config(threshold=1, fixed=0, exponential=0, after_exhausted="stay_open")
    result = harness.fail(name, config)
    assert (result.record.state, result.record.reason) == (FORCED_OPEN, "exhausted")


def test_a_released_probe_lets_the_next_caller_probe_at_once(harness: Harness, name: str) -> None:
    harness.seed(name, half_open_record(harness, name, "token-a"))
    released = harness.apply(name, ReleaseProbe("token-a"), make_config())
    assert released.record.state is HALF_OPEN
    assert (released.record.probe_token, released.record.probe_until) == (None, None)
    assert released.previous_state is None
    regranted = harness.apply(name, AcquireProbe("token-b"), make_config())
    assert regranted.record.probe_token == "token-b"


def test_releasing_someone_elses_permit_changes_nothing(harness: Harness, name: str) -> None:
    harness.seed(name, half_open_record(harness, name, "token-a"))
    result = harness.apply(name, ReleaseProbe("token-x"), make_config())
    assert result.record.probe_token == "token-a" and result.record.seq == 7


# -- manual control --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "reason", "breaks", "opened"),
    [
        (CLOSED, "reset", 0, False),
        (FORCED_OPEN, "forced_open", 4, True),
        (DISABLED, "disabled", 4, False),
    ],
)
def test_manual_states(
    harness: Harness,
    name: str,
    state: CircuitBreakerState,
    reason: str,
    breaks: int,
    opened: bool,
) -> None:
    harness.seed(name, open_record(harness, name, due=False, breaks=4))
    result = harness.apply(name, SetState(state), make_config())
    record = result.record
    assert result.previous_state is OPEN
    assert (record.state, record.reason, record.failure_count, record.consecutive_breaks) == (
        state,
        reason,
        0,
        breaks,
    )
    assert (record.opened_at is not None) is opened
    assert record.retry_at is None and record.probe_token is None
    assert record.changed_by == harness.store.instance_id
    assert record.generation == 5


@pytest.mark.parametrize("state", [OPEN, HALF_OPEN])
def test_automatic_states_cannot_be_set_by_hand(
    harness: Harness, name: str, state: CircuitBreakerState
) -> None:
    with pytest.raises(ValueError, match="by hand"):
        harness.apply(name, SetState(state), make_config())


def test_setting_the_same_state_again_is_a_change_of_record_not_of_state(
    harness: Harness, name: str
) -> None:
    first = harness.apply(name, SetState(FORCED_OPEN), make_config())
    second = harness.apply(name, SetState(FORCED_OPEN), make_config())
    assert first.previous_state is CLOSED
    assert second.previous_state is None
    assert second.record.seq == first.record.seq + 1


def test_load_many_returns_every_record_with_one_clock(harness: Harness, name: str) -> None:
    other = f"{name}-other"
    harness.fail(name, make_config())
    results = harness.store.load_many([name, other], harness.now())
    assert set(results) == {name, other}
    assert results[name].record.failure_count == 1
    assert results[other].record.failure_count == 0
    assert results[name].now == results[other].now


# -- server-directed back-off ----------------------------------------------------------


def test_open_for_opens_a_closed_breaker_for_exactly_that_long(harness: Harness, name: str) -> None:
    result = harness.apply(name, OpenFor(30.0, "429 from upstream", None, 1.0), make_config())
    record = result.record
    assert result.previous_state is CLOSED
    assert (record.state, record.reason, record.detail, record.consecutive_breaks) == (
        OPEN,
        "open_for",
        "429 from upstream",
        1,
    )
    assert record.retry_at is not None
    assert record.retry_at - result.now == pytest.approx(30.0, abs=1e-5)


def test_open_for_only_ever_moves_a_deadline_later(harness: Harness, name: str) -> None:
    harness.seed(name, open_record(harness, name, due=False))  # due in an hour
    shorter = harness.apply(name, OpenFor(60.0, "short", None, 1.0), make_config())
    assert shorter.record.seq == 7  # unchanged
    longer = harness.apply(name, OpenFor(7200.0, "long", None, 1.0), make_config())
    assert longer.record.retry_at == pytest.approx(longer.now + 7200.0, abs=1e-5)
    assert (longer.record.state, longer.record.detail, longer.previous_state) == (
        OPEN,
        "long",
        None,
    )


def test_open_for_while_half_open_is_a_failed_probe_at_the_later_deadline(
    harness: Harness, name: str
) -> None:
    harness.seed(name, half_open_record(harness, name, "token-a", breaks=1))
    config = make_config(base=100.0, fixed=2)
    result = harness.apply(name, OpenFor(500.0, "slow down", None, 1.0), config)
    record = result.record
    assert (record.state, record.reason, record.consecutive_breaks) == (OPEN, "open_for", 2)
    assert record.retry_at is not None
    assert record.retry_at - result.now == pytest.approx(500.0, abs=1e-5)
    late = harness.apply(name, CompleteProbe("token-a", None, 1.0), config)
    assert late.record.state is OPEN  # the probe's own verdict no longer counts


@pytest.mark.parametrize("state", [FORCED_OPEN, DISABLED])
def test_open_for_never_overrides_a_manual_state(
    harness: Harness, name: str, state: CircuitBreakerState
) -> None:
    harness.apply(name, SetState(state), make_config())
    result = harness.apply(name, OpenFor(30.0, "429", None, 1.0), make_config())
    assert result.record.state is state and result.previous_state is None


def test_open_for_from_a_call_admitted_before_the_last_change_is_ignored(
    harness: Harness, name: str
) -> None:
    generation = harness.load(name).record.generation
    harness.fail(name, make_config(threshold=1))  # the breaker opened meanwhile
    result = harness.apply(name, OpenFor(7200.0, "late 429", generation, 1.0), make_config())
    assert result.record.reason == "threshold"


# -- rate rules ------------------------------------------------------------------------

RATE = BreakerConfig(
    failure_threshold=None,
    failure_rate_threshold=0.5,
    sliding_window_seconds=10,
    minimum_calls=4,
    jitter_enabled=False,
    base_interval_seconds=100,
)


def test_a_trip_by_rule_opens_and_names_the_rule(harness: Harness, name: str) -> None:
    generation = harness.load(name).record.generation
    result = harness.apply(name, Trip(generation, "failure_rate", BOOM, 1.0), RATE)
    assert (result.record.state, result.record.reason, result.record.tripped_by) == (
        OPEN,
        "failure_rate",
        "failure_rate",
    )


def test_a_flush_merges_counts_and_judges_only_settled_buckets(harness: Harness, name: str) -> None:
    rules = RATE.window
    assert rules is not None
    now = harness.store_now(name)
    old = int(now // rules.bucket_seconds) - 3  # three seconds ago: settled
    fresh = int(now // rules.bucket_seconds)  # this second: not yet
    generation = harness.load(name).record.generation
    # Counts younger than the settle time are merged, not judged (other processes' calls
    # for the same moments may still be on their way).
    first = harness.apply(
        name, FlushWindow(generation, ((fresh, 10, 10, 0),), 60.0, BOOM, 1.0), RATE
    )
    assert first.record.state is CLOSED  # all failing, but too fresh to judge
    assert first.record.window == ((fresh, 10, 10, 0),)
    second = harness.apply(name, FlushWindow(generation, ((old, 4, 3, 0),), 0.25, None, 1.0), RATE)
    assert (second.record.state, second.record.tripped_by) == (OPEN, "failure_rate")
    assert second.record.window == ()  # a new state starts with an empty window


def test_a_flush_of_another_generation_is_dropped(harness: Harness, name: str) -> None:
    generation = harness.load(name).record.generation
    result = harness.apply(name, FlushWindow(generation - 1, ((1, 5, 5, 0),), 0.0, None, 1.0), RATE)
    assert result.record.window == () and result.previous_state is None


# -- differential: random sequences, every store agrees with the memory store ---------

OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["failure", "stale_failure", "success", "acquire", "probe_ok", "probe_fail",
             "release", "set", "trip", "flush", "open_for", "stale_open_for"]
        ),
        st.sampled_from(["token-a", "token-b"]),
        st.booleans(),  # config: deadlines passed at once or far away (1 h)
        st.sampled_from([CLOSED, FORCED_OPEN, DISABLED]),
        st.sampled_from([1, 2]),  # a flush: its bucket, seconds before the sequence's first
    ),
    min_size=1,
    max_size=25,
)  # fmt: skip


Step = tuple[str, str, bool, CircuitBreakerState, int]


def _operation(h: Harness, name: str, op: Step) -> StoreResult:
    kind, token, immediate, manual, seconds_before = op
    seconds = IMMEDIATE if immediate else 3600.0
    config = make_config(
        threshold=1 if immediate else 2,
        base=seconds,
        fixed=1,
        exponential=1,
        probe_timeout=seconds,
        after_exhausted="stay_open" if token == "token-b" else "keep_probing",
    ).replace(failure_rate_threshold=0.5, sliding_window_seconds=10, minimum_calls=3)
    loaded = h.load(name)
    generation = loaded.record.generation
    operation: Operation
    if kind == "failure":
        operation = RecordFailure(generation, BOOM, 1.0)
    elif kind == "stale_failure":
        operation = RecordFailure(generation - 1, BOOM, 1.0)
    elif kind == "success":
        operation = RecordSuccess(generation)
    elif kind == "acquire":
        operation = AcquireProbe(token)
    elif kind in ("probe_ok", "probe_fail"):
        operation = CompleteProbe(token, BOOM if kind == "probe_fail" else None, 1.0)
    elif kind == "release":
        operation = ReleaseProbe(token)
    elif kind == "trip":
        operation = Trip(generation, "failure_rate", BOOM, 1.0)
    elif kind == "flush":
        # 1 s buckets, keyed from the second of the sequence's first flush in this store,
        # not from each flush's own second: the Redis store's clock (the server's) may
        # pass a whole second between two flushes where the memory store's moves a few
        # ms, and the same flushes would then fill two buckets there and one here. Both
        # keys are settled at once (settle time 0) and stay inside the 10 s window for
        # the 7 s after that first flush, far longer than a sequence takes.
        if h.first_flush_second is None:
            h.first_flush_second = int(loaded.now // 1.0)
        bucket = h.first_flush_second - seconds_before
        failures = 2 if token == "token-a" else 0
        operation = FlushWindow(generation, ((bucket, 2, failures, 0),), 0.0, BOOM, 1.0)
    elif kind in ("open_for", "stale_open_for"):
        admitted = generation - 1 if kind == "stale_open_for" else None
        operation = OpenFor(seconds * 2, f"pause {token}", admitted, 1.0)
    else:
        operation = SetState(manual)
    return h.apply(name, operation, config)


def _moment(value: float | None, before: float | None, now: float) -> float | str | None:
    """A time as the stores can agree on it, though their clocks differ: unset, kept
    from the record before this step, or set by this step (its offset from the step's
    ``now``). Never a difference of two times set by different steps: that is how long
    the store took between them, which only the memory store's clock fixes."""
    if value is None:
        return None
    if before is not None and value == before:
        return "kept"
    return round(value - now, 3)


def _shape(
    result: StoreResult, previous: BreakerRecord | None, instance_id: str
) -> tuple[Any, ...]:
    """What must agree between stores (times, ids and a fresh record's seq differ)."""
    r, now = result.record, result.now
    p = previous if previous is not None else BreakerRecord()  # a fresh record: no times
    failure, failed_before = r.last_failure, p.last_failure.at if p.last_failure else None
    return (
        r.state,
        r.failure_count,
        r.consecutive_breaks,
        r.probe_token,
        r.reason,
        r.changed_by == instance_id if r.changed_by else None,
        _moment(r.opened_at, p.opened_at, now),
        _moment(r.retry_at, p.retry_at, now),
        _moment(r.probe_until, p.probe_until, now),
        _moment(r.changed_at, p.changed_at, now),
        None if failure is None else (failure.type, failure.message),
        None if failure is None else _moment(failure.at, failed_before, now),
        None if previous is None else (r.seq - previous.seq, r.generation - previous.generation),
        result.previous_state,
        r.tripped_by,
        r.detail,
        # bucket keys as offsets from the newest one (the stores' seconds differ)
        tuple((key - r.window[-1][0], *counts) for key, *counts in r.window),
    )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=OPERATIONS)
def test_random_operation_sequences_leave_every_store_alike(
    make_store: StoreFactory, operations: list[Step]
) -> None:
    name = f"diff-{uuid.uuid4().hex[:8]}"
    memory, redis_store = Harness(MemoryStore()), Harness(make_store())
    assert isinstance(redis_store.store, RedisStore)
    previous: tuple[BreakerRecord, BreakerRecord] | None = None
    for step, op in enumerate(operations):
        expected = _operation(memory, name, op)
        actual = _operation(redis_store, name, op)
        # Until the first write, a record's seq is the store's clock: not comparable.
        before = (None, None) if previous is None else previous
        assert _shape(actual, before[1], redis_store.store.instance_id) == _shape(
            expected, before[0], memory.store.instance_id
        ), f"step {step}: {op}"
        previous = (expected.record, actual.record) if expected.record.seq else None
