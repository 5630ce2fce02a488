"""The README's and the docs pages' Python snippets run as written (see ``snippets.py``).

Every Python block is either run or carries a reason for not running, so docs cannot drift
from the code without a test failing; the README's blocks must all run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.docs.snippets import README, Snippet, pages, snippets

ALL = [snippet for page in pages() for snippet in snippets(page)]
MARKED_PYTHON = [s for s in ALL if s.is_python]
DJANGO_PAGES = sorted({s.page for s in ALL if s.kind == "django"})
KINDS = {"run", "file", "django", "not run"}


def _by_where(found: Sequence[Snippet]) -> list[object]:
    return [pytest.param(snippet, id=snippet.where) for snippet in found]


def _environment() -> dict[str, str]:
    """This interpreter's environment without the test suite's Django settings."""
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(args: Sequence[str], cwd: Path, what: str) -> str:
    process = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, (
        f"{what} failed (exit {process.returncode})\n"
        f"--- stdout\n{process.stdout}\n--- stderr\n{process.stderr}"
    )
    return process.stdout


def _page_files(snippet: Snippet, up_to_line: float = float("inf")) -> dict[str, str]:
    """The page's ``file`` blocks above ``up_to_line``: the last one of a name wins."""
    files: dict[str, str] = {}
    for block in snippets(snippet.page):
        if block.kind == "file" and block.line < up_to_line:
            assert block.first_line_name is not None, block.where
            files[block.first_line_name] = block.code
    return files


def _write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")


def test_the_pages_have_python_snippets() -> None:
    assert {s.page for s in MARKED_PYTHON} >= {README}
    assert len([s for s in ALL if s.kind in ("run", "django")]) >= 20


def test_every_python_snippet_is_run_or_says_why_not() -> None:
    problems = []
    for snippet in ALL:
        kind = snippet.kind
        if kind is not None and kind not in KINDS:
            problems.append(f"{snippet.where}: unknown marker {snippet.marker!r}")
        elif snippet.is_python and kind is None:
            problems.append(f"{snippet.where}: mark it `snippet: run` or say why it is not run")
        elif kind == "not run" and not (snippet.marker or "")[len("not run") :].strip(": "):
            problems.append(f"{snippet.where}: `not run` needs a reason")
        elif kind == "file" and snippet.first_line_name is None:
            problems.append(f"{snippet.where}: a file block starts with `# NAME`")
        elif kind in ("run", "not run") and not snippet.is_python:
            problems.append(f"{snippet.where}: only Python blocks run")
        elif snippet.page == README and kind == "not run":
            problems.append(f"{snippet.where}: every README snippet must run")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("snippet", _by_where([s for s in ALL if s.kind == "run"]))
def test_snippet_runs(snippet: Snippet, tmp_path: Path) -> None:
    _write(tmp_path, _page_files(snippet, up_to_line=snippet.line))
    (tmp_path / "snippet.py").write_text(snippet.code, encoding="utf-8")
    _run(["snippet.py"], tmp_path, snippet.where)


@pytest.mark.parametrize("snippet", _by_where([s for s in ALL if s.kind == "not run"]))
def test_snippet_not_run_still_compiles(snippet: Snippet) -> None:
    compile(snippet.code, snippet.where, "exec")


@pytest.mark.parametrize("page", [pytest.param(page, id=str(page.name)) for page in DJANGO_PAGES])
def test_django_snippets_work_in_a_new_project(page: Path, tmp_path: Path) -> None:
    """The page's settings and urls blocks, added to ``django-admin startproject``'s files,
    pass ``check`` and ``migrate``; its other Django blocks then run in ``manage.py shell``.
    """
    blocks = [s for s in snippets(page) if s.kind == "django"]
    _run(["-m", "django", "startproject", "mysite", str(tmp_path)], tmp_path, "startproject")
    _write(tmp_path, _page_files(blocks[0]))
    shell_blocks = []
    for block in blocks:
        target = block.first_line_name
        if target in ("settings.py", "urls.py"):
            with (tmp_path / "mysite" / target).open("a", encoding="utf-8") as module:
                module.write(f"\n\n# from {block.where}\n{block.code}")
        else:
            shell_blocks.append(block)
    _run(["manage.py", "check", "--fail-level", "WARNING"], tmp_path, f"{page.name}: check")
    _run(["manage.py", "migrate", "--noinput", "-v", "0"], tmp_path, f"{page.name}: migrate")
    for block in shell_blocks:
        _run(["manage.py", "shell", "-c", block.code], tmp_path, block.where)
