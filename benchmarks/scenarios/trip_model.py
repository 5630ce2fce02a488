"""How many calls each rule rejects for a dependency failing at a steady rate.

A model, not a timing: a fake clock, the memory store, seeded randomness. For every
error rate and traffic level, ten minutes of calls arrive as a Poisson stream and each
fails independently with the error rate; both rules see the very same calls.

* The streak rule as the ``api`` profile sets it (3 failures in a row; 5 min, 3 fixed
  retries, 5 exponential). At high traffic three failures in a row are frequent even
  for a mostly healthy dependency, and each opening rejects five minutes of calls.
* The rate rule: open at 50 % failures over a 10 s window once it holds 20 calls, on the
  same recovery schedule. A healthy-enough dependency (5 %, 20 % errors) must lose
  under 1 % of its calls at any traffic; a broken one (70 %) must be cut off within two
  windows (20 s).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from benchmarks.context import Context
from benchmarks.report import Row, skipped
from benchmarks.simulation import NOT_COUNTED_YET, Failed, FakeClock, rate_rule_counts
from circuit_breaker import CircuitBreaker, CircuitOpenError
from circuit_breaker.config import BUILTIN_PROFILES
from circuit_breaker.core.config import BreakerConfig

SCENARIO = "trip_model"
ERROR_RATES = (0.01, 0.05, 0.20, 0.70)
TRAFFIC = (10, 100, 1000)  # calls per second
SIMULATED_SECONDS = 600.0
QUICK_SIMULATED_SECONDS = 30.0
SEED = 20261127

STREAK_CONFIG = BreakerConfig(**BUILTIN_PROFILES["api"], profile="api")
RATE_CONFIG = STREAK_CONFIG.replace(
    failure_threshold=None,
    failure_rate_threshold=0.5,
    sliding_window_seconds=10.0,
    minimum_calls=20,
    profile=None,
)
STREAK, RATE = "streak rule (api)", "rate rule"
MAX_REJECTED_PERCENT = 1.0
HEALTHY_ENOUGH = (0.05, 0.20)
BROKEN = 0.70
MAX_SECONDS_TO_OPEN = 20.0
TARGET_REJECTED = f"rate rule < {MAX_REJECTED_PERCENT:g}% rejected"
TARGET_OPEN = f"rate rule rejects within {MAX_SECONDS_TO_OPEN:g} s"
NO_TARGET = "(no target)"


@dataclass(frozen=True)
class Traffic:
    """One cell's calls: arrival times (s) and whether each call fails."""

    arrivals: tuple[float, ...]
    failures: tuple[bool, ...]

    @classmethod
    def poisson(cls, calls_per_second: float, error_rate: float, seconds: float) -> Traffic:
        rng = random.Random(f"{SEED}:{calls_per_second}:{error_rate}")
        arrivals, failures = [], []
        now = rng.expovariate(calls_per_second)
        while now < seconds:
            arrivals.append(now)
            failures.append(rng.random() < error_rate)
            now += rng.expovariate(calls_per_second)
        return cls(tuple(arrivals), tuple(failures))


@dataclass(frozen=True)
class Outcome:
    calls: int
    rejected: int
    openings: int
    first_rejection: float | None  # seconds into the run; the caller's view of "open"

    @property
    def rejected_percent(self) -> float:
        return 100.0 * self.rejected / self.calls if self.calls else 0.0


def _fail() -> None:
    raise Failed


def _succeed() -> None:
    pass


@contextmanager
def _seeded_jitter(seed: str) -> Iterator[None]:
    """Recovery jitter draws from the global generator: seed it, then put it back."""
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


def simulate(config: BreakerConfig, traffic: Traffic) -> Outcome:
    """Every call of ``traffic`` through one fresh breaker on a fake clock."""
    clock = FakeClock()
    breaker = CircuitBreaker.from_config(config, name="trip_model", clock=clock)
    call = breaker.call
    rejected = 0
    first_rejection = None
    with _seeded_jitter(f"{SEED}:jitter"):
        for at, fails in zip(traffic.arrivals, traffic.failures, strict=True):
            clock.now = at
            try:
                with suppress(Failed):
                    call(_fail if fails else _succeed)
            except CircuitOpenError:
                rejected += 1
                if first_rejection is None:
                    first_rejection = at
    openings = sum(
        count for (_, new), count in breaker.transition_counts().items() if new == "open"
    )
    return Outcome(len(traffic.arrivals), rejected, openings, first_rejection)


def run(context: Context) -> list[Row]:
    if not rate_rule_counts():
        return [skipped(SCENARIO, NOT_COUNTED_YET, TARGET_REJECTED)]
    seconds = QUICK_SIMULATED_SECONDS if context.quick else SIMULATED_SECONDS
    rows = []
    for error_rate in ERROR_RATES:
        for calls_per_second in TRAFFIC:
            traffic = Traffic.poisson(calls_per_second, error_rate, seconds)
            outcomes = {
                STREAK: simulate(STREAK_CONFIG, traffic),
                RATE: simulate(RATE_CONFIG, traffic),
            }
            rows.append(_row(error_rate, calls_per_second, seconds, outcomes, context.quick))
    return rows


def _row(
    error_rate: float,
    calls_per_second: int,
    seconds: float,
    outcomes: dict[str, Outcome],
    quick: bool,
) -> Row:
    streak, rate = outcomes[STREAK], outcomes[RATE]
    cell = f"{error_rate:.0%} errors, {calls_per_second:,} calls/s"
    details = {
        "error_rate": error_rate,
        "calls_per_second": calls_per_second,
        "simulated_seconds": seconds,
        "calls": rate.calls,
        **{
            f"{prefix}_{name}": value
            for prefix, outcome in (("streak", streak), ("rate", rate))
            for name, value in (
                ("rejected_percent", outcome.rejected_percent),
                ("openings", outcome.openings),
                ("first_rejection_seconds", outcome.first_rejection),
            )
        },
    }
    if error_rate == BROKEN:
        row = Row(
            SCENARIO,
            f"{cell}: first call rejected after",
            "s",
            rate.first_rejection,
            {} if streak.first_rejection is None else {STREAK: streak.first_rejection},
            target=TARGET_OPEN,
        )
        opened = rate.first_rejection
        row.judge(opened is not None and opened <= MAX_SECONDS_TO_OPEN, quick)
    else:
        row = Row(
            SCENARIO,
            f"{cell}: calls rejected",
            "%",
            rate.rejected_percent,
            {STREAK: streak.rejected_percent},
            target=TARGET_REJECTED if error_rate in HEALTHY_ENOUGH else NO_TARGET,
        )
        if error_rate in HEALTHY_ENOUGH:
            row.judge(rate.rejected_percent < MAX_REJECTED_PERCENT, quick)
    row.notes = (
        f"{rate.calls:,} calls over {seconds:g} s; openings: rate rule {rate.openings}, "
        f"streak rule {streak.openings}; rejected: rate rule {rate.rejected_percent:.2f}%, "
        f"streak rule {streak.rejected_percent:.2f}%"
    )
    row.details = details
    return row


def markdown(rows: Sequence[Row]) -> str:
    """The model's table for docs/benchmarks.md: error rate x traffic, both rules."""
    lines = [
        "| errors | calls/s | streak rule (api): rejected | openings | rate rule: rejected "
        "| openings | first rejection | target (rate rule) | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        d = row.details
        first = d["rate_first_rejection_seconds"]
        lines.append(
            f"| {float(d['error_rate']):.0%} | {int(d['calls_per_second']):,} "
            f"| {float(d['streak_rejected_percent']):.1f} % | {d['streak_openings']} "
            f"| {float(d['rate_rejected_percent']):.2f} % | {d['rate_openings']} "
            f"| {_seconds(first)} "
            f"| {row.target} | {row.verdict} |"
        )
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    if value is None:
        return "never"
    return f"{value:.1f} s" if value >= 1 else f"{value * 1000:.0f} ms"
