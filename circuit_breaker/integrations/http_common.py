"""What the HTTP integrations share: a breaker per host, failures by status, Retry-After.

A transport (httpx) or adapter (requests) keys its breakers by ``(scheme, host, port)``
and keeps them in a dict, so after a host's first request finding its breaker is one
lookup. The breaker itself comes from the registry's ``get_or_create``: a name the
configuration declares keeps its own settings, any other is built from the profile.

A response counts as a failure by its status (by default 5xx and 429; a breaker's
``failure_statuses`` replaces that). It is raised inside the breaker as
:class:`FailureStatus`, so that the breaker counts it exactly like an exception, and
caught around it, so that the caller still gets the response.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import math
import re
import string
import threading
import time
from collections.abc import Callable, Hashable
from datetime import UTC
from typing import Any, Protocol

from circuit_breaker.breaker import CircuitBreaker
from circuit_breaker.core.config import MAX_NAME_LENGTH, check_number
from circuit_breaker.core.schedule import MAX_INTERVAL_SECONDS
from circuit_breaker.registry import BreakerRegistry

logger = logging.getLogger("circuit_breaker")

DEFAULT_PROFILE = "api"
DEFAULT_NAME = "{host}"
DEFAULT_MAX_BREAKERS = 1000
DEFAULT_MAX_RETRY_AFTER = 600.0
"""Ten minutes: a server asking for longer is more likely wrong than right."""
BACK_OFF_STATUSES = frozenset({429, 503})
TEMPLATE_FIELDS = ("host", "port", "scheme")
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

_REFUSED = re.compile(r"[^A-Za-z0-9_.:-]+")  # what a configuration file refuses in a name
_FIRST = re.compile(r"[A-Za-z0-9_]")
_DELTA_SECONDS = re.compile(r"[0-9]+")


class BreakerSource(Protocol):
    """A :class:`~circuit_breaker.registry.BreakerRegistry`, or the Django app's lazy one."""

    def get_or_create(self, name: str, *, profile: str | None = None) -> CircuitBreaker: ...

    def __contains__(self, name: object) -> bool: ...


class FailureStatus(Exception):
    """A response whose status counts as a failure, on its way through the breaker."""

    def __init__(self, status: int, reason: str, response: Any) -> None:
        super().__init__(f"HTTP {status} {reason}".rstrip())
        self.response = response


def check_template(template: object) -> str:
    """``template`` if it only uses ``{host}``, ``{port}`` and ``{scheme}``."""
    if not isinstance(template, str) or not template:
        raise ValueError(f"name must be a non-empty template like '{{host}}', got {template!r}")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"name template {template!r} cannot be read: {exc}") from None
    for _, field, spec, conversion in parts:
        if field is not None and (field not in TEMPLATE_FIELDS or spec or conversion):
            shown = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise ValueError(
                f"name template {template!r} may use {{host}}, {{port}} and {{scheme}}, "
                f"not {{{shown}}}"
            )
    return template


def breaker_name(template: str, scheme: str, host: str, port: int | None) -> str:
    """The template filled in, made a name any configuration file accepts: IPv6 brackets
    dropped, other refused characters replaced by ``_``, at most 200 characters (a long
    name is cut and ends with a hash of the whole, so two long names stay apart)."""
    if host.startswith(":"):
        host = f"0{host}"  # "::1" is "0::1": a name may not start with ':'
    if port is None:
        port = DEFAULT_PORTS.get(scheme)
    filled = template.format(host=host, port="" if port is None else port, scheme=scheme)
    name = _REFUSED.sub("_", filled.replace("[", "").replace("]", ""))
    if name and not _FIRST.match(name):
        name = f"_{name}"
    if len(name) > MAX_NAME_LENGTH:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[: MAX_NAME_LENGTH - 9]}-{digest}"
    return name


def retry_after_seconds(
    value: str, cap: float, now: Callable[[], float] = time.time
) -> float | None:
    """Seconds a ``Retry-After`` value asks for (delta-seconds or an HTTP-date), at most
    ``cap``; None for a malformed value or one that asks for no wait at all."""
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        seconds = float(text) if len(text) <= 15 else math.inf  # no float of 5,000 digits
    else:
        try:
            date = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if date.tzinfo is None:  # HTTP dates are in GMT, whatever the zone says or lacks
            date = date.replace(tzinfo=UTC)
        try:
            seconds = date.timestamp() - now()
        except (OverflowError, OSError, ValueError):
            return None
    if not seconds > 0:
        return None
    return min(seconds, cap)


def counts_as_failure(breaker: CircuitBreaker, status: int) -> bool:
    statuses = breaker.config.failure_statuses
    if statuses is None:
        return status >= 500 or status == 429
    return status in statuses


def admitted_generation(breaker: CircuitBreaker) -> int:
    """The breaker's generation as a request starts: a back-off its response asks for is
    ignored if the breaker changed state meanwhile (it opened, or another probe ran)."""
    return breaker._record.generation


class HostBreakers:
    """The breakers one transport guards, by request key (scheme, host, port)."""

    def __init__(
        self,
        registry: BreakerSource,
        *,
        owner: str,
        profile: str | None,
        name: str,
        max_breakers: int,
        max_retry_after: float,
    ) -> None:
        if isinstance(max_breakers, bool) or not isinstance(max_breakers, int) or max_breakers < 1:
            raise ValueError(f"max_breakers must be a whole number >= 1, got {max_breakers!r}")
        check_number("max_retry_after", max_retry_after, above=0, at_most=MAX_INTERVAL_SECONDS)
        if profile is not None and not isinstance(profile, str):
            raise ValueError(f"profile must be a profile name, got {profile!r}")
        if isinstance(registry, BreakerRegistry):  # a lazy registry is checked at first use
            registry.config.config_for(profile)
        self.registry = registry
        self.owner = owner
        self.profile = profile
        self.template = check_template(name)
        self.max_breakers = max_breakers
        self.max_retry_after = float(max_retry_after)
        self.by_key: dict[Hashable, CircuitBreaker | None] = {}
        self._created: set[str] = set()
        self._lock = threading.Lock()
        self._warned = False

    def resolve(
        self, key: Hashable, scheme: str, host: str, port: int | None
    ) -> CircuitBreaker | None:
        """The breaker for a key seen for the first time; None: the request goes unguarded
        (no host to name a breaker after, or ``max_breakers`` reached)."""
        name = breaker_name(self.template, scheme, host, port) if host else ""
        if not name:
            return None
        with self._lock:
            new = name not in self._created and name not in self.registry
            if new and len(self._created) >= self.max_breakers:
                self._warn_once(name)
                return None
            if new:
                self._created.add(name)
        breaker = self.registry.get_or_create(name, profile=self.profile)
        self.by_key[key] = breaker
        return breaker

    def _warn_once(self, name: str) -> None:
        if self._warned:
            return
        self._warned = True
        logger.warning(
            "%s created max_breakers=%d breakers; requests to hosts without a breaker "
            "(first: %r) now pass unguarded",
            self.owner,
            self.max_breakers,
            name,
        )

    def back_off(
        self, breaker: CircuitBreaker, status: int, retry_after: str | None, generation: int
    ) -> None:
        """A 429 or 503 with ``Retry-After``: keep the breaker open that long, fleet-wide."""
        if retry_after is None:
            return
        seconds = retry_after_seconds(retry_after, self.max_retry_after)
        if seconds is not None:
            reason = f"HTTP {status}, Retry-After: {retry_after.strip()}"
            breaker._open_for(seconds, reason, actor=None, generation=generation)
