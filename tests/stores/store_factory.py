"""The type of the ``make_store`` fixture (tests/stores/conftest.py), for annotations."""

from __future__ import annotations

from collections.abc import Callable

from circuit_breaker.stores.redis import RedisStore

# ``make_store(**options)``: a RedisStore on the session server, under the test's prefix.
StoreFactory = Callable[..., RedisStore]
