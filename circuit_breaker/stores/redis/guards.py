"""The Redis store's outage guards: one for the deployment and, on a cluster, one per node.

A cluster that loses one node still serves the breakers whose slots the other nodes hold
(with ``cluster-require-full-coverage no``, or once a replica is promoted), so the loss
of a node keeps callers off that node only: its breakers fall back to local state, the
others carry on. What the whole deployment raises -- no node reachable, ``CLUSTERDOWN``,
a server or Sentinel primary gone -- keeps callers off every breaker, as an outage of a
single server does.
"""

from __future__ import annotations

import threading

from redis.exceptions import ClusterDownError, RedisClusterException, SlotNotCoveredError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from circuit_breaker.errors import StoreUnavailableError
from circuit_breaker.stores.base import OutageGuard, RoundTrip
from circuit_breaker.stores.redis.topology import UNAVAILABLE_ERRORS, RedisTopology

STORE_ERRORS: tuple[type[BaseException], ...] = (*UNAVAILABLE_ERRORS, OSError)
# What one node raises when it cannot be talked to (the cluster client has already
# re-read the slot map by then, so the next call may reach a promoted replica).
NODE_ERRORS: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)


def _is_outage(exc: BaseException) -> bool:
    """Redis cannot be talked to (not: it refused one command)."""
    return isinstance(exc, (*NODE_ERRORS, ClusterDownError, RedisClusterException))


class Guards:
    """The deployment's guard, and a guard per cluster node (created when first used)."""

    def __init__(self, topology: RedisTopology) -> None:
        self._topology = topology
        self.per_node = topology.sharded
        self.store = OutageGuard(
            f"Redis store at {topology.describe()}",
            STORE_ERRORS,
            is_outage=_is_outage,
        )
        self._lock = threading.Lock()
        self._nodes: dict[str, OutageGuard] = {}

    def node(self, name: str) -> OutageGuard:
        """The guard of node ``name`` (the deployment's own for a server or Sentinel)."""
        if not self.per_node:
            return self.store
        guard = self._nodes.get(name)
        if guard is None:
            with self._lock:
                guard = self._nodes.setdefault(
                    name,
                    OutageGuard(
                        f"Redis Cluster node {name} of {self._topology.describe()}",
                        NODE_ERRORS,
                    ),
                )
        return guard

    def around(self, key: str, *, manual: bool = False) -> RoundTrip:
        """Wrap a round trip about ``key``: refused at once while its node or the whole
        deployment is believed down, unless ``manual`` (which always tries)."""
        deployment = self.store.probe() if manual else self.store.attempt()
        if not self.per_node:
            return deployment
        try:
            node = self.node(self._topology.node_of(key))
        except SlotNotCoveredError as exc:  # no node serves the slot: nothing to try
            raise StoreUnavailableError(f"{self._topology.describe()}: {exc}") from exc
        return _Nested(deployment, node.probe() if manual else node.attempt())

    def failed(self, error: BaseException) -> None:
        """An error about the whole deployment outside a round trip (the sentinels could
        not name the primary): raises StoreUnavailableError, or ``error`` itself if the
        guard does not know it. A success there would say nothing of the store."""
        with self.store.probe():
            raise error

    def report(self, node: str, error: BaseException | None) -> None:
        """How a round trip to ``node`` went when no ``with`` could wrap it (a read of
        several nodes writes to all of them before reading any). Raises what
        :meth:`around` would: StoreUnavailableError for an error the guard knows."""
        with self.node(node).probe():
            if error is not None:
                raise error


class _Nested(RoundTrip):
    """The deployment's guard around a node's: what the node's guard makes of an error,
    the deployment's sees."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, outer: RoundTrip, inner: RoundTrip) -> None:
        self._outer = outer
        self._inner = inner

    def settle(self, exc: BaseException | None) -> None:
        try:
            self._inner.settle(exc)
        except BaseException as converted:
            self._outer.settle(converted)
            raise
        self._outer.settle(exc)
