"""State stores: where breakers keep the state they share, behind one protocol.

Backends are looked up by name (the YAML ``store.backend`` key). ``redis`` is imported
on first use, so the library never imports a driver it does not need; other packages
register their own (the Django app registers ``django`` when it starts).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from circuit_breaker.stores.base import BreakerStore, Follower, StoreResult
from circuit_breaker.stores.memory import MemoryStore
from circuit_breaker.stores.memory import from_options as memory_from_options

StoreFactory = Callable[[Mapping[str, Any]], BreakerStore]

_FACTORIES: dict[str, StoreFactory] = {"memory": memory_from_options}
# Backends importable on demand: name -> "module:function" building the store from options.
_LAZY_FACTORIES: dict[str, str] = {"redis": "circuit_breaker.stores.redis:from_options"}


def register_store_backend(name: str, factory: StoreFactory | str) -> None:
    """Make ``store: {backend: NAME}`` build a store with ``factory(options)``."""
    if isinstance(factory, str):
        _LAZY_FACTORIES[name] = factory
    else:
        _FACTORIES[name] = factory


def available_backends() -> list[str]:
    return sorted({*_FACTORIES, *_LAZY_FACTORIES})


def build_store(backend: str, options: Mapping[str, Any]) -> BreakerStore:
    """Build a store by backend name; raises KeyError for an unknown backend."""
    if backend not in _FACTORIES and backend in _LAZY_FACTORIES:
        module_name, _, attribute = _LAZY_FACTORIES[backend].partition(":")
        _FACTORIES[backend] = getattr(importlib.import_module(module_name), attribute)
    return _FACTORIES[backend](options)


__all__ = [
    "BreakerStore",
    "Follower",
    "MemoryStore",
    "StoreResult",
    "available_backends",
    "build_store",
    "register_store_backend",
]
