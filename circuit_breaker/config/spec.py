"""What a loaded configuration amounts to: one spec per breaker, and the store's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from circuit_breaker.config.source import Location


@dataclass(frozen=True)
class BreakerSpec:
    """A breaker's resolved settings; equal specs build breakers that behave the same.

    ``options`` are ``CircuitBreaker`` keyword arguments (``ignore_exceptions`` as classes).
    """

    name: str
    profile: str | None
    options: dict[str, Any]
    where: Location = field(compare=False)

    @property
    def critical(self) -> bool:
        return bool(self.options["critical"])


@dataclass(frozen=True)
class StoreSpec:
    """The ``store`` section: a backend name and the options ``build_store`` receives."""

    backend: str
    options: dict[str, Any]
    where: Location = field(compare=False)


@dataclass(frozen=True)
class RegistryConfig:
    """A whole configuration, valid: breakers by name, the store (None: not given)."""

    breakers: dict[str, BreakerSpec]
    store: StoreSpec | None
    sources: tuple[str, ...]
