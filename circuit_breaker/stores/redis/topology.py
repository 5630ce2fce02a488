"""Clients for where the fleet store's Redis is: one server, a Redis Cluster, or a
Sentinel-managed primary (:mod:`circuit_breaker.stores.redis.options` describes them).

Every topology fails fast, as a breaker store must: no retries, no backoff and short
socket timeouts, so that an outage costs a caller one timeout and the breakers carry on
with their local state.

Besides its shared client, a topology says which node holds a key (:meth:`RedisTopology.
node_of`): a cluster's reads and subscriptions then go one round trip per node, and the
store tells the loss of one node from the loss of the whole deployment.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeAlias

from redis import Redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import (
    AuthenticationError,
    RedisClusterException,
    RedisError,
    ResponseError,
    SlotNotCoveredError,
)
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError, Sentinel, SentinelConnectionPool

from circuit_breaker.stores.redis.options import (
    RedisOptions,
    RedisOptionsError,
    Topology,
    tls_file_problems,
)

logger = logging.getLogger("circuit_breaker")

# What a round trip raises when Redis is down, misconfigured or mid-failover. A Redis
# Cluster client raises RedisClusterException -- not a RedisError -- when it cannot reach
# any node to rediscover the slots, or when a slot has no node.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException)

# Redis is generic in its stubs only: the alias must not be evaluated.
AnyClient: TypeAlias = "Redis[Any] | RedisCluster[Any]"


class RedisCheckError(Exception):
    """Redis could not be reached or refused us: the message says which and why."""


def _fail_fast() -> Retry:
    return Retry(NoBackoff(), 0)


class RedisTopology(ABC):
    """A Redis deployment the store talks to: its client, where each key lives, and what
    keeps the client pointed at the right server (:meth:`follow_primary`,
    :meth:`fresh_client`)."""

    PRIMARY = "primary"  # the one node of a server or Sentinel topology

    def __init__(self, options: RedisOptions) -> None:
        self.options = options

    @property
    def kind(self) -> Topology:
        return self.options.topology

    @property
    def sharded(self) -> bool:
        """Events go on sharded channels (SPUBLISH/SSUBSCRIBE): only a cluster has shards."""
        return self.kind is Topology.CLUSTER

    @abstractmethod
    def client(self) -> AnyClient:
        """The shared client; every round trip may raise one of ``UNAVAILABLE_ERRORS``."""

    def node_of(self, key: str) -> str:
        """The name of the node holding ``key`` (any key or channel with its hash tag)."""
        return self.PRIMARY

    def node_client(self, node: str) -> Redis[Any]:
        """A client of node ``node`` alone (its connections are the shared client's)."""
        client = self.client()
        assert isinstance(client, Redis)  # a cluster topology overrides this
        return client

    def forget_slots(self) -> None:
        """A node answered MOVED: read the slot map again (a cluster only)."""
        return None

    def follow_primary(self) -> bool:
        """Make new round trips go to the current primary; True when it changed.

        Call it every sync interval from the store's background thread. After a change a
        pub/sub subscription still listens on the old primary: subscribe again.
        """
        return False

    @property
    def primary_moves(self) -> int:
        """How many times the primary was seen to move, whoever asked (a manual action
        asks too): a subscription made before the last move must be made again."""
        return 0

    @contextmanager
    def fresh_client(self) -> Iterator[AnyClient]:
        """A client for one call that must reach the current primary (a manual action
        right after a failover or a restart)."""
        client = self.client()
        if isinstance(client, Redis):
            # A pooled connection may predate a restart: one failed attempt is all a
            # fail-fast client makes, so start from new connections.
            client.connection_pool.disconnect(inuse_connections=False)
        yield client

    @abstractmethod
    def describe(self) -> str:
        """The topology in words, for log messages; never the password."""

    def check(self) -> None:
        """One PING on a fresh connection; RedisCheckError says what went wrong."""
        try:
            with self.fresh_client() as client:
                client.ping()
        except UNAVAILABLE_ERRORS as exc:
            raise RedisCheckError(f"{self.describe()}: {explain(exc)}") from exc

    @abstractmethod
    def close(self) -> None:
        """Release every connection; the topology is unusable after."""

    def _connection_kwargs(self) -> dict[str, Any]:
        """Per-connection settings every topology shares (not the address)."""
        options = self.options
        kwargs: dict[str, Any] = {
            "socket_timeout": options.socket_timeout,
            "socket_connect_timeout": options.socket_connect_timeout,
            "username": options.username,
            "password": options.password,
        }
        kwargs.update(self._tls_kwargs())
        return kwargs

    def _tls_kwargs(self) -> dict[str, Any]:
        options = self.options
        if not options.tls:
            return {}
        return {
            "ssl": True,
            "ssl_ca_certs": options.ssl_ca_certs,
            "ssl_certfile": options.ssl_certfile,
            "ssl_keyfile": options.ssl_keyfile,
        }

    def _suffix(self, *details: str) -> str:
        options = self.options
        extras = [*details]
        if options.tls:
            extras.append("TLS")
        if options.username:
            extras.append(f"user {options.username!r}")
        return f" ({', '.join(extras)})" if extras else ""


class ServerTopology(RedisTopology):
    """One Redis server, over TCP (optionally TLS) or a unix socket."""

    def __init__(self, options: RedisOptions) -> None:
        super().__init__(options)
        kwargs = self._connection_kwargs()
        if options.unix_socket is not None:
            kwargs["unix_socket_path"] = options.unix_socket
        else:
            kwargs.update(host=options.host, port=options.port)
        self._client: Redis[Any] = Redis(db=options.db, retry=_fail_fast(), **kwargs)

    def client(self) -> Redis[Any]:
        return self._client

    def describe(self) -> str:
        options = self.options
        where = (
            f"unix:{options.unix_socket}"
            if options.unix_socket is not None
            else f"{options.host}:{options.port}"
        )
        return f"Redis {where} db {options.db}{self._suffix()}"

    def close(self) -> None:
        self._client.close()


def cluster_node_of(client: RedisCluster[Any], key: str) -> str:
    """Raises SlotNotCoveredError when no node serves the key's slot."""
    node = client.get_node_from_key(key)
    if node is None:
        raise SlotNotCoveredError(f"no node serves the slot of {key!r}")
    return str(node.name)


def cluster_node_client(client: RedisCluster[Any], node: str) -> Redis[Any]:
    found = client.get_node(node_name=node)
    if found is None:
        raise RedisClusterException(f"node {node} is no longer in the cluster")
    node_client: Redis[Any] = client.get_redis_connection(found)
    return node_client


class ClusterTopology(RedisTopology):
    """A Redis Cluster reached through any one node.

    redis-py discovers the slot map when the client is built, so the client is built on
    first use: a cluster down when the application starts is an outage like any other,
    not a crash at start-up.
    """

    def __init__(self, options: RedisOptions) -> None:
        super().__init__(options)
        self._lock = threading.Lock()
        self._client: RedisCluster[Any] | None = None

    def client(self) -> RedisCluster[Any]:
        client = self._client
        if client is None:
            with self._lock:
                client = self._client
                if client is None:
                    client = self._client = RedisCluster(
                        host=self.options.host,
                        port=self.options.port,
                        retry=_fail_fast(),
                        # Keep serving the covered slots when a node is lost and the
                        # servers allow it (cluster-require-full-coverage no).
                        require_full_coverage=False,
                        **self._connection_kwargs(),
                    )
        return client

    def node_of(self, key: str) -> str:
        return cluster_node_of(self.client(), key)

    def node_client(self, node: str) -> Redis[Any]:
        return cluster_node_client(self.client(), node)

    def forget_slots(self) -> None:
        self.client().nodes_manager.initialize()

    @contextmanager
    def fresh_client(self) -> Iterator[RedisCluster[Any]]:
        """The shared client with its slot map re-read: after a failover the next call
        reaches the promoted replica instead of failing once on the dead master."""
        client = self.client()
        client.nodes_manager.initialize()
        yield client

    def describe(self) -> str:
        return f"Redis Cluster via {self.options.host}:{self.options.port}{self._suffix()}"

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


class PrimaryFollower:
    """Asks a Sentinel pool where the primary is; remembers the last answer."""

    def __init__(self, pool: SentinelConnectionPool, describe: str) -> None:
        self._pool = pool
        self._describe = describe
        self._lock = threading.Lock()  # the watcher thread and callers both ask
        self.primary: tuple[str, int] | None = None
        self.moves = 0

    def follow(self) -> bool:
        with self._lock:
            # The pool's own ask: on a change it disconnects its idle connections, and
            # connections in use are dropped when released, so no later call reaches
            # the old primary.
            address = self._pool.get_master_address()
            previous, self.primary = self.primary, address
            changed = previous is not None and address != previous
            self.moves += changed
        if changed:
            logger.warning(
                "%s: the primary moved from %s to %s; following it",
                self._describe,
                ":".join(map(str, previous or ())),
                ":".join(map(str, address)),
            )
        return changed


class SentinelTopology(RedisTopology):
    """A primary (and replicas) that Sentinel watches and fails over.

    A redis-py Sentinel pool asks the sentinels for the primary only when it opens a
    connection: its pooled connections go on writing to a primary Sentinel has replaced
    until that server is demoted, about ten seconds later, and those writes are lost.
    :meth:`follow_primary` asks every sync interval and drops the stale connections.
    """

    def __init__(self, options: RedisOptions) -> None:
        super().__init__(options)
        sentinel_kwargs: dict[str, Any] = {
            "socket_timeout": options.socket_timeout,
            "socket_connect_timeout": options.socket_connect_timeout,
            "retry": _fail_fast(),
            **self._tls_kwargs(),
        }
        self._sentinel = Sentinel(list(options.sentinels), sentinel_kwargs=sentinel_kwargs)
        assert options.service_name is not None  # validated with the sentinels
        self._service_name = options.service_name
        self._client: Redis[Any] = self._sentinel.master_for(
            self._service_name,
            db=options.db,
            retry=_fail_fast(),
            **self._connection_kwargs(),
        )
        pool = self._client.connection_pool
        assert isinstance(pool, SentinelConnectionPool)
        self._follower = PrimaryFollower(pool, self.describe())

    def client(self) -> Redis[Any]:
        return self._client

    @property
    def primary(self) -> tuple[str, int] | None:
        """The primary's address as last asked (None before the first ask)."""
        return self._follower.primary

    def follow_primary(self) -> bool:
        return self._follower.follow()

    @property
    def primary_moves(self) -> int:
        return self._follower.moves

    @contextmanager
    def fresh_client(self) -> Iterator[Redis[Any]]:
        """A client with one new connection to the primary the sentinels name now."""
        self.follow_primary()
        assert self.primary is not None  # follow_primary sets it or raises
        host, port = self.primary
        client: Redis[Any] = Redis(
            host=host,
            port=port,
            db=self.options.db,
            retry=_fail_fast(),
            single_connection_client=True,
            **self._connection_kwargs(),
        )
        try:
            yield client
        finally:
            client.close()

    def describe(self) -> str:
        options = self.options
        sentinels = ", ".join(f"{host}:{port}" for host, port in options.sentinels)
        return (
            f"Redis Sentinel service {self._service_name!r} via {sentinels}"
            f"{self._suffix(f'db {options.db}')}"
        )

    def close(self) -> None:
        self._client.close()
        for sentinel in self._sentinel.sentinels:
            sentinel.close()


def connect(options: RedisOptions | Mapping[str, Any]) -> RedisTopology:
    """The topology ``options`` describe, ready to use (a cluster connects on first use).

    Raises RedisOptionsError for bad options, including TLS files that do not load.
    """
    if not isinstance(options, RedisOptions):
        options = RedisOptions.from_mapping(options)
    problems = tls_file_problems(options)
    if problems:
        raise RedisOptionsError(problems)
    if options.topology is Topology.CLUSTER:
        return ClusterTopology(options)
    if options.topology is Topology.SENTINEL:
        return SentinelTopology(options)
    return ServerTopology(options)


def explain(exc: BaseException) -> str:
    """A Redis error in words that point at the setting to fix."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, AuthenticationError) or (
        isinstance(exc, ResponseError) and text.startswith(("WRONGPASS", "NOAUTH"))
    ):
        return f"authentication failed; check username and password ({text})"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return f"the server's TLS certificate was not trusted; check ssl_ca_certs ({text})"
    if "SSL" in text or "TLS" in text:
        return f"the TLS handshake failed ({text})"
    if isinstance(exc, MasterNotFoundError):
        return f"no sentinel named a primary; check sentinels and service_name ({text})"
    if isinstance(exc, RedisClusterException):
        return f"no cluster node answered ({text})"
    return text
