"""Reset, Force open and Disable: confirmation, POST, permission, CSRF, history."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client
from django.urls import reverse

from circuit_breaker_django import registry
from circuit_breaker_django.models import Breaker, Transition
from tests.django_admin.admin_helpers import action_url, change_url, trip

pytestmark = pytest.mark.django_db(transaction=True)  # rows synced on the app's own connection

LIST_URL = "admin:circuit_breaker_django_breaker_changelist"

# (action name, bulk action, state before, state after, transition reason)
ACTIONS = [
    ("reset", "reset_breakers", "open", "closed", "reset"),
    ("force_open", "force_open_breakers", "closed", "forced_open", "forced_open"),
    ("disable", "disable_breakers", "closed", "disabled", "disabled"),
]


def prepare(before: str, name: str) -> None:
    if before == "open":
        trip(name)
    assert registry.get(name).state.value == before


def log_entries(name: str) -> list[LogEntry]:
    row = Breaker.objects.get(name=name)
    return list(LogEntry.objects.filter(object_id=str(row.pk), action_flag=CHANGE))


@pytest.mark.parametrize(("action", "bulk", "before", "after", "reason"), ACTIONS)
def test_detail_action_asks_for_confirmation_before_acting(
    admin_client: Client, action: str, bulk: str, before: str, after: str, reason: str
) -> None:
    prepare(before, "external_api")

    response = admin_client.get(action_url("external_api", action))

    assert response.status_code == 200
    assert 'method="post"' in response.content.decode()
    assert "csrfmiddlewaretoken" in response.content.decode()
    assert registry.get("external_api").state.value == before
    assert log_entries("external_api") == []


@pytest.mark.parametrize(("action", "bulk", "before", "after", "reason"), ACTIONS)
def test_detail_action_post_acts_and_records_the_user(
    admin_client: Client,
    admin_user: AbstractBaseUser,
    action: str,
    bulk: str,
    before: str,
    after: str,
    reason: str,
) -> None:
    prepare(before, "external_api")

    response = admin_client.post(action_url("external_api", action))

    assert response.status_code == 302
    assert response["Location"] == change_url("external_api")
    assert registry.get("external_api").state.value == after
    [entry] = log_entries("external_api")
    assert entry.user_id == admin_user.pk
    assert entry.get_change_message().startswith(
        {"reset": "Reset", "force_open": "Force open", "disable": "Disable"}[action]
    )
    manual = Transition.objects.filter(breaker="external_api", reason=reason).get()
    assert (manual.from_state, manual.to_state) == (before, after)
    assert manual.user_id == admin_user.pk


@pytest.mark.parametrize(("action", "bulk", "before", "after", "reason"), ACTIONS)
def test_bulk_action_confirms_then_acts_on_every_selected_breaker(
    admin_client: Client,
    admin_user: AbstractBaseUser,
    action: str,
    bulk: str,
    before: str,
    after: str,
    reason: str,
) -> None:
    names = ["external_api", "search_service"]
    for name in names:
        prepare(before, name)
    pks = [str(Breaker.objects.get(name=name).pk) for name in names]
    selection = {"action": bulk, "_selected_action": pks}

    confirmation = admin_client.post(reverse(LIST_URL), selection)

    assert confirmation.status_code == 200
    assert [row.name for row, _status in confirmation.context["breakers"]] == names
    assert all(registry.get(name).state.value == before for name in names)

    done = admin_client.post(reverse(LIST_URL), {**selection, "post": "yes"})

    assert done.status_code == 302
    for name in names:
        assert registry.get(name).state.value == after
        [entry] = log_entries(name)
        assert entry.user_id == admin_user.pk
        assert Transition.objects.get(breaker=name, reason=reason).user_id == admin_user.pk
    assert registry.get("orders_db").state.value == "closed"  # not selected


def test_view_only_user_gets_403_from_action_urls(client_for: Any) -> None:
    trip("external_api")
    client = client_for("view_breaker")

    assert client.get(action_url("external_api", "reset")).status_code == 403
    assert client.post(action_url("external_api", "reset")).status_code == 403
    assert registry.get("external_api").state.value == "open"
    assert log_entries("external_api") == []


def test_view_only_user_cannot_run_a_bulk_action(client_for: Any) -> None:
    trip("external_api")
    client = client_for("view_breaker")
    pk = str(Breaker.objects.get(name="external_api").pk)

    response = client.post(
        reverse(LIST_URL),
        {"action": "reset_breakers", "_selected_action": [pk], "post": "yes"},
    )

    assert response.status_code == 200  # the list again, with no action available
    assert response.context["action_form"] is None
    assert registry.get("external_api").state.value == "open"
    assert log_entries("external_api") == []


def test_user_with_change_permission_may_act(client_for: Any) -> None:
    trip("external_api")
    client = client_for("view_breaker", "change_breaker")

    response = client.post(action_url("external_api", "reset"))

    assert response.status_code == 302
    assert registry.get("external_api").state.value == "closed"


def test_actions_enforce_csrf(admin_user: AbstractBaseUser) -> None:
    trip("external_api")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    forged = client.post(action_url("external_api", "reset"))
    assert forged.status_code == 403
    assert registry.get("external_api").state.value == "open"

    confirmation = client.get(action_url("external_api", "reset"))
    token = confirmation.context["csrf_token"]
    genuine = client.post(action_url("external_api", "reset"), {"csrfmiddlewaretoken": token})
    assert genuine.status_code == 302
    assert registry.get("external_api").state.value == "closed"


def test_bulk_actions_enforce_csrf(admin_user: AbstractBaseUser) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    pk = str(Breaker.objects.get(name="orders_db").pk)

    forged = client.post(
        reverse(LIST_URL),
        {"action": "force_open_breakers", "_selected_action": [pk], "post": "yes"},
    )

    assert forged.status_code == 403
    assert registry.get("orders_db").state.value == "closed"


def test_success_message_names_the_breakers(admin_client: Client) -> None:
    trip("external_api")

    response = admin_client.post(action_url("external_api", "reset"), follow=True)

    messages = [str(m) for m in response.context["messages"]]
    assert messages == ["Reset: 1 circuit breaker (external_api)."]


def test_an_action_the_store_does_not_take_is_an_error_and_leaves_no_audit_record(
    admin_client: Client, django_db_blocker: Any
) -> None:
    from circuit_breaker_django.store import DjangoStore
    from tests.django_admin.admin_helpers import install_registry

    install_registry(store=DjangoStore(using="unreachable"))
    with django_db_blocker.unblock():
        response = admin_client.post(action_url("external_api", "force_open"), follow=True)
    shown = [str(message) for message in response.context["messages"]]
    assert any("not applied to external_api" in text for text in shown), shown
    assert registry.get("external_api").state.value == "closed"
    assert log_entries("external_api") == []
    assert not Transition.objects.exists()


def test_the_admin_history_and_the_transition_row_of_a_reset_say_the_same(
    admin_client: Client,
) -> None:
    from tests.django_admin.admin_helpers import install_registry
    from tests.helpers import FakeClock

    clock = FakeClock()
    install_registry(clock=clock)
    trip("external_api")
    clock.advance(3600)  # past the deadline: the page shows Half-open, no probe yet
    assert registry.get("external_api").state.value == "half_open"
    admin_client.post(action_url("external_api", "reset"))
    (entry,) = log_entries("external_api")
    reset = Transition.objects.get(breaker="external_api", reason="reset")
    assert "Half-open → Closed" in entry.get_change_message()
    assert (reset.from_state, reset.to_state) == ("half_open", "closed")
