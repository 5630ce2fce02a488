"""BreakerAdapter: a breaker per host for a requests Session, on a real local server."""

from __future__ import annotations

import logging
import pickle
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress

import pytest
import requests

from circuit_breaker import CircuitBreakerState, CircuitOpenError
from circuit_breaker.integrations.requests import BreakerAdapter, CircuitOpenConnectionError
from circuit_breaker.registry import BreakerRegistry
from tests.helpers import FakeClock
from tests.integrations.breaker_config import CONFIG
from tests.integrations.upstream import Upstream, free_port

OPEN = CircuitBreakerState.OPEN
CLOSED = CircuitBreakerState.CLOSED
HOST = "127.0.0.1"


def session_for(registry: BreakerRegistry, **options: object) -> requests.Session:
    session = requests.Session()
    adapter = BreakerAdapter(registry, **options)  # type: ignore[arg-type]
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@pytest.fixture
def session(registry: BreakerRegistry) -> Iterator[requests.Session]:
    with session_for(registry) as made:
        yield made


def test_failure_statuses_are_returned_and_counted_until_the_breaker_opens(
    session: requests.Session, upstream: Upstream, registry: BreakerRegistry
) -> None:
    assert session.get(upstream.url("/")).text == "ok"
    assert registry.get(HOST).profile == "api"
    for status in (500, 503, 429):
        assert session.get(upstream.url(f"/status/{status}")).status_code == status
    assert registry.get(HOST).state is OPEN
    with pytest.raises(CircuitOpenConnectionError) as rejected:
        session.get(upstream.url("/"))
    error = rejected.value
    assert isinstance(error, CircuitOpenError) and isinstance(error, requests.ConnectionError)
    assert (error.name, error.state, error.retry_after) == (HOST, OPEN, 300.0)
    assert error.request is not None and error.request.url == upstream.url("/")
    assert error.response is None
    assert error.args == (HOST, OPEN, 300.0)
    assert str(pickle.loads(pickle.dumps(error))) == str(error)
    assert len(upstream.hits) == 4


def test_other_statuses_are_successes_and_the_configuration_can_change_that(
    upstream: Upstream,
) -> None:
    registry = BreakerRegistry.from_dict(
        {**CONFIG, "breakers": {HOST: {"failure_statuses": [404, 503]}}}
    )
    with session_for(registry) as session:
        session.get(upstream.url("/status/500"))
        session.get(upstream.url("/status/429"))
        assert registry.get(HOST).failure_count == 0
        session.get(upstream.url("/status/404"))
        assert registry.get(HOST).failure_count == 1


def test_connection_errors_and_timeouts_count_and_propagate_unchanged(
    session: requests.Session, upstream: Upstream, registry: BreakerRegistry
) -> None:
    with pytest.raises(requests.ConnectionError) as refused:
        session.get(f"http://{HOST}:{free_port()}/")
    assert not isinstance(refused.value, CircuitOpenError)
    with pytest.raises(requests.ReadTimeout):
        session.get(upstream.url("/delay/0.3"), timeout=0.05)
    assert registry.get(HOST).failure_count == 2


def test_retry_after_opens_the_breaker_that_long_capped_by_max_retry_after(
    upstream: Upstream, clock: FakeClock
) -> None:
    registry = BreakerRegistry.from_dict(CONFIG, clock=clock)
    with session_for(registry, max_retry_after=120) as session:
        assert session.get(upstream.url("/status/429?retry_after=3600")).status_code == 429
        status = registry.get(HOST).status()
        assert (status.state, status.reason, status.detail, status.retry_in) == (
            OPEN,
            "open_for",
            "HTTP 429, Retry-After: 3600",
            120.0,
        )
        clock.advance(120)
        assert session.get(upstream.url("/")).status_code == 200
    assert registry.get(HOST).state is CLOSED


def test_beyond_max_breakers_new_hosts_pass_unguarded_with_one_warning(
    registry: BreakerRegistry, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="circuit_breaker")
    with session_for(registry, max_breakers=1, name="{host}-{port}") as session:
        for _ in range(4):
            with suppress(CircuitOpenConnectionError):
                session.get(upstream.url("/status/503"))
            session.get(upstream.url("/status/503").replace(HOST, "localhost"))
    assert registry.names() == [f"{HOST}-{upstream.port}"]
    assert len([r for r in caplog.records if "pass unguarded" in r.getMessage()]) == 1
    assert Counter(hit.path for hit in upstream.hits) == {"/status/503": 3 + 4}


def test_adapter_options_reach_requests(registry: BreakerRegistry) -> None:
    adapter = BreakerAdapter(registry, pool_maxsize=3, max_retries=2)
    assert adapter.max_retries.total == 2
    assert adapter._pool_maxsize == 3
