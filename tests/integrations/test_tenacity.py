"""retry_unless_open: tenacity retries failures, never a rejection by an open breaker."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_none,
)

from circuit_breaker import CircuitBreaker, CircuitOpenError
from circuit_breaker.integrations.httpx import BreakerTransport, CircuitOpenTransportError
from circuit_breaker.integrations.tenacity import retry_unless_open
from circuit_breaker.registry import BreakerRegistry
from tests.helpers import FakeClock
from tests.integrations.upstream import free_port


class Flaky(Exception):
    pass


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(3, name="rates", clock=clock)


def test_failures_are_retried_until_one_succeeds(breaker: CircuitBreaker) -> None:
    answers = iter([Flaky("1"), Flaky("2"), "rates"])

    def flaky() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    @retry(retry=retry_unless_open, stop=stop_after_attempt(5), wait=wait_none())
    def fetch() -> str:
        return breaker.call(flaky)

    assert fetch() == "rates"
    assert breaker.failure_count == 0


def test_once_the_breaker_opens_the_rejection_is_raised_at_once(breaker: CircuitBreaker) -> None:
    calls: list[int] = []

    def down() -> None:
        calls.append(1)
        raise Flaky("down")

    @retry(retry=retry_unless_open, stop=stop_after_attempt(10), wait=wait_none())
    def fetch() -> None:
        breaker.call(down)

    with pytest.raises(CircuitOpenError):
        fetch()
    assert len(calls) == 3  # the threshold; the fourth attempt was rejected, not retried
    assert fetch.statistics["attempt_number"] == 4


def test_an_open_breaker_costs_one_attempt(breaker: CircuitBreaker) -> None:
    breaker.force_open()

    @retry(retry=retry_unless_open, stop=stop_after_attempt(10), wait=wait_none())
    def fetch() -> None:
        breaker.call(lambda: None)

    with pytest.raises(CircuitOpenError):
        fetch()
    assert fetch.statistics["attempt_number"] == 1


def test_a_call_that_keeps_failing_still_ends_in_tenacitys_retry_error() -> None:
    @retry(retry=retry_unless_open, stop=stop_after_attempt(2), wait=wait_none())
    def fetch() -> None:
        raise Flaky("down")

    with pytest.raises(RetryError):
        fetch()


async def test_async_retries_follow_the_same_rule(breaker: CircuitBreaker) -> None:
    attempts = 0

    async def down() -> None:
        raise Flaky("down")

    with pytest.raises(CircuitOpenError):
        async for attempt in AsyncRetrying(
            retry=retry_unless_open, stop=stop_after_attempt(10), wait=wait_none()
        ):
            with attempt:
                attempts += 1
                await breaker.call_async(down)
    assert attempts == 4


@pytest.fixture
def client(registry: BreakerRegistry) -> Iterator[httpx.Client]:
    with httpx.Client(transport=BreakerTransport(registry)) as made:
        yield made


def test_with_httpx_transport_errors_are_retried_and_rejections_are_not(
    client: httpx.Client,
) -> None:
    refused = f"http://127.0.0.1:{free_port()}/"

    @retry(
        retry=retry_unless_open & retry_if_exception_type(httpx.TransportError),
        stop=stop_after_attempt(10),
        wait=wait_none(),
    )
    def fetch() -> httpx.Response:
        return client.get(refused)

    with pytest.raises(CircuitOpenTransportError):
        fetch()
    assert fetch.statistics["attempt_number"] == 4  # three refused, then rejected
