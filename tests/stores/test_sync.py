"""BackgroundSync with a source of the test's own: what a cycle delivers, and to whom."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import pytest

from circuit_breaker.core.record import BreakerRecord
from circuit_breaker.stores.base import StoreResult
from circuit_breaker.stores.sync import BackgroundSync, Unreadable


class Source:
    """Answers each refresh with ``answer(names)``; never pushes anything."""

    def __init__(
        self, answer: Callable[[Sequence[str]], Mapping[str, StoreResult | Unreadable]]
    ) -> None:
        self.answer = answer
        self.refreshed: list[list[str]] = []

    def refresh(self, names: Sequence[str]) -> Mapping[str, StoreResult | Unreadable]:
        self.refreshed.append(sorted(names))
        return self.answer(names)

    def listen(self, timeout: float) -> list[tuple[str, StoreResult]]:
        time.sleep(min(timeout, 0.01))  # real wait: nothing is ever pushed
        return []

    def reset(self) -> None:
        """Holds no connection."""


class Follower:
    def __init__(self) -> None:
        self.adopted: list[BreakerRecord] = []
        self.lost_because: list[str] = []
        self.flushes = 0
        self.event = threading.Event()

    def adopt(self, result: StoreResult) -> None:
        self.adopted.append(result.record)
        self.event.set()

    def lost(self, error: str) -> None:
        self.lost_because.append(error)
        self.event.set()

    def flush(self) -> None:
        self.flushes += 1


@pytest.fixture
def syncs() -> Iterator[list[BackgroundSync]]:
    made: list[BackgroundSync] = []
    yield made
    for sync in made:
        sync.stop()


def test_a_record_the_source_cannot_read_sends_only_its_breakers_to_local_state(
    syncs: list[BackgroundSync],
) -> None:
    source = Source(
        lambda names: {
            name: Unreadable("node 10.0.0.7:7002 is down")
            if name == "on-dead-node"
            else StoreResult(BreakerRecord(seq=1), 0.0)
            for name in names
        }
    )
    sync = BackgroundSync(source, name="test", sync_interval=60.0)
    syncs.append(sync)
    dead, alive = Follower(), Follower()
    sync.watch("on-dead-node", dead)
    sync.watch("on-live-node", alive)
    sync.wake()  # the second watch may have missed the first cycle
    assert dead.event.wait(5) and alive.event.wait(5)
    deadline = time.monotonic() + 5
    while not (dead.lost_because and alive.adopted) and time.monotonic() < deadline:
        time.sleep(0.01)  # real wait: the background thread runs the cycle
    assert dead.lost_because == ["node 10.0.0.7:7002 is down"] * len(dead.lost_because)
    assert dead.adopted == []
    assert alive.lost_because == [] and alive.adopted
    assert dead.flushes >= 1  # flushing is the follower's business, read or not


def test_a_cycle_delivers_only_what_the_source_read(syncs: list[BackgroundSync]) -> None:
    source = Source(lambda names: {})  # a source whose push channel missed nothing
    sync = BackgroundSync(source, name="test", sync_interval=0.05)
    syncs.append(sync)
    follower = Follower()
    sync.watch("quiet", follower)
    deadline = time.monotonic() + 5
    while len(source.refreshed) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)  # real wait: three cycles
    assert source.refreshed[:3] == [["quiet"]] * 3
    assert follower.adopted == [] and follower.lost_because == []
    assert follower.flushes >= 3
