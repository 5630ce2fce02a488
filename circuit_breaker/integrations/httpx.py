"""httpx transports that put every request behind its host's breaker (the ``httpx`` extra).

    import httpx
    from circuit_breaker.integrations.httpx import BreakerTransport

    client = httpx.Client(transport=BreakerTransport(registry))

Each host gets a breaker the first time it is called (``name`` is a template over
``{host}``, ``{port}`` and ``{scheme}``; a name the configuration declares keeps its own
settings, any other is built from ``profile``). A response whose status counts as a
failure (5xx and 429 unless the breaker's ``failure_statuses`` says otherwise) is counted
and still returned; a 429 or 503 with ``Retry-After`` keeps the breaker open that long in
every process sharing the store (at most ``max_retry_after`` seconds). Transport errors
count and propagate unchanged. A rejected request raises
:class:`CircuitOpenTransportError`, both a ``CircuitOpenError`` and an
``httpx.TransportError``, so ``except httpx.TransportError`` handlers keep working.

One transport creates at most ``max_breakers`` breakers; once it has, requests to hosts
that have none go through unguarded, and one WARNING says so.

The breaker judges the status line and headers: an error while the caller reads a
streamed body comes after the breaker's verdict and is not counted.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

try:
    import httpx
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "circuit_breaker.integrations.httpx needs httpx: install the `httpx` extra of this "
        "package from where you installed it (a path, git or a wheel), or httpx itself"
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

__all__ = ["AsyncBreakerTransport", "BreakerTransport", "CircuitOpenTransportError"]


class CircuitOpenTransportError(CircuitOpenError, httpx.TransportError):
    """A request its host's breaker rejected: never sent.

    A ``CircuitOpenError`` (``name``, ``state``, ``retry_after``) and an
    ``httpx.TransportError`` (``request``), so code that degrades on transport errors
    degrades on an open circuit too. It is no ``ConnectError`` or ``TimeoutException``:
    a retry keyed on those does not spend its attempts on a circuit that is open.
    """

    def __init__(
        self,
        name: str,
        state: CircuitBreakerState,
        retry_after: float | None = None,
        *,
        request: httpx.Request | None = None,
    ) -> None:
        super().__init__(name, state, retry_after)
        self._request = request  # what httpx.RequestError.__init__ would have set


def _rejected(exc: CircuitOpenError, request: httpx.Request) -> CircuitOpenTransportError:
    return CircuitOpenTransportError(exc.name, exc.state, exc.retry_after, request=request)


def _hosts(
    registry: BreakerSource,
    owner: str,
    profile: str | None,
    name: str,
    max_breakers: int,
    max_retry_after: float,
) -> HostBreakers:
    return HostBreakers(
        registry,
        owner=owner,
        profile=profile,
        name=name,
        max_breakers=max_breakers,
        max_retry_after=max_retry_after,
    )


def _key(request: httpx.Request) -> tuple[str, str, int | None]:
    """(scheme, host, port) of the request, read where httpx keeps them parsed (the public
    properties re-encode each part: twice the cost, on every request)."""
    url = request.url
    try:
        parsed = url._uri_reference
    except AttributeError:  # pragma: no cover - an httpx that parses differently
        return url.scheme, url.host, url.port
    return parsed.scheme, parsed.host, parsed.port


def _resolve(hosts: HostBreakers, request: httpx.Request, key: object) -> CircuitBreaker | None:
    url = request.url
    host = url.raw_host.decode("ascii", "replace").lower()
    return hosts.resolve(key, url.scheme, host, url.port)


def _failure_to_count(breaker: CircuitBreaker, status: int) -> bool:
    """Whether the response needs a closer look: the common 2xx-4xx answer, with the
    default failure statuses, costs one comparison and one attribute read."""
    return status >= 429 or breaker.config.failure_statuses is not None


class BreakerTransport(httpx.BaseTransport):
    """Wraps ``transport`` (default: a new ``httpx.HTTPTransport()``); see the module."""

    def __init__(
        self,
        registry: BreakerSource,
        *,
        profile: str | None = DEFAULT_PROFILE,
        name: str = DEFAULT_NAME,
        transport: httpx.BaseTransport | None = None,
        max_breakers: int = DEFAULT_MAX_BREAKERS,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
    ) -> None:
        self._hosts = _hosts(
            registry, "BreakerTransport", profile, name, max_breakers, max_retry_after
        )
        self._transport = transport if transport is not None else httpx.HTTPTransport()
        self._by_key = self._hosts.by_key

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = _key(request)
        breaker = self._by_key.get(key)
        if breaker is None:
            breaker = _resolve(self._hosts, request, key)
            if breaker is None:
                return self._transport.handle_request(request)
        try:
            return breaker.call(self._send, request, breaker)
        except FailureStatus as failed:
            response: httpx.Response = failed.response
            return response
        except CircuitOpenError as exc:
            raise _rejected(exc, request) from None

    def _send(self, request: httpx.Request, breaker: CircuitBreaker) -> httpx.Response:
        generation = admitted_generation(breaker)
        response = self._transport.handle_request(request)
        status = response.status_code
        if _failure_to_count(breaker, status):
            if status in BACK_OFF_STATUSES:
                retry_after = response.headers.get("Retry-After")
                self._hosts.back_off(breaker, status, retry_after, generation)
            if counts_as_failure(breaker, status):
                raise FailureStatus(status, response.reason_phrase, response)
        return response

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> BreakerTransport:
        self._transport.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self._transport.__exit__(exc_type, exc_value, traceback)


class AsyncBreakerTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`BreakerTransport` (default: ``httpx.AsyncHTTPTransport()``).

    Store round trips (a probe's permit, a verdict after a failure) run in a worker
    thread, never on the event loop.
    """

    def __init__(
        self,
        registry: BreakerSource,
        *,
        profile: str | None = DEFAULT_PROFILE,
        name: str = DEFAULT_NAME,
        transport: httpx.AsyncBaseTransport | None = None,
        max_breakers: int = DEFAULT_MAX_BREAKERS,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
    ) -> None:
        self._hosts = _hosts(
            registry, "AsyncBreakerTransport", profile, name, max_breakers, max_retry_after
        )
        self._transport = transport if transport is not None else httpx.AsyncHTTPTransport()
        self._by_key = self._hosts.by_key

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = _key(request)
        breaker = self._by_key.get(key)
        if breaker is None:
            # Once per host: building a breaker reads its record (and, in Django, writes
            # its row), which must not block the event loop.
            breaker = await asyncio.to_thread(_resolve, self._hosts, request, key)
            if breaker is None:
                return await self._transport.handle_async_request(request)
        try:
            return await breaker.call_async(self._send, request, breaker)
        except FailureStatus as failed:
            response: httpx.Response = failed.response
            return response
        except CircuitOpenError as exc:
            raise _rejected(exc, request) from None

    async def _send(self, request: httpx.Request, breaker: CircuitBreaker) -> httpx.Response:
        generation = admitted_generation(breaker)
        response = await self._transport.handle_async_request(request)
        status = response.status_code
        if _failure_to_count(breaker, status):
            if status in BACK_OFF_STATUSES:
                retry_after = response.headers.get("Retry-After")
                back_off = self._hosts.back_off
                if retry_after is not None and breaker.store.shared:  # store I/O: off the loop
                    await asyncio.to_thread(back_off, breaker, status, retry_after, generation)
                else:
                    back_off(breaker, status, retry_after, generation)
            if counts_as_failure(breaker, status):
                raise FailureStatus(status, response.reason_phrase, response)
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncBreakerTransport:
        await self._transport.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self._transport.__aexit__(exc_type, exc_value, traceback)
