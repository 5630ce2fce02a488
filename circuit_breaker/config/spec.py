"""What a loaded configuration amounts to: one config per breaker, and the store's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from circuit_breaker.config.source import Location
from circuit_breaker.core.config import BreakerConfig, InvalidSetting
from circuit_breaker.errors import ConfigError, ConfigProblem


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
class ProfileSpec:
    """What a breaker created on first use is built from: a profile (after the profiles it
    extends) under ``defaults``, as for a declared breaker naming it and nothing else.

    ``profile`` is None for a breaker created without one: ``defaults`` alone (and the
    profile ``defaults`` names, if any).
    """

    profile: str | None
    settings: dict[str, Any]
    where: Location = field(compare=False)

    def config(self) -> BreakerConfig:
        """The breaker's config; ConfigError if the profile cannot stand on its own (one
        that relies on each breaker's own keys to complete a rule)."""
        try:
            return BreakerConfig(profile=self.profile, **self.settings)
        except InvalidSetting as exc:
            what = "defaults" if self.profile is None else f"profile {self.profile!r}"
            message = f"{what} cannot build a breaker by itself: {exc.field} must be {exc.expected}"
            path = "defaults" if self.profile is None else f"profiles.{self.profile}"
            where = self.where
            raise ConfigError(
                [ConfigProblem(message, file=where.file, line=where.line, path=path)]
            ) from None


@dataclass(frozen=True)
class RegistryConfig:
    """A whole configuration, valid: breakers by name, the store (None: not given), and
    what breakers created on first use are built from (``profiles``, ``defaults``)."""

    breakers: dict[str, BreakerSpec]
    store: StoreSpec | None
    sources: tuple[str, ...]
    profiles: dict[str, ProfileSpec] = field(default_factory=dict)
    defaults: ProfileSpec = field(default_factory=lambda: ProfileSpec(None, {}, Location(None)))

    def config_for(self, profile: str | None) -> BreakerConfig:
        """The config of a breaker created on first use with ``profile`` (None: defaults);
        ConfigError for an unknown profile."""
        if profile is None:
            return self.defaults.config()
        spec = self.profiles.get(profile)
        if spec is None:
            known = ", ".join(sorted(self.profiles))
            raise ConfigError(f"unknown profile {profile!r}; known profiles: {known}")
        return spec.config()
