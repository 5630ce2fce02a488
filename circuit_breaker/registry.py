"""The registry: named breakers built from configuration, shared through one store.

``get`` is a dictionary lookup, so code can call ``registry.get(name)`` on every request.
``reload`` swaps in a new configuration atomically: breakers whose resolved settings are
unchanged keep their object (and with it any local state and listeners' references).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from circuit_breaker.breaker import CircuitBreaker, sync_breakers
from circuit_breaker.config import (
    BreakerSpec,
    RegistryConfig,
    StoreSpec,
    config_from_dict,
    load_config,
)
from circuit_breaker.errors import ConfigError, ConfigProblem, UnknownBreakerError
from circuit_breaker.events import Listener
from circuit_breaker.stores import BreakerStore, available_backends, build_store

logger = logging.getLogger("circuit_breaker")

Clock = Callable[[], float]


@dataclass(frozen=True)
class ReloadReport:
    """What a reload changed, by breaker name (unchanged breakers are not listed)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    rebuilt: tuple[str, ...]


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
        self._reload_lock = threading.Lock()  # two reloads at once would orphan breakers
        self.store: BreakerStore = store if store is not None else _build_store(config.store)
        # One attribute, so that a reload is seen all at once or not at all.
        self._current = (config, self._build(config.breakers.values()))

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
        """The breaker called ``name``: the same object every time (until a reload changes it)."""
        try:
            return self._current[1][name]
        except KeyError:
            raise UnknownBreakerError(name, self._current[1]) from None

    __getitem__ = get

    def __contains__(self, name: object) -> bool:
        return name in self._current[1]

    def __iter__(self) -> Iterator[CircuitBreaker]:
        return iter(list(self._current[1].values()))

    def __len__(self) -> int:
        return len(self._current[1])

    def names(self) -> list[str]:
        return list(self._current[1])

    def status(self, names: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """``{name: status}`` for ``names`` (default: all), after one store round trip."""
        breakers = list(self) if names is None else [self.get(name) for name in names]
        sync_breakers(breakers)
        return {breaker.name: breaker.get_status_info() for breaker in breakers}

    def reload(self) -> ReloadReport:
        """Re-read the configuration; on ConfigError nothing changes and it propagates."""
        with self._reload_lock:
            return self._reload()

    def _reload(self) -> ReloadReport:
        old_config, old_breakers = self._current
        config = self._source()
        kept = {
            name: old_breakers[name]
            for name, spec in config.breakers.items()
            if old_config.breakers.get(name) == spec
        }
        fresh = self._build(spec for name, spec in config.breakers.items() if name not in kept)
        if self._owns_store and config.store != old_config.store:
            logger.warning("circuit breaker store settings changed; restart to apply them")
        self._current = (config, dict(sorted({**kept, **fresh}.items())))
        for name, breaker in old_breakers.items():
            if name not in kept:
                breaker.detach()
        report = ReloadReport(
            added=tuple(sorted(fresh.keys() - old_breakers.keys())),
            removed=tuple(sorted(old_breakers.keys() - config.breakers.keys())),
            rebuilt=tuple(sorted(fresh.keys() & old_breakers.keys())),
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
        breakers: dict[str, CircuitBreaker] = {}
        problems: list[ConfigProblem] = []
        for spec in sorted(specs, key=lambda spec: spec.name):
            try:
                breakers[spec.name] = CircuitBreaker(
                    name=spec.name,
                    profile=spec.profile,
                    store=self.store,
                    clock=self._clock,
                    listeners=self._listeners,
                    **spec.options,
                )
            except ValueError as exc:  # a limit the configuration's checks do not know
                where = spec.where
                path = f"breakers.{spec.name}"
                problems.append(
                    ConfigProblem(str(exc), file=where.file, line=where.line, path=path)
                )
        if problems:
            raise ConfigError(problems)
        return breakers

    def __repr__(self) -> str:
        return f"<BreakerRegistry of {len(self)} breakers>"


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
