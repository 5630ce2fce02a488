"""A configuration that cannot build the registry: the admin says why instead of a 500."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from pytest_django import Settings

from circuit_breaker_django import registry
from tests.django_admin.admin_helpers import action_url, change_url

pytestmark = pytest.mark.django_db

LIST_URL = "admin:circuit_breaker_django_breaker_changelist"


@pytest.fixture
def broken_yaml(tmp_path: Path, settings: Settings) -> Callable[[], None]:
    """``break_config()``: from now on the settings name a YAML file with a typo."""

    def break_config() -> None:
        path = tmp_path / "breakers.yaml"
        path.write_text("version: 1\nbreakers:\n  orders_db: {profile: dbb}\n")
        settings.CIRCUIT_BREAKERS = {"CONFIG": [path], "STORE": "memory"}
        registry.configure(None)  # built from the settings on next use

    return break_config


def assert_error_page(response: Any, *fragments: str) -> None:
    assert response.status_code == 503
    assert [t.name for t in response.templates][:2] == [
        "admin/circuit_breaker_django/breaker/config_error.html",
        "admin/base_site.html",
    ]
    for fragment in fragments:
        assert fragment in response.context["error"]
        assert escape(fragment) in response.content.decode()


def test_breaker_list_shows_a_yaml_error_instead_of_a_500(
    admin_client: Client, broken_yaml: Callable[[], None]
) -> None:
    broken_yaml()

    response = admin_client.get(reverse(LIST_URL))

    assert_error_page(response, "breakers.yaml:3: breakers.orders_db.profile: unknown profile")
    html = response.content.decode()
    assert "did you mean &#x27;db&#x27;?" in html  # the text is escaped, never markup
    assert '<a href="/admin/">Home</a>' in html


def test_breaker_detail_shows_a_yaml_error_instead_of_a_500(
    admin_client: Client, broken_yaml: Callable[[], None]
) -> None:
    url = change_url("orders_db")  # the row exists from before the configuration broke
    broken_yaml()

    response = admin_client.get(url)

    assert_error_page(response, "unknown profile")


def test_action_and_history_pages_show_a_yaml_error_instead_of_a_500(
    admin_client: Client, broken_yaml: Callable[[], None]
) -> None:
    urls = [action_url("orders_db", "reset"), change_url("orders_db") + "history/"]
    broken_yaml()

    for url in urls:
        assert_error_page(admin_client.get(url), "unknown profile")


def test_breaker_list_shows_a_bad_store_setting_instead_of_a_500(
    admin_client: Client, settings: Settings
) -> None:
    settings.CIRCUIT_BREAKERS = {"CONFIG": [], "STORE": "redis://cache:abc/0"}
    registry.configure(None)

    response = admin_client.get(reverse(LIST_URL))

    assert_error_page(response, "STORE 'redis://cache:abc/0': the port 'abc' is not a number")


def test_the_admin_index_still_works_with_a_broken_configuration(
    admin_client: Client, broken_yaml: Callable[[], None]
) -> None:
    broken_yaml()

    response = admin_client.get(reverse("admin:index"))

    assert response.status_code == 200


def test_the_error_is_shown_to_staff_only(client: Client, broken_yaml: Callable[[], None]) -> None:
    broken_yaml()

    response = client.get(reverse(LIST_URL))

    assert response.status_code == 302  # to the admin login page
    assert "unknown profile" not in response.content.decode()
