"""BreakerTransport: a breaker per host in front of httpx's own transport, on a real server."""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress

import httpx
import pytest

from circuit_breaker import CircuitBreakerState, CircuitOpenError
from circuit_breaker.errors import ConfigError
from circuit_breaker.integrations.httpx import BreakerTransport, CircuitOpenTransportError
from circuit_breaker.registry import BreakerRegistry
from tests.helpers import FakeClock
from tests.integrations.breaker_config import CONFIG
from tests.integrations.upstream import Upstream, free_port, running

OPEN = CircuitBreakerState.OPEN
CLOSED = CircuitBreakerState.CLOSED
HOST = "127.0.0.1"


@pytest.fixture
def client(registry: BreakerRegistry) -> Iterator[httpx.Client]:
    with httpx.Client(transport=BreakerTransport(registry), timeout=5) as made:
        yield made


def test_a_success_passes_through_and_creates_the_hosts_breaker(
    client: httpx.Client, upstream: Upstream, registry: BreakerRegistry
) -> None:
    response = client.get(upstream.url("/"))
    assert (response.status_code, response.text) == (200, "ok")
    breaker = registry.get(HOST)
    assert (breaker.profile, breaker.state) == ("api", CLOSED)
    assert registry.statuses()[HOST].failure_count == 0


def test_failure_statuses_are_returned_and_counted_until_the_breaker_opens(
    client: httpx.Client, upstream: Upstream, registry: BreakerRegistry
) -> None:
    for status in (500, 503, 429):  # the api profile opens at the third
        assert client.get(upstream.url(f"/status/{status}")).status_code == status
    breaker = registry.get(HOST)
    assert breaker.state is OPEN
    status = breaker.status()
    assert status.last_failure is not None
    assert (status.last_failure.type, status.last_failure.message) == (
        "FailureStatus",
        "HTTP 429 Too Many Requests",
    )
    with pytest.raises(CircuitOpenTransportError) as rejected:
        client.get(upstream.url("/"))
    error = rejected.value
    assert isinstance(error, CircuitOpenError) and isinstance(error, httpx.TransportError)
    assert not isinstance(error, httpx.ConnectError | httpx.TimeoutException)
    assert (error.name, error.state, error.retry_after) == (HOST, OPEN, 300.0)
    assert error.request.url == upstream.url("/")
    assert "is OPEN; next retry in 5m" in str(error)
    assert len(upstream.hits) == 3  # the rejected request never left


def test_other_statuses_count_as_successes(
    client: httpx.Client, upstream: Upstream, registry: BreakerRegistry
) -> None:
    client.get(upstream.url("/status/503"))
    for status in (404, 400, 301, 201):
        client.get(upstream.url(f"/status/{status}"))
    assert registry.get(HOST).failure_count == 0  # a success ends the streak


def test_failure_statuses_of_the_configuration_replace_the_default(upstream: Upstream) -> None:
    registry = BreakerRegistry.from_dict(
        {**CONFIG, "breakers": {HOST: {"failure_statuses": [404], "failure_threshold": 1}}}
    )
    with httpx.Client(transport=BreakerTransport(registry)) as client:
        assert client.get(upstream.url("/status/503")).status_code == 503
        assert registry.get(HOST).state is CLOSED
        assert client.get(upstream.url("/status/404")).status_code == 404
        assert registry.get(HOST).state is OPEN


def test_a_declared_breaker_keeps_its_own_configuration(upstream: Upstream) -> None:
    registry = BreakerRegistry.from_dict({**CONFIG, "breakers": {HOST: {"profile": "critical"}}})
    declared = registry.get(HOST)
    with httpx.Client(transport=BreakerTransport(registry, profile="db")) as client:
        client.get(upstream.url("/status/500"))
    assert registry.get(HOST) is declared
    assert (declared.profile, declared.failure_count) == ("critical", 1)


def test_transport_errors_count_and_propagate_unchanged(
    client: httpx.Client, registry: BreakerRegistry
) -> None:
    refused = f"http://{HOST}:{free_port()}/"  # nothing listens there
    for _ in range(3):
        with pytest.raises(httpx.ConnectError):
            client.get(refused)
    assert registry.get(HOST).state is OPEN
    assert registry.get(HOST).status().last_failure.type == "ConnectError"  # type: ignore[union-attr]


def test_a_timeout_counts_and_propagates(
    client: httpx.Client, upstream: Upstream, registry: BreakerRegistry
) -> None:
    with pytest.raises(httpx.ReadTimeout):
        client.get(upstream.url("/delay/0.3"), timeout=0.05)
    assert registry.get(HOST).failure_count == 1


def test_retry_after_in_seconds_opens_the_breaker_that_long(
    client: httpx.Client, upstream: Upstream, registry: BreakerRegistry, clock: FakeClock
) -> None:
    response = client.get(upstream.url("/status/429?retry_after=30"))
    assert response.status_code == 429  # still returned
    breaker = registry.get(HOST)
    status = breaker.status()
    assert (status.state, status.reason, status.detail) == (
        OPEN,
        "open_for",
        "HTTP 429, Retry-After: 30",
    )
    with pytest.raises(CircuitOpenTransportError) as rejected:
        client.get(upstream.url("/"))
    assert rejected.value.retry_after == pytest.approx(30)
    clock.advance(30)
    assert client.get(upstream.url("/")).status_code == 200  # the probe
    assert breaker.state is CLOSED
    assert len(upstream.hits) == 2


def test_retry_after_as_an_http_date_on_a_503(
    client: httpx.Client, upstream: Upstream, registry: BreakerRegistry
) -> None:
    date = email.utils.formatdate(time.time() + 120, usegmt=True)
    client.get(upstream.url(f"/status/503?retry_after={date}"))
    with pytest.raises(CircuitOpenTransportError) as rejected:
        client.get(upstream.url("/"))
    assert rejected.value.retry_after == pytest.approx(120, abs=3)


def test_retry_after_is_capped_by_max_retry_after(upstream: Upstream, clock: FakeClock) -> None:
    for transport_options, expected in (({}, 600.0), ({"max_retry_after": 45}, 45.0)):
        registry = BreakerRegistry.from_dict(CONFIG, clock=clock)
        transport = BreakerTransport(registry, **transport_options)  # type: ignore[arg-type]
        with httpx.Client(transport=transport) as client:
            client.get(upstream.url("/status/429?retry_after=86400"))
            with pytest.raises(CircuitOpenTransportError) as rejected:
                client.get(upstream.url("/"))
        assert rejected.value.retry_after == pytest.approx(expected)


@pytest.mark.parametrize("value", ["soon", "-5", "1.5", "0", "Mon, 99 Foo 2020 99:99:99 GMT"])
def test_a_malformed_or_empty_retry_after_is_ignored(
    client: httpx.Client, upstream: Upstream, registry: BreakerRegistry, value: str
) -> None:
    client.get(upstream.url("/status/429"), params={"retry_after": value})
    breaker = registry.get(HOST)
    assert (breaker.state, breaker.failure_count) == (CLOSED, 1)  # an ordinary failure


def test_retry_after_on_other_statuses_is_not_a_back_off(
    client: httpx.Client, upstream: Upstream, registry: BreakerRegistry
) -> None:
    client.get(upstream.url("/status/500?retry_after=30"))
    client.get(upstream.url("/status/301?retry_after=30"))
    assert registry.get(HOST).state is CLOSED


def test_a_429_to_a_request_sent_before_the_breaker_opened_is_ignored(
    client: httpx.Client, upstream: Upstream, registry: BreakerRegistry
) -> None:
    answers: list[httpx.Response] = []
    slow = threading.Thread(
        target=lambda: answers.append(
            client.get(upstream.url("/hold?status=429&retry_after=3600"))
        )
    )
    slow.start()
    while not upstream.hits_on("/hold"):
        time.sleep(0.005)  # real wait: the slow request reaches the server
    for _ in range(3):
        client.get(upstream.url("/status/500"))
    breaker = registry.get(HOST)
    opened = breaker.status()
    assert (opened.state, opened.reason) == (OPEN, "threshold")
    upstream.release()
    slow.join()
    assert answers[0].status_code == 429
    after = breaker.status()  # the fake clock has not moved: the same deadline
    assert (after.reason, after.retry_in, after.consecutive_breaks) == ("threshold", 300.0, 1)


def test_a_probe_told_to_back_off_is_a_failed_probe_at_the_later_deadline(
    client: httpx.Client, upstream: Upstream, registry: BreakerRegistry, clock: FakeClock
) -> None:
    for _ in range(3):
        client.get(upstream.url("/status/500"))
    clock.advance(300)  # the api profile's first interval: the next request probes
    client.get(upstream.url("/status/429?retry_after=500"))
    status = registry.get(HOST).status()
    assert (status.state, status.reason, status.consecutive_breaks) == (OPEN, "open_for", 2)
    with pytest.raises(CircuitOpenTransportError) as rejected:
        client.get(upstream.url("/"))
    assert rejected.value.retry_after == pytest.approx(500)  # later than the schedule's 300


def test_a_forced_open_breaker_stays_forced_open(
    client: httpx.Client, upstream: Upstream, registry: BreakerRegistry
) -> None:
    client.get(upstream.url("/"))
    registry.get(HOST).force_open()
    with pytest.raises(CircuitOpenTransportError):
        client.get(upstream.url("/"))
    registry.get(HOST).disable()
    client.get(upstream.url("/status/429?retry_after=30"))
    assert registry.get(HOST).state is CircuitBreakerState.DISABLED


def test_the_name_template_sees_scheme_host_and_port(
    registry: BreakerRegistry, upstream: Upstream
) -> None:
    transport = BreakerTransport(registry, name="{scheme}-{host}-{port}")
    with httpx.Client(transport=transport) as client:
        client.get(upstream.url("/"))
    assert registry.names() == [f"http-{HOST}-{upstream.port}"]


def test_an_ipv6_host_gets_a_name_without_brackets(registry: BreakerRegistry) -> None:
    try:
        server = running(["::1"])
        upstream = server.__enter__()
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    try:
        with httpx.Client(transport=BreakerTransport(registry, name="{host}:{port}")) as client:
            assert client.get(upstream.url("/")).status_code == 200
    finally:
        server.__exit__(None, None, None)
    assert registry.names() == [f"0::1:{upstream.port}"]


def test_bad_options_are_refused_at_construction(registry: BreakerRegistry) -> None:
    with pytest.raises(ValueError, match=r"\{host\}, \{port\} and \{scheme\}, not \{path\}"):
        BreakerTransport(registry, name="{host}{path}")
    with pytest.raises(ValueError, match="cannot be read"):
        BreakerTransport(registry, name="{host")
    with pytest.raises(ConfigError, match="unknown profile 'apii'"):
        BreakerTransport(registry, profile="apii")
    with pytest.raises(ValueError, match="max_breakers must be a whole number >= 1"):
        BreakerTransport(registry, max_breakers=0)
    with pytest.raises(ValueError, match="max_retry_after must be a finite number > 0"):
        BreakerTransport(registry, max_retry_after=-1)


def test_beyond_max_breakers_new_hosts_pass_unguarded_with_one_warning(
    registry: BreakerRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    hosts = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"]
    upstream = _multi_host_upstream(hosts)
    try:
        transport = BreakerTransport(registry, max_breakers=2)
        with httpx.Client(transport=transport) as client:
            for host in hosts:
                for _ in range(4):
                    with suppress(CircuitOpenTransportError):
                        client.get(upstream.url("/status/503", host=host))
    finally:
        upstream.stop()
    assert registry.names() == hosts[:2]
    warnings = [r for r in caplog.records if "max_breakers=2" in r.getMessage()]
    assert len(warnings) == 1 and "pass unguarded" in warnings[0].getMessage()
    assert Counter(hit.host for hit in upstream.hits) == {
        "127.0.0.1": 3,  # then its breaker opened
        "127.0.0.2": 3,
        "127.0.0.3": 4,  # unguarded
        "127.0.0.4": 4,
    }


def test_names_declared_in_the_configuration_do_not_count_toward_max_breakers(
    upstream: Upstream,
) -> None:
    registry = BreakerRegistry.from_dict({**CONFIG, "breakers": {HOST: {}}})
    transport = BreakerTransport(registry, max_breakers=1, name="{host}")
    with httpx.Client(transport=transport) as client:
        client.get(upstream.url("/"))
        client.get(upstream.url("/").replace(HOST, "localhost"))
    assert registry.names() == [HOST, "localhost"]


def test_fifty_hosts_first_called_by_sixteen_threads_at_once_get_fifty_breakers(
    registry: BreakerRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    hosts = [f"127.0.0.{index}" for index in range(1, 51)]
    upstream = _multi_host_upstream(hosts)
    caplog.set_level(logging.INFO, logger="circuit_breaker")
    client = httpx.Client(transport=BreakerTransport(registry))  # shared by the threads
    start = threading.Barrier(16)
    statuses: list[int] = []

    def worker(offset: int) -> None:
        start.wait()
        for index in range(len(hosts)):
            host = hosts[(offset % 4 * 3 + index) % len(hosts)]  # four threads per host
            statuses.append(client.get(upstream.url("/", host=host)).status_code)

    try:
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        client.close()
        upstream.stop()
    assert statuses == [200] * 16 * 50
    assert registry.names() == sorted(hosts)
    created = Counter(
        record.args[0]
        for record in caplog.records
        if "created on first use" in record.msg and isinstance(record.args, tuple)
    )
    assert created == dict.fromkeys(hosts, 1)


def _multi_host_upstream(hosts: list[str]) -> Upstream:
    upstream = Upstream(hosts)
    try:
        upstream.start()
    except OSError as exc:
        pytest.skip(f"cannot listen on {len(hosts)} loopback addresses here: {exc}")
    return upstream
