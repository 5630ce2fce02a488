"""The Transitions list: read-only, filterable, searchable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from circuit_breaker_django import actions, registry
from circuit_breaker_django.models import Transition
from tests.django_admin.admin_helpers import trip

pytestmark = pytest.mark.django_db(transaction=True)  # rows synced on the app's own connection

LIST_URL = "admin:circuit_breaker_django_transition_changelist"


def listed(response: Any) -> list[tuple[str, str]]:
    return [(t.breaker, t.to_state) for t in response.context["cl"].result_list]


@pytest.fixture
def history(admin_user: AbstractBaseUser) -> None:
    """external_api opened, then reset by the admin; orders_db forced open by a script."""
    trip("external_api")
    actions.reset(registry.get("external_api"), admin_user)
    actions.force_open(registry.get("orders_db"), actor="deploy-script")


def test_transitions_are_listed_newest_first(admin_client: Client, history: None) -> None:
    response = admin_client.get(reverse(LIST_URL))

    assert response.status_code == 200
    assert response.context["title"] == "Transitions"
    assert listed(response) == [
        ("orders_db", "forced_open"),
        ("external_api", "closed"),
        ("external_api", "open"),
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"breaker": "external_api"}, [("external_api", "closed"), ("external_api", "open")]),
        ({"to_state": "open"}, [("external_api", "open")]),
        ({"reason": "forced_open"}, [("orders_db", "forced_open")]),
        ({"q": "orders"}, [("orders_db", "forced_open")]),
        ({"q": "deploy-script"}, [("orders_db", "forced_open")]),
    ],
)
def test_transitions_filter_and_search(
    admin_client: Client, history: None, params: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    response = admin_client.get(reverse(LIST_URL), params)

    assert response.status_code == 200
    assert listed(response) == expected


def test_transitions_filter_by_origin(admin_client: Client, history: None) -> None:
    automatic = admin_client.get(reverse(LIST_URL), {"origin": "local"})
    manual = admin_client.get(reverse(LIST_URL), {"origin": "manual"})

    assert listed(automatic) == [("external_api", "open")]
    assert listed(manual) == [("orders_db", "forced_open"), ("external_api", "closed")]


def test_transitions_drill_down_by_date(admin_client: Client, history: None) -> None:
    at = timezone.localtime(Transition.objects.earliest("at").at)
    date = {"at__year": str(at.year), "at__month": str(at.month), "at__day": str(at.day)}

    on_that_day = admin_client.get(reverse(LIST_URL), date)
    a_year_later = admin_client.get(reverse(LIST_URL), {**date, "at__year": str(at.year + 1)})

    assert len(listed(on_that_day)) == 3
    assert listed(a_year_later) == []


def test_transitions_show_who_asked_for_a_manual_change(
    admin_client: Client, history: None
) -> None:
    response = admin_client.get(reverse(LIST_URL))

    rows = response.context["cl"].result_list
    model_admin = response.context["cl"].model_admin
    assert [model_admin.who(t) for t in rows] == ["deploy-script", "admin", None]


def test_transitions_are_read_only(admin_client: Client, history: None) -> None:
    transition = Transition.objects.first()
    assert transition is not None

    add = reverse("admin:circuit_breaker_django_transition_add")
    assert admin_client.get(add).status_code == 403
    detail = admin_client.get(
        reverse("admin:circuit_breaker_django_transition_change", args=(transition.pk,))
    )
    assert detail.status_code == 200
    assert not detail.context["has_change_permission"]
    delete = reverse("admin:circuit_breaker_django_transition_delete", args=(transition.pk,))
    assert admin_client.post(delete).status_code == 403
    assert Transition.objects.count() == 3


def test_the_list_shows_each_change_to_the_second(admin_client: Client) -> None:
    at = datetime(2025, 3, 10, 9, 41, 27, tzinfo=UTC)
    Transition.objects.create(
        breaker="orders_db", at=at, from_state="closed", to_state="open", reason="threshold"
    )

    html = admin_client.get(reverse(LIST_URL)).content.decode()

    local = timezone.localtime(at)
    assert (
        f'<span class="cb-nowrap">{local:%Y-%m-%d}</span> '
        f'<span class="cb-nowrap">{local:%H:%M:%S} {local.tzname()}</span>'
    ) in html


def test_the_detail_page_shows_the_time_to_the_second(admin_client: Client) -> None:
    at = datetime(2025, 3, 10, 9, 41, 27, tzinfo=UTC)
    transition = Transition.objects.create(
        breaker="orders_db", at=at, from_state="closed", to_state="open", reason="threshold"
    )

    response = admin_client.get(
        reverse("admin:circuit_breaker_django_transition_change", args=(transition.pk,))
    )

    local = timezone.localtime(at)
    assert f"{local:%H:%M:%S} {local.tzname()}" in response.content.decode()


def test_a_change_reads_from_one_badge_to_the_other(admin_client: Client, history: None) -> None:
    html = admin_client.get(reverse(LIST_URL), {"breaker": "orders_db"}).content.decode()

    assert (
        '<td class="field-change"><span class="cb-nowrap"><span class="cb-badge '
        'cb-state-closed" title="Calls pass"><span class="cb-icon" aria-hidden="true">✔</span> '
        'Closed</span> <span aria-label="to">→</span></span> <span class="cb-badge '
        'cb-state-forced_open"'
    ) in html
    assert (
        '<td class="field-reason_and_origin">forced_<wbr>open<span class="cb-sub">manual</span>'
    ) in html
