"""Registries for the observability tests: just what the metrics collectors read."""

from __future__ import annotations

from circuit_breaker import CircuitBreaker


class StaticRegistry:
    """Just what the metrics collector needs of a registry: ``names()`` and ``get()``."""

    def __init__(self, *breakers: CircuitBreaker) -> None:
        self.breakers = {breaker.name: breaker for breaker in breakers}

    def names(self) -> list[str]:
        return sorted(self.breakers)

    def get(self, name: str) -> CircuitBreaker:
        return self.breakers[name]
