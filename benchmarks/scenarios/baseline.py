"""The current code against an earlier revision: closed-path overhead of the four entry
points (``call``, ``call_async``, the sync and the async decorator).

Both sides run in worker subprocesses (see :mod:`benchmarks.baseline`) with the same
timed loops and the same iteration counts; their rounds alternate (current, baseline,
then baseline, current, ...), so a noisy neighbour hits both alike. Each side's
overhead is taken over its own bare call of the same round.
"""

from __future__ import annotations

from benchmarks.baseline import REPO_ROOT, BaselineUnavailable, Worker, extract
from benchmarks.context import Context
from benchmarks.harness import Sample
from benchmarks.hot_worker import BARE_OF
from benchmarks.report import Row, skipped

SCENARIO = "baseline"
MAX_RATIO = 1.2
TARGET = f"<={MAX_RATIO:g}x baseline"
ROUNDS_FULL = 31
"""More rounds than other scenarios: the figures compared are close to each other."""
METRICS = {
    "call": "call() overhead",
    "decorator": "decorated call overhead",
    "call_async": "call_async() overhead",
    "async_decorator": "async decorator overhead",
}
CURRENT, BASELINE = "current", "baseline"


def run(context: Context) -> list[Row]:
    revision = context.baseline_revision
    try:
        baseline = extract(revision, context.workdir / "baseline")
    except BaselineUnavailable as exc:
        return [skipped(SCENARIO, f"no baseline {revision}: {exc}", TARGET)]
    settings = context.settings
    rounds = settings.rounds if context.quick else max(settings.rounds, ROUNDS_FULL)
    with Worker(REPO_ROOT) as current, Worker(baseline.tree) as old:
        workers = {CURRENT: current, BASELINE: old}
        # One iteration count per loop, from the current side: both do the same work.
        iterations = current.ask(calibrate=settings.round_ns)["n"]
        for worker in workers.values():  # warm-up, not recorded: the same for both sides
            worker.ask(round=0, n=iterations)
        per_call: dict[str, dict[str, list[float]]] = {
            side: {name: [] for name in iterations} for side in workers
        }
        order = list(workers)
        for index in range(rounds):
            for side in order if index % 2 == 0 else order[::-1]:
                elapsed = workers[side].ask(round=index, n=iterations)["ns"]
                for name, ns in elapsed.items():
                    per_call[side][name].append(ns / iterations[name])
        imported = {side: str(worker.module_file) for side, worker in workers.items()}
    label = f"at {revision}"
    rows = []
    for entry, metric in METRICS.items():
        overhead = {side: _overhead(per_call[side], entry) for side in workers}
        least = {side: _least_overhead(per_call[side], entry) for side in workers}
        current_ns, baseline_ns = overhead[CURRENT].median, overhead[BASELINE].median
        row = Row(
            SCENARIO,
            f"{metric} vs {revision}",
            "ns",
            current_ns,
            {label: baseline_ns},
            target=TARGET,
            spread=overhead[CURRENT].spread,
            notes=(
                f"baseline ±{overhead[BASELINE].spread * 50:.0f}%; from the fastest rounds: "
                f"current {least[CURRENT]:.0f} ns, baseline {least[BASELINE]:.0f} ns; "
                f"baseline {baseline.commit[:12]} from {imported[BASELINE]}"
            ),
        )
        row.judge(baseline_ns > 0 and current_ns <= MAX_RATIO * baseline_ns, context.quick)
        rows.append(row)
    return rows


def _overhead(per_call: dict[str, list[float]], entry: str) -> Sample:
    return Sample(tuple(per_call[entry])).minus(Sample(tuple(per_call[BARE_OF[entry]])))


def _least_overhead(per_call: dict[str, list[float]], entry: str) -> float:
    """Fastest round of the entry minus fastest round of the bare call: noise only adds."""
    return min(per_call[entry]) - min(per_call[BARE_OF[entry]])
