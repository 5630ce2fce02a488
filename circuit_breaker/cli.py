"""``python -m circuit_breaker``: check configuration files, show breaker status.

Exit status: 0 when all is well, 1 for configuration problems or unknown breaker names,
2 for bad command-line usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from circuit_breaker.config import load_config
from circuit_breaker.errors import ConfigError, UnknownBreakerError, format_duration
from circuit_breaker.registry import BreakerRegistry, load_registry
from circuit_breaker.stores import MemoryStore

_COLUMNS = ("NAME", "PROFILE", "STATE", "FAILURES", "TRIPS", "RETRY PHASE", "NEXT RETRY")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
    except UnknownBreakerError as exc:
        print(f"error: {exc}", file=sys.stderr)
    return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m circuit_breaker", description="Circuit breaker configuration tools."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check", help="validate configuration files", description=_check.__doc__
    )
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(run=_check)

    status = commands.add_parser(
        "status", help="show the state of breakers", description=_status.__doc__
    )
    status.add_argument(
        "--config",
        "-c",
        required=True,
        nargs="+",
        action="extend",
        metavar="FILE",
        help="configuration files, later ones overriding earlier ones",
    )
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.add_argument("names", nargs="*", metavar="NAME", help="breakers to show (default: all)")
    status.set_defaults(run=_status)
    return parser


def _check(args: argparse.Namespace) -> int:
    """Validate the files as one configuration and build every breaker (in memory: the
    configured store is not contacted). Prints every problem found."""
    config = load_config(*args.files)
    BreakerRegistry(config, store=MemoryStore())
    count = len(config.breakers)
    files = len(config.sources)
    print(
        f"OK: {count} breaker{'s' * (count != 1)} in {files} file{'s' * (files != 1)} "
        f"({', '.join(config.sources)})"
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    """Show breaker state as the configured store holds it. Put NAMEs before --config,
    or repeat --config for each file."""
    registry = load_registry(*args.config)
    try:
        statuses = registry.status(args.names or None)
    finally:
        registry.close()
    if args.format == "json":
        print(json.dumps(statuses, indent=2))
    else:
        print(status_table(statuses))
    return 0


def status_table(statuses: Mapping[str, Mapping[str, Any]]) -> str:
    """An aligned text table of ``{name: status}``, as ``status`` prints it."""
    rows = [_COLUMNS] + [_row(name, status) for name, status in statuses.items()]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _row(name: str, status: Mapping[str, Any]) -> tuple[str, ...]:
    flagged = f"{name} (critical)" if status.get("critical") else name
    return (
        flagged,
        status.get("profile") or "-",
        str(status["state"]).upper(),
        str(status["failure_count"]),
        str(status["consecutive_circuit_breaks"]),
        str(status["retry_phase"]),
        _next_retry(status),
    )


def _next_retry(status: Mapping[str, Any]) -> str:
    minutes = status.get("time_until_retry_minutes")
    if minutes is not None:
        return f"in {format_duration(minutes * 60)}"
    return {"half_open": "probing now", "forced_open": "after a reset"}.get(status["state"], "-")
