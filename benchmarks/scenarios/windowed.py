"""Closed-state ``call()`` with the rate rules on: a 60 s time window, slow-call detection.

Every call is now counted (calls, failures, slow calls) and timed, which the streak-only
breaker never does on its fast path. Side by side: our breaker with the window, our
breaker without (the default streak rule), and interlock-cb with a 60 s time window and
slow-call detection. The protected function never fails and is never slow, so the
figures are the price of keeping the window, not of a verdict.
"""

from __future__ import annotations

from benchmarks import loops, peers
from benchmarks.context import Context
from benchmarks.harness import Measure, interleave
from benchmarks.report import Row, skipped
from benchmarks.scenarios.common import BARE, OURS, at_most, noop, overhead_row
from benchmarks.simulation import NOT_COUNTED_YET, rate_rule_counts
from circuit_breaker import CircuitBreaker

SCENARIO = "windowed_call"
STREAK = "ours, streak only"
INTERLOCK = "interlock-cb"
WINDOW_SECONDS = 60
FAILURE_RATE = 0.5
SLOW_CALL_SECONDS = 1.0
SLOW_CALL_RATE = 0.5
MINIMUM_CALLS = 20
TIMES_STREAK = 3.0
ABOVE_STREAK_NS = 80.0
TIMES_INTERLOCK = 0.1
TARGET_STREAK = f"<={TIMES_STREAK:g}x streak-only or <=+{ABOVE_STREAK_NS:g} ns"
TARGET_INTERLOCK = f"<={TIMES_INTERLOCK:g}x interlock-cb (window on)"


def windowed_breaker(name: str) -> CircuitBreaker:
    return CircuitBreaker(
        name=name,
        failure_rate_threshold=FAILURE_RATE,
        sliding_window_seconds=WINDOW_SECONDS,
        slow_call_duration_seconds=SLOW_CALL_SECONDS,
        slow_call_rate_threshold=SLOW_CALL_RATE,
        minimum_calls=MINIMUM_CALLS,
    )


def run(context: Context) -> list[Row]:
    if not rate_rule_counts():
        return [
            skipped(SCENARIO, NOT_COUNTED_YET, TARGET_STREAK),
            skipped(SCENARIO, NOT_COUNTED_YET, TARGET_INTERLOCK),
        ]
    candidates: dict[str, Measure] = {
        BARE: loops.bare(noop),
        OURS: loops.via(windowed_breaker("bench_windowed").call, noop),
        STREAK: loops.via(CircuitBreaker(name="bench_streak").call, noop),
    }
    if peers.load(INTERLOCK):
        interlock = peers.interlock_windowed_breaker(
            failure_rate=FAILURE_RATE,
            window_seconds=WINDOW_SECONDS,
            slow_call_seconds=SLOW_CALL_SECONDS,
            slow_call_rate=SLOW_CALL_RATE,
            minimum_calls=MINIMUM_CALLS,
        )
        candidates[INTERLOCK] = loops.via(interlock.call, noop)
    samples = interleave(candidates, context.settings)
    settings = (
        f"window {WINDOW_SECONDS} s, failure rate {FAILURE_RATE:g}, slow call > "
        f"{SLOW_CALL_SECONDS:g} s at rate {SLOW_CALL_RATE:g}, minimum {MINIMUM_CALLS} calls"
    )
    versus_streak = overhead_row(
        SCENARIO,
        "windowed call() overhead vs streak only",
        {name: samples[name] for name in (BARE, OURS, STREAK)},
        target=TARGET_STREAK,
        notes=settings,
    )
    streak = versus_streak.peers[STREAK]
    windowed = versus_streak.ours
    versus_streak.judge(
        windowed is not None
        and windowed <= max(TIMES_STREAK * streak, streak + ABOVE_STREAK_NS),
        context.quick,
    )
    if INTERLOCK not in samples:
        absent = skipped(SCENARIO, f"{INTERLOCK} cannot be imported", TARGET_INTERLOCK)
        return [versus_streak, absent]
    versus_interlock = overhead_row(
        SCENARIO,
        "windowed call() overhead vs interlock-cb",
        {name: samples[name] for name in (BARE, OURS, INTERLOCK)},
        target=TARGET_INTERLOCK,
        notes=f"both: {settings}",
    )
    versus_interlock.judge(at_most(versus_interlock, INTERLOCK, TIMES_INTERLOCK), context.quick)
    return [versus_streak, versus_interlock]
