"""``manage.py check``: configuration problems as messages with ids, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from circuit_breaker.errors import ConfigError
from circuit_breaker_django import registry


def ids(**circuit_breakers: Any) -> dict[str, str]:
    from django.conf import settings as django_settings

    django_settings.CIRCUIT_BREAKERS = circuit_breakers  # restored by the settings fixture
    from circuit_breaker_django.conf import get_config

    get_config.cache_clear()
    return {m.id or "": m.msg for m in checks.run_checks() if (m.id or "").startswith("circuit")}


def messages(**circuit_breakers: Any) -> list[tuple[str, str]]:
    """(id, message) of every message of the app, for settings ``circuit_breakers``."""
    ids(**circuit_breakers)
    found = checks.run_checks()
    return [(m.id or "", m.msg) for m in found if (m.id or "").startswith("circuit")]


@pytest.fixture
def yaml_file(tmp_path: Path) -> Path:
    path = tmp_path / "breakers.yaml"
    path.write_text("version: 1\nbreakers:\n  external_api: {profile: api}\n")
    return path


def test_a_valid_configuration_has_no_message(settings: Any, yaml_file: Path) -> None:
    assert ids(CONFIG=[yaml_file], STORE="django") == {}


def test_yaml_errors_are_e001_with_the_config_error_text(settings: Any, tmp_path: Path) -> None:
    bad = tmp_path / "breakers.yaml"
    bad.write_text("version: 1\nbreakers:\n  external_api: {profile: api, failure_treshold: 3}\n")
    found = ids(CONFIG=[bad])
    assert "circuit_breaker_django.E001" in found
    message = found["circuit_breaker_django.E001"]
    assert "breakers.yaml:3" in message and "failure_treshold" in message
    assert "did you mean" in message


def test_manage_py_check_reports_e001_instead_of_a_traceback(settings: Any, tmp_path: Path) -> None:
    bad = tmp_path / "breakers.yaml"
    bad.write_text("version: 1\nbreakers:\n  x: {profile: nope}\n")
    settings.CIRCUIT_BREAKERS = {"CONFIG": [bad], "STORE": "memory"}
    with pytest.raises(SystemCheckError, match=r"circuit_breaker_django\.E001"):
        call_command("check")


def test_importing_never_builds_and_first_use_raises_the_config_error(
    settings: Any, tmp_path: Path
) -> None:
    bad = tmp_path / "breakers.yaml"
    bad.write_text("version: 1\nbreakers:\n  x: {profile: nope}\n")
    settings.CIRCUIT_BREAKERS = {"CONFIG": [bad], "STORE": "memory"}
    import circuit_breaker_django  # noqa: F401  (already imported: still nothing built)

    assert not registry.is_built
    with pytest.raises(ConfigError, match="nope"):
        registry.get("x")


def test_bad_store_is_e002(settings: Any, yaml_file: Path) -> None:
    found = ids(CONFIG=[yaml_file], STORE="mongodb://x")
    assert "'django', 'memory' or a Redis URL" in found["circuit_breaker_django.E002"]
    found = ids(CONFIG=[yaml_file], DATABASE="other")
    assert "DATABASE 'other' is not in DATABASES" in found["circuit_breaker_django.E002"]
    found = ids(CONFIG=[yaml_file], SYNC_INTERVAL=-1)
    assert "SYNC_INTERVAL" in found["circuit_breaker_django.E002"]


def test_bad_store_raises_improperly_configured_on_first_use(
    settings: Any, yaml_file: Path
) -> None:
    settings.CIRCUIT_BREAKERS = {"CONFIG": [yaml_file], "STORE": "mongodb://x"}
    with pytest.raises(ImproperlyConfigured, match="STORE must be"):
        registry.names()


def test_bad_health_detail_is_e003(settings: Any, yaml_file: Path) -> None:
    found = ids(CONFIG=[yaml_file], HEALTH_DETAIL="everyone")
    assert "public, staff, token" in found["circuit_breaker_django.E003"]


def test_unknown_setting_key_is_e004_with_a_hint(settings: Any, yaml_file: Path) -> None:
    messages = ids(CONFIG=[yaml_file], HEALTH_TOKN="x")
    assert "HEALTH_TOKN" in messages["circuit_breaker_django.E004"]
    hints = [m.hint for m in checks.run_checks() if m.id == "circuit_breaker_django.E004"]
    assert hints == ["did you mean 'HEALTH_TOKEN'?"]


@pytest.mark.parametrize("timeout", [0, -1, "2", True, None, float("inf")])
def test_a_database_timeout_that_is_not_positive_seconds_is_e006(
    settings: Any, yaml_file: Path, timeout: Any
) -> None:
    found = ids(CONFIG=[yaml_file], STORE="memory", DATABASE_TIMEOUT=timeout)
    assert (
        "DATABASE_TIMEOUT must be a number of seconds > 0" in found["circuit_breaker_django.E006"]
    )
    assert "circuit_breaker_django.E006" not in ids(CONFIG=[yaml_file], DATABASE_TIMEOUT=0.5)


def test_token_mode_without_a_token_is_w001(settings: Any, yaml_file: Path) -> None:
    assert "circuit_breaker_django.W001" in ids(CONFIG=[yaml_file], HEALTH_DETAIL="token")
    found = ids(CONFIG=[yaml_file], HEALTH_DETAIL="token", HEALTH_TOKEN="t")
    assert "circuit_breaker_django.W001" not in found


def test_atomic_requests_where_transitions_are_recorded_is_w002(
    settings: Any, yaml_file: Path
) -> None:
    from django.db import connections

    connections["default"].settings_dict["ATOMIC_REQUESTS"] = True
    try:
        for store in ("django", "memory"):  # the history is recorded whatever the store
            found = messages(CONFIG=[yaml_file], STORE=store)
            warning = [text for message_id, text in found if message_id.endswith("W002")]
            assert warning and "where transitions are recorded" in warning[0]
        # A router that records them on an alias without ATOMIC_REQUESTS silences it.
        settings.DATABASE_ROUTERS = ["tests.django_app.routers.TransitionsNowhere"]
        assert "circuit_breaker_django.W002" not in ids(CONFIG=[yaml_file], STORE="django")
    finally:
        connections["default"].settings_dict["ATOMIC_REQUESTS"] = False


def test_no_yaml_file_is_w003(settings: Any) -> None:
    assert "circuit_breaker_django.W003" in ids(CONFIG=[])


def test_every_store_problem_is_reported_in_one_run(settings: Any, yaml_file: Path) -> None:
    found = messages(CONFIG=[yaml_file], STORE="mongodb://x", SYNC_INTERVAL=-1)
    assert [message_id for message_id, _ in found] == ["circuit_breaker_django.E002"] * 2
    assert "SYNC_INTERVAL" in found[0][1]
    assert "STORE must be 'django', 'memory' or a Redis URL" in found[1][1]

    found = messages(CONFIG=[yaml_file], DATABASE="other", SYNC_INTERVAL="1")
    assert len(found) == 2
    assert "SYNC_INTERVAL" in found[0][1] and "DATABASE 'other'" in found[1][1]


def test_a_bad_sync_interval_hides_no_database_check(settings: Any, yaml_file: Path) -> None:
    from django.db import connections

    connections["default"].settings_dict["ATOMIC_REQUESTS"] = True
    try:
        found = messages(CONFIG=[yaml_file], STORE="django", SYNC_INTERVAL=-1)
    finally:
        connections["default"].settings_dict["ATOMIC_REQUESTS"] = False
    assert [message_id for message_id, _ in found] == [
        "circuit_breaker_django.E002",
        "circuit_breaker_django.W002",
    ]


@pytest.mark.parametrize(
    ("interval", "store"),
    [(float("nan"), "memory"), (float("inf"), "django"), (0, "redis://127.0.0.1:6379/0")],
)
def test_sync_interval_the_store_cannot_use_is_e002(
    settings: Any, yaml_file: Path, interval: float, store: str
) -> None:
    found = ids(CONFIG=[yaml_file], STORE=store, SYNC_INTERVAL=interval)
    assert "SYNC_INTERVAL" in found["circuit_breaker_django.E002"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("redis://127.0.0.1:abc/0", "the port 'abc' is not a number from 1 to 65535"),
        ("redis://127.0.0.1:99999/0", "the port '99999' is not a number from 1 to 65535"),
        ("redis://[::1/0", "not a valid URL (Invalid IPv6 URL)"),
        ("redis://127.0.0.1:6379/0?socket_timeout=soon", "only db is read from the URL"),
        ("redis://127.0.0.1:6379/orders", "the db 'orders' is not a whole number"),
        ("redis://127.0.0.1:6379/\u0665", "is not a whole number"),
        ("unix://", "a unix:// URL needs the socket's path"),
    ],
)
def test_malformed_redis_url_is_e002(settings: Any, yaml_file: Path, url: str, reason: str) -> None:
    found = ids(CONFIG=[yaml_file], STORE=url)
    assert reason in found["circuit_breaker_django.E002"]


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://localhost",
        "rediss://user:secret@cache.internal:6380/2",
        "unix:///run/redis/redis.sock?db=1",
    ],
)
def test_well_formed_redis_url_passes(settings: Any, yaml_file: Path, url: str) -> None:
    assert ids(CONFIG=[yaml_file], STORE=url) == {}


def test_redis_url_check_never_shows_the_password(settings: Any, yaml_file: Path) -> None:
    found = ids(CONFIG=[yaml_file], STORE="redis://app:hunter2@127.0.0.1:abc/0")
    message = found["circuit_breaker_django.E002"]
    assert "redis://app:***@127.0.0.1:abc/0" in message
    assert "hunter2" not in message


def test_redis_url_without_the_redis_package_is_e002(
    settings: Any, yaml_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis raises ImportError
    monkeypatch.setitem(sys.modules, "redis.connection", None)
    found = ids(CONFIG=[yaml_file], STORE="redis://127.0.0.1:6379/0")
    assert "the redis package is not installed" in found["circuit_breaker_django.E002"]


def test_malformed_redis_url_raises_improperly_configured_on_first_use(
    settings: Any, yaml_file: Path
) -> None:
    settings.CIRCUIT_BREAKERS = {"CONFIG": [yaml_file], "STORE": "redis://127.0.0.1:abc/0"}
    with pytest.raises(ImproperlyConfigured, match="the port 'abc' is not a number"):
        registry.names()


# -- STORE as a dict: the keys of the YAML store section ----------------------------------


@pytest.mark.parametrize(
    "store",
    [
        {"backend": "redis", "url": "redis://10.0.0.5:7000/0", "cluster": True},
        {
            "backend": "redis",
            "sentinels": ["sentinel-a:26379", "sentinel-b:26379"],
            "service_name": "mymaster",
        },
        {
            "backend": "redis",
            "url": "rediss://cache.internal:6380/0",
            "username": "breakers",
            "password": "${REDIS_PASSWORD:-s3cret}",
            "ssl_ca_certs": "/etc/redis/ca.pem",
            "sync_interval": "500ms",
        },
        {"backend": "memory"},
    ],
    ids=["cluster", "sentinel", "tls", "memory"],
)
def test_a_store_dict_like_the_yaml_store_section_passes(
    settings: Any, yaml_file: Path, store: dict[str, Any]
) -> None:
    assert ids(CONFIG=[yaml_file], STORE=store) == {}


def test_every_problem_of_a_store_dict_is_e002_naming_its_key(
    settings: Any, yaml_file: Path
) -> None:
    store = {
        "backend": "redis",
        "url": "redis://app:hunter2@10.0.0.5:7000/0",
        "cluster": True,
        "sentinels": ["sentinel-a:26379", "sentinel-b"],
        "service_name": "mymaster",
    }
    found = [message for _, message in messages(CONFIG=[yaml_file], STORE=store)]
    assert found == [
        "CIRCUIT_BREAKERS: STORE.sentinels[1]: expected 'host:port' (port from 1 to 65535), "
        "got 'sentinel-b'",
        "CIRCUIT_BREAKERS: STORE.sentinels: cannot be combined with cluster: true "
        "(a Redis Cluster has no Sentinel)",
        "CIRCUIT_BREAKERS: STORE.url: with sentinels the primary's address comes from them: "
        "give url without host and port (e.g. 'rediss://:PASSWORD@/0'), or leave it out",
    ]


def test_an_unknown_key_of_a_store_dict_is_e002_with_a_suggestion(
    settings: Any, yaml_file: Path
) -> None:
    found = ids(CONFIG=[yaml_file], STORE={"backend": "redis", "clustr": True})
    assert found["circuit_breaker_django.E002"] == (
        "CIRCUIT_BREAKERS: STORE.clustr: unknown key 'clustr'; did you mean 'cluster'?"
    )


def test_a_password_in_a_store_dict_is_never_shown(settings: Any, yaml_file: Path) -> None:
    found = ids(CONFIG=[yaml_file], STORE={"backend": "redis", "password": 918273})
    assert found["circuit_breaker_django.E002"] == (
        "CIRCUIT_BREAKERS: STORE.password: expected non-empty text"
    )


def test_the_sync_interval_given_in_the_store_dict_and_as_a_setting_is_e002(
    settings: Any, yaml_file: Path
) -> None:
    store = {"backend": "redis", "sync_interval": 2}
    found = ids(CONFIG=[yaml_file], STORE=store, SYNC_INTERVAL=1.0)
    assert "give the sync interval once" in found["circuit_breaker_django.E002"]
