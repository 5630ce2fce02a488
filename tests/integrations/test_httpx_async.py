"""AsyncBreakerTransport: the same rules as BreakerTransport, on httpx's async transport."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from circuit_breaker import CircuitBreakerState, CircuitOpenError
from circuit_breaker.integrations.httpx import AsyncBreakerTransport, CircuitOpenTransportError
from circuit_breaker.registry import BreakerRegistry
from tests.helpers import FakeClock
from tests.integrations.upstream import Upstream, free_port

HOST = "127.0.0.1"


@pytest.fixture
async def client(registry: BreakerRegistry) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=AsyncBreakerTransport(registry), timeout=5) as made:
        yield made


async def test_failure_statuses_are_returned_counted_and_then_rejected(
    client: httpx.AsyncClient, upstream: Upstream, registry: BreakerRegistry
) -> None:
    assert (await client.get(upstream.url("/"))).text == "ok"
    for status in (500, 502, 429):
        assert (await client.get(upstream.url(f"/status/{status}"))).status_code == status
    assert registry.get(HOST).state is CircuitBreakerState.OPEN
    with pytest.raises(CircuitOpenTransportError) as rejected:
        await client.get(upstream.url("/"))
    assert isinstance(rejected.value, CircuitOpenError | httpx.TransportError)
    assert rejected.value.request.url == upstream.url("/")
    assert len(upstream.hits) == 4


async def test_retry_after_opens_the_breaker_that_long_then_one_probe_closes_it(
    client: httpx.AsyncClient, upstream: Upstream, registry: BreakerRegistry, clock: FakeClock
) -> None:
    assert (await client.get(upstream.url("/status/503?retry_after=20"))).status_code == 503
    status = registry.get(HOST).status()
    assert (status.reason, status.detail, status.retry_in) == (
        "open_for",
        "HTTP 503, Retry-After: 20",
        20.0,
    )
    clock.advance(20)
    assert (await client.get(upstream.url("/"))).status_code == 200
    assert registry.get(HOST).state is CircuitBreakerState.CLOSED


async def test_transport_errors_count_and_propagate_unchanged(
    client: httpx.AsyncClient, registry: BreakerRegistry
) -> None:
    with pytest.raises(httpx.ConnectError):
        await client.get(f"http://{HOST}:{free_port()}/")
    assert registry.get(HOST).failure_count == 1


async def test_the_wrapped_transport_is_the_one_given(
    registry: BreakerRegistry, upstream: Upstream
) -> None:
    seen: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(503)

    transport = AsyncBreakerTransport(registry, transport=httpx.MockTransport(answer))
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get("http://mocked.example/")).status_code == 503
    assert seen == ["http://mocked.example/"]
    assert registry.get("mocked.example").failure_count == 1


async def test_a_hosts_breaker_is_built_off_the_event_loop(
    registry: BreakerRegistry, upstream: Upstream
) -> None:
    """Building one reads the store (and, in Django, writes its row): never on the loop."""
    threads: list[int] = []

    class Watched:
        def get_or_create(self, name: str, *, profile: str | None = None) -> Any:
            threads.append(threading.get_ident())
            return registry.get_or_create(name, profile=profile)

        def __contains__(self, name: object) -> bool:
            return name in registry

    async with httpx.AsyncClient(transport=AsyncBreakerTransport(Watched())) as client:
        await client.get(upstream.url("/"))
        await client.get(upstream.url("/"))
    assert len(threads) == 1 and threads[0] != threading.get_ident()
