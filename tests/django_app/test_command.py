"""``manage.py breakers``: status table and JSON, manual control, check, unknown names."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from circuit_breaker import cli
from circuit_breaker.registry import BreakerRegistry
from circuit_breaker_django import registry
from circuit_breaker_django.models import Transition
from circuit_breaker_django.store import DjangoStore
from tests.django_app.app_helpers import refuse, trip
from tests.helpers import FakeClock


@pytest.fixture(autouse=True)
def breakers(install: Callable[..., BreakerRegistry], db: None) -> BreakerRegistry:
    return install()


def run(*args: str) -> str:
    out = StringIO()
    call_command("breakers", *args, stdout=out)
    return out.getvalue()


def test_status_is_an_aligned_table(db: None) -> None:
    trip("external_api")
    lines = run("status").splitlines()
    assert lines[0].split() == [
        "NAME", "PROFILE", "STATE", "FAILURES", "TRIPS", "TRIPPED", "BY", "RETRY", "PHASE",
        "NEXT", "RETRY", "CRITICAL", "LAST", "FAILURE",
    ]  # fmt: skip
    assert len(lines) == 4
    state_column = lines[0].index("STATE")
    assert all(line[state_column - 2 : state_column] == "  " for line in lines)
    api = next(line for line in lines if line.startswith("external_api"))
    assert api.split()[1:6] == ["api", "open", "0/3", "1", "threshold"]
    assert "fixed-interval (attempt 1/3)" in api and "ConnectionError" in api
    payment = next(line for line in lines if line.startswith("payment_gateway"))
    assert payment.split()[2] == "closed" and " yes " in payment


def test_status_filters_by_name_and_state(db: None) -> None:
    trip("external_api")
    assert [line.split()[0] for line in run("status", "orders_db").splitlines()[1:]] == [
        "orders_db"
    ]
    assert [line.split()[0] for line in run("status", "--state", "open").splitlines()[1:]] == [
        "external_api"
    ]
    assert (
        run("status", "--state", "forced_open").strip()
        == "no circuit breakers in state forced_open"
    )


def test_status_json_is_the_staff_status_mapping(db: None) -> None:
    trip("external_api")
    data = json.loads(run("status", "--format", "json"))
    assert sorted(data) == ["external_api", "orders_db", "payment_gateway"]
    assert data["external_api"]["state"] == "open"
    assert "refused" in data["external_api"]["last_failure"]["message"]
    assert data.keys() == registry.status().keys()


def test_open_disable_and_reset_record_manual_transitions(db: None) -> None:
    assert "external_api: forced open (now forced_open)" in run("open", "external_api")
    assert "orders_db: disabled (now disabled)" in run("disable", "orders_db")
    out = run("reset", "--all")
    assert "external_api: reset (now closed)" in out and "orders_db: reset (now closed)" in out
    rows = Transition.objects.order_by("at", "pk")
    assert [(r.breaker, r.to_state, r.origin) for r in rows][:2] == [
        ("external_api", "forced_open", "manual"),
        ("orders_db", "disabled", "manual"),
    ]
    assert all(r.actor and r.actor.startswith("manage.py breakers (") for r in rows)


def test_unknown_names_are_an_error_listing_the_known_ones(db: None) -> None:
    with pytest.raises(CommandError) as error:
        run("reset", "order_db")
    message = str(error.value)
    assert "unknown circuit breaker(s): order_db" in message
    assert "known: external_api, orders_db, payment_gateway" in message
    assert "'order_db' -> 'orders_db'" in message
    with pytest.raises(CommandError, match="unknown"):
        run("status", "nope")
    assert registry.get("orders_db").state.value == "closed"


def test_reset_needs_names_or_all(db: None) -> None:
    with pytest.raises(CommandError, match="--all"):
        run("reset")


def test_reset_all_with_names_is_a_usage_error_and_resets_nothing(db: None) -> None:
    registry.get("external_api").force_open()
    with pytest.raises(CommandError, match="not allowed with argument --all"):
        run("reset", "--all", "orders_db")
    assert registry.get("external_api").state.value == "forced_open"


def test_resetting_a_closed_breaker_says_it_already_is(db: None) -> None:
    trip("external_api")
    out = run("reset", "external_api", "orders_db")
    assert "external_api: reset (now closed)" in out
    assert "orders_db: already closed" in out
    assert list(Transition.objects.order_by("at", "pk").values_list("breaker", "to_state")) == [
        ("external_api", "open"),
        ("external_api", "closed"),
    ]


@pytest.mark.parametrize(
    "arguments", [("open", "external_api"), ("open", "external_api", "--for", "5m")]
)
def test_a_manual_action_the_store_does_not_take_exits_3_and_records_nothing(
    install: Callable[..., BreakerRegistry], django_db_blocker: Any, arguments: tuple[str, ...]
) -> None:
    install(store=DjangoStore(using="unreachable"))
    err = StringIO()
    with django_db_blocker.unblock(), pytest.raises(SystemExit) as exited:
        call_command("breakers", *arguments, stdout=StringIO(), stderr=err)
    assert exited.value.code == 3
    assert "external_api: not " in err.getvalue()
    assert "the shared store did not take the action for external_api" in err.getvalue()
    assert registry.get("external_api").state.value == "closed"
    assert not Transition.objects.exists()


def test_open_for_opens_for_that_long_and_records_a_manual_transition(
    install: Callable[..., BreakerRegistry],
) -> None:
    clock = FakeClock()
    install(clock=clock)
    out = run("open", "external_api", "orders_db", "--for", "5m", "--reason", "db failover")
    assert "external_api: opened for 5m (now open, next retry in 5m0s)" in out
    assert "orders_db: opened for 5m (now open, next retry in 5m0s)" in out
    status = registry.get("external_api").status()
    assert (status.reason, status.detail, status.retry_in) == ("open_for", "db failover", 300.0)
    rows = Transition.objects.order_by("breaker")
    assert [(r.breaker, r.to_state, r.reason, r.detail, r.origin) for r in rows] == [
        ("external_api", "open", "open_for", "db failover", "manual"),
        ("orders_db", "open", "open_for", "db failover", "manual"),
    ]
    assert all(r.actor and r.actor.startswith("manage.py breakers (") for r in rows)
    clock.advance(300)
    assert registry.get("external_api").state.value == "half_open"


def test_open_for_without_a_reason_says_how_long_and_by_hand(db: None) -> None:
    run("open", "external_api", "--for", "90s")
    assert Transition.objects.get().detail == "opened by hand for 1m30s"


def test_open_for_leaves_a_forced_open_breaker_as_it_is(db: None) -> None:
    registry.get("payment_gateway").force_open()
    out = run("open", "payment_gateway", "--for", "5m")
    assert "payment_gateway: left forced_open: it waits for a reset" in out
    assert registry.get("payment_gateway").state.value == "forced_open"


@pytest.mark.parametrize("value", ["5x", "soon", "0s", "400d", "-5m"])
def test_a_bad_duration_is_a_usage_error_and_opens_nothing(db: None, value: str) -> None:
    with pytest.raises(CommandError, match=r"argument --for: .*expected"):
        run("open", "external_api", f"--for={value}")
    assert registry.get("external_api").state.value == "closed"


def test_open_for_an_unknown_name_is_a_clear_error(db: None) -> None:
    with pytest.raises(CommandError, match="unknown circuit breaker\\(s\\): extrnal_api"):
        run("open", "extrnal_api", "--for", "5m")


def test_a_reason_without_for_is_a_usage_error(db: None) -> None:
    with pytest.raises(CommandError, match="--reason goes with --for"):
        run("open", "external_api", "--reason", "why")
    assert registry.get("external_api").state.value == "closed"


def test_status_says_so_and_exits_3_when_the_store_cannot_be_read(
    install: Callable[..., BreakerRegistry], django_db_blocker: Any
) -> None:
    install(store=DjangoStore(using="unreachable"))
    err = StringIO()
    with django_db_blocker.unblock(), pytest.raises(SystemExit) as exited:
        call_command("breakers", "status", stdout=StringIO(), stderr=err)
    assert exited.value.code == 3
    assert "store unreachable" in err.getvalue() and "local view" in err.getvalue()


def test_check_reports_configuration_and_store(
    install: Callable[..., BreakerRegistry], db: None
) -> None:
    install(store=DjangoStore())
    out = run("check")
    assert "configuration: OK, 3 breakers" in out
    assert "store: <DjangoStore using='default'" in out and "reachable" in out


def test_the_command_exits_non_zero_from_a_shell(
    install: Callable[..., BreakerRegistry], capsys: pytest.CaptureFixture[str]
) -> None:
    from django.core.management import ManagementUtility

    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "breakers", "open", "nope"]).execute()
    assert exited.value.code == 1
    assert "known: external_api" in capsys.readouterr().err


def ok() -> str:
    return "ok"


RATED: dict[str, Any] = {
    "version": 1,
    "breakers": {
        "search_api": {"profile": "api_rate"},
        "ledger_db": {
            "failure_threshold": "off",
            "failure_rate_threshold": "25%",
            "sliding_window": 100,
            "minimum_calls": 4,
        },
    },
}


def test_status_shows_the_rate_rules_and_the_rule_that_tripped(
    install: Callable[..., BreakerRegistry], db: None
) -> None:
    install(RATED)
    ledger = registry.get("ledger_db")
    for fails in (False, False, False, True):
        with contextlib.suppress(ConnectionError):
            ledger.call(refuse if fails else ok)
    header, *rows = run("status").splitlines()
    failures, trips, tripped = (header.index(c) for c in ("FAILURES", "TRIPS", "TRIPPED BY"))
    by_name = {row.split()[0]: row for row in rows}
    assert by_name["ledger_db"][failures:trips].strip() == "0% of 0 (>=25%, min 4)"
    assert by_name["ledger_db"][tripped:].split()[0] == "failure_rate"  # 1 of 4 = 25 %
    assert by_name["search_api"][failures:trips].strip() == (
        "0% of 0 (>=50%, min 20), slow 0% (>=80%)"
    )
    assert "None" not in "".join(rows)
    data = json.loads(run("status", "--format", "json", "ledger_db"))
    assert data["ledger_db"]["tripped_by"] == "failure_rate"
    assert set(data["ledger_db"]["window"]) == {
        "calls", "failures", "slow_calls", "failure_rate", "slow_call_rate",
    }  # fmt: skip


def test_both_status_commands_print_the_same_table(
    install: Callable[..., BreakerRegistry],
    db: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "breakers.yaml"
    config.write_text(yaml.safe_dump(RATED))
    install(RATED)
    assert cli.main(["status", "--config", str(config)]) == 0
    assert run("status") == capsys.readouterr().out


def test_a_bad_duration_from_a_shell_prints_the_usage_and_exits_2(
    install: Callable[..., BreakerRegistry], capsys: pytest.CaptureFixture[str]
) -> None:
    from django.core.management import ManagementUtility

    arguments = ["manage.py", "breakers", "open", "external_api", "--for", "5x"]
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(arguments).execute()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "usage: manage.py breakers open" in err and "'5x': expected a duration like" in err
