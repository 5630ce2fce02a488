"""The health endpoint: status codes, detail levels, caching, login middleware, queries."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from circuit_breaker.registry import BreakerRegistry
from circuit_breaker_django.store import DjangoStore
from tests.django_app.app_helpers import trip
from tests.django_app.store_queries import statements_of_this_thread

URL = "/health/breakers/"
TOKEN = "s3cret-token"
Install = Callable[..., BreakerRegistry]


@pytest.fixture(autouse=True)
def breakers(install: Install, db: None) -> BreakerRegistry:
    return install()


def get(client: Client, url: str = URL, **headers: Any) -> tuple[int, dict[str, Any]]:
    response = client.get(url, headers=headers)
    assert response["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.content)


@pytest.fixture
def staff_client(client: Client) -> Client:
    user = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    client.force_login(user)
    return client


def test_all_closed_passes_with_200(client: Client) -> None:
    status, body = get(client)
    assert status == 200
    assert body["status"] == "pass"
    assert sorted(body["breakers"]) == ["external_api", "orders_db", "payment_gateway"]
    assert body["checked_at"].endswith("+00:00")


def test_an_open_non_critical_breaker_warns_with_200(client: Client) -> None:
    trip("external_api")
    status, body = get(client)
    assert (status, body["status"]) == (200, "warn")
    assert body["breakers"]["external_api"] == {"state": "open"}


def test_an_open_critical_breaker_fails_with_503(client: Client) -> None:
    trip("payment_gateway")
    status, body = get(client)
    assert (status, body["status"]) == (503, "fail")


def test_an_open_observing_critical_breaker_only_warns(install: Install, client: Client) -> None:
    observing = {"profile": "critical", "critical": True, "mode": "observe"}
    install({"breakers": {"payment_gateway": observing}})
    trip("payment_gateway")
    status, body = get(client)
    assert (status, body["status"]) == (200, "warn")
    assert body["reason"] == "breakers not closed: payment_gateway (observing)"


def test_anonymous_callers_see_names_and_states_only(client: Client) -> None:
    trip("external_api")
    _, body = get(client)
    assert all(set(entry) == {"state"} for entry in body["breakers"].values())
    assert "hunter2" not in json.dumps(body)


def test_public_detail_shows_full_status_but_never_failure_messages(
    client: Client, settings: Any
) -> None:
    settings.CIRCUIT_BREAKERS = {**settings.CIRCUIT_BREAKERS, "HEALTH_DETAIL": "public"}
    trip("external_api")
    _, body = get(client)
    entry = body["breakers"]["external_api"]
    assert entry["failure_count"] == 0 and entry["consecutive_circuit_breaks"] == 1
    assert entry["last_failure"]["type"] == "ConnectionError"
    assert "message" not in entry["last_failure"]
    assert "hunter2" not in json.dumps(body) and "10.0.0.7" not in json.dumps(body)


def test_staff_users_see_full_status_with_the_failure_message(staff_client: Client) -> None:
    trip("external_api")
    _, body = get(staff_client)
    entry = body["breakers"]["external_api"]
    assert "hunter2" in entry["last_failure"]["message"]
    assert entry["config"]["failure_threshold"] == 3
    assert entry["critical"] is False and body["breakers"]["payment_gateway"]["critical"] is True


def test_the_bearer_token_gives_full_status(client: Client, settings: Any) -> None:
    settings.CIRCUIT_BREAKERS = {
        **settings.CIRCUIT_BREAKERS,
        "HEALTH_DETAIL": "token",
        "HEALTH_TOKEN": TOKEN,
    }
    trip("external_api")
    _, with_token = get(client, Authorization=f"Bearer {TOKEN}")
    assert "message" in with_token["breakers"]["external_api"]["last_failure"]
    _, wrong = get(client, Authorization="Bearer s3cret-tokem")
    assert wrong["breakers"]["external_api"] == {"state": "open"}
    _, basic = get(client, Authorization=f"Basic {TOKEN}")
    assert basic["breakers"]["external_api"] == {"state": "open"}


def test_responses_are_never_cached(client: Client) -> None:
    response = client.get(URL)
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]


def test_reachable_with_login_required_middleware(client: Client, settings: Any) -> None:
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    assert client.get(URL).status_code == 200
    assert client.get(URL + "orders_db/").status_code == 200
    assert client.get("/admin/circuit_breaker_django/breaker/").status_code == 302


def test_one_breaker_by_name(client: Client) -> None:
    trip("payment_gateway")
    status, body = get(client, URL + "payment_gateway/")
    assert status == 503
    assert body["breakers"] == {"payment_gateway": {"state": "open"}}
    status, body = get(client, URL + "orders_db/")
    assert (status, body["status"], list(body["breakers"])) == (200, "pass", ["orders_db"])


def test_unknown_breaker_is_a_json_404_naming_the_known_ones(client: Client) -> None:
    status, body = get(client, URL + "order_db/")
    assert status == 404
    assert "unknown circuit breaker 'order_db'" in body["error"]
    assert "did you mean 'orders_db'" in body["error"]


def test_only_safe_methods(client: Client) -> None:
    assert client.head(URL).status_code == 200
    assert client.post(URL).status_code == 405


@pytest.mark.parametrize("url", [URL, URL + "orders_db/"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_other_methods_get_a_json_405_even_with_csrf_checks_on(url: str, method: str) -> None:
    browser_like = Client(enforce_csrf_checks=True)  # as a real client meets the middleware

    response = getattr(browser_like, method)(url)

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "error": f"method {method.upper()} not allowed: use GET or HEAD",
        "allowed": ["GET", "HEAD"],
    }
    assert browser_like.get(url).status_code == 200


def test_one_query_for_all_breakers_on_the_django_store(
    client: Client, install: Install, transactional_db: None
) -> None:
    names = {f"service_{i:03d}": {"profile": "api"} for i in range(50)}
    store = DjangoStore(sync_interval=60.0)
    install({"version": 1, "breakers": names}, store=store)
    with statements_of_this_thread(store) as reads:
        status, body = get(client)
    assert status == 200 and len(body["breakers"]) == 50
    assert len(reads) == 1


def test_a_configuration_error_is_a_503_without_details_for_anonymous_callers(
    client: Client, settings: Any, tmp_path: Any
) -> None:
    from circuit_breaker_django import registry

    bad = tmp_path / "breakers.yaml"
    bad.write_text("version: 1\nbreakers:\n  x: {failure_treshold: 3}\n")
    settings.CIRCUIT_BREAKERS = {"CONFIG": [bad], "STORE": "memory"}
    registry.configure(None)  # back to the settings
    status, body = get(client)
    assert status == 503
    assert body["error"] == "circuit breaker configuration error"
