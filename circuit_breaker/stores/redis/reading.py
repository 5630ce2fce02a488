"""Reading many breaker records at once: one round trip per node, each with its clock.

The keys are grouped by the node holding them; every node gets ``TIME`` followed by its
``HGETALL``s in one write, all nodes are written before any is read, and each record is
paired with its own node's clock (the clock its deadlines were written with).

This goes straight to each node's connection rather than through redis-py's cluster
pipeline: when a node fails mid-pipeline, redis-py resends each of that node's commands
on its own, re-reading the slot map every time -- with hundreds of breakers on a node
that does not answer, hundreds of timeouts. Here a node that fails costs one timeout and
only its breakers are reported unreadable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from redis.connection import AbstractConnection
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MovedError,
    ResponseError,
    SlotNotCoveredError,
)

from circuit_breaker.core.record import BreakerRecord
from circuit_breaker.errors import StoreUnavailableError
from circuit_breaker.stores.base import StoreResult
from circuit_breaker.stores.redis.guards import NODE_ERRORS, STORE_ERRORS, Guards
from circuit_breaker.stores.redis.script import FIELDS, parse_record
from circuit_breaker.stores.redis.topology import RedisTopology


@dataclass
class Reading:
    """What a read found: records, names whose node is unreachable (with the reason),
    and names to read again (their slot moved to another node meanwhile)."""

    results: dict[str, StoreResult] = field(default_factory=dict)
    lost: dict[str, str] = field(default_factory=dict)
    again: set[str] = field(default_factory=set)


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def hash_record(raw: Mapping[bytes | str, bytes | str], seed: int) -> BreakerRecord:
    """A record from HGETALL; a missing key is a fresh record whose seq continues from
    ``seed``; missing fields take the script's defaults (a hash edited by hand)."""
    if not raw:
        return BreakerRecord(seq=seed)
    fields = {text(name): text(value) for name, value in raw.items()}
    fields.setdefault("seq", str(seed))
    return parse_record([fields.get(name, "") for name in FIELDS])


class _NodeRead:
    """TIME and the HGETALLs of one node, on one connection of its pool."""

    def __init__(self, client: Redis[Any], keys: Sequence[str]) -> None:
        self.client = client
        self.keys = keys
        self.connection: AbstractConnection | None = None
        self.clock: tuple[int, int] = (0, 0)
        self.replies: list[Any] = []

    def send(self) -> None:
        pool = self.client.connection_pool
        self.connection = connection = pool.get_connection()
        commands = [("TIME",), *(("HGETALL", key) for key in self.keys)]
        try:
            connection.send_packed_command(connection.pack_commands(commands))
        except BaseException:
            self.release(broken=True)
            raise

    def receive(self) -> None:
        connection = self.connection
        assert connection is not None
        broken = True
        try:
            self.clock = self.client.parse_response(connection, "TIME")
            for _ in self.keys:
                try:
                    self.replies.append(self.client.parse_response(connection, "HGETALL"))
                except ResponseError as exc:  # about this key only: the rest still come
                    self.replies.append(exc)
            broken = False
        finally:
            self.release(broken=broken)

    def release(self, *, broken: bool) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            if broken:  # unread replies would be the next user's
                connection.disconnect()
            self.client.connection_pool.release(connection)


def read_records(
    topology: RedisTopology,
    guards: Guards,
    names: Iterable[str],
    key_of: Callable[[str], str],
) -> Reading:
    """The records of ``names``; raises StoreUnavailableError when the whole deployment
    cannot be read (on a cluster, a node that cannot be read makes its names ``lost``)."""
    reading = Reading()
    with guards.store.probe():
        groups: dict[str, list[str]] = {}
        for name in names:
            try:
                node = topology.node_of(key_of(name))
            except SlotNotCoveredError as exc:  # no node serves the slot: nothing to ask
                reading.lost[name] = f"{topology.describe()}: {exc}"
                continue
            groups.setdefault(node, []).append(name)
        reads = {
            node: _NodeRead(topology.node_client(node), [key_of(name) for name in group])
            for node, group in groups.items()
        }
        failed = _run(reads, per_node=guards.per_node)
        for read in reads.values():
            for reply in read.replies:
                if isinstance(reply, ClusterDownError):  # the cluster refuses every key
                    raise reply
    # A node that failed may have been replaced (a promoted replica): where are its slots?
    moved = bool(failed)
    for node, read in reads.items():
        group = groups[node]
        try:
            guards.report(node, failed.get(node))
        except StoreUnavailableError as exc:
            reading.lost.update(dict.fromkeys(group, str(exc)))
            continue
        seconds, microseconds = read.clock
        now = seconds + microseconds / 1_000_000
        seed = seconds * 1_000_000 + microseconds
        for name, reply in zip(group, read.replies, strict=True):
            if isinstance(reply, MovedError | AskError):
                moved = True
                reading.again.add(name)
            elif isinstance(reply, ResponseError):
                reading.lost[name] = f"{topology.describe()}: {reply}"
            else:
                reading.results[name] = StoreResult(hash_record(reply, seed), now)
    if moved:
        with suppress(*STORE_ERRORS):  # best effort: the names are read again anyway
            topology.forget_slots()
    return reading


def _run(reads: Mapping[str, _NodeRead], *, per_node: bool) -> dict[str, BaseException]:
    """Write to every node, then read every node; the nodes that failed, with why.

    Without ``per_node`` (one server) a failure is raised: it is the deployment's."""
    failed: dict[str, BaseException] = {}
    try:
        for step in (_NodeRead.send, _NodeRead.receive):
            for node, read in reads.items():
                if node in failed:
                    continue
                try:
                    step(read)
                except NODE_ERRORS as exc:
                    if not per_node:
                        raise
                    failed[node] = exc
    finally:
        for read in reads.values():
            read.release(broken=True)  # only a read interrupted midway still holds one
    return failed


def all_or_unavailable(reading: Reading) -> dict[str, StoreResult]:
    """The records read, or StoreUnavailableError when not a single one could be."""
    if not reading.results and reading.lost:
        raise StoreUnavailableError(next(iter(reading.lost.values())))
    return reading.results
