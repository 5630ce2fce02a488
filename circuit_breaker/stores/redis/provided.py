"""A client the application built, as the store's topology (``RedisStore(client=...)``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis import Redis
from redis.cluster import RedisCluster
from redis.sentinel import SentinelConnectionPool

from circuit_breaker.stores.redis.options import RedisOptions, Topology
from circuit_breaker.stores.redis.topology import (
    AnyClient,
    PrimaryFollower,
    RedisTopology,
    cluster_node_client,
    cluster_node_of,
)


class ProvidedTopology(RedisTopology):
    """A client the application built and passed in (``RedisStore(client=...)``): a
    ``Redis``, a ``RedisCluster``, or a Sentinel ``master_for()`` client. Used as given
    (its retries and timeouts are the application's choice) and never closed."""

    def __init__(self, client: AnyClient) -> None:
        cluster = isinstance(client, RedisCluster)
        super().__init__(RedisOptions(topology=Topology.CLUSTER if cluster else Topology.SERVER))
        self._client = client
        pool = None if isinstance(client, RedisCluster) else client.connection_pool
        self._follower = (
            PrimaryFollower(pool, self.describe())
            if isinstance(pool, SentinelConnectionPool)
            else None
        )

    def client(self) -> AnyClient:
        return self._client

    def node_of(self, key: str) -> str:
        client = self._client
        if isinstance(client, RedisCluster):
            return cluster_node_of(client, key)
        return self.PRIMARY

    def node_client(self, node: str) -> Redis[Any]:
        client = self._client
        if isinstance(client, RedisCluster):
            return cluster_node_client(client, node)
        return client

    def forget_slots(self) -> None:
        if isinstance(self._client, RedisCluster):
            self._client.nodes_manager.initialize()

    def follow_primary(self) -> bool:
        return self._follower.follow() if self._follower is not None else False

    @property
    def primary_moves(self) -> int:
        return self._follower.moves if self._follower is not None else 0

    @contextmanager
    def fresh_client(self) -> Iterator[AnyClient]:
        self.follow_primary()
        self.forget_slots()
        with super().fresh_client() as client:
            yield client

    def describe(self) -> str:
        client = self._client
        if isinstance(client, RedisCluster):
            node = client.get_default_node()
            return f"Redis Cluster via {node.name if node is not None else '?'}"
        pool = client.connection_pool
        if isinstance(pool, SentinelConnectionPool):
            return f"Redis Sentinel service {pool.service_name!r}"
        kwargs: dict[str, Any] = getattr(pool, "connection_kwargs", {})
        if "path" in kwargs:
            return f"Redis unix:{kwargs['path']} db {kwargs.get('db', 0)}"
        return f"Redis {kwargs.get('host', '?')}:{kwargs.get('port', '?')} db {kwargs.get('db', 0)}"

    def close(self) -> None:
        """The client is the application's: it closes it."""
