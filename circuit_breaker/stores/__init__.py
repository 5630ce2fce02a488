"""State stores: where breakers keep the state they share, behind one protocol.

Backends are looked up by name (the YAML ``store.backend`` key). Optional backends
(``redis``, ``django``) register themselves when their module is importable, so the
library never imports a driver it does not need.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from circuit_breaker.stores.base import (
    BreakerRecord,
    BreakerStore,
    FailureInfo,
    Policy,
    StoreResult,
)
from circuit_breaker.stores.memory import MemoryStore

StoreFactory = Callable[[Mapping[str, Any]], BreakerStore]

_FACTORIES: dict[str, StoreFactory] = {"memory": lambda options: MemoryStore()}
# Backends importable on demand: name -> "module:function" building the store from options.
_LAZY_FACTORIES: dict[str, str] = {
    "redis": "circuit_breaker.stores.redis:from_options",
    "django": "circuit_breaker_django.store:from_options",
}


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
    "BreakerRecord",
    "BreakerStore",
    "FailureInfo",
    "MemoryStore",
    "Policy",
    "StoreResult",
    "available_backends",
    "build_store",
    "register_store_backend",
]
