"""Helpers shared by the scenarios: overhead rows and the functions being protected."""

from __future__ import annotations

from collections.abc import Mapping

from benchmarks.harness import Sample
from benchmarks.report import Row

OURS = "ours"
BARE = "bare"


def noop() -> None:
    """The protected function: as cheap as a call gets, so overhead dominates."""


async def anoop() -> None:
    """The protected coroutine function."""


class Down(Exception):
    """What a failing upstream raises."""


def fail() -> None:
    raise Down("upstream down")


def overhead_row(
    scenario: str, metric: str, samples: Mapping[str, Sample], *, target: str = "",
    notes: str = "",
) -> Row:
    """Median overhead (ns) of each candidate over the bare call of the same rounds."""
    baseline = samples[BARE]
    ours = samples[OURS].minus(baseline)
    peers = {
        name: sample.minus(baseline).median
        for name, sample in samples.items()
        if name not in (BARE, OURS)
    }
    notes = f"bare call {baseline.median:.0f} ns" + (f"; {notes}" if notes else "")
    return Row(scenario, metric, "ns", ours.median, peers, target=target, spread=ours.spread,
               notes=notes)


def at_most(row: Row, peer: str, factor: float) -> bool:
    """True when ours <= factor x the named peer (True when the peer is absent)."""
    if row.ours is None:
        return False
    value = row.peers.get(peer)
    return value is None or row.ours <= factor * value
