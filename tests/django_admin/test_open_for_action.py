"""Open for…: a confirmation form with a duration, then the breakers open that long."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client
from django.urls import reverse

from circuit_breaker_django import registry
from circuit_breaker_django.models import Breaker, Transition
from tests.django_admin.admin_helpers import action_url, change_url, install_registry
from tests.helpers import FakeClock

pytestmark = pytest.mark.django_db(transaction=True)  # rows synced on the app's own connection

LIST_URL = "admin:circuit_breaker_django_breaker_changelist"


def log_entries(name: str) -> list[LogEntry]:
    row = Breaker.objects.get(name=name)
    return list(LogEntry.objects.filter(object_id=str(row.pk), action_flag=CHANGE))


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_detail_page_offers_open_for(admin_client: Client) -> None:
    page = admin_client.get(change_url("external_api")).content.decode()
    assert f'href="{action_url("external_api", "open_for")}"' in page
    assert "Open for&hellip;" in page


def test_the_confirmation_asks_for_a_duration_and_changes_nothing(admin_client: Client) -> None:
    response = admin_client.get(action_url("external_api", "open_for"))
    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["title"] == "Open for how long?"
    assert 'name="duration"' in page and 'value="5m"' in page and 'name="reason"' in page
    assert "csrfmiddlewaretoken" in page
    assert "open this circuit breaker for the duration below" in page
    assert registry.get("external_api").state.value == "closed"
    assert log_entries("external_api") == []


def test_posting_a_duration_opens_the_breaker_that_long_and_records_the_user(
    admin_client: Client, admin_user: AbstractBaseUser
) -> None:
    clock = FakeClock()
    install_registry(clock=clock)

    response = admin_client.post(
        action_url("external_api", "open_for"), {"duration": "90s", "reason": "deploying v2"}
    )

    assert response.status_code == 302
    assert response["Location"] == change_url("external_api")
    status = registry.get("external_api").status()
    assert (status.state.value, status.reason, status.detail, status.retry_in) == (
        "open",
        "open_for",
        "deploying v2",
        90.0,
    )
    [entry] = log_entries("external_api")
    assert entry.user_id == admin_user.pk
    assert entry.get_change_message() == "Open for 1m30s: state Closed → Open."
    manual = Transition.objects.get(breaker="external_api", reason="open_for")
    assert (manual.from_state, manual.to_state, manual.detail, manual.origin) == (
        "closed",
        "open",
        "deploying v2",
        "manual",
    )
    assert manual.user_id == admin_user.pk
    clock.advance(90)
    assert registry.get("external_api").state.value == "half_open"  # one probe may pass


def test_without_a_reason_the_transition_says_how_long_and_by_hand(admin_client: Client) -> None:
    response = admin_client.post(
        action_url("external_api", "open_for"), {"duration": "5m"}, follow=True
    )
    assert messages_of(response) == ["Open for 5m: 1 circuit breaker (external_api)."]
    assert Transition.objects.get(breaker="external_api").detail == "opened by hand for 5m"


@pytest.mark.parametrize("duration", ["soon", "0s", "400d", "", "5 minutes"])
def test_a_bad_duration_shows_the_form_again_and_changes_nothing(
    admin_client: Client, duration: str
) -> None:
    response = admin_client.post(action_url("external_api", "open_for"), {"duration": duration})
    assert response.status_code == 200
    assert response.context["duration_form"].errors["duration"]
    assert "Please correct the error below." in response.content.decode()
    assert registry.get("external_api").state.value == "closed"
    assert log_entries("external_api") == []
    assert not Transition.objects.exists()


def test_the_bulk_action_asks_for_a_duration_then_opens_every_selected_breaker(
    admin_client: Client, admin_user: AbstractBaseUser
) -> None:
    names = ["external_api", "search_service"]
    pks = [str(Breaker.objects.get(name=name).pk) for name in names]
    selection = {"action": "open_for_breakers", "_selected_action": pks}

    confirmation = admin_client.post(reverse(LIST_URL), selection)
    assert confirmation.status_code == 200
    assert confirmation.context["duration_form"] is not None
    assert "open these 2 circuit breakers" in confirmation.content.decode()

    wrong = admin_client.post(reverse(LIST_URL), {**selection, "post": "yes", "duration": "x"})
    assert wrong.status_code == 200 and wrong.context["duration_form"].errors
    assert all(registry.get(name).state.value == "closed" for name in names)

    done = admin_client.post(reverse(LIST_URL), {**selection, "post": "yes", "duration": "1h"})
    assert done.status_code == 302
    for name in names:
        assert registry.get(name).status().reason == "open_for"
        [entry] = log_entries(name)
        assert entry.user_id == admin_user.pk
    assert registry.get("orders_db").state.value == "closed"  # not selected


def test_a_forced_open_breaker_is_left_alone_with_a_warning_and_no_audit_record(
    admin_client: Client,
) -> None:
    registry.get("external_api").force_open()
    response = admin_client.post(
        action_url("external_api", "open_for"), {"duration": "5m"}, follow=True
    )
    assert messages_of(response) == [
        "Open for 5m left external_api as they are: a forced-open or disabled breaker waits "
        "for a reset."
    ]
    assert registry.get("external_api").state.value == "forced_open"
    assert log_entries("external_api") == []


def test_a_store_that_cannot_be_reached_is_an_error_and_leaves_no_audit_record(
    admin_client: Client, django_db_blocker: Any
) -> None:
    from circuit_breaker_django.store import DjangoStore

    install_registry(store=DjangoStore(using="unreachable"))
    with django_db_blocker.unblock():
        response = admin_client.post(
            action_url("external_api", "open_for"), {"duration": "5m"}, follow=True
        )
    assert any("Open for 5m not applied to external_api" in m for m in messages_of(response))
    assert registry.get("external_api").state.value == "closed"
    assert log_entries("external_api") == []
    assert not Transition.objects.exists()


def test_a_view_only_user_gets_403(client_for: Any) -> None:
    client = client_for("view_breaker")
    assert client.get(action_url("external_api", "open_for")).status_code == 403
    response = client.post(action_url("external_api", "open_for"), {"duration": "5m"})
    assert response.status_code == 403
    assert registry.get("external_api").state.value == "closed"


def test_open_for_enforces_csrf(admin_user: AbstractBaseUser) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    forged = client.post(action_url("external_api", "open_for"), {"duration": "5m"})
    assert forged.status_code == 403
    assert registry.get("external_api").state.value == "closed"
