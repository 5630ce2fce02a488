"""The Django app: a breaker registry built from settings, its admin, command and health view.

``from circuit_breaker_django import registry`` works anywhere (views, tasks, shells):
``registry`` is a proxy that builds the real :class:`~circuit_breaker.registry.BreakerRegistry`
on first use, so importing this package never reads settings, touches the database or
raises a configuration error.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from circuit_breaker_django.conf import SETTING, get_config

if TYPE_CHECKING:
    from circuit_breaker import BreakerStatus, Health
    from circuit_breaker.breaker import CircuitBreaker
    from circuit_breaker.registry import BreakerRegistry, ReloadReport


class LazyRegistry:
    """Delegates to the registry the settings describe, built once, on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registry: BreakerRegistry | None = None
        self._pinned = False  # given through configure(), not built from settings

    def _target(self) -> BreakerRegistry:
        registry = self._registry
        if registry is None:
            with self._lock:
                if self._registry is None:
                    from circuit_breaker_django.bootstrap import build_registry

                    self._registry = build_registry(self)
                registry = self._registry
        return registry

    @property
    def is_built(self) -> bool:
        return self._registry is not None

    def configure(self, registry: BreakerRegistry | None) -> None:
        """Use ``registry`` from now on (tests, custom set-ups); None: rebuild from settings.

        The caller owns a registry it passes in; the listener that records transitions
        (:func:`circuit_breaker_django.actions.record_transition`) is the caller's to add.
        """
        with self._lock:
            self._close_built()
            self._registry = registry
            self._pinned = registry is not None

    def settings_changed(self, *, setting: str = SETTING, **kwargs: Any) -> None:
        """``override_settings(CIRCUIT_BREAKERS=...)`` (the ``setting_changed`` signal): drop
        a registry built from settings, so the next use rebuilds it; keep a pinned one."""
        if setting != SETTING:
            return
        get_config.cache_clear()
        with self._lock:
            if not self._pinned:
                self._close_built()
                self._registry = None

    def _close_built(self) -> None:
        """A registry built from settings owns its store: stop its background thread."""
        if self._registry is not None and not self._pinned:
            self._registry.store.close()

    def get(self, name: str) -> CircuitBreaker:
        return self._target().get(name)

    __getitem__ = get

    def get_or_create(self, name: str, *, profile: str | None = None) -> CircuitBreaker:
        """:meth:`BreakerRegistry.get_or_create`; a breaker it creates gets its row (the
        admin's anchor) at once."""
        target = self._target()
        known = name in target
        breaker = target.get_or_create(name, profile=profile)
        if not known:
            from circuit_breaker_django.bootstrap import ensure_rows

            ensure_rows([name])
        return breaker

    def names(self) -> list[str]:
        return self._target().names()

    def status(self, names: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        return self._target().status(names)

    def statuses(self, names: Iterable[str] | None = None) -> dict[str, BreakerStatus]:
        return self._target().statuses(names)

    def health(self, names: Iterable[str] | None = None) -> Health:
        return self._target().health(names)

    def reload(self) -> ReloadReport:
        """Re-read the YAML; breakers it adds get their rows (the admin anchors)."""
        from circuit_breaker_django.bootstrap import ensure_rows

        report = self._target().reload()
        if report.added:
            ensure_rows(list(report.added))
        return report

    def __contains__(self, name: object) -> bool:
        return name in self._target()

    def __iter__(self) -> Iterator[CircuitBreaker]:
        return iter(self._target())

    def __len__(self) -> int:
        return len(self._target())

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._target(), attribute)

    def __repr__(self) -> str:
        return repr(self._registry) if self._registry is not None else "<LazyRegistry (not built)>"


registry = LazyRegistry()

__all__ = ["LazyRegistry", "registry"]
