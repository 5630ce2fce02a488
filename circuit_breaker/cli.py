"""``python -m circuit_breaker``: check configuration files, show breaker status.

Exit status: 0 when all is well, 1 for configuration problems or unknown breaker names,
2 for bad command-line usage, 3 when the shared store cannot be read (``status`` then
prints the process's local view, saying so).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from circuit_breaker.config import load_config
from circuit_breaker.errors import ConfigError, UnknownBreakerError
from circuit_breaker.format import status_table, unreachable_notice
from circuit_breaker.registry import BreakerRegistry, load_registry
from circuit_breaker.stores import MemoryStore

EXIT_STORE_UNREACHABLE = 3


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
        action=_ConfigFiles,
        metavar="FILE",
        help="configuration files, later ones overriding earlier ones (existing .yaml or "
        ".yml files; anything else after them is a breaker NAME)",
    )
    status.add_argument("--format", choices=("text", "json"), default="text")
    # "extend": names that --config took from after its files are kept.
    status.add_argument(
        "names",
        nargs="*",
        action="extend",
        default=[],
        metavar="NAME",
        help="breakers to show (default: all)",
    )
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
    """Show breaker state as the configured store holds it."""
    registry = load_registry(*args.config)
    try:
        statuses = registry.statuses(args.names or None)
    finally:
        registry.close()
    if args.format == "json":
        print(json.dumps({name: s.to_dict() for name, s in statuses.items()}, indent=2))
    else:
        print(status_table(statuses.values()))
    notice = unreachable_notice(statuses.values())
    if notice is not None:
        print(f"error: {notice}", file=sys.stderr)
        return EXIT_STORE_UNREACHABLE
    return 0


class _ConfigFiles(argparse.Action):
    """``--config a.yaml b.yml name``: existing YAML files are config, the rest are names."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        given = [str(value) for value in (values or [])]
        files = list(getattr(namespace, self.dest, None) or [])
        names = list(getattr(namespace, "names", None) or [])
        for value in given:
            is_yaml = Path(value).suffix in (".yaml", ".yml") and Path(value).is_file()
            (files if is_yaml or not files else names).append(value)
        setattr(namespace, self.dest, files)
        namespace.names = names
