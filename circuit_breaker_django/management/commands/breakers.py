"""``manage.py breakers status|reset|open|disable|check``: the registry from a shell.

``open NAME`` forces a breaker open until a reset; ``open NAME --for 5m`` opens it for
that long in every process (``open_for``), then lets one probe through.

Exit status: 0 when all is well; 1 for an error (unknown breaker, bad configuration);
2 for bad usage; 3 when the shared store could not be reached: ``status`` then prints
the process's local view, saying so, and a manual action is not applied.
"""

from __future__ import annotations

import argparse
import getpass
import json
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from circuit_breaker import CircuitBreaker, CircuitBreakerState
from circuit_breaker.config.durations import DURATION_FORMS, parse_duration
from circuit_breaker.core.schedule import MAX_INTERVAL_SECONDS
from circuit_breaker.core.state import MANUAL_STATES
from circuit_breaker.errors import ConfigError, StoreUnavailableError, closest
from circuit_breaker.format import (
    format_duration,
    next_retry_label,
    status_table,
    unreachable_notice,
)
from circuit_breaker_django import actions, registry
from circuit_breaker_django.conf import get_config

STATES = [state.value for state in CircuitBreakerState]
EXIT_STORE_UNREACHABLE = 3
MANUAL: dict[str, tuple[Callable[..., None], str, CircuitBreakerState]] = {
    "reset": (actions.reset, "reset", CircuitBreakerState.CLOSED),
    "open": (actions.force_open, "forced open", CircuitBreakerState.FORCED_OPEN),
    "disable": (actions.disable, "disabled", CircuitBreakerState.DISABLED),
}
ALREADY = {"reset": "already closed", "open": "already forced open", "disable": "already disabled"}


def duration(text: str) -> float:
    """``--for``'s value: seconds, above 0 and at most 365 days (else a usage error)."""
    try:
        seconds = parse_duration(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected {DURATION_FORMS}") from None
    if not 0 < seconds <= MAX_INTERVAL_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r}: expected more than 0s, at most 365d")
    return seconds


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
        which = reset.add_mutually_exclusive_group(required=True)
        which.add_argument("names", nargs="*", metavar="NAME", default=[])
        which.add_argument("--all", action="store_true", help="every breaker")
        opening = commands.add_parser(
            "open", help="reject every call until reset (with --for: for that long)"
        )
        opening.add_argument("names", nargs="+", metavar="NAME")
        opening.add_argument(
            "--for",
            dest="seconds",
            type=duration,
            metavar="DURATION",
            help="open for this long (30s, 5m, 1h30m), then let one probe through",
        )
        opening.add_argument("--reason", help="with --for: kept with the transition")
        disable = commands.add_parser("disable", help="let every call through until reset")
        disable.add_argument("names", nargs="+", metavar="NAME")
        commands.add_parser("check", help="validate the configuration and reach the store")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "status":
                self._status(options["names"], options["state"], options["format"])
            elif action == "check":
                self._check()
            elif options.get("seconds") is not None:
                self._open_for(options["names"], options["seconds"], options["reason"])
            else:
                if options.get("reason") is not None:
                    raise CommandError("--reason goes with --for (open NAME --for 5m --reason ...)")
                names = registry.names() if options.get("all") else options["names"]
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
        statuses = registry.statuses(names or None)
        notice = unreachable_notice(statuses.values())
        if state is not None:
            statuses = {n: s for n, s in statuses.items() if s.state == state}
        if output == "json":
            self.stdout.write(json.dumps({n: s.to_dict() for n, s in statuses.items()}, indent=2))
        elif statuses:
            self.stdout.write(status_table(statuses.values()))
        else:
            self.stdout.write("no circuit breakers" + (f" in state {state}" if state else ""))
        if notice is not None:
            self.stderr.write(f"error: {notice}")
            sys.exit(EXIT_STORE_UNREACHABLE)

    def _manual(self, action: str, names: Sequence[str]) -> None:
        perform, done, target = MANUAL[action]
        actor = f"manage.py breakers ({getpass.getuser()}@{socket.gethostname()})"
        refused = []
        for breaker in self._breakers(names):
            if breaker.state is target:
                self.stdout.write(f"{breaker.name}: {ALREADY[action]}")
                continue
            try:
                perform(breaker, actor=actor)
            except StoreUnavailableError as exc:
                self.stderr.write(f"{breaker.name}: not {done}: {exc}")
                refused.append(breaker.name)
                continue
            self.stdout.write(f"{breaker.name}: {done} (now {breaker.state.value})")
        self._exit_if_refused(refused)

    def _open_for(self, names: Sequence[str], seconds: float, reason: str | None) -> None:
        actor = f"manage.py breakers ({getpass.getuser()}@{socket.gethostname()})"
        label = format_duration(seconds, compact=True)
        refused = []
        for breaker in self._breakers(names):
            if breaker.state in MANUAL_STATES:
                self.stdout.write(
                    f"{breaker.name}: left {breaker.state.value}: it waits for a reset"
                )
                continue
            try:
                actions.open_for(breaker, seconds=seconds, reason=reason, actor=actor)
            except StoreUnavailableError as exc:
                self.stderr.write(f"{breaker.name}: not opened: {exc}")
                refused.append(breaker.name)
                continue
            status = breaker.status()
            self.stdout.write(
                f"{breaker.name}: opened for {label} "
                f"(now {status.state.value}, next retry {next_retry_label(status)})"
            )
        self._exit_if_refused(refused)

    def _exit_if_refused(self, refused: list[str]) -> None:
        if refused:
            self.stderr.write(
                f"error: the shared store did not take the action for {', '.join(refused)}; "
                "nothing was changed for them (try again once the store answers)"
            )
            sys.exit(EXIT_STORE_UNREACHABLE)

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
