"""``python -m circuit_breaker check|status``: validate files, read live state from the store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from circuit_breaker.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOOD = """\
version: 1
defaults: {profile: api}
breakers:
  external_api: {}
  orders_db: {profile: db}
  payment_gateway: {profile: critical, critical: true}
"""
BAD = """\
version: 1
breakers:
  orders_db: {failure_threshold: 0}
  external_api: {profile: apii}
"""


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    return path


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "circuit_breaker", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_check_ok(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(good)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: 3 breakers in 1 file")
    assert out.count("\n") == 1


def test_check_several_files(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text("breakers:\n  search: {}\n")
    assert main(["check", str(good), str(extra)]) == 0
    assert capsys.readouterr().out.startswith("OK: 4 breakers in 2 files")


def test_check_lists_every_problem(bad: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "2 problems in breaker configuration" in captured.err
    assert "bad.yaml:3: breakers.orders_db.failure_threshold" in captured.err
    assert "bad.yaml:4: breakers.external_api.profile: unknown profile 'apii'" in captured.err
    assert "Traceback" not in captured.err


def test_check_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope.yaml")]) == 1
    assert "nope.yaml: file not found" in capsys.readouterr().err


def test_status_table(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--config", str(good)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "NAME", "PROFILE", "STATE", "FAILURES", "TRIPS", "TRIPPED", "BY", "RETRY", "PHASE",
        "NEXT", "RETRY", "CRITICAL", "LAST", "FAILURE",
    ]  # fmt: skip
    assert len(lines) == 4
    state_column = lines[0].index("STATE")
    assert all(line[state_column:].startswith("closed") for line in lines[1:])
    assert lines[3].split()[:4] == ["payment_gateway", "critical", "closed", "0/2"]


RATED = """\
version: 1
breakers:
  search_api: {profile: api_rate}
  ledger_db: {failure_threshold: off, failure_rate_threshold: 25%, sliding_window: 100}
"""


def test_status_shows_rate_rules_and_no_none_for_a_breaker_without_a_streak(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "rated.yaml"
    config.write_text(RATED)
    assert main(["status", "--config", str(config)]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    failures, trips = header.index("FAILURES"), header.index("TRIPS")
    cells = {row.split()[0]: row[failures:trips].strip() for row in rows}
    assert cells == {
        "ledger_db": "0% of 0 (>=25%, min 20)",
        "search_api": "0% of 0 (>=50%, min 20), slow 0% (>=80%)",
    }
    assert "None" not in header + "".join(rows)


def test_status_json_has_the_window_and_the_rule_of_the_last_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "rated.yaml"
    config.write_text(RATED)
    assert main(["status", "--config", str(config), "--format", "json"]) == 0
    ledger = json.loads(capsys.readouterr().out)["ledger_db"]
    assert ledger["window"] == {
        "calls": 0, "failures": 0, "slow_calls": 0, "failure_rate": 0.0, "slow_call_rate": 0.0,
    }  # fmt: skip
    assert ledger["tripped_by"] is None
    assert ledger["config"]["sliding_window_calls"] == 100


def test_names_may_follow_the_config_files(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--config", str(good), "orders_db", "--format", "json"]) == 0
    assert list(json.loads(capsys.readouterr().out)) == ["orders_db"]


def test_status_says_so_and_exits_3_when_the_store_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "fleet.yaml"
    config.write_text(
        "version: 1\n"
        "breakers: {orders_db: {profile: db}}\n"
        "store: {backend: redis, url: 'redis://127.0.0.1:9/0', socket_timeout: 0.2}\n"
    )
    assert main(["status", "--config", str(config)]) == 3
    captured = capsys.readouterr()
    assert "orders_db" in captured.out
    assert "store unreachable" in captured.err
    assert "local view" in captured.err


def test_status_json_for_some_names(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "orders_db", "--config", str(good), "--format", "json"]) == 0
    statuses = json.loads(capsys.readouterr().out)
    assert list(statuses) == ["orders_db"]
    assert statuses["orders_db"]["state"] == "closed"
    assert statuses["orders_db"]["profile"] == "db"


def test_status_unknown_name(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "order_db", "-c", str(good)]) == 1
    err = capsys.readouterr().err
    assert "unknown circuit breaker 'order_db'; did you mean 'orders_db'?" in err


def test_status_with_bad_config(bad: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--config", str(bad)]) == 1
    assert "2 problems" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["check"], ["status"], ["frobnicate"]):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 2


def test_subprocess_check_ok(good: Path) -> None:
    result = run("check", str(good))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: 3 breakers")


def test_subprocess_check_errors(bad: Path) -> None:
    result = run("check", str(bad))
    assert result.returncode == 1
    assert "bad.yaml:3:" in result.stderr
    assert "Traceback" not in result.stderr


def test_subprocess_status_json(good: Path) -> None:
    result = run("status", "--config", str(good), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)) == {"external_api", "orders_db", "payment_gateway"}
