"""A fleet that looks like production for the layout tests: every state, long names, history.

Thirteen breakers: several in each state (forced open included), a failure whose exception
class name is long, one ``HTTPError`` beside a Forced-open badge, one judged by its rates,
and a day of stored transitions, so the list and detail pages are measured with the widths
they meet in use.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from typing import Any

from django.db.models import F
from django.utils import timezone

from circuit_breaker.registry import BreakerRegistry
from circuit_breaker_django import actions, registry
from circuit_breaker_django.models import Breaker, Transition, sync_breaker_rows
from tests.helpers import FakeClock


class PaymentProviderGatewayTimeoutUpstreamUnavailableError(Exception):
    """A real-world exception name: long enough to overflow any column."""


class HTTPError(Exception):
    """The name urllib gives an HTTP 5xx answer."""


FLEET: dict[str, Any] = {
    "version": 1,
    "breakers": {
        "payment_gateway": {"profile": "critical", "critical": True},
        "fraud_scoring": {"profile": "critical", "critical": True},
        "external_pricing_api": {"profile": "api"},
        "search_service": {"profile": "api"},
        "recommendations": {"profile": "api"},
        "geo_lookup": {"profile": "api"},
        "currency_rates": {"profile": "api"},
        "orders_db": {"profile": "db"},
        "inventory_db": {"profile": "db"},
        "warehouse_reporting_db": {"profile": "db"},
        "email_sender": {"profile": "api"},
        "sms_gateway": {"profile": "api"},
        "shipping_quotes_api": {"profile": "api_rate"},
    },
    "store": {"backend": "memory"},
}
# name -> the exception its calls fail with (the list's "last failure" column)
FAILURES: dict[str, type[Exception]] = {
    "payment_gateway": PaymentProviderGatewayTimeoutUpstreamUnavailableError,
    "external_pricing_api": HTTPError,
    "search_service": ConnectionError,
    "recommendations": TimeoutError,
    "geo_lookup": HTTPError,
    "orders_db": HTTPError,
    "inventory_db": ConnectionError,
    "currency_rates": TimeoutError,
}
STATES = {
    "closed": ["currency_rates", "fraud_scoring", "shipping_quotes_api", "warehouse_reporting_db"],
    "open": ["external_pricing_api", "geo_lookup", "payment_gateway"],
    "half_open": ["recommendations", "search_service"],
    "forced_open": ["inventory_db", "orders_db"],
    "disabled": ["email_sender", "sms_gateway"],
}


def _fail(name: str, times: int) -> None:
    breaker = registry.get(name)
    kind = FAILURES[name]

    def call() -> None:
        raise kind(f"{name}: upstream answered 503 Service Unavailable after 2.0 s")

    for _ in range(times):
        with suppress(kind, Exception):
            breaker.call(call)


RATED = "shipping_quotes_api"  # judged by its rates: 40 calls, 4 failed, 2 slow


def _rated_traffic(clock: FakeClock) -> None:
    breaker = registry.get(RATED)

    def call(index: int) -> None:
        if index % 20 == 19:
            clock.advance(6.0)  # a slow quote (api_rate: 5 s or longer)
        if index % 10 == 9:
            raise TimeoutError("carrier quote timed out")

    for index in range(40):
        with suppress(TimeoutError):
            breaker.call(call, index)


YOUNG = "recommendations"  # added to the configuration 3 hours ago, open for 2


def _created(names: list[str], ago: timedelta) -> None:
    """Date rows as models.sync_breaker_rows would have created them ``ago``."""
    at = timezone.now() - ago
    Breaker.objects.filter(name__in=names).update(
        seq=int(at.timestamp() * 1_000_000), updated_at=at
    )


def _history(name: str, *changes: tuple[timedelta, str, str, str]) -> None:
    """Store older transitions, as a process running for a day would have."""
    now = timezone.now()
    for ago, from_state, to_state, reason in changes:
        Transition.objects.create(
            breaker=name, at=now - ago, from_state=from_state, to_state=to_state, reason=reason
        )


def install_realistic_fleet() -> FakeClock:
    """Build the fleet in the app's registry, put each breaker in its state, store history."""
    clock = FakeClock()
    registry.configure(
        BreakerRegistry.from_dict(FLEET, clock=clock, listeners=[actions.record_transition])
    )
    sync_breaker_rows(registry.names())
    _created([name for name in FLEET["breakers"] if name != YOUNG], timedelta(days=3))
    _created([YOUNG], timedelta(hours=3))
    hours = timedelta(hours=1)
    _history(
        "search_service",
        (20 * hours, "closed", "open", "threshold"),
        (19.5 * hours, "open", "half_open", "retry_due"),
        (19.5 * hours, "half_open", "closed", "probe_succeeded"),
    )
    _history(
        "orders_db",
        (9 * hours, "closed", "disabled", "disabled"),
        (8 * hours, "disabled", "closed", "reset"),
    )
    # Half-open: opened, then the retry deadline passed (the clock moves, nobody waits).
    tripped_at = timezone.now()
    for name in STATES["half_open"]:
        _fail(name, registry.get(name).failure_threshold)
    clock.advance(2 * 3600)
    Transition.objects.filter(breaker__in=STATES["half_open"], at__gte=tripped_at).update(
        at=F("at") - 2 * hours
    )
    for name in STATES["open"]:
        _fail(name, registry.get(name).failure_threshold)
    _fail("currency_rates", 2)  # closed, with failures counted
    _rated_traffic(clock)
    for name in STATES["forced_open"]:
        _fail(name, 1)
        actions.force_open(registry.get(name), actor="oncall")
    for name in STATES["disabled"]:
        actions.disable(registry.get(name), actor="deploy-script")
    for state, names in STATES.items():
        for name in names:
            assert registry.get(name).state.value == state, (name, state)
    return clock
