"""The fleet store: breaker state in Redis, shared by every process that names it.

Each transition is one Lua script (:mod:`circuit_breaker.stores.redis_script`): one round
trip, decided atomically with the Redis server's clock, published on an event channel.
Breakers never ask Redis on the hot path; a single daemon thread per store listens to the
channel and reloads every watched breaker each ``sync_interval`` (pub/sub messages can be
lost while a connection is being re-established; the periodic reload bounds staleness).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from redis import Redis
from redis.backoff import NoBackoff
from redis.client import PubSub
from redis.exceptions import RedisError
from redis.retry import Retry

from circuit_breaker.errors import StoreUnavailableError
from circuit_breaker.state import CircuitBreakerState
from circuit_breaker.stores.base import (
    BreakerRecord,
    FailureInfo,
    OutageGuard,
    Policy,
    RemoteListener,
    StoreResult,
)
from circuit_breaker.stores.redis_script import FIELDS, SCRIPT
from circuit_breaker.transitions import MANUAL_REASONS

logger = logging.getLogger("circuit_breaker")

DEFAULT_URL = "redis://127.0.0.1:6379/0"
OPTION_NAMES = (
    "url",
    "key_prefix",
    "sync_interval",
    "socket_timeout",
    "socket_connect_timeout",
    "idle_ttl_seconds",
)
_FIRST_WATCH_BACKOFF = 0.5
_MAX_WATCH_BACKOFF = 30.0


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _optional_float(value: str) -> float | None:
    return float(value) if value else None


def _record(fields: Sequence[str]) -> BreakerRecord:
    """A record from the script's flat field list (FIELDS order, "" for None)."""
    values = dict(zip(FIELDS, fields, strict=True))
    failure = None
    if values["failure_type"]:
        failure = FailureInfo(
            values["failure_type"], values["failure_message"], float(values["failure_at"])
        )
    return BreakerRecord(
        state=CircuitBreakerState(values["state"]),
        failure_count=int(values["failure_count"]),
        consecutive_breaks=int(values["consecutive_breaks"]),
        opened_at=_optional_float(values["opened_at"]),
        retry_at=_optional_float(values["retry_at"]),
        probe_token=values["probe_token"] or None,
        probe_until=_optional_float(values["probe_until"]),
        reason=values["reason"] or None,
        changed_at=_optional_float(values["changed_at"]),
        changed_by=values["changed_by"] or None,
        last_failure=failure,
        seq=int(values["seq"]),
    )


def _result(reply: Sequence[str]) -> tuple[str, StoreResult]:
    """``(name, result)`` from a script reply ``[name, previous, now, field...]``."""
    name, previous, now, *fields = reply
    return name, StoreResult(
        _record(fields),
        float(now),
        CircuitBreakerState(previous) if previous else None,
    )


_DEFAULTS = {"state": "closed", "failure_count": "0", "consecutive_breaks": "0"}


def _hash_record(raw: Mapping[str, str], seed: int) -> BreakerRecord:
    """A record from HGETALL; a missing key is a fresh record whose seq continues from ``seed``.

    Missing fields take the script's defaults (a hash edited by hand stays readable).
    """
    if not raw:
        return BreakerRecord(seq=seed)
    defaults = {**_DEFAULTS, "seq": str(seed)}
    return _record([raw.get(field) or defaults.get(field, "") for field in FIELDS])


def _policy_args(policy: Policy) -> list[str]:
    return [
        str(policy.failure_threshold),
        policy.after_exhausted,
        repr(policy.probe_timeout),
        str(policy.schedule.last_trip),
        ",".join([str(policy.schedule.fixed_retries), *map(repr, policy.intervals)]),
    ]


def _failure_args(failure: FailureInfo) -> list[str]:
    return [failure.type, failure.message, repr(failure.at)]


class RedisStore:
    """Breaker state shared through Redis: one hash per breaker, keys ``prefix:{name}``.

    The braces are a Redis Cluster hash tag: a breaker's key lives in one slot, which is
    all a script touching one key needs.
    """

    performs_io = True
    polled = False

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        key_prefix: str = "circuit_breaker",
        sync_interval: float = 1.0,
        socket_timeout: float = 0.25,
        socket_connect_timeout: float | None = None,
        idle_ttl_seconds: int = 7 * 86400,
        client: Redis[Any] | None = None,
    ) -> None:
        timings = {"sync_interval": sync_interval, "socket_timeout": socket_timeout}
        if socket_connect_timeout is not None:
            timings["socket_connect_timeout"] = socket_connect_timeout
        for option, value in timings.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{option} must be a number > 0, got {value!r}")
        if (
            isinstance(idle_ttl_seconds, bool)
            or not isinstance(idle_ttl_seconds, int)
            or (idle_ttl_seconds < 1)
        ):
            raise ValueError(f"idle_ttl_seconds must be an integer >= 1, got {idle_ttl_seconds!r}")
        if not isinstance(key_prefix, str) or not key_prefix:
            raise ValueError(f"key_prefix must be a non-empty string, got {key_prefix!r}")
        self.sync_interval = float(sync_interval)
        self.instance_id = uuid.uuid4().hex[:12]
        self.key_prefix = key_prefix
        self.channel = f"{key_prefix}:events"
        self._idle_ttl = str(idle_ttl_seconds)
        self._owns_client = client is None
        if client is None:
            try:
                client = Redis.from_url(
                    url,
                    socket_timeout=socket_timeout,
                    socket_connect_timeout=socket_connect_timeout or socket_timeout,
                    # Fail fast: the breaker goes on locally and OutageGuard backs off.
                    retry=Retry(NoBackoff(), 0),
                )
            except ValueError as exc:
                raise ValueError(f"invalid Redis url {url!r}: {exc}") from exc
        self._client = client
        self._script = client.register_script(SCRIPT)
        self._guard = OutageGuard(f"Redis store at {self._describe(client)}", (RedisError,))

        self._watch_lock = threading.Lock()
        self._listeners: dict[str, tuple[RemoteListener, ...]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        os.register_at_fork(after_in_child=_restart_watcher_after_fork(self))

    @staticmethod
    def _describe(client: Redis[Any]) -> str:
        pool = getattr(client, "connection_pool", None)  # a RedisCluster has none
        kwargs: dict[str, Any] = getattr(pool, "connection_kwargs", {})
        if "path" in kwargs:
            return str(kwargs["path"])
        return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"

    def key(self, name: str) -> str:
        """The Redis key of breaker ``name``: the name is the Cluster hash tag."""
        return f"{self.key_prefix}:{{{name}}}"

    # -- round trips -------------------------------------------------------------------

    @contextmanager
    def _round_trip(self) -> Iterator[None]:
        with self._guard.attempt():
            yield

    def _transition(self, operation: str, name: str, *args: str) -> StoreResult:
        with self._round_trip():
            reply = self._script(
                keys=[self.key(name)],
                args=[operation, name, self.channel, self.instance_id, self._idle_ttl, *args],
            )
        return _result([_text(value) for value in reply])[1]

    def load(self, name: str, now: float) -> StoreResult:
        return self.load_many([name], now)[name]

    def load_many(self, names: Sequence[str], now: float) -> dict[str, StoreResult]:
        """Every record and the server clock in one pipelined round trip."""
        if not names:
            return {}
        with self._round_trip():
            pipeline = self._client.pipeline(transaction=False)
            pipeline.time()
            for name in names:
                pipeline.hgetall(self.key(name))
            replies = pipeline.execute()
        seconds, microseconds = replies[0]
        server_now = seconds + microseconds / 1_000_000
        seed = seconds * 1_000_000 + microseconds
        results = {}
        for name, raw in zip(names, replies[1:], strict=True):
            fields = {_text(field): _text(value) for field, value in raw.items()}
            results[name] = StoreResult(_hash_record(fields, seed), server_now)
        return results

    def record_failure(
        self, name: str, policy: Policy, failure: FailureInfo, jitter: float, now: float
    ) -> StoreResult:
        return self._transition(
            "failure", name, *_policy_args(policy), *_failure_args(failure), repr(jitter)
        )

    def record_success(self, name: str, now: float) -> StoreResult:
        return self._transition("success", name)

    def acquire_probe(self, name: str, policy: Policy, token: str, now: float) -> StoreResult:
        return self._transition("acquire_probe", name, *_policy_args(policy), token)

    def complete_probe(
        self,
        name: str,
        policy: Policy,
        token: str,
        failure: FailureInfo | None,
        jitter: float,
        now: float,
    ) -> StoreResult:
        outcome = ["0", "", "", ""] if failure is None else ["1", *_failure_args(failure)]
        return self._transition(
            "complete_probe", name, *_policy_args(policy), token, *outcome, repr(jitter)
        )

    def release_probe(self, name: str, token: str, now: float) -> StoreResult:
        return self._transition("release_probe", name, token)

    def set_state(self, name: str, state: CircuitBreakerState, now: float) -> StoreResult:
        if state not in MANUAL_REASONS:
            raise ValueError(f"cannot set a breaker to {state.name} by hand")
        return self._transition("set_state", name, state.value)

    # -- push: the watcher thread ------------------------------------------------------

    def watch(self, name: str, listener: RemoteListener) -> None:
        """Deliver other processes' changes to ``name``, and a reload every sync_interval."""
        with self._watch_lock:
            # Copy on write: the watcher thread reads the mapping without the lock.
            listeners = dict(self._listeners)
            listeners[name] = (*listeners.get(name, ()), listener)
            self._listeners = listeners
            if self._thread is None or not self._thread.is_alive():
                self._start_watcher()

    def unwatch(self, name: str, listener: RemoteListener) -> None:
        """Stop delivering to ``listener`` (a breaker replaced by a registry reload)."""
        with self._watch_lock:
            listeners = dict(self._listeners)
            remaining = tuple(x for x in listeners.get(name, ()) if x != listener)
            if remaining:
                listeners[name] = remaining
            else:
                listeners.pop(name, None)
            self._listeners = listeners

    def _start_watcher(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._watch_loop,
            args=(self._stop,),
            name=f"circuit-breaker-redis-watch-{self.instance_id}",
            daemon=True,
        )
        self._thread.start()

    def _watch_loop(self, stop: threading.Event) -> None:
        backoff = _FIRST_WATCH_BACKOFF
        pubsub: PubSub | None = None
        next_reload = 0.0
        while not stop.is_set():
            try:
                if pubsub is None:
                    pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                    pubsub.subscribe(self.channel)
                    next_reload = 0.0  # whatever was published while away is lost: reload
                if time.monotonic() >= next_reload:
                    self._reload_watched()
                    next_reload = time.monotonic() + self.sync_interval
                    backoff = _FIRST_WATCH_BACKOFF
                timeout = max(0.0, min(next_reload - time.monotonic(), 0.5))
                message = pubsub.get_message(timeout=timeout)
                if message is not None and message.get("type") == "message":
                    self._deliver(_text(message["data"]))
            except (RedisError, StoreUnavailableError, OSError):
                if pubsub is not None:
                    self._close_quietly(pubsub)
                    pubsub = None
                stop.wait(backoff)
                backoff = min(backoff * 2, _MAX_WATCH_BACKOFF)
            except Exception:
                logger.exception("Redis store watcher: unexpected error; carrying on")
                stop.wait(backoff)
        if pubsub is not None:
            self._close_quietly(pubsub)

    @staticmethod
    def _close_quietly(pubsub: PubSub) -> None:
        with suppress(RedisError, OSError):
            pubsub.close()

    def _reload_watched(self) -> None:
        listeners = self._listeners
        if not listeners:
            return
        results = self.load_many(list(listeners), 0.0)
        for name, result in results.items():
            for listener in listeners.get(name, ()):
                listener(result.record, result.now)

    def _deliver(self, data: str) -> None:
        """A published change: ``[writer, name, previous, now, field...]``."""
        writer, *reply = json.loads(data)
        if writer == self.instance_id:
            return
        listeners = self._listeners.get(reply[0])
        if not listeners:
            return
        result = _result(reply)[1]
        for listener in listeners:
            listener(result.record, result.now)

    def close(self) -> None:
        """Stop the watcher thread and release connections; the store is unusable after."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        self._thread = None
        if self._owns_client:
            self._client.close()

    def __repr__(self) -> str:
        return f"<RedisStore {self._describe(self._client)} prefix={self.key_prefix!r}>"


def _restart_watcher_after_fork(store: RedisStore) -> Any:
    """A forked child (gunicorn --preload) has no watcher thread: start one if needed."""
    ref = weakref.ref(store)

    def restart() -> None:
        child_store = ref()
        if child_store is None:
            return
        child_store._watch_lock = threading.Lock()
        child_store._thread = None
        if child_store._listeners and not child_store._stop.is_set():
            child_store._start_watcher()

    return restart


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
