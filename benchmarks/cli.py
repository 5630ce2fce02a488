"""Command line: run the scenarios, print the table, write the JSON."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import machine, peers
from benchmarks.baseline import DEFAULT_REVISION
from benchmarks.context import Context
from benchmarks.harness import Settings
from benchmarks.report import Row, failed, peers_detail, table, write_json
from benchmarks.scenarios import SCENARIOS, TABLES

DEFAULT_OUTPUT = Path(__file__).parent / "results" / "latest.json"


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="circuit-breaker side by side with pybreaker, circuitbreaker, aiobreaker, "
        "purgatory and interlock-cb, judged against the project's speed targets.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few iterations and no thresholds (smoke test); verdicts read QUICK",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=list(SCENARIOS),
        metavar="SCENARIO",
        help=f"run only this scenario (repeatable): {', '.join(SCENARIOS)}",
    )
    parser.add_argument(
        "--baseline",
        default=DEFAULT_REVISION,
        metavar="REV",
        help="the git revision the baseline scenario times the current code against "
        f"(default {DEFAULT_REVISION}, the core before its reshaping)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"where to write the JSON (default {DEFAULT_OUTPUT})",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    # Scenarios trip breakers on purpose: their WARNINGs would bury the table.
    logging.getLogger("circuit_breaker").setLevel(logging.ERROR)
    settings = Settings.smoke() if args.quick else Settings.full()
    selected = args.only or list(SCENARIOS)
    command = shlex.join([Path(sys.executable).name, "-m", "benchmarks",
                          *(sys.argv[1:] if argv is None else argv)])
    describe = machine.describe()
    versions = {name: peers.version(name) for name in peers.PEER_MODULES}
    unavailable = peers.missing()
    meta: dict[str, Any] = {
        "command": command,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": settings.quick,
        "rounds": settings.rounds,
        "round_ms": settings.round_ns / 1e6,
        "machine": describe,
        "peers": versions,
        "peers_unavailable": unavailable,
        "scenarios": selected,
        "baseline_revision": args.baseline,
    }
    print(f"{describe['cpu']} | {describe['cores']} cores | Python {describe['python']}"
          f" | load {describe['loadavg_at_start']}")
    print(f"peers: {', '.join(f'{k} {v}' for k, v in versions.items())}")
    for name, reason in unavailable.items():
        print(f"peer {name} left out: {reason}")
    print(f"{'quick' if settings.quick else 'full'} run: {settings.rounds} interleaved rounds"
          f" of ~{settings.round_ns / 1e6:g} ms per candidate\n", flush=True)

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="cb-bench-") as workdir:
        context = Context(settings, Path(workdir), baseline_revision=args.baseline)
        try:
            for name in selected:
                started = time.perf_counter()
                print(f"[{name}] ...", end=" ", flush=True)
                try:
                    produced = SCENARIOS[name](context)
                except Exception as exc:
                    traceback.print_exc()
                    produced = [failed(name, exc)]
                rows.extend(produced)
                print(f"{time.perf_counter() - started:.1f}s", flush=True)
        finally:
            context.redis.close()

    print()
    print(table(rows))
    print()
    print(peers_detail(rows))
    meta["loadavg_at_end"] = machine.loadavg()
    print(f"\nload at the end: {meta['loadavg_at_end']}")
    meta["tables"] = {}
    for name, render in TABLES.items():
        measured = [row for row in rows if row.scenario == name and row.skipped is None]
        if measured:
            meta["tables"][name] = render(measured)
            print(f"\n{name}:\n{meta['tables'][name]}")
    write_json(args.output, rows, meta)
    print(f"\nJSON: {args.output}")
    return 1 if any(row.verdict == "ERROR" for row in rows) else 0
