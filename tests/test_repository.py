"""The repository itself: what git tracks and what it ignores."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def git(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    if result.returncode == 128:  # an unpacked archive, not a checkout
        pytest.skip(f"not a git checkout: {result.stderr.strip()}")
    return result


def test_no_tracked_file_matches_an_ignore_rule() -> None:
    """A rule that matches tracked files hides their new siblings from `git status`."""
    result = git("ls-files", "--cached", "--ignored", "--exclude-standard")

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "path",
    [
        "screenshots/breaker-list-light.png",
        "example_project/db.sqlite3",
        "benchmarks/results/2025-03-10.json",
    ],
)
def test_generated_files_are_ignored(path: str) -> None:
    assert git("check-ignore", "--quiet", "--no-index", path).returncode == 0


def test_the_benchmarks_latest_results_are_kept() -> None:
    assert (
        git("check-ignore", "--quiet", "--no-index", "benchmarks/results/latest.json").returncode
        == 1
    )
