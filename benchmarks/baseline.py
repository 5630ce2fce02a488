"""An earlier revision of the package, taken from git, timed beside the current code.

The old code is the real thing: ``git archive REV circuit_breaker`` unpacked into a
directory. It is timed in a worker subprocess that puts that directory first on
``sys.path`` (so neither the checkout nor the editable install of the current package
can shadow it, which the worker proves by reporting ``circuit_breaker.__file__``). The
current code runs in an identical worker, so both sides pay the same process set-up and
the parent can interleave their rounds.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REVISION = "6c075b0"
"""The core before it was split into a typed core and view / gate / breaker modules."""
PACKAGE = "circuit_breaker"
WORKER_START_SECONDS = 60


class BaselineUnavailable(Exception):
    """The old code cannot be had here (no git, no history, no such revision): the
    comparison is skipped with this reason, it has not failed."""


@dataclass(frozen=True)
class Baseline:
    revision: str  # as asked for
    commit: str  # the full hash it resolved to
    tree: Path  # the directory holding the old package


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise BaselineUnavailable("git is not installed here")
    return subprocess.run([git, "-C", str(repo), *args], capture_output=True, timeout=60)


def extract(revision: str, into: Path, repo: Path = REPO_ROOT) -> Baseline:
    """Unpack ``revision``'s package into ``into`` (which must be empty or absent)."""
    inside = _git(repo, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0:
        raise BaselineUnavailable(
            f"{repo} is not a git checkout (a source archive has no history to compare with)"
        )
    resolved = _git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if resolved.returncode != 0:
        raise BaselineUnavailable(
            f"revision {revision!r} is not in this checkout's history (a shallow clone?)"
        )
    commit = resolved.stdout.decode().strip()
    archive = _git(repo, "archive", "--format=tar", commit, PACKAGE)
    if archive.returncode != 0:
        detail = archive.stderr.decode(errors="replace").strip()
        raise BaselineUnavailable(f"revision {revision!r} has no {PACKAGE}/ to time: {detail}")
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return Baseline(revision, commit, into)


class Worker:
    """A subprocess timing the entry points of the package found in ``tree``.

    Requests and answers are JSON lines (see :mod:`benchmarks.hot_worker`).
    """

    def __init__(self, tree: Path) -> None:
        self.tree = tree.resolve()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.hot_worker", str(self.tree)],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        hello = self._read()
        self.module_file = Path(hello["module_file"]).resolve()
        if not self.module_file.is_relative_to(self.tree):
            self.close()
            raise RuntimeError(
                f"the worker for {self.tree} imported {self.module_file}: another "
                f"{PACKAGE} shadows the one under test"
            )

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        stdin, stdout = self._process.stdin, self._process.stdout
        if stdin is None or stdout is None or self._process.poll() is not None:
            raise RuntimeError(f"the worker for {self.tree} has stopped")
        return stdin, stdout

    def _read(self) -> dict[str, Any]:
        _, stdout = self._pipes()
        line = stdout.readline()
        if not line:
            code = self._process.wait(WORKER_START_SECONDS)
            raise RuntimeError(f"the worker for {self.tree} exited with status {code}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the worker for {self.tree} failed: {answer['error']}")
        return answer

    def ask(self, **request: Any) -> dict[str, Any]:
        stdin, _ = self._pipes()
        stdin.write(json.dumps(request) + "\n")
        stdin.flush()
        return self._read()

    def close(self) -> None:
        if self._process.poll() is None:
            if self._process.stdin is not None:
                self._process.stdin.close()  # the worker ends at end of input
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
