"""Smoke test of the benchmark suite: a quick run yields a complete, well-formed report.

No timing thresholds here: figures on a shared 2-core machine say nothing in a test.
The run is a subprocess because the health scenario configures Django for itself.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.baseline import DEFAULT_REVISION
from benchmarks.scenarios import SCENARIOS, TABLES

ROOT = Path(__file__).resolve().parents[2]
VERDICTS = {"PASS", "MISS", "INFO", "SKIP", "QUICK"}
SERVICE_SCENARIOS = ("redis", "fleet_probes")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    output = tmp_path_factory.mktemp("bench") / "latest.json"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout, json.loads(output.read_text())


def test_quick_run_reports_every_scenario(quick_run: tuple[str, dict[str, Any]]) -> None:
    _, report = quick_run
    reported = {row["scenario"] for row in report["rows"]}
    assert reported == set(SCENARIOS)
    assert report["scenarios"] == list(SCENARIOS)


def test_every_row_is_measured_or_skipped_with_a_reason(
    quick_run: tuple[str, dict[str, Any]],
) -> None:
    _, report = quick_run
    for row in report["rows"]:
        assert row["verdict"] in VERDICTS, row
        if row["verdict"] == "SKIP":
            assert row["skipped"], row
            continue
        assert row["skipped"] is None, row
        assert row["metric"] and row["unit"] and row["target"], row
        figures = [row["ours"], *row["peers"].values()]
        assert any(value is not None for value in figures), row
        assert all(value is None or math.isfinite(value) for value in figures), row
        if row["best_peer"] is not None:
            assert row["best_peer_value"] == row["peers"][row["best_peer"]]


def test_quick_run_judges_no_timing_target(quick_run: tuple[str, dict[str, Any]]) -> None:
    _, report = quick_run
    timed = [row for row in report["rows"] if row["unit"] in ("ns", "µs", "ms")]
    assert timed
    assert report["quick"] is True
    assert all(row["verdict"] in ("QUICK", "INFO", "SKIP") for row in timed)


def test_report_names_machine_and_command(quick_run: tuple[str, dict[str, Any]]) -> None:
    _, report = quick_run
    machine = report["machine"]
    assert machine["cpu"] and machine["cores"] >= 1
    assert machine["python"] == sys.version.split()[0]
    assert "-m benchmarks --quick --output" in report["command"]
    assert report["date"]
    assert set(report["peers"]) == {
        "pybreaker", "circuitbreaker", "aiobreaker", "purgatory", "interlock-cb"
    }
    assert report["baseline_revision"] == DEFAULT_REVISION


def test_terminal_table_lists_every_scenario(quick_run: tuple[str, dict[str, Any]]) -> None:
    stdout, _ = quick_run
    header = next(line for line in stdout.splitlines() if line.startswith("scenario"))
    for column in ("ours", "best peer", "ratio", "target", "verdict"):
        assert column in header
    for scenario in SCENARIOS:
        assert any(line.startswith(scenario + " ") for line in stdout.splitlines()), scenario


def test_redis_scenarios_run_when_redis_is_required(
    quick_run: tuple[str, dict[str, Any]],
) -> None:
    _, report = quick_run
    skipped = {
        row["scenario"]: row["skipped"]
        for row in report["rows"]
        if row["scenario"] in SERVICE_SCENARIOS and row["verdict"] == "SKIP"
    }
    service_missing = {
        name: reason for name, reason in skipped.items()
        if "redis-server" in reason or "did not answer" in reason
    }
    if service_missing and os.environ.get("CI") == "true":
        pytest.fail(f"Redis is required under CI=true: {service_missing}")
    if service_missing:
        pytest.skip(f"no Redis here: {service_missing}")
    for name, reason in skipped.items():
        assert "does not exist yet" in reason, (name, reason)
    measured = [row for row in report["rows"]
                if row["scenario"] in SERVICE_SCENARIOS and row["verdict"] != "SKIP"]
    assert all(row["ours"] is not None for row in measured)
    assert len(measured) + len(skipped) >= len(SERVICE_SCENARIOS)


def test_baseline_rows_time_the_old_package_or_say_why_not(
    quick_run: tuple[str, dict[str, Any]],
) -> None:
    _, report = quick_run
    rows = [row for row in report["rows"] if row["scenario"] == "baseline"]
    if rows[0]["verdict"] == "SKIP":
        assert rows[0]["skipped"].startswith(f"no baseline {DEFAULT_REVISION}: "), rows
        return
    assert len(rows) == 4  # call, call_async, the sync and the async decorator
    for row in rows:
        assert list(row["peers"]) == [f"at {DEFAULT_REVISION}"]
        assert "/baseline/circuit_breaker/__init__.py" in row["notes"], row


def test_scenario_tables_are_written_with_the_results(
    quick_run: tuple[str, dict[str, Any]],
) -> None:
    stdout, report = quick_run
    for name in TABLES:
        measured = [row for row in report["rows"]
                    if row["scenario"] == name and row["verdict"] != "SKIP"]
        if not measured:
            assert name not in report["tables"]
            continue
        table = report["tables"][name]
        assert len(table.splitlines()) == 2 + len(measured)
        assert table in stdout
