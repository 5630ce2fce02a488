"""The command when the store's database is down (no ``db`` fixture: nothing to set up)."""

from __future__ import annotations

import time
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from circuit_breaker import CircuitBreaker
from circuit_breaker.registry import BreakerRegistry
from circuit_breaker_django.store import DjangoStore
from tests.django_app.servers import say_nothing, tcp_server, temporary_alias


class UpstreamDown(Exception):
    pass


def _refuse() -> None:
    raise UpstreamDown("upstream down")


def test_breakers_check_fails_when_the_store_is_unreachable(
    install: Callable[..., BreakerRegistry], django_db_blocker: Any
) -> None:
    install(store=DjangoStore(using="unreachable"))
    with django_db_blocker.unblock(), pytest.raises(CommandError, match="unreachable"):
        call_command("breakers", "check", stdout=StringIO())


def test_health_still_answers_from_local_state_when_the_store_is_down(
    install: Callable[..., BreakerRegistry], django_db_blocker: Any
) -> None:
    from django.test import Client

    install(store=DjangoStore(using="unreachable"))
    with django_db_blocker.unblock():
        response = Client().get("/health/breakers/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "warn"  # the states are this process's guesses, not the fleet's
    assert body["reason"].startswith("store unreachable")


@pytest.mark.e2e
def test_calls_return_their_own_result_within_five_seconds_when_the_database_never_answers(
    django_db_blocker: Any,
) -> None:
    with (
        tcp_server(say_nothing) as port,
        temporary_alias("silent", HOST="127.0.0.1", PORT=str(port)),
        django_db_blocker.unblock(),
    ):
        store = DjangoStore(using="silent")  # the default bound
        try:
            breaker = CircuitBreaker(2, name="silent", store=store)
            took = []
            for fn, expected in [(lambda: "ok", "ok"), (_refuse, UpstreamDown)] * 3:
                started = time.monotonic()
                try:
                    outcome: object = breaker.call(fn)  # real wait: the database's bound
                except UpstreamDown as exc:
                    outcome = type(exc)
                took.append(time.monotonic() - started)
                assert outcome == expected
            status = breaker.status()
        finally:
            store.close()
    assert max(took) < 5.0, took  # bounded: a correctness check, not a speed figure
    assert status.store.reachable is False
