"""The Redis fleet store (the ``redis`` extra): :class:`RedisStore` and its YAML factory."""

from circuit_breaker.stores.redis.store import DEFAULT_URL, OPTION_NAMES, RedisStore, from_options

__all__ = ["DEFAULT_URL", "OPTION_NAMES", "RedisStore", "from_options"]
