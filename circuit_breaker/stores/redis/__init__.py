"""The Redis fleet store (the ``redis`` extra): :class:`RedisStore` and its YAML factory.

Importing this package does not import redis-py (the store's modules do, on first use of
their names), so that the store's options (:mod:`circuit_breaker.stores.redis.options`)
can be checked with the rest of a configuration where redis-py is not installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from circuit_breaker.stores.redis.store import (
        DEFAULT_URL,
        OPTION_NAMES,
        RedisStore,
        from_options,
    )

__all__ = ["DEFAULT_URL", "OPTION_NAMES", "RedisStore", "from_options"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("circuit_breaker.stores.redis.store"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
