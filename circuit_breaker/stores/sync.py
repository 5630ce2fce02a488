"""The background thread of a shared store: breakers stay fresh without waiting for it.

Every ``sync_interval`` the thread reads the watched records in one round trip, lets
each breaker flush what it owes the store, and delivers the records; between cycles it
delivers what the store pushes (Redis pub/sub), and every ``flush_interval`` (or at once
when a breaker asks) lets breakers flush their rate-rule counts. While the store is
down it tells the breakers (they go on with local state) and tries again every
``sync_interval`` -- never later -- so a trip made elsewhere is honoured within one
interval of the store answering.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from circuit_breaker.errors import StoreUnavailableError
from circuit_breaker.stores.base import Follower, StoreResult

logger = logging.getLogger("circuit_breaker")

_MAX_WAIT = 0.5  # the longest the thread blocks, so that stopping it is prompt
DEFAULT_FLUSH_INTERVAL = 0.25


class SyncSource(Protocol):
    """What the thread needs from a store."""

    def refresh(self, names: Sequence[str]) -> Mapping[str, StoreResult]:
        """The records of ``names`` in one round trip, tried even while believed down."""
        ...

    def listen(self, timeout: float) -> Iterable[tuple[str, StoreResult]]:
        """Records other processes changed, waiting at most ``timeout`` seconds."""
        ...

    def reset(self) -> None:
        """After an error: drop connections the next cycle re-creates."""
        ...


class BackgroundSync:
    """Followers by breaker name, and the thread that serves them (started on first watch)."""

    def __init__(
        self,
        source: SyncSource,
        *,
        name: str,
        sync_interval: float,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
    ) -> None:
        self._source = source
        self._name = name
        self.sync_interval = sync_interval
        self.flush_interval = flush_interval
        # Short waits, so that an early flush (a breaker about to trip) goes out at once.
        self._max_wait = min(_MAX_WAIT, flush_interval / 5)
        self._flush_soon = threading.Event()
        self._lock = threading.Lock()
        # Copy on write: the thread reads the mapping without the lock.
        self._followers: dict[str, tuple[Follower, ...]] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        os.register_at_fork(after_in_child=_restart_after_fork(self))

    def watch(self, name: str, follower: Follower) -> None:
        with self._lock:
            followers = dict(self._followers)
            followers[name] = (*followers.get(name, ()), follower)
            self._followers = followers
            if self._thread is None or not self._thread.is_alive():
                self._start()

    def unwatch(self, name: str, follower: Follower) -> None:
        with self._lock:
            followers = dict(self._followers)
            remaining = tuple(f for f in followers.get(name, ()) if f is not follower)
            if remaining:
                followers[name] = remaining
            else:
                followers.pop(name, None)
            self._followers = followers

    def watched(self) -> list[str]:
        return list(self._followers)

    def deliver(self, name: str, result: StoreResult) -> None:
        for follower in self._followers.get(name, ()):
            follower.adopt(result)

    def wake(self) -> None:
        """Run a cycle now rather than at the next interval."""
        self._wake.set()

    def flush_soon(self) -> None:
        """Let the followers flush now rather than at the next flush interval."""
        self._flush_soon.set()

    def stop(self) -> None:
        """Stop the thread, after one last flush: counts still buffered are not lost."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        self._thread = None
        try:
            self._flush()
        except Exception:  # the store may be gone: nothing more to do
            logger.debug("%s: the last flush failed", self._name, exc_info=True)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _start(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop,
            args=(self._stop,),
            name=f"circuit-breaker-sync-{self._name}",
            daemon=True,
        )
        self._thread.start()

    def _loop(self, stop: threading.Event) -> None:
        next_cycle = next_flush = 0.0
        while not stop.is_set():
            try:
                # Listen first: a source (re)subscribing asks for a read (wake), so that
                # nothing published before it listened goes unseen.
                due = min(next_cycle, next_flush)
                timeout = max(0.0, min(due - time.monotonic(), self._max_wait))
                for name, result in self._source.listen(timeout):
                    self.deliver(name, result)
                now = time.monotonic()
                if now >= next_cycle or self._wake.is_set():
                    self._wake.clear()
                    self._flush_soon.clear()
                    self._cycle()
                    next_cycle = time.monotonic() + self.sync_interval
                    next_flush = time.monotonic() + self.flush_interval
                elif now >= next_flush or self._flush_soon.is_set():
                    self._flush_soon.clear()
                    self._flush()
                    next_flush = time.monotonic() + self.flush_interval
            except StoreUnavailableError as exc:
                self._lose(str(exc))
                self._source.reset()
                next_cycle = time.monotonic() + self.sync_interval
                self._pause(stop, self.sync_interval)
            except Exception:
                logger.exception(
                    "%s: the store's background thread failed; carrying on", self._name
                )
                self._source.reset()
                self._pause(stop, self.sync_interval)

    def _pause(self, stop: threading.Event, seconds: float) -> None:
        """Wait ``seconds``, or less if woken or stopped (checked every half second: a
        wake-up consumed by a cycle must not hide a stop)."""
        deadline = time.monotonic() + seconds
        while not stop.is_set() and not self._wake.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._wake.wait(min(remaining, _MAX_WAIT))

    def _flush(self) -> None:
        for group in self._followers.values():
            for follower in group:
                follower.flush()

    def _cycle(self) -> None:
        """Read first (it tells whether the store answers), then flush, then deliver.

        A breaker that flushes adopts the store's answer to its flush; the older record
        read before is then ignored (records carry a sequence number).
        """
        followers = self._followers
        if not followers:
            return
        results = self._source.refresh(list(followers))
        self._flush()
        for name, result in results.items():
            self.deliver(name, result)

    def _lose(self, error: str) -> None:
        for group in self._followers.values():
            for follower in group:
                follower.lost(error)


def _restart_after_fork(sync: BackgroundSync) -> Callable[[], None]:
    """A forked child (gunicorn --preload) has no thread: start one if breakers watch."""
    ref = weakref.ref(sync)

    def restart() -> None:
        child = ref()
        if child is None:
            return
        child._lock = threading.Lock()
        child._thread = None
        child._source.reset()
        if child._followers and not child._stop.is_set():
            child._start()

    return restart
