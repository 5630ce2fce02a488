"""The command when the store's database is down (no ``db`` fixture: nothing to set up)."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from circuit_breaker.registry import BreakerRegistry
from circuit_breaker_django.store import DjangoStore


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
