"""The parent's side of a fleet test: run the spawned processes and gather their reports."""

from __future__ import annotations

import contextlib
import queue
import time
from multiprocessing.process import BaseProcess
from typing import Any


def gather_reports(
    processes: list[BaseProcess], results: Any, *, within: float = 120.0
) -> list[dict[str, Any]]:
    """Start ``processes`` and return one report from each (put on the ``results`` queue),
    once they have all exited cleanly; fails as soon as one dies, or after ``within`` s."""
    for process in processes:
        process.start()
    reports: list[dict[str, Any]] = []
    deadline = time.monotonic() + within
    while len(reports) < len(processes):
        assert time.monotonic() < deadline, "the fleet did not finish in time"
        assert all(p.exitcode in (None, 0) for p in processes), "a worker process failed"
        with contextlib.suppress(queue.Empty):
            reports.append(results.get(timeout=0.5))
    for process in processes:
        process.join(timeout=10)
        assert process.exitcode == 0
    return reports
