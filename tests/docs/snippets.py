"""Fenced code blocks of the README and the docs pages, with the marker that says how to test them.

A marker is an HTML comment on the last non-blank line before the fence, invisible on a
code host and on the site:

* ``<!-- snippet: run -->``: a Python block run as a script in a fresh directory that
  holds the page's files (below).
* ``<!-- snippet: file -->``: a block whose first line is ``# NAME`` (``# breakers.yaml``)
  is written as file NAME for the page's runs.
* ``<!-- snippet: django -->``: part of the page's Django project: ``# settings.py`` and
  ``# urls.py`` blocks are appended to a new project's files, other blocks run in
  ``manage.py shell`` once the project is checked and migrated.
* ``<!-- snippet: not run: WHY -->``: a Python block that is only compiled; WHY says what
  it needs and where that behaviour is tested instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<language>[\w+-]*)")
_MARKER = re.compile(r"^\s*<!--\s*snippet:\s*(?P<marker>.*?)\s*-->\s*$")
_FILE_NAME = re.compile(r"^#\s*(?P<name>[\w.-]+\.\w+)\s*$")


@dataclass(frozen=True)
class Snippet:
    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    marker: str | None
    code: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def is_python(self) -> bool:
        return self.language in ("python", "py")

    @property
    def kind(self) -> str | None:
        """``run``, ``file``, ``django`` or ``not run``; None without a marker."""
        if self.marker is None:
            return None
        return "not run" if self.marker.startswith("not run") else self.marker

    @property
    def first_line_name(self) -> str | None:
        """``settings.py`` for a block starting ``# settings.py``, else None."""
        first = self.code.split("\n", 1)[0]
        match = _FILE_NAME.match(first)
        return match["name"] if match else None


def pages() -> list[Path]:
    return [README, *sorted((ROOT / "docs").rglob("*.md"))]


def snippets(page: Path) -> list[Snippet]:
    """Every fenced block of ``page``, in order, with its marker and its code dedented."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Snippet] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        body = [
            line[len(indent) :] if line.startswith(indent) else line.lstrip()
            for line in lines[index + 1 : end]
        ]
        found.append(
            Snippet(
                page=page,
                line=index + 1,
                language=opening["language"].lower(),
                marker=_marker_before(lines, index),
                code="\n".join(body) + "\n",
            )
        )
        index = end + 1
    return found


def _marker_before(lines: list[str], index: int) -> str | None:
    for line in reversed(lines[:index]):
        if line.strip():
            match = _MARKER.match(line)
            return match["marker"] if match else None
    return None
