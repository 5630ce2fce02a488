"""The repository explains itself: no file cites the planning documents it was written from.

Docs, code and tests say why in their own words; a reference to a document that is not in
the repository leaves a reader with nothing to follow.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Spelled in pieces so that this file does not match itself.
FORBIDDEN = re.compile("DES" + "IGN|(?i:the " + "brief)")

def repository_files() -> list[str]:
    """Tracked files and new files git would add: what a clone or a commit contains."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout, cannot list the repository's files: {exc}")
    return [name for name in listing.decode().split("\0") if name]


def test_no_file_cites_a_document_outside_the_repository() -> None:
    citing = []
    for name in repository_files():
        path = ROOT / name
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if FORBIDDEN.search(line):
                citing.append(f"{name}:{number}: {line.strip()[:100]}")
    assert not citing, "say it in the repository's own words:\n" + "\n".join(citing)
