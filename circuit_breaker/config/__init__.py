"""The YAML configuration: files -> one merged document -> validated breaker specs.

Loading reports every problem at once, as one :class:`~circuit_breaker.errors.ConfigError`
whose problems carry the file, line and key path they concern.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from circuit_breaker.config.durations import parse_duration
from circuit_breaker.config.files import read_files, read_mapping
from circuit_breaker.config.profiles import BUILTIN_PROFILES
from circuit_breaker.config.resolve import resolve
from circuit_breaker.config.source import Location
from circuit_breaker.config.spec import BreakerSpec, RegistryConfig, StoreSpec
from circuit_breaker.errors import ConfigError


def load_config(
    *paths: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> RegistryConfig:
    """Read YAML files (later ones override earlier ones); raises ConfigError."""
    if not paths:
        raise ConfigError("no configuration file given")
    return resolve(read_files(paths, os.environ if environ is None else environ))


def config_from_dict(
    mapping: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> RegistryConfig:
    """The same as :func:`load_config`, for a configuration given as Python data."""
    return resolve(read_mapping(mapping, os.environ if environ is None else environ))


__all__ = [
    "BUILTIN_PROFILES",
    "BreakerSpec",
    "Location",
    "RegistryConfig",
    "StoreSpec",
    "config_from_dict",
    "load_config",
    "parse_duration",
]
