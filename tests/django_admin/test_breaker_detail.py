"""The read-only detail page of one breaker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from circuit_breaker_django import actions, registry
from circuit_breaker_django.models import Transition
from tests.django_admin.admin_helpers import change_url, observing_search_service, trip

pytestmark = pytest.mark.django_db(transaction=True)  # rows synced on the app's own connection


def test_detail_shows_status_resolved_config_and_recent_transitions(
    admin_client: Client,
) -> None:
    trip("external_api")

    response = admin_client.get(change_url("external_api"))

    assert response.status_code == 200
    assert response.context["status"].state == "open"
    config = dict(response.context["config_items"])
    assert config["failure_threshold"] == "3"
    assert config["after_exhausted"] == "keep_probing"
    transitions = list(response.context["transitions"])
    assert [(t.from_state, t.to_state, t.reason) for t in transitions] == [
        ("closed", "open", "threshold")
    ]
    html = response.content.decode()
    assert "<h1>external_api</h1>" in html
    assert "Resolved configuration" in html
    assert "ConnectionError" in html


def test_detail_says_an_observing_breaker_rejects_nothing_and_what_it_would_have(
    admin_client: Client,
) -> None:
    observing_search_service()

    html = admin_client.get(change_url("search_service")).content.decode()

    assert (
        "<strong>observing</strong>: no call is rejected; would have rejected 1,204 calls "
        "in this process."
    ) in html
    assert (
        '<tr><th scope="row">Mode</th><td>Observe: no call is rejected; would have rejected '
        "1,204 calls</td></tr>"
    ) in html
    enforcing = admin_client.get(change_url("orders_db")).content.decode()
    assert '<tr><th scope="row">Mode</th><td>Enforce</td></tr>' in enforcing


def test_detail_offers_the_four_actions_to_a_user_who_may_change(admin_client: Client) -> None:
    response = admin_client.get(change_url("orders_db"))

    verbs = [action.verb for action, _url in response.context["action_buttons"]]
    assert verbs == ["Reset", "Force open", "Disable", "Open for"]
    html = response.content.decode()
    for _action, url in response.context["action_buttons"]:
        assert f'href="{url}"' in html


def test_detail_is_read_only_for_a_user_with_view_permission(client_for: Any) -> None:
    client = client_for("view_breaker")

    response = client.get(change_url("orders_db"))

    assert response.status_code == 200
    assert response.context["action_buttons"] == []
    assert "Force open&hellip;" not in response.content.decode()


def test_detail_page_is_not_a_form_that_saves(admin_client: Client) -> None:
    response = admin_client.post(change_url("orders_db"), {"name": "renamed"})

    assert response.status_code == 405
    assert admin_client.get(change_url("orders_db")).status_code == 200


def test_detail_links_to_all_transitions_of_the_breaker(admin_client: Client) -> None:
    response = admin_client.get(change_url("orders_db"))

    expected = reverse("admin:circuit_breaker_django_transition_changelist") + "?breaker=orders_db"
    assert response.context["all_transitions_url"] == expected


def timeline_section(html: str) -> str:
    start = html.index('id="breaker-timeline"')
    return html[start : html.index('id="breaker-transitions"')]


def test_detail_draws_a_fresh_outage_over_the_breakers_whole_short_life(
    admin_client: Client,
) -> None:
    trip("external_api")

    response = admin_client.get(change_url("external_api"))

    assert response.context["timeline_window"] == "all"  # the row was created just now
    section = timeline_section(response.content.decode())
    assert section.count("<svg") == 1
    assert 'aria-label="Circuit breaker external_api, since first seen (' in section
    assert 'data-state="open"' in section


def test_detail_offers_four_ranges_and_marks_the_one_shown(admin_client: Client) -> None:
    response = admin_client.get(change_url("orders_db"), {"timeline": "7d"})

    assert response.context["timeline_window"] == "7d"
    section = timeline_section(response.content.decode())
    assert '<strong aria-current="true">7 days</strong>' in section
    for key, text in [("1h", "1 hour"), ("24h", "24 hours"), ("all", "Since first seen")]:
        assert f'<a href="?timeline={key}#breaker-timeline">{text}</a>' in section
    assert "last 7 days (first seen " in section


def test_range_links_keep_the_admins_own_parameters(admin_client: Client) -> None:
    response = admin_client.get(
        change_url("orders_db"), {"_changelist_filters": "state=open", "timeline": "1h"}
    )

    links = [url for _window, url, _selected in response.context["timeline_ranges"]]
    assert links[1] == "?_changelist_filters=state%3Dopen&timeline=24h#breaker-timeline"


def test_an_unknown_range_shows_the_default_and_says_so(admin_client: Client) -> None:
    response = admin_client.get(change_url("orders_db"), {"timeline": "5y"})

    assert response.status_code == 200
    assert response.context["timeline_window"] == "all"
    assert "There is no range “5y”: showing since first seen." in response.content.decode()


def test_detail_defaults_to_the_smallest_range_holding_the_latest_outage(
    admin_client: Client,
) -> None:
    earlier = timezone.now() - timedelta(days=20)
    Transition.objects.create(
        breaker="orders_db", at=earlier, from_state="closed", to_state="open", reason="threshold"
    )
    Transition.objects.create(
        breaker="orders_db",
        at=timezone.now() - timedelta(hours=3),
        from_state="closed",
        to_state="forced_open",
        reason="forced_open",
    )

    response = admin_client.get(change_url("orders_db"))

    assert response.context["timeline_window"] == "24h"
    assert response.context["first_seen"] == earlier


@pytest.mark.parametrize("manual", [actions.force_open, actions.disable])
def test_a_manual_state_waits_for_a_person_not_a_schedule(
    admin_client: Client, manual: Any
) -> None:
    manual(registry.get("orders_db"), actor="oncall")

    response = admin_client.get(change_url("orders_db"))

    assert response.context["status"].retry_phase == "closed"  # the status keeps its value
    html = response.content.decode()
    assert '<th scope="row">Retry phase</th><td>manual, until reset</td>' in html


def test_resolved_durations_read_as_durations(admin_client: Client) -> None:
    response = admin_client.get(change_url("orders_db"))  # the db profile: 1 min intervals

    config = dict(response.context["config_items"])
    assert config["base_interval_minutes"] == "1m"
    assert config["probe_timeout_seconds"] == "1m"
    assert config["max_interval_minutes"] == "null"
    assert response.context["status"].to_dict()["config"]["base_interval_minutes"] == 1.0
