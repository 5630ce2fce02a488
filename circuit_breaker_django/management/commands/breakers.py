"""``manage.py breakers status|reset|open|disable|check``: the registry from a shell."""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from circuit_breaker import CircuitBreaker, CircuitBreakerState
from circuit_breaker.errors import ConfigError, StoreUnavailableError, closest
from circuit_breaker_django import actions, registry
from circuit_breaker_django.conf import get_config

STATES = [state.value for state in CircuitBreakerState]
COLUMNS = (
    "NAME",
    "STATE",
    "FAILURES",
    "TRIPS",
    "RETRY PHASE",
    "NEXT RETRY",
    "CRITICAL",
    "LAST FAILURE",
)
MANUAL: dict[str, tuple[Callable[..., None], str]] = {
    "reset": (actions.reset, "reset"),
    "open": (actions.force_open, "forced open"),
    "disable": (actions.disable, "disabled"),
}


def _minutes(value: float | None) -> str:
    if value is None:
        return "-"
    seconds = round(value * 60)
    return f"in {seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"in {seconds}s"


def table_rows(statuses: dict[str, dict[str, Any]]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for name, status in statuses.items():
        failure = status["last_failure"]
        phase = "closed" if status["state"] == "closed" else status["retry_phase"]
        if status["state"] in ("forced_open", "disabled"):
            phase = "manual, until reset"
        rows.append(
            (
                name,
                status["state"],
                f"{status['failure_count']}/{status['config']['failure_threshold']}",
                str(status["consecutive_circuit_breaks"]),
                phase,
                "due now"
                if status["state"] == "half_open"
                else _minutes(status["time_until_retry_minutes"]),
                "yes" if status["critical"] else "no",
                "-" if failure is None else failure["type"],
            )
        )
    return rows


def format_table(rows: Sequence[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell (the last one is left ragged)."""
    everything = [COLUMNS, *rows]
    widths = [max(len(row[i]) for row in everything) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in everything
    )


class Command(BaseCommand):
    help = "Show and control the circuit breakers of CIRCUIT_BREAKERS."
    requires_system_checks: list[str] = []  # `breakers check` reports configuration errors itself

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        status = commands.add_parser("status", help="state of every breaker (or the NAMEs)")
        status.add_argument("names", nargs="*", metavar="NAME")
        status.add_argument("--state", choices=STATES, help="only breakers in this state")
        status.add_argument("--format", choices=("text", "json"), default="text")
        reset = commands.add_parser("reset", help="back to automatic CLOSED")
        reset.add_argument("names", nargs="*", metavar="NAME")
        reset.add_argument("--all", action="store_true", help="every breaker")
        for action, text in (
            ("open", "reject every call until reset"),
            ("disable", "let every call through until reset"),
        ):
            manual = commands.add_parser(action, help=text)
            manual.add_argument("names", nargs="+", metavar="NAME")
        commands.add_parser("check", help="validate the configuration and reach the store")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "status":
                self._status(options["names"], options["state"], options["format"])
            elif action == "check":
                self._check()
            else:
                names = options["names"]
                if action == "reset" and options["all"]:
                    names = registry.names()
                elif not names:
                    raise CommandError("give breaker names, or --all")
                self._manual(action, names)
        except (ConfigError, ImproperlyConfigured) as exc:
            raise CommandError(f"the circuit breaker configuration is invalid:\n{exc}") from exc

    def _breakers(self, names: Sequence[str]) -> list[CircuitBreaker]:
        unknown = [name for name in names if name not in registry]
        if unknown:
            known = registry.names()
            hints = [
                f"{name!r} -> {closest(name, known)!r}" for name in unknown if closest(name, known)
            ]
            raise CommandError(
                f"unknown circuit breaker(s): {', '.join(unknown)}; "
                f"known: {', '.join(known) or 'none'}"
                + (f" (did you mean: {', '.join(hints)})" if hints else "")
            )
        return [registry.get(name) for name in names]

    def _status(self, names: list[str], state: str | None, output: str) -> None:
        self._breakers(names)
        statuses = registry.status(names or None)
        if state is not None:
            statuses = {n: s for n, s in statuses.items() if s["state"] == state}
        if output == "json":
            self.stdout.write(json.dumps(statuses, indent=2))
        elif statuses:
            self.stdout.write(format_table(table_rows(statuses)))
        else:
            self.stdout.write("no circuit breakers" + (f" in state {state}" if state else ""))

    def _manual(self, action: str, names: Sequence[str]) -> None:
        perform, done = MANUAL[action]
        actor = f"manage.py breakers ({getpass.getuser()}@{socket.gethostname()})"
        for breaker in self._breakers(names):
            perform(breaker, actor=actor)
            self.stdout.write(f"{breaker.name}: {done} (now {breaker.state.value})")

    def _check(self) -> None:
        config = get_config()
        names = registry.names()
        files = ", ".join(str(path) for path in config.config) or "no file"
        self.stdout.write(f"configuration: OK, {len(names)} breakers from {files}")
        store = registry.store
        try:
            store.load_many(names[:1] or ["-"], 0.0)
        except StoreUnavailableError as exc:
            raise CommandError(f"store: {store!r} is unreachable: {exc}") from exc
        self.stdout.write(f"store: {store!r} reachable")
