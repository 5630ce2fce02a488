"""Throwaway copies of the repository and virtual environments for the packaging checks.

Builds run on a copy of the repository's files (what a clone holds), never in the
worktree: setuptools reuses an existing ``*.egg-info/SOURCES.txt``, so an in-tree build
could ship a file the configuration no longer includes, and would leave build output
behind.

A fresh environment gets this project only through what is installed into it. Its
third-party dependencies (Django, pydantic, setuptools for building ...) are borrowed
from the development environment through a ``.pth`` line: a path listed there is added
to ``sys.path`` but its own ``.pth`` files are not run, so the development environment's
editable install of this project stays invisible. Nothing reaches a package index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clean_environment() -> dict[str, str]:
    """The environment minus what would point a child at the repository or the test settings."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV", "PIP_INDEX_URL"):
        env.pop(name, None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(args: Sequence[str | Path], *, cwd: Path | None = None) -> str:
    """Run a command; on failure raise with everything it printed."""
    process = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if process.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {process.returncode}\n"
            f"--- stdout\n{process.stdout}\n--- stderr\n{process.stderr}"
        )
    return process.stdout


def copy_of_the_repository(destination: Path) -> Path:
    """The tracked files, and new files git would add, copied to ``destination``."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listing.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def fresh_venv(where: Path) -> Path:
    """A new virtual environment at ``where``; returns its python."""
    run([sys.executable, "-m", "venv", "--without-pip", where])
    python = where / "bin" / "python"
    site_packages = Path(
        run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).strip()
    )
    borrowed = sysconfig.get_path("purelib")
    (site_packages / "_development_dependencies.pth").write_text(borrowed + "\n")
    return python


def pip_install(python: Path, *requirements: str) -> str:
    """Install into ``python``'s environment with this environment's pip, offline.

    ``--no-deps``: the dependencies are already importable (see the module docstring).
    ``--no-build-isolation``: a source requirement builds with the borrowed setuptools.
    """
    return run(
        [
            sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
            "--no-index", "--no-deps", "--no-build-isolation", *requirements,
        ]
    )  # fmt: skip
