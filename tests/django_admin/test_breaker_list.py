"""The "Circuit breakers" list: every registry breaker, live state, filters, search."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from circuit_breaker.stores.redis import RedisStore
from circuit_breaker_django import registry
from circuit_breaker_django.models import Breaker
from circuit_breaker_django.store import DjangoStore
from tests.django_admin.admin_helpers import (
    ALL_NAMES,
    install_registry,
    observing_search_service,
    trip,
)
from tests.helpers import FakeClock
from tests.redis_servers import RedisServer, private_redis_server

pytestmark = pytest.mark.django_db(transaction=True)  # rows synced on the app's own connection

LIST_URL = "admin:circuit_breaker_django_breaker_changelist"
SVG = "{http://www.w3.org/2000/svg}"


def listed_names(response: Any) -> list[str]:
    return [row.name for row in response.context["cl"].result_list]


def test_list_shows_every_registry_breaker_with_the_memory_store(admin_client: Client) -> None:
    response = admin_client.get(reverse(LIST_URL))

    assert response.status_code == 200
    assert listed_names(response) == sorted(ALL_NAMES)
    assert response.context["title"] == "Circuit breakers"


def test_list_shows_breakers_created_on_first_use_like_declared_ones(
    admin_client: Client,
) -> None:
    created = registry.get_or_create("api.example.com", profile="api")
    for _ in range(3):
        with suppress(ConnectionError):
            created.call(refuse)

    response = admin_client.get(reverse(LIST_URL))

    assert listed_names(response) == sorted([*ALL_NAMES, "api.example.com"])
    row = next(r for r in response.context["cl"].result_list if r.name == "api.example.com")
    assert row.live_status.state.value == "open" and row.live_status.profile == "api"


def refuse() -> None:
    raise ConnectionError("connection refused")


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of this module's own: no other test reads or writes its keys."""
    with private_redis_server(tmp_path_factory) as server:
        yield server


@pytest.fixture
def redis_store(private_redis: RedisServer) -> Iterator[RedisStore]:
    """A RedisStore on the module's private server, under a key prefix of its own."""
    prefix = f"cb-admin-test-{uuid.uuid4().hex}"
    store = RedisStore(private_redis.url, key_prefix=prefix)
    yield store
    store.close()
    client = private_redis.client()
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    client.close()


@pytest.mark.parametrize("store_name", ["django", pytest.param("redis", marks=pytest.mark.redis)])
def test_list_shows_every_registry_breaker_whatever_the_store(
    admin_client: Client, request: pytest.FixtureRequest, store_name: str
) -> None:
    store = DjangoStore() if store_name == "django" else request.getfixturevalue("redis_store")
    install_registry(store)
    trip("orders_db")

    response = admin_client.get(reverse(LIST_URL))

    assert listed_names(response) == sorted(ALL_NAMES)
    states = {row.name: row.live_status.state for row in response.context["cl"].result_list}
    assert states == {name: "open" if name == "orders_db" else "closed" for name in ALL_NAMES}


def test_list_shows_the_live_state_of_a_tripped_breaker(admin_client: Client) -> None:
    trip("external_api")

    response = admin_client.get(reverse(LIST_URL))

    row = next(r for r in response.context["cl"].result_list if r.name == "external_api")
    assert row.live_status.state == "open"
    html = response.content.decode()
    assert 'class="cb-badge cb-state-open"' in html
    assert "✖</span> Open" in html  # readable without colour: icon and word
    assert "ConnectionError" in html  # last failure type
    assert row.live_status.consecutive_breaks == 1
    assert "fixed-interval" in html
    assert re.search(r">in \d+m(\d+s)?</time>", html)  # next retry, within 5 min ± jitter


def test_a_breaker_past_its_retry_deadline_is_half_open_and_due(
    admin_client: Client, clock: FakeClock
) -> None:
    install_registry(clock=clock)
    trip("external_api")
    clock.advance(3600)

    response = admin_client.get(reverse(LIST_URL), {"state": "half_open"})

    assert listed_names(response) == ["external_api"]
    html = response.content.decode()
    assert "◐</span> Half-open" in html
    assert ">due now</time>" in html


def test_state_filter_keeps_only_breakers_in_that_live_state(admin_client: Client) -> None:
    trip("external_api")

    opened = admin_client.get(reverse(LIST_URL), {"state": "open"})
    closed = admin_client.get(reverse(LIST_URL), {"state": "closed"})

    assert listed_names(opened) == ["external_api"]
    assert listed_names(closed) == sorted(set(ALL_NAMES) - {"external_api"})


def test_profile_filter_keeps_only_breakers_of_that_profile(admin_client: Client) -> None:
    response = admin_client.get(reverse(LIST_URL), {"profile": "db"})

    assert listed_names(response) == ["inventory_db", "orders_db"]


def test_profile_filter_offers_the_profiles_in_use(admin_client: Client) -> None:
    response = admin_client.get(reverse(LIST_URL))

    profile_filter = next(
        spec for spec in response.context["cl"].filter_specs if spec.parameter_name == "profile"
    )
    offered = [value for value, _label in profile_filter.lookup_choices]
    assert offered == ["api", "critical", "db"]


def test_search_matches_breaker_names(admin_client: Client) -> None:
    response = admin_client.get(reverse(LIST_URL), {"q": "_db"})

    assert listed_names(response) == ["inventory_db", "orders_db"]


def test_breakers_cannot_be_added_or_deleted_in_the_admin(admin_client: Client) -> None:
    response = admin_client.get(reverse(LIST_URL))

    assert not response.context["has_add_permission"]
    actions = [name for name, _label in response.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions
    assert admin_client.get(reverse("admin:circuit_breaker_django_breaker_add")).status_code == 403


def test_a_critical_breaker_is_marked_under_its_state(admin_client: Client) -> None:
    response = admin_client.get(reverse(LIST_URL), {"q": "payment_gateway"})

    assert (
        '<strong class="cb-sub cb-critical" title="While it is not closed, the health check '
        'fails.">critical</strong>'
    ) in response.content.decode()


def test_a_non_critical_breaker_carries_no_mark(admin_client: Client) -> None:
    response = admin_client.get(reverse(LIST_URL), {"q": "orders_db"})

    assert 'class="cb-sub cb-critical"' not in response.content.decode()


def test_an_observing_breaker_says_what_it_would_have_rejected(admin_client: Client) -> None:
    observing_search_service()

    response = admin_client.get(reverse(LIST_URL), {"q": "search_service"})

    html = response.content.decode()
    assert "observing: would have rejected 1,204 calls</span>" in html
    assert 'class="cb-sub cb-observing"' in html
    other = admin_client.get(reverse(LIST_URL), {"q": "orders_db"}).content.decode()
    assert "cb-observing" not in other


def test_the_name_wraps_after_underscores_over_its_profile(admin_client: Client) -> None:
    response = admin_client.get(reverse(LIST_URL), {"q": "payment_gateway"})

    assert 'payment_<wbr>gateway<span class="cb-sub">profile critical</span>' in (
        response.content.decode()
    )


def test_a_long_exception_name_is_cut_with_the_whole_text_in_a_tooltip(
    admin_client: Client,
) -> None:
    class ReplicaLagBeyondConfiguredThresholdUnavailableError(Exception):
        pass

    breaker = registry.get("orders_db")
    with suppress(ReplicaLagBeyondConfiguredThresholdUnavailableError):
        breaker.call(raise_error, ReplicaLagBeyondConfiguredThresholdUnavailableError("lag 42 s"))

    html = admin_client.get(reverse(LIST_URL), {"q": "orders_db"}).content.decode()

    assert (
        '<span class="cb-truncate" title="ReplicaLagBeyondConfiguredThresholdUnavailableError: '
        'lag 42 s">ReplicaLagBeyondConfiguredThresholdUnavailableError</span>'
    ) in html


def raise_error(error: Exception) -> None:
    raise error


def test_user_without_view_permission_cannot_see_the_list(client_for: Any) -> None:
    client = client_for()  # staff, no permission

    assert client.get(reverse(LIST_URL)).status_code == 403


def test_user_with_view_permission_sees_the_list_without_actions(client_for: Any) -> None:
    client = client_for("view_breaker")

    response = client.get(reverse(LIST_URL))

    assert response.status_code == 200
    assert listed_names(response) == sorted(ALL_NAMES)
    assert response.context["action_form"] is None


def test_a_forced_open_breaker_waits_for_a_manual_reset(admin_client: Client) -> None:
    registry.get("orders_db").force_open()

    response = admin_client.get(reverse(LIST_URL), {"q": "orders_db"})

    html = response.content.decode()
    assert "■</span> Forced open" in html
    assert '<td class="field-retry">manual, until reset</td>' in html


def test_an_open_breaker_says_when_it_retries_over_its_phase(admin_client: Client) -> None:
    trip("orders_db")

    html = admin_client.get(reverse(LIST_URL), {"q": "orders_db"}).content.decode()

    assert re.search(
        r'<td class="field-retry"><span class="cb-nowrap"><time datetime="[^"]+" title="[^"]+">'
        r"in (\d+m)?(\d+s)?</time></span>"
        r'<span class="cb-sub" title="fixed-interval \(attempt 1/5\)">'
        r"fixed 1/5</span></td>",
        html,
    )


def test_failures_show_the_trips_under_them(admin_client: Client) -> None:
    trip("orders_db")

    html = admin_client.get(reverse(LIST_URL), {"q": "orders_db"}).content.decode()

    assert (
        '<td class="field-failures"><span class="cb-nowrap">0 / 5</span>'
        '<span class="cb-sub" title="consecutive circuit breaks">1 trip</span></td>'
    ) in html


def test_a_sparkline_starts_at_the_breakers_first_record(admin_client: Client) -> None:
    row = Breaker.objects.get(name="orders_db")

    response = admin_client.get(reverse(LIST_URL), {"q": "orders_db"})

    (listed,) = response.context["cl"].result_list
    svg = ET.fromstring(str(listed.sparkline))
    (band,) = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "cb-segment"]
    start = datetime.fromisoformat(band.get("data-start", ""))
    assert abs(start - row.updated_at) < timedelta(seconds=1)  # not 24 hours ago
    assert "last 24 hours (first seen " in svg.get("aria-label", "")


def test_each_row_has_a_24_hour_sparkline_of_its_transitions(admin_client: Client) -> None:
    trip("external_api")

    response = admin_client.get(reverse(LIST_URL))

    rows = {row.name: row for row in response.context["cl"].result_list}
    assert set(rows) == set(ALL_NAMES)
    assert all(str(row.sparkline).startswith("<svg") for row in rows.values())
    assert "open" in str(rows["external_api"].sparkline).lower()
    assert str(rows["external_api"].sparkline) != str(rows["orders_db"].sparkline)


def test_a_page_view_writes_nothing(admin_client: Client) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Breaker.objects.filter(name="orders_db").delete()  # as if the YAML had just added it
    with CaptureQueriesContext(connection) as host:
        response = admin_client.get(reverse(LIST_URL))
    assert response.status_code == 200
    writes = [
        q["sql"] for q in host.captured_queries if q["sql"].split()[0] in ("INSERT", "UPDATE")
    ]
    # Sessions and messages aside, the list must not have created the missing row.
    assert not any("circuit_breaker_django_breaker" in sql for sql in writes), writes
    assert not Breaker.objects.filter(name="orders_db").exists()  # rows come from migrate/load


def test_an_unreachable_store_is_said_on_the_list(
    admin_client: Client, django_db_blocker: Any
) -> None:
    from circuit_breaker_django.store import DjangoStore
    from tests.django_admin.admin_helpers import install_registry

    install_registry(store=DjangoStore(using="unreachable"))
    with django_db_blocker.unblock():
        html = admin_client.get(reverse(LIST_URL)).content.decode()
    assert "store unreachable" in html.lower() and "local view" in html
