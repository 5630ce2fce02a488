"""The fleet store: breaker state in Redis, shared by every process that names it.

Each operation is one Lua script (:mod:`circuit_breaker.stores.redis.script`): one round
trip, decided atomically with the Redis server's clock. Breakers never ask Redis on the
hot path; the store's background thread (:mod:`circuit_breaker.stores.sync`) listens to
the event channel and re-reads the watched breakers every ``sync_interval`` (pub/sub
messages are lost while a connection is re-established; the periodic read bounds
staleness).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from redis import Redis
from redis.backoff import NoBackoff
from redis.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.core.operations import Operation
from circuit_breaker.core.record import BreakerRecord
from circuit_breaker.stores.base import Follower, OutageGuard, StoreResult
from circuit_breaker.stores.redis.script import (
    FIELDS,
    SCRIPT,
    Envelope,
    parse_record,
    parse_reply,
    payload,
)
from circuit_breaker.stores.sync import DEFAULT_FLUSH_INTERVAL, BackgroundSync

DEFAULT_URL = "redis://127.0.0.1:6379/0"
OPTION_NAMES = (
    "url",
    "key_prefix",
    "sync_interval",
    "socket_timeout",
    "socket_connect_timeout",
    "idle_ttl_seconds",
    "flush_interval",
)
_STORE_ERRORS = (RedisError, OSError)


def _is_outage(exc: BaseException) -> bool:
    """Redis cannot be talked to (not: it refused one command)."""
    return isinstance(exc, RedisConnectionError | RedisTimeoutError | OSError)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _positive(option: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{option} must be a number > 0, got {value!r}")
    return float(value)


class RedisStore:
    """Breaker state shared through Redis: one hash per breaker, keys ``prefix:{name}``.

    The braces are a Redis Cluster hash tag: a breaker's key lives in one slot, which is
    all a script touching one key needs.
    """

    shared = True

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        key_prefix: str = "circuit_breaker",
        sync_interval: float = 1.0,
        socket_timeout: float = 0.25,
        socket_connect_timeout: float | None = None,
        idle_ttl_seconds: int = 7 * 86400,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        client: Redis[Any] | None = None,
    ) -> None:
        self.sync_interval = _positive("sync_interval", sync_interval)
        self.flush_interval = _positive("flush_interval", flush_interval)
        socket_timeout = _positive("socket_timeout", socket_timeout)
        if socket_connect_timeout is not None:
            socket_connect_timeout = _positive("socket_connect_timeout", socket_connect_timeout)
        if (
            isinstance(idle_ttl_seconds, bool)
            or not isinstance(idle_ttl_seconds, int)
            or (idle_ttl_seconds < 1)
        ):
            raise ValueError(f"idle_ttl_seconds must be an integer >= 1, got {idle_ttl_seconds!r}")
        if not isinstance(key_prefix, str) or not key_prefix:
            raise ValueError(f"key_prefix must be a non-empty string, got {key_prefix!r}")
        self.instance_id = uuid.uuid4().hex[:12]
        self.key_prefix = key_prefix
        self.channel = f"{key_prefix}:events"
        self._idle_ttl = idle_ttl_seconds
        self._owns_client = client is None
        if client is None:
            try:
                client = Redis.from_url(
                    url,
                    socket_timeout=socket_timeout,
                    socket_connect_timeout=socket_connect_timeout or socket_timeout,
                    # Fail fast: the breaker goes on locally while the store is down.
                    retry=Retry(NoBackoff(), 0),
                )
            except ValueError as exc:
                raise ValueError(f"invalid Redis url {url!r}: {exc}") from exc
        self._client = client
        self._script = client.register_script(SCRIPT)
        self._guard = OutageGuard(
            f"Redis store at {self._describe(client)}",
            _STORE_ERRORS,
            is_outage=_is_outage,
            retry_interval=self.sync_interval,
        )
        self._pubsub: PubSub | None = None
        self._pubsub_pid = 0
        self._sync = BackgroundSync(
            self,
            name=self.instance_id,
            sync_interval=self.sync_interval,
            flush_interval=self.flush_interval,
        )

    @staticmethod
    def _describe(client: Redis[Any]) -> str:
        pool = getattr(client, "connection_pool", None)
        kwargs: dict[str, Any] = getattr(pool, "connection_kwargs", {})
        if "path" in kwargs:
            return str(kwargs["path"])
        return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"

    def key(self, name: str) -> str:
        """The Redis key of breaker ``name``: the name is the Cluster hash tag."""
        return f"{self.key_prefix}:{{{name}}}"

    # -- the protocol ------------------------------------------------------------------

    def apply(
        self, name: str, operation: Operation, config: BreakerConfig, now: float
    ) -> StoreResult:
        envelope = Envelope(name, self.channel, self.instance_id, self._idle_ttl)
        argument = payload(envelope, operation, config)
        if operation.manual:
            # An operator acting right after a failover must reach the server as it is now.
            self._client.connection_pool.disconnect(inuse_connections=False)
            with self._guard.probe():
                reply = self._script(keys=[self.key(name)], args=[argument])
        else:
            with self._guard.attempt():
                reply = self._script(keys=[self.key(name)], args=[argument])
        _, record, server_now, previous = parse_reply([_text(value) for value in reply])
        return StoreResult(record, server_now, previous)

    def load_many(self, names: Sequence[str], now: float) -> dict[str, StoreResult]:
        """Every record and the server clock in one pipelined round trip."""
        if not names:
            return {}
        with self._guard.probe():
            pipeline = self._client.pipeline(transaction=False)
            pipeline.time()
            for name in names:
                pipeline.hgetall(self.key(name))
            replies = pipeline.execute()
        seconds, microseconds = replies[0]
        server_now = seconds + microseconds / 1_000_000
        seed = seconds * 1_000_000 + microseconds
        return {
            name: StoreResult(_hash_record(raw, seed), server_now)
            for name, raw in zip(names, replies[1:], strict=True)
        }

    def watch(self, name: str, follower: Follower) -> None:
        """Deliver other processes' changes to ``name``, and a re-read every sync_interval."""
        self._sync.watch(name, follower)

    def unwatch(self, name: str, follower: Follower) -> None:
        self._sync.unwatch(name, follower)

    def flush_soon(self) -> None:
        self._sync.flush_soon()

    def close(self) -> None:
        """Stop the background thread and release connections; unusable after."""
        self._sync.stop()
        self.reset()
        if self._owns_client:
            self._client.close()

    # -- what the background thread calls (the SyncSource protocol) ----------------------

    def refresh(self, names: Sequence[str]) -> Mapping[str, StoreResult]:
        return self.load_many(names, 0.0)

    def listen(self, timeout: float) -> Iterable[tuple[str, StoreResult]]:
        """Changes other processes published, for ``timeout`` seconds at most."""
        with self._guard.probe():
            if self._pubsub is None:
                self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                self._pubsub.subscribe(self.channel)
                self._pubsub_pid = os.getpid()
                self._sync.wake()  # whatever was published while away is lost: re-read
            message = self._pubsub.get_message(timeout=timeout)
        if message is None or message.get("type") != "message":
            return ()
        writer, *reply = json.loads(_text(message["data"]))
        if writer == self.instance_id:
            return ()
        name, record, server_now, _ = parse_reply(reply)
        return [(name, StoreResult(record, server_now))]

    def reset(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        # A forked child must not close its parent's subscription: the socket is shared.
        if pubsub is not None and self._pubsub_pid == os.getpid():
            with contextlib.suppress(RedisError, OSError):
                pubsub.close()

    def __repr__(self) -> str:
        return f"<RedisStore {self._describe(self._client)} prefix={self.key_prefix!r}>"


def _hash_record(raw: Mapping[bytes | str, bytes | str], seed: int) -> BreakerRecord:
    """A record from HGETALL; a missing key is a fresh record whose seq continues from
    ``seed``; missing fields take the script's defaults (a hash edited by hand)."""
    if not raw:
        return BreakerRecord(seq=seed)
    fields = {_text(field): _text(value) for field, value in raw.items()}
    fields.setdefault("seq", str(seed))
    return parse_record([fields.get(field, "") for field in FIELDS])


def from_options(options: Mapping[str, Any]) -> RedisStore:
    """Build the store from a YAML ``store:`` block or Django's ``STORE: "redis://..."``."""
    unknown = sorted(set(options) - {"backend", *OPTION_NAMES})
    if unknown:
        raise ValueError(
            f"unknown option(s) for the redis store: {', '.join(unknown)} "
            f"(expected: {', '.join(OPTION_NAMES)})"
        )
    kwargs = {name: options[name] for name in OPTION_NAMES if name in options}
    return RedisStore(**kwargs)
