"""The shape of a configuration file, as pydantic models (``extra="forbid"``).

Models validate one part at a time -- a file's outline, then each profile, breaker,
``defaults`` and ``store`` after the files are merged -- so that one bad breaker does
not hide the problems of the others. Every field is optional: a part only overrides the
keys it gives (``model_dump(exclude_unset=True)``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainValidator

from circuit_breaker.config.kinds import (
    callable_path,
    choice,
    duration,
    exception_path,
    fail,
    flag,
    http_status,
    name,
    number,
    optional,
    rate,
    text,
    threshold_or_off,
    whole_number,
    window_size,
)
from circuit_breaker.core.config import AFTER_EXHAUSTED, MODES
from circuit_breaker.stores import available_backends

# Duration keys and the number-valued twin each one stands for (give one, not both).
DURATION_KEYS = {
    "base_interval": ("base_interval_minutes", 60.0),
    "max_interval": ("max_interval_minutes", 60.0),
    "probe_timeout": ("probe_timeout_seconds", 1.0),
}
# Keys whose BreakerConfig field has another name or unit: key -> (field, seconds per unit).
_CONFIG_FIELDS = {
    "slow_call_duration": ("slow_call_duration_seconds", 1.0),
    "base_interval": ("base_interval_seconds", 1.0),
    "base_interval_minutes": ("base_interval_seconds", 60.0),
    "max_interval": ("max_interval_seconds", 1.0),
    "max_interval_minutes": ("max_interval_seconds", 60.0),
    "probe_timeout": ("probe_timeout_seconds", 1.0),
}


def _none_as_empty(value: Any) -> Any:
    """``breakers:`` or ``orders_db:`` with nothing after it is an empty mapping."""
    return {} if value is None else value


def _version(value: Any) -> int:
    if whole_number(1)(value) != 1:
        fail("expected 1 (the only version of this format)")
    return 1


def _hint(key: str, unit: str) -> str:
    return f"; a bare number belongs in {key} ({unit})"


Flag = Annotated[bool | None, PlainValidator(flag)]
Count = Annotated[int | None, PlainValidator(whole_number(0))]
Minutes = Annotated[float | None, PlainValidator(number(0, inclusive=False, unit=" of minutes"))]
Seconds = Annotated[float | None, PlainValidator(duration(numbers=True))]
NameRef = Annotated[str | None, PlainValidator(optional(name))]
Section = Annotated[dict[str, Any], BeforeValidator(_none_as_empty)]
# Bodies are checked one by one after merging, so one bad breaker hides no other.
Sections = Annotated[
    dict[Annotated[str, PlainValidator(name)], Any], BeforeValidator(_none_as_empty)
]


class Settings(BaseModel):
    """Keys shared by ``defaults``, profiles and breakers: the constructor's parameters."""

    model_config = ConfigDict(extra="forbid")

    failure_threshold: Annotated[int | None, PlainValidator(threshold_or_off)] = None
    failure_rate_threshold: Annotated[float | None, PlainValidator(rate)] = None
    slow_call_rate_threshold: Annotated[float | None, PlainValidator(rate)] = None
    slow_call_duration: Annotated[float | None, PlainValidator(duration())] = None
    sliding_window: Annotated[tuple[str, float] | None, PlainValidator(window_size)] = None
    minimum_calls: Annotated[int | None, PlainValidator(whole_number(1))] = None
    mode: Annotated[str | None, PlainValidator(choice(lambda: MODES))] = None
    base_interval: Annotated[
        float | None,
        PlainValidator(duration(hint=_hint("base_interval_minutes", "minutes"))),
    ] = None
    base_interval_minutes: Minutes = None
    fixed_interval_retries: Count = None
    max_exponential_retries: Count = None
    jitter_enabled: Flag = None
    backoff_multiplier: Annotated[float | None, PlainValidator(number(1, inclusive=True))] = None
    max_interval: Annotated[
        float | None,
        PlainValidator(optional(duration(hint=_hint("max_interval_minutes", "minutes")))),
    ] = None
    max_interval_minutes: Annotated[
        float | None,
        PlainValidator(optional(number(0, inclusive=False, unit=" of minutes"))),
    ] = None
    jitter_ratio: Annotated[float | None, PlainValidator(number(0, inclusive=True, below=1))] = None
    after_exhausted: Annotated[str | None, PlainValidator(choice(lambda: AFTER_EXHAUSTED))] = None
    probe_timeout: Annotated[
        float | None,
        PlainValidator(duration(hint=_hint("probe_timeout_seconds", "seconds"))),
    ] = None
    probe_timeout_seconds: Annotated[
        float | None, PlainValidator(number(0, inclusive=False, unit=" of seconds"))
    ] = None
    ignore_exceptions: list[
        Annotated[str | type[BaseException], PlainValidator(exception_path)]
    ] = []
    failure_on_result: Annotated[Any, PlainValidator(optional(callable_path))] = None
    failure_statuses: list[Annotated[int, PlainValidator(http_status)]] | None = None
    critical: Flag = None

    def given(self) -> dict[str, Any]:
        """The keys this part gives, as BreakerConfig fields (durations in seconds)."""
        values = self.model_dump(exclude_unset=True)
        for key, (field, seconds_per_unit) in _CONFIG_FIELDS.items():
            if key in values:
                amount = values.pop(key)
                values[field] = None if amount is None else amount * seconds_per_unit
        if "sliding_window" in values:
            kind, size = values.pop("sliding_window")
            # One window replaces the other, whichever kind a profile gave before.
            values["sliding_window_seconds"] = size if kind == "seconds" else None
            values["sliding_window_calls"] = size if kind == "calls" else None
        return values


class ProfileSettings(Settings):
    extends: NameRef = None


class BreakerSettings(Settings):
    profile: NameRef = None


def _addresses(value: Any) -> list[str] | str:
    """``sentinels``: a list of ``host:port`` texts, or one comma-separated text (each
    address is checked by the Redis store's own rules, located by its index)."""
    if isinstance(value, str):
        return text(value)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        fail("expected a list of 'host:port' addresses")
    return [str(item) for item in value]


Text = Annotated[str | None, PlainValidator(text)]


class StoreSettings(BaseModel):
    """``store``: the backend, and the options passed to it. For the Redis store, which
    options go together (``cluster``, ``sentinels``, TLS files, credentials) is the
    store's own rule, checked after these (see :mod:`circuit_breaker.config.resolve`)."""

    model_config = ConfigDict(extra="forbid")

    backend: Annotated[str, PlainValidator(choice(available_backends))]
    url: Text = None
    cluster: Flag = None
    sentinels: Annotated[list[str] | str | None, PlainValidator(_addresses)] = None
    service_name: Text = None
    username: Text = None
    password: Text = None
    ssl_ca_certs: Text = None
    ssl_certfile: Text = None
    ssl_keyfile: Text = None
    key_prefix: Text = None
    sync_interval: Seconds = None
    socket_timeout: Seconds = None
    socket_connect_timeout: Seconds = None
    idle_ttl_seconds: Annotated[int | None, PlainValidator(whole_number(1))] = None
    flush_interval: Seconds = None

    def options(self) -> dict[str, Any]:
        """What ``build_store`` receives: the keys given, durations in seconds."""
        return self.model_dump(exclude_unset=True, exclude={"backend"})


class FileOutline(BaseModel):
    """One file's top level; the sections' contents are checked after merging."""

    model_config = ConfigDict(extra="forbid")

    version: Annotated[int | None, PlainValidator(_version)] = None
    include: list[Annotated[str, PlainValidator(text)]] = []
    defaults: Section = {}
    profiles: Sections = {}
    breakers: Sections = {}
    store: Section = {}
