"""How a process hears the other processes' changes: the subscriptions of the Redis
store's background thread, and what it re-reads (the thread's ``SyncSource``).

Every breaker has its own event channel, ``prefix:{name}:events``. On a Redis Cluster it
is a shard channel (``SPUBLISH``/``SSUBSCRIBE``): it shares the key's hash tag, so the
script publishes on the node it runs on, the message stays within that shard, and a
process subscribes on each node that holds breakers it watches (one connection per
node). On one server or a Sentinel primary the same channels are classic ones, all on
one connection. Either way a process receives the events of the breakers it watches and
nothing else.

Redis pub/sub loses a message only when the subscriber is disconnected (an output buffer
that overflows disconnects it too). So a record needs reading only when its
subscription starts -- at start-up, after any error, after a Sentinel failover -- and
not every cycle: at rest a process sends one PING per subscription connection per
``sync_interval`` (allowed while subscribed) and nothing else, whatever the number of
breakers. A PING unanswered within ``socket_timeout``, an error, or a primary change
drops the connection; its breakers are then read every cycle until they are subscribed
again, and once more after that. Breakers a caller could not reach the store for are
read at the next cycle too (they went on with local state meanwhile).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from redis import Redis
from redis.crc import key_slot
from redis.exceptions import AskError, MovedError

from circuit_breaker.stores.base import StoreResult
from circuit_breaker.stores.redis.guards import STORE_ERRORS, Guards
from circuit_breaker.stores.redis.reading import read_records, text
from circuit_breaker.stores.redis.script import parse_reply
from circuit_breaker.stores.redis.topology import RedisTopology
from circuit_breaker.stores.sync import Unreadable

logger = logging.getLogger("circuit_breaker")

_CHECKED_EVERY = 0.9  # of sync_interval: a cycle a little early still checks


class SubscriptionLost(Exception):
    """A subscription connection cannot be trusted any more (its messages may be lost)."""


_LISTENER_ERRORS: tuple[type[BaseException], ...] = (*STORE_ERRORS, SubscriptionLost)


class _Listener:
    """One subscription connection: to the server (or primary), or to one cluster node.

    Commands are written without waiting; their answers arrive among the messages.
    """

    def __init__(self, node: str, client: Redis[Any], *, sharded: bool) -> None:
        self.node = node
        self._pool = client.connection_pool
        self._sharded = sharded
        self.connection = self._pool.get_connection()
        self._pid = os.getpid()
        self.channels: dict[str, str] = {}  # confirmed: channel -> breaker name
        self.pending: dict[str, str] = {}  # asked for, not confirmed yet
        self.pings = 0  # PINGs not answered yet

    def subscribe(self, channels: Mapping[str, str]) -> None:
        self.pending.update(channels)
        self._send(self._per_slot("SSUBSCRIBE", channels) if self._sharded else
                   [("SUBSCRIBE", *channels)])  # fmt: skip

    def unsubscribe(self, channels: Iterable[str]) -> None:
        gone = {channel: "" for channel in channels}
        if not gone:  # UNSUBSCRIBE with no channel would end every subscription
            return
        for channel in gone:
            self.channels.pop(channel, None)
            self.pending.pop(channel, None)
        self._send(self._per_slot("SUNSUBSCRIBE", gone) if self._sharded else
                   [("UNSUBSCRIBE", *gone)])  # fmt: skip

    def ping(self) -> None:
        self.pings += 1
        self._send([("PING",)])

    def fileno(self) -> int:
        sock = self.connection._sock
        if sock is None:
            raise SubscriptionLost("connection closed")
        return int(sock.fileno())

    def has_data(self) -> bool:
        # A closed connection must not reconnect by itself: it would hold no subscription.
        self.fileno()
        return bool(self.connection.can_read(timeout=0))

    def read(self) -> Any:
        return self.connection.read_response(push_request=True)

    def close(self) -> None:
        # A forked child must not shut its parent's socket down: the parent still uses it.
        if self._pid == os.getpid():
            with contextlib.suppress(*STORE_ERRORS):
                self.connection.disconnect()
                self._pool.release(self.connection)

    def _send(self, commands: Sequence[tuple[str, ...]]) -> None:
        if commands:
            self.fileno()
            self.connection.send_packed_command(self.connection.pack_commands(commands))

    @staticmethod
    def _per_slot(command: str, channels: Mapping[str, str]) -> list[tuple[str, ...]]:
        """Shard channels of one command must share a slot."""
        by_slot: dict[int, list[str]] = {}
        for channel in channels:
            by_slot.setdefault(key_slot(channel.encode()), []).append(channel)
        return [(command, *group) for group in by_slot.values()]


class Watcher:
    """The Redis store's ``SyncSource``: subscriptions, their upkeep, and the reads that
    make up for what they may have missed."""

    def __init__(
        self,
        topology: RedisTopology,
        guards: Guards,
        *,
        key_of: Callable[[str], str],
        channel_of: Callable[[str], str],
        instance_id: str,
        sync_interval: float,
        answer_within: float,
        wake: Callable[[], None],
    ) -> None:
        self._topology = topology
        self._guards = guards
        self._key_of = key_of
        self._channel_of = channel_of
        self._instance_id = instance_id
        self._interval = sync_interval
        self._answer_within = answer_within
        self._wake = wake
        self._listeners: dict[str, _Listener] = {}
        self._lock = threading.Lock()
        self._unsure: set[str] = set()  # names to read at the next cycle
        self._heard: list[tuple[str, StoreResult]] = []  # messages read during a cycle
        self._next_check = 0.0
        self._cycling = False  # a drop during a cycle needs no extra cycle
        self._slots_moved = False
        self._primary_moves = topology.primary_moves

    def resync(self, name: str) -> None:
        """A caller could not reach the store for ``name``: read it at the next cycle."""
        with self._lock:
            self._unsure.add(name)

    # -- SyncSource ----------------------------------------------------------------------

    def refresh(self, names: Sequence[str]) -> Mapping[str, StoreResult | Unreadable]:
        """Keep the subscriptions, then read only what they may have missed."""
        watched = set(names)
        with self._lock:
            unsure, self._unsure = self._unsure, set()
        self._cycling = True
        try:
            self._check()
            confirmed = self._subscribe(watched)
            listening = {name for lst in self._listeners.values() for name in lst.channels.values()}
            wanted = (watched - listening) | confirmed | (unsure & watched)
            if self._guards.store.is_down:  # callers met an outage: is it over? (all read)
                wanted = watched
            if not wanted:
                return {}
            reading = read_records(self._topology, self._guards, wanted, self._key_of)
        except BaseException:
            with self._lock:
                self._unsure |= unsure
            raise
        finally:
            self._cycling = False
        with self._lock:
            self._unsure |= reading.again
        lost = {name: Unreadable(error) for name, error in reading.lost.items()}
        return {**reading.results, **lost}

    def listen(self, timeout: float) -> list[tuple[str, StoreResult]]:
        """Changes published by other processes, waiting at most ``timeout`` seconds."""
        if not self._heard:
            listeners = list(self._listeners.values())
            if not listeners:
                time.sleep(timeout)
                return []
            for listener in self._ready(listeners, timeout):
                self._drain(listener)
        heard, self._heard = self._heard, []
        return heard

    def reset(self) -> None:
        for listener in list(self._listeners.values()):
            self._drop(listener, "reset", wake=False)  # the thread decides when to retry

    # -- upkeep --------------------------------------------------------------------------

    def _check(self) -> None:
        """Once per sync interval: follow a moved primary, PING every subscription."""
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + _CHECKED_EVERY * self._interval
        try:
            self._topology.follow_primary()
        except STORE_ERRORS as exc:
            self._guards.failed(exc)
            raise
        moves, self._primary_moves = self._primary_moves, self._topology.primary_moves
        moved = moves != self._primary_moves
        for listener in list(self._listeners.values()):
            if moved:
                self._drop(listener, "the primary moved")
            else:
                self._attempt(listener, listener.ping)

    def _subscribe(self, watched: set[str]) -> set[str]:
        """Subscribe to what is watched and not yet listened to, forget what is not
        watched any more; the names whose subscription was confirmed just now."""
        if self._slots_moved:
            self._slots_moved = False
            with contextlib.suppress(*STORE_ERRORS):
                self._topology.forget_slots()
        missing: dict[str, dict[str, str]] = {}
        for listener in list(self._listeners.values()):
            asked = {**listener.channels, **listener.pending}
            gone = [channel for channel, name in asked.items() if name not in watched]
            if len(gone) == len(asked):  # nothing left to hear there
                self._drop(listener, "no breaker watched on it", wake=False)
            elif gone:
                self._attempt(listener, partial(listener.unsubscribe, gone))
        listening = {
            name
            for listener in self._listeners.values()
            for name in (*listener.channels.values(), *listener.pending.values())
        }
        for name in watched - listening:
            try:
                node = self._topology.node_of(self._key_of(name))
            except STORE_ERRORS:  # no node for it now: it is read every cycle meanwhile
                continue
            missing.setdefault(node, {})[self._channel_of(name)] = name
        for node, channels in missing.items():
            found = self._listeners.get(node) or self._connect(node)
            if found is not None:
                self._attempt(found, partial(found.subscribe, channels))
        return self._settle()

    def _connect(self, node: str) -> _Listener | None:
        try:
            listener = _Listener(
                node, self._topology.node_client(node), sharded=self._topology.sharded
            )
        except STORE_ERRORS as exc:  # its breakers are read every cycle meanwhile
            logger.debug("cannot subscribe on %s: %s", node, exc)
            self._slots_moved = self._topology.sharded  # a replica may have replaced it
            return None
        self._listeners[node] = listener
        return listener

    def _settle(self) -> set[str]:
        """Wait (``answer_within`` at most) for every confirmation and PING answer; drop
        the connections that do not answer in time."""
        confirmed: set[str] = set()
        deadline = time.monotonic() + self._answer_within
        while True:
            waiting = [lst for lst in self._listeners.values() if lst.pending or lst.pings]
            left = deadline - time.monotonic()
            if not waiting:
                return confirmed
            if left <= 0:
                for listener in waiting:
                    self._drop(listener, f"no answer within {self._answer_within:g}s")
                return confirmed
            for listener in self._ready(waiting, left):
                confirmed |= self._drain(listener)

    def _ready(self, listeners: list[_Listener], timeout: float) -> list[_Listener]:
        ready = []
        for listener in listeners:
            if self._attempt(listener, listener.has_data):
                ready.append(listener)
        alive = [lst for lst in listeners if lst.node in self._listeners]
        if ready or not alive or timeout <= 0:
            return ready
        try:
            readable, _, _ = select.select(alive, [], [], timeout)
        except (OSError, ValueError, SubscriptionLost):  # closed meanwhile: found out next
            return alive
        return list(readable)

    def _drain(self, listener: _Listener) -> set[str]:
        """Read what ``listener`` has; the names whose subscription it confirmed."""
        confirmed: set[str] = set()
        while listener.node in self._listeners and self._attempt(listener, listener.has_data):
            reply = self._attempt(listener, listener.read)
            if reply is not None:
                confirmed |= self._handle(listener, reply)
        return confirmed

    def _handle(self, listener: _Listener, reply: Any) -> set[str]:
        if not isinstance(reply, list):  # PONG while subscribed (RESP3)
            listener.pings = max(0, listener.pings - 1)
            return set()
        kind, channel = text(reply[0]).lower(), text(reply[1]) if len(reply) > 1 else ""
        if kind in ("message", "smessage"):
            self._hear(reply[2])
        elif kind in ("subscribe", "ssubscribe"):
            name = listener.pending.pop(channel, None)
            if name is not None:
                listener.channels[channel] = name
                return {name}
        elif kind == "sunsubscribe" and channel in listener.channels:
            # The slot moved to another node: subscribe there, and read what was missed.
            listener.channels.pop(channel)
            self._slots_moved = True
            self._wake()
        elif kind == "pong":  # PONG while subscribed (RESP2)
            listener.pings = max(0, listener.pings - 1)
        return set()

    def _hear(self, data: bytes | str) -> None:
        writer, *reply = json.loads(text(data))
        if writer != self._instance_id:
            name, record, server_now, _ = parse_reply(reply)
            self._heard.append((name, StoreResult(record, server_now)))

    def _attempt(self, listener: _Listener, action: Callable[[], Any]) -> Any:
        """Run ``action`` on ``listener``; any error drops it (None then)."""
        if listener.node not in self._listeners:
            return None
        try:
            return action()
        except _LISTENER_ERRORS as exc:
            if isinstance(exc, MovedError | AskError):
                self._slots_moved = True
            self._drop(listener, str(exc) or type(exc).__name__)
            return None

    def _drop(self, listener: _Listener, why: str, *, wake: bool = True) -> None:
        """Forget a subscription: its breakers are read at the next cycle -- asked for
        now with ``wake`` -- and every cycle until they are subscribed again."""
        if self._listeners.get(listener.node) is listener:
            del self._listeners[listener.node]
            listener.close()
            logger.debug("subscription on %s dropped (%s)", listener.node, why)
            if wake and not self._cycling:
                self._wake()
