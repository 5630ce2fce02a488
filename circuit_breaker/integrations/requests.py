"""A requests adapter that puts every request behind its host's breaker (the ``requests``
extra).

    import requests
    from circuit_breaker.integrations.requests import BreakerAdapter

    session = requests.Session()
    adapter = BreakerAdapter(registry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)

The rules are :mod:`circuit_breaker.integrations.httpx`'s: a breaker per host, created on
first use from ``profile`` unless the configuration declares its name; failure statuses
(5xx and 429 unless ``failure_statuses`` says otherwise) counted and returned; a 429 or
503 with ``Retry-After`` keeps the breaker open that long, fleet-wide (at most
``max_retry_after`` seconds); connection errors and timeouts count and propagate
unchanged; at most ``max_breakers`` breakers, then new hosts go unguarded with one
WARNING. A rejected request raises :class:`CircuitOpenConnectionError`, both a
``CircuitOpenError`` and a ``requests.ConnectionError``.

Other keyword arguments (``pool_connections``, ``pool_maxsize``, ``max_retries``,
``pool_block``) go to ``HTTPAdapter``; its retries happen inside the breaker and count
as one call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

try:
    import requests
    from requests.adapters import HTTPAdapter
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "circuit_breaker.integrations.requests needs requests: install the `requests` extra "
        "of this package from where you installed it (a path, git or a wheel), or requests"
    ) from exc

from circuit_breaker.breaker import CircuitBreaker
from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.errors import CircuitOpenError
from circuit_breaker.integrations.http_common import (
    BACK_OFF_STATUSES,
    DEFAULT_MAX_BREAKERS,
    DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_NAME,
    DEFAULT_PROFILE,
    BreakerSource,
    FailureStatus,
    HostBreakers,
    admitted_generation,
    counts_as_failure,
)

__all__ = ["BreakerAdapter", "CircuitOpenConnectionError"]


class CircuitOpenConnectionError(CircuitOpenError, requests.ConnectionError):
    """A request its host's breaker rejected: never sent.

    A ``CircuitOpenError`` (``name``, ``state``, ``retry_after``) and a
    ``requests.ConnectionError`` (``request``; ``response`` is None), so code that
    degrades on connection errors degrades on an open circuit too.
    """

    def __init__(
        self,
        name: str,
        state: CircuitBreakerState,
        retry_after: float | None = None,
        *,
        request: requests.PreparedRequest | None = None,
    ) -> None:
        super().__init__(name, state, retry_after)
        # What requests.RequestException.__init__ would have set; OSError keeps no args
        # of a subclass that has its own __init__.
        self.args = (name, state, retry_after)
        self.request = request
        self.response = None


class BreakerAdapter(HTTPAdapter):
    """Mount it on a ``requests.Session`` for the URL prefixes to guard; see the module."""

    def __init__(
        self,
        registry: BreakerSource,
        *,
        profile: str | None = DEFAULT_PROFILE,
        name: str = DEFAULT_NAME,
        max_breakers: int = DEFAULT_MAX_BREAKERS,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        **adapter_options: Any,
    ) -> None:
        self._hosts = HostBreakers(
            registry,
            owner="BreakerAdapter",
            profile=profile,
            name=name,
            max_breakers=max_breakers,
            max_retry_after=max_retry_after,
        )
        super().__init__(**adapter_options)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = request.url or ""
        key = url.split("/", 3)[:3]  # scheme, "", netloc
        breaker = self._hosts.by_key.get(tuple(key))
        if breaker is None:
            breaker = self._resolve(url, tuple(key))
            if breaker is None:
                return super().send(request, stream, timeout, verify, cert, proxies)
        options = (stream, timeout, verify, cert, proxies)
        try:
            return breaker.call(self._send, request, options, breaker)
        except FailureStatus as failed:
            response: requests.Response = failed.response
            return response
        except CircuitOpenError as exc:
            raise CircuitOpenConnectionError(
                exc.name, exc.state, exc.retry_after, request=request
            ) from None

    def _resolve(self, url: str, key: tuple[str, ...]) -> CircuitBreaker | None:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:  # requests reports a malformed URL better than we could
            return None
        return self._hosts.resolve(key, parts.scheme.lower(), parts.hostname or "", port)

    def _send(
        self,
        request: requests.PreparedRequest,
        options: tuple[Any, ...],
        breaker: CircuitBreaker,
    ) -> requests.Response:
        generation = admitted_generation(breaker)
        response = super().send(request, *options)
        status = response.status_code
        if status in BACK_OFF_STATUSES:
            retry_after = response.headers.get("Retry-After")
            self._hosts.back_off(breaker, status, retry_after, generation)
        if counts_as_failure(breaker, status):
            raise FailureStatus(status, response.reason or "", response)
        return response
