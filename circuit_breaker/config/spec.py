"""What a loaded configuration amounts to: one config per breaker, and the store's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from circuit_breaker.config.source import Location
from circuit_breaker.core.config import BreakerConfig


@dataclass(frozen=True)
class BreakerSpec:
    """A breaker's name and resolved configuration; equal specs build equal breakers."""

    name: str
    config: BreakerConfig
    where: Location = field(compare=False)

    @property
    def profile(self) -> str | None:
        return self.config.profile

    @property
    def critical(self) -> bool:
        return self.config.critical


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
