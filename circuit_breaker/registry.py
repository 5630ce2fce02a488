"""The registry: named breakers built from configuration, shared through one store.

``get`` is a dictionary lookup, so code can call ``registry.get(name)`` on every request.
``get_or_create`` also builds a breaker the configuration does not declare, from a
profile, the first time its name is asked for (one per host for the HTTP integrations).
``reload`` swaps in a new configuration atomically and keeps every breaker object: a
changed breaker is reconfigured in place, so references taken before (a decorator at
import time, an HTTP transport's cache) keep following the store.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from circuit_breaker.breaker import CircuitBreaker
from circuit_breaker.config import (
    BreakerSpec,
    RegistryConfig,
    StoreSpec,
    config_from_dict,
    load_config,
)
from circuit_breaker.core.config import BreakerConfig, check_name
from circuit_breaker.core.status import BreakerStatus
from circuit_breaker.errors import (
    ConfigError,
    ConfigProblem,
    UnknownBreakerError,
)
from circuit_breaker.events import Listener
from circuit_breaker.health import Health, judge
from circuit_breaker.stores import BreakerStore, available_backends, build_store

logger = logging.getLogger("circuit_breaker")

Clock = Callable[[], float]


@dataclass(frozen=True)
class ReloadReport:
    """What a reload changed, by breaker name (unchanged breakers are not listed)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    rebuilt: tuple[str, ...]


class _Pending:
    """A name being created: one thread builds it, the others wait and then find it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting = 0


class BreakerRegistry:
    """Breakers by name. Iterating yields the breakers, sorted by name.

    ``store``, when given, holds every breaker's state and overrides the configuration's
    ``store`` section (the Django app passes its own); ``clock`` and ``listeners`` are
    given to every breaker.
    """

    def __init__(
        self,
        config: RegistryConfig,
        *,
        store: BreakerStore | None = None,
        clock: Clock | None = None,
        listeners: Iterable[Listener] = (),
        source: Callable[[], RegistryConfig] | None = None,
    ) -> None:
        self._source = source or (lambda: config)
        self._clock = clock
        self._listeners = tuple(listeners)
        self._owns_store = store is None
        # Held while the set of breakers changes: two changes at once would orphan breakers.
        self._reload_lock = threading.Lock()
        self.store: BreakerStore = store if store is not None else _build_store(config.store)
        # One attribute, so that a reload is seen all at once or not at all.
        self._current = (config, self._build(config.breakers.values()))
        # Names asked for through get_or_create, with their profile: they outlive reloads.
        self._on_demand: dict[str, str | None] = {}
        self._creating: dict[str, _Pending] = {}  # names being created, and who waits
        self._creating_lock = threading.Lock()

    @classmethod
    def from_dict(
        cls,
        mapping: Mapping[str, Any],
        *,
        store: BreakerStore | None = None,
        clock: Clock | None = None,
        listeners: Iterable[Listener] = (),
    ) -> BreakerRegistry:
        """A registry from Python data shaped like the YAML; ``reload`` re-reads it."""

        def source() -> RegistryConfig:
            return config_from_dict(mapping)

        return cls(source(), store=store, clock=clock, listeners=listeners, source=source)

    @classmethod
    def from_files(
        cls,
        *paths: str | os.PathLike[str],
        store: BreakerStore | None = None,
        clock: Clock | None = None,
        listeners: Iterable[Listener] = (),
    ) -> BreakerRegistry:
        """A registry from YAML files (later ones override); ``reload`` re-reads them."""

        def source() -> RegistryConfig:
            return load_config(*paths)

        return cls(source(), store=store, clock=clock, listeners=listeners, source=source)

    @property
    def config(self) -> RegistryConfig:
        return self._current[0]

    def get(self, name: str) -> CircuitBreaker:
        """The breaker called ``name``: the same object every time."""
        try:
            return self._current[1][name]
        except KeyError:
            raise UnknownBreakerError(name, self._current[1]) from None

    __getitem__ = get

    def get_or_create(self, name: str, *, profile: str | None = None) -> CircuitBreaker:
        """The breaker called ``name``, built from ``profile`` (under ``defaults``; None:
        ``defaults`` alone) the first time it is asked for if the configuration does not
        declare it. A declared breaker keeps its own configuration.

        A created breaker is like a declared one: it shares the store, shows in status,
        health and metrics, and survives reloads (rebuilt from its profile as the
        configuration then has it). Each name is built once, however many threads ask at
        the same moment. Raises InvalidSetting for a name no store can hold, ConfigError
        for an unknown profile.
        """
        breaker = self._current[1].get(name)
        if breaker is not None and name in self._on_demand:
            return breaker
        with self._creating_lock:
            pending = self._creating.get(name)
            if pending is None:
                pending = self._creating[name] = _Pending()
            pending.waiting += 1
        try:
            with pending.lock:
                return self._get_or_build(name, profile)
        finally:
            with self._creating_lock:
                pending.waiting -= 1
                if not pending.waiting:
                    del self._creating[name]

    def _get_or_build(self, name: str, profile: str | None) -> CircuitBreaker:
        config, breakers = self._current
        breaker = breakers.get(name)
        if breaker is None:
            # Built (and its record read) outside the reload lock: the store may be slow.
            breaker = CircuitBreaker.from_config(
                config.config_for(profile),
                name=check_name(name),
                store=self.store,
                clock=self._clock,
                listeners=self._listeners,
            )
        with self._reload_lock:
            latest, breakers = self._current
            self._on_demand.setdefault(name, profile)
            found = breakers.get(name)
            if found is not None:  # declared by a reload meanwhile: that one wins
                if found is not breaker:
                    breaker.detach()
                return found
            if latest is not config:  # a reload happened while it was being built
                breaker.reconfigure(_on_demand_config(latest, name, profile, breaker))
            self._current = (latest, {**breakers, name: breaker})
        logger.info(
            "circuit breaker %r created on first use, from %s",
            name,
            "defaults" if profile is None else f"profile {profile!r}",
        )
        return breaker

    def __contains__(self, name: object) -> bool:
        return name in self._current[1]

    def __iter__(self) -> Iterator[CircuitBreaker]:
        breakers = self._current[1]
        return iter([breakers[name] for name in sorted(breakers)])

    def __len__(self) -> int:
        return len(self._current[1])

    def names(self) -> list[str]:
        return sorted(self._current[1])

    def _select(self, names: Iterable[str] | None) -> list[CircuitBreaker]:
        return list(self) if names is None else [self.get(name) for name in names]

    def statuses(self, names: Iterable[str] | None = None) -> dict[str, BreakerStatus]:
        """``{name: BreakerStatus}`` for ``names`` (default: all), after one store read."""
        breakers = self._select(names)
        sync_breakers(breakers)
        return {breaker.name: breaker.status() for breaker in breakers}

    def status(self, names: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """``{name: get_status_info()}`` for ``names`` (default: all), after one store read."""
        return {name: status.to_dict() for name, status in self.statuses(names).items()}

    def health(self, names: Iterable[str] | None = None) -> Health:
        """The health verdict load balancers and readiness probes act on."""
        return judge(self.statuses(names))

    def reload(self) -> ReloadReport:
        """Re-read the configuration; on ConfigError nothing changes and it propagates."""
        with self._reload_lock:
            return self._reload()

    def _reload(self) -> ReloadReport:
        old_config, old_breakers = self._current
        config = self._source()
        specs = config.breakers
        wanted = {name: spec.config for name, spec in specs.items()}
        for name, profile in self._on_demand.items():
            if name not in wanted and name in old_breakers:
                wanted[name] = _on_demand_config(config, name, profile, old_breakers[name])
        changed = [
            name
            for name, new in wanted.items()
            if name in old_breakers and old_breakers[name].config != new
        ]
        added = self._build(spec for name, spec in specs.items() if name not in old_breakers)
        for name in changed:
            old_breakers[name].reconfigure(wanted[name])
        kept = {name: breaker for name, breaker in old_breakers.items() if name in wanted}
        if self._owns_store and config.store != old_config.store:
            logger.warning("circuit breaker store settings changed; restart to apply them")
        self._current = (config, dict(sorted({**kept, **added}.items())))
        removed = sorted(old_breakers.keys() - wanted.keys())
        for name in removed:
            old_breakers[name].detach()
        report = ReloadReport(
            added=tuple(sorted(added)), removed=tuple(removed), rebuilt=tuple(sorted(changed))
        )
        logger.info(
            "circuit breaker configuration reloaded: %d added, %d removed, %d rebuilt",
            len(report.added),
            len(report.removed),
            len(report.rebuilt),
        )
        return report

    def close(self) -> None:
        """Release the store if this registry built it (a store passed in is the caller's)."""
        if self._owns_store:
            self.store.close()

    def _build(self, specs: Iterable[BreakerSpec]) -> dict[str, CircuitBreaker]:
        breakers = {
            spec.name: CircuitBreaker.from_config(
                spec.config,
                name=spec.name,
                store=self.store,
                clock=self._clock,
                listeners=self._listeners,
                load=False,
            )
            for spec in sorted(specs, key=lambda spec: spec.name)
        }
        sync_breakers(list(breakers.values()))
        return breakers

    def __repr__(self) -> str:
        return f"<BreakerRegistry of {len(self)} breakers>"


def _on_demand_config(
    config: RegistryConfig, name: str, profile: str | None, breaker: CircuitBreaker
) -> BreakerConfig:
    """A created breaker's config after a reload; its current one if its profile is gone
    (a reload must not take away a breaker something is calling through)."""
    try:
        return config.config_for(profile)
    except ConfigError as exc:
        logger.warning(
            "circuit breaker %r keeps its configuration: %s", name, exc.problems[0].message
        )
        return breaker.config


def sync_breakers(breakers: Sequence[CircuitBreaker]) -> None:
    """Refresh many breakers with one read per store (health endpoint, status, metrics).

    A store that cannot be read leaves each breaker's local view, marked unreachable.
    """
    by_store: dict[int, list[CircuitBreaker]] = {}
    for breaker in breakers:
        by_store.setdefault(id(breaker.store), []).append(breaker)
    for group in by_store.values():
        store = group[0].store
        if not store.shared:  # a local store holds nothing the breakers have not seen
            continue
        try:
            results = store.load_many([b.name for b in group], 0.0)
        except Exception as exc:  # StoreUnavailableError, or a store that is not ready
            for breaker in group:
                breaker.lost(str(exc) or type(exc).__name__)
            continue
        for breaker in group:
            result = results.get(breaker.name)
            if result is not None:
                breaker.adopt(result)


def _build_store(spec: StoreSpec | None) -> BreakerStore:
    if spec is None:
        return build_store("memory", {})
    try:
        return build_store(spec.backend, spec.options)
    except KeyError:
        message = (
            f"unknown store backend {spec.backend!r}; available: {', '.join(available_backends())}"
        )
    except (ImportError, ValueError) as exc:
        message = f"the {spec.backend!r} store cannot be built: {exc}"
    where = spec.where
    raise ConfigError(
        [ConfigProblem(message, file=where.file, line=where.line, path="store.backend")]
    )


def load_registry(
    *paths: str | os.PathLike[str],
    store: BreakerStore | None = None,
    clock: Clock | None = None,
    listeners: Iterable[Listener] = (),
) -> BreakerRegistry:
    """A registry from YAML files; several files: later ones override earlier ones."""
    return BreakerRegistry.from_files(*paths, store=store, clock=clock, listeners=listeners)
