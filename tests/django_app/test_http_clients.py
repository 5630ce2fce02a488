"""The HTTP integrations on the app's lazy registry: created breakers get their rows."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from circuit_breaker.errors import ConfigError
from circuit_breaker.integrations.httpx import BreakerTransport
from circuit_breaker.registry import BreakerRegistry
from circuit_breaker_django import registry
from circuit_breaker_django.models import Breaker, Transition
from tests.integrations.upstream import running


def test_a_transport_on_the_lazy_registry_gives_each_host_its_row_and_history(
    install: Callable[..., BreakerRegistry], transactional_db: None
) -> None:
    install()
    with running() as upstream, httpx.Client(transport=BreakerTransport(registry)) as client:
        client.get(upstream.url("/status/429?retry_after=30"))
    assert Breaker.objects.filter(name="127.0.0.1").exists()
    assert registry.get("127.0.0.1").status().reason == "open_for"
    opened = Transition.objects.get(breaker="127.0.0.1")
    assert (opened.to_state, opened.reason, opened.detail, opened.origin) == (
        "open",
        "open_for",
        "HTTP 429, Retry-After: 30",
        "local",
    )


def test_an_unknown_profile_on_the_lazy_registry_fails_at_the_first_request(
    install: Callable[..., BreakerRegistry], transactional_db: None
) -> None:
    install()
    transport = BreakerTransport(registry, profile="apii")  # a lazy registry: not checked yet
    with running() as upstream, httpx.Client(transport=transport) as client:
        with pytest.raises(ConfigError, match="unknown profile 'apii'"):
            client.get(upstream.url("/"))
        assert upstream.hits == []
