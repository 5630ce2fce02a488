"""The fleet store: breaker state in Redis, shared by every process that names it.

Each operation is one Lua script (:mod:`circuit_breaker.stores.redis.script`): one round
trip, decided atomically with the clock of the Redis node holding the breaker. Breakers
never ask Redis on the hot path; the store's background thread
(:mod:`circuit_breaker.stores.sync`) delivers other processes' changes as they are
published, and re-reads only what the subscription may have missed
(:mod:`circuit_breaker.stores.redis.listening`).

Where Redis is -- one server, a Redis Cluster, a Sentinel-managed primary, with TLS and
credentials -- is :mod:`circuit_breaker.stores.redis.options` and
:mod:`circuit_breaker.stores.redis.topology`; on a cluster each breaker's key is its own
hash tag, so breakers spread over the slots, and losing one node only sends its
breakers to local state (:mod:`circuit_breaker.stores.redis.guards`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from redis.cluster import RedisCluster
from redis.exceptions import NoScriptError

from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.core.operations import Operation
from circuit_breaker.errors import StoreUnavailableError
from circuit_breaker.stores.base import Follower, StoreResult
from circuit_breaker.stores.redis.guards import Guards
from circuit_breaker.stores.redis.listening import Watcher
from circuit_breaker.stores.redis.options import (
    DEFAULT_URL,
    DEFAULTS,
    OPTION_NAMES,
    RedisOptions,
    RedisOptionsError,
    option_problems,
)
from circuit_breaker.stores.redis.provided import ProvidedTopology
from circuit_breaker.stores.redis.reading import read_records
from circuit_breaker.stores.redis.script import (
    SCRIPT,
    Envelope,
    common_members,
    parse_reply,
    payload,
)
from circuit_breaker.stores.redis.topology import AnyClient, RedisTopology, connect
from circuit_breaker.stores.sync import BackgroundSync

__all__ = ["DEFAULT_URL", "OPTION_NAMES", "RedisStore", "from_options"]

_SCRIPT_SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()
# What a client passed in replaces: everything that says where Redis is and how to log in.
_CONNECTION_OPTIONS = frozenset(OPTION_NAMES) - set(DEFAULTS) - {"socket_connect_timeout"}


class RedisStore:
    """Breaker state shared through Redis: one hash per breaker, keys ``prefix:{name}``.

    The braces are a Redis Cluster hash tag: a breaker's key lives in one slot, which is
    all a script touching one key needs. Its events go on ``prefix:{name}:events``.
    Connection keywords are the YAML ``store:`` keys (see
    :mod:`circuit_breaker.stores.redis.options`); ``client`` replaces them with a client
    built by hand (``Redis``, ``RedisCluster`` or a Sentinel ``master_for()`` client).
    """

    shared = True

    def __init__(
        self,
        url: str | None = None,
        *,
        key_prefix: str = DEFAULTS["key_prefix"],
        sync_interval: float = DEFAULTS["sync_interval"],
        socket_timeout: float = DEFAULTS["socket_timeout"],
        socket_connect_timeout: float | None = None,
        idle_ttl_seconds: int = DEFAULTS["idle_ttl_seconds"],
        flush_interval: float = DEFAULTS["flush_interval"],
        client: AnyClient | None = None,
        cluster: bool = False,
        sentinels: Sequence[str] | str | None = None,
        service_name: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ssl_ca_certs: str | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
    ) -> None:
        given = {
            "url": url,
            "cluster": cluster or None,
            "sentinels": sentinels,
            "service_name": service_name,
            "username": username,
            "password": password,
            "ssl_ca_certs": ssl_ca_certs,
            "ssl_certfile": ssl_certfile,
            "ssl_keyfile": ssl_keyfile,
            "key_prefix": key_prefix,
            "sync_interval": sync_interval,
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_connect_timeout,
            "idle_ttl_seconds": idle_ttl_seconds,
            "flush_interval": flush_interval,
        }
        given = {option: value for option, value in given.items() if value is not None}
        if client is not None:
            both = sorted(set(given) & _CONNECTION_OPTIONS)
            if both:
                raise ValueError(
                    f"client= replaces the connection options; do not also give {', '.join(both)}"
                )
        options = RedisOptions.from_mapping(given)
        self.options = options
        self.sync_interval = options.sync_interval
        self.flush_interval = options.flush_interval
        self.key_prefix = options.key_prefix
        self.instance_id = uuid.uuid4().hex[:12]
        self._idle_ttl = options.idle_ttl_seconds
        self.topology: RedisTopology = (
            ProvidedTopology(client) if client is not None else connect(options)
        )
        self._publish = "SPUBLISH" if self.topology.sharded else "PUBLISH"
        # Per breaker: (config, key, the script's common members for that config).
        self._members: dict[str, tuple[BreakerConfig, str, str]] = {}
        self._guards = Guards(self.topology)
        self._watcher = Watcher(
            self.topology,
            self._guards,
            key_of=self.key,
            channel_of=self.channel,
            instance_id=self.instance_id,
            sync_interval=self.sync_interval,
            answer_within=options.socket_timeout,
            wake=self._wake,
        )
        self._sync = BackgroundSync(
            self._watcher,
            name=self.instance_id,
            sync_interval=self.sync_interval,
            flush_interval=self.flush_interval,
        )

    def key(self, name: str) -> str:
        """The Redis key of breaker ``name``: the name is the Cluster hash tag."""
        return f"{self.key_prefix}:{{{name}}}"

    def channel(self, name: str) -> str:
        """Where breaker ``name``'s changes are published (same hash tag: same slot)."""
        return f"{self.key_prefix}:{{{name}}}:events"

    # -- the protocol ------------------------------------------------------------------

    def apply(
        self, name: str, operation: Operation, config: BreakerConfig, now: float
    ) -> StoreResult:
        key, common = self._script_members(name, config)
        argument = payload(common, operation)
        try:
            with self._guards.around(key, manual=operation.manual):
                if operation.manual:
                    # An operator acting right after a failover must reach the primary
                    # as it is now, even while the store is believed down.
                    with self.topology.fresh_client() as client:
                        reply = _run_script(client, key, argument)
                else:
                    reply = _run_script(self.topology.client(), key, argument)
        except BaseException:
            # The breaker goes on with local state: it gets the store's record again
            # at the next cycle of the background thread.
            self._watcher.resync(name)
            raise
        _, record, server_now, previous = parse_reply(json.loads(reply))
        return StoreResult(record, server_now, previous)

    def _script_members(self, name: str, config: BreakerConfig) -> tuple[str, str]:
        """The key and the script's members common to every call for breaker ``name``,
        encoded once per configuration: a failure is then one short JSON encoding."""
        cached = self._members.get(name)
        if cached is None or cached[0] is not config:
            envelope = Envelope(
                name, self.channel(name), self._publish, self.instance_id, self._idle_ttl
            )
            cached = self._members[name] = (
                config,
                self.key(name),
                common_members(envelope, config),
            )
        return cached[1], cached[2]

    def load_many(self, names: Sequence[str], now: float) -> dict[str, StoreResult]:
        """The records and each node's clock, one round trip per node. Names whose node
        cannot be read are left out; StoreUnavailableError if none can be read."""
        if not names:
            return {}
        reading = read_records(self.topology, self._guards, names, self.key)
        if reading.again:  # a slot moved meanwhile: its new node, once
            again = read_records(self.topology, self._guards, reading.again, self.key)
            reading.results.update(again.results)
            reading.lost.update(again.lost)
        if not reading.results:
            reason = next(iter(reading.lost.values()), "the cluster's slots are moving")
            raise StoreUnavailableError(reason)
        return reading.results

    def watch(self, name: str, follower: Follower) -> None:
        """Deliver other processes' changes to ``name`` as they are published."""
        self._sync.watch(name, follower)

    def unwatch(self, name: str, follower: Follower) -> None:
        self._sync.unwatch(name, follower)

    def flush_soon(self) -> None:
        self._sync.flush_soon()

    def close(self) -> None:
        """Stop the background thread and release connections; unusable after."""
        self._sync.stop()
        self._watcher.reset()
        self.topology.close()

    def _wake(self) -> None:
        self._sync.wake()

    def __repr__(self) -> str:
        return f"<RedisStore {self.topology.describe()} prefix={self.key_prefix!r}>"


def _run_script(client: AnyClient, key: str, argument: str) -> bytes | str:
    """EVALSHA, loading the script first where the node does not know it (a new,
    restarted or promoted node).

    On a cluster the script goes straight to the key's node: redis-py's own routing
    parses the command to find its key, which costs a counted failure a sixth of a PING
    (MOVED and ASK are still followed). Only that node is asked to load the script: by
    default redis-py sends SCRIPT LOAD to every primary, and one that is down would fail
    the call of a breaker that does not live there."""
    if isinstance(client, RedisCluster):
        node = client.get_node_from_key(key)
        # The stubs leave RedisCluster.execute_command untyped.
        run: Callable[..., Any] = client.execute_command
        try:
            return cast(
                bytes | str, run("EVALSHA", _SCRIPT_SHA, 1, key, argument, target_nodes=node)
            )
        except NoScriptError:  # from the key's node as it is now, after any MOVED
            node = client.get_node_from_key(key)
            run("SCRIPT LOAD", SCRIPT, target_nodes=node)
            return cast(
                bytes | str, run("EVALSHA", _SCRIPT_SHA, 1, key, argument, target_nodes=node)
            )
    try:
        return cast(bytes | str, client.execute_command("EVALSHA", _SCRIPT_SHA, 1, key, argument))
    except NoScriptError:
        client.execute_command("SCRIPT LOAD", SCRIPT)
        return cast(bytes | str, client.execute_command("EVALSHA", _SCRIPT_SHA, 1, key, argument))


def from_options(options: Mapping[str, Any]) -> RedisStore:
    """Build the store from a YAML ``store:`` block or the Django ``STORE`` setting."""
    given = {option: value for option, value in options.items() if option != "backend"}
    problems = option_problems(given)
    if problems:
        raise RedisOptionsError(problems)
    return RedisStore(**given)
