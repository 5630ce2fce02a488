"""The baseline loader: an earlier revision's package from git, timed by a worker that
imports it from its own directory (never the checkout's or the editable install's)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.baseline import (
    DEFAULT_REVISION,
    REPO_ROOT,
    Baseline,
    BaselineUnavailable,
    Worker,
    extract,
)
from benchmarks.context import Context
from benchmarks.harness import Settings
from benchmarks.hot_worker import BARE_OF
from benchmarks.scenarios import baseline as baseline_scenario


def _extract_or_skip(into: Path) -> Baseline:
    try:
        return extract(DEFAULT_REVISION, into)
    except BaselineUnavailable as exc:
        pytest.skip(f"no baseline here: {exc}")


def test_extract_unpacks_the_package_as_it_was_at_the_revision(tmp_path: Path) -> None:
    baseline = _extract_or_skip(tmp_path / "old")
    package = baseline.tree / "circuit_breaker"
    assert baseline.commit.startswith(DEFAULT_REVISION)
    assert (package / "__init__.py").is_file()
    # Before the reshaping the breaker was one module: no gate, no view.
    assert (package / "breaker.py").is_file()
    assert not (package / "gate.py").exists()
    assert [path.name for path in baseline.tree.iterdir()] == ["circuit_breaker"]


def test_worker_imports_the_old_package_from_its_tree(tmp_path: Path) -> None:
    baseline = _extract_or_skip(tmp_path / "old")
    with Worker(baseline.tree) as worker:
        assert worker.module_file == (baseline.tree / "circuit_breaker" / "__init__.py").resolve()
        iterations = worker.ask(calibrate=100_000)["n"]
        elapsed = worker.ask(round=1, n=iterations)["ns"]
    assert set(elapsed) == set(BARE_OF) | set(BARE_OF.values())
    assert all(ns > 0 for ns in elapsed.values())


def test_worker_of_the_checkout_imports_the_current_package() -> None:
    with Worker(REPO_ROOT) as worker:
        assert worker.module_file == (REPO_ROOT / "circuit_breaker" / "__init__.py").resolve()


def test_worker_reports_a_tree_without_the_package(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="shadows the one under test"):
        Worker(tmp_path)  # nothing there: the import finds the current package instead


def test_a_directory_without_history_is_a_reason_not_a_failure(tmp_path: Path) -> None:
    unpacked = tmp_path / "circuit-breaker-0.1.0"
    unpacked.mkdir()
    with pytest.raises(BaselineUnavailable, match="not a git checkout"):
        extract(DEFAULT_REVISION, tmp_path / "old", repo=unpacked)


def test_an_unknown_revision_is_a_reason_not_a_failure(tmp_path: Path) -> None:
    with pytest.raises(BaselineUnavailable, match="not in this checkout's history"):
        extract("f" * 40, tmp_path / "old")


def test_without_git_the_comparison_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    context = Context(Settings.smoke(), tmp_path)
    rows = baseline_scenario.run(context)
    assert [row.verdict for row in rows] == ["SKIP"]
    assert rows[0].skipped == f"no baseline {DEFAULT_REVISION}: git is not installed here"
    assert rows[0].target
