"""Exceptions raised to callers of the library."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.format import format_duration


class CircuitOpenError(Exception):
    """A call was rejected without reaching the protected function.

    The message is built lazily: rejection is a hot path while a dependency is down.
    """

    def __init__(
        self, name: str, state: CircuitBreakerState, retry_after: float | None = None
    ) -> None:
        # Exception.__new__ already stored the arguments as ``args``.
        self.name = name
        self.state = state
        self.retry_after = retry_after

    def __str__(self) -> str:
        head = f"Circuit breaker {self.name!r} is {self.state.name}"
        if self.state is CircuitBreakerState.FORCED_OPEN:
            return f"{head}; it stays open until it is reset"
        if self.retry_after is None:
            return f"{head}; a recovery probe is in progress"
        return f"{head}; next retry in {format_duration(self.retry_after)}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.name, self.state, self.retry_after))


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a configuration, located as precisely as the source allows."""

    message: str
    file: str | None = None
    line: int | None = None
    path: str = ""
    value: Any = None
    has_value: bool = False

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where += f":{self.line}"
        key = f" {self.path}:" if self.path else ""
        got = f" (got {self.value!r})" if self.has_value else ""
        return f"{where}:{key} {self.message}{got}"


class ConfigError(ValueError):
    """Everything wrong with a configuration, reported at once."""

    def __init__(self, problems: Sequence[ConfigProblem] | str) -> None:
        if isinstance(problems, str):
            problems = [ConfigProblem(problems)]
        self.problems: list[ConfigProblem] = list(problems)
        count = len(self.problems)
        heading = f"{count} problem{'s' if count != 1 else ''} in breaker configuration"
        super().__init__("\n".join([heading + ":", *(f"  - {p}" for p in self.problems)]))


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The most similar candidate, for "did you mean" hints."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


class UnknownBreakerError(KeyError):
    """``registry.get(name)`` for a name the configuration does not declare."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        self.suggestion = closest(name, self.known)
        super().__init__(name)

    def __str__(self) -> str:
        hint = f"; did you mean {self.suggestion!r}?" if self.suggestion else ""
        known = ", ".join(self.known) if self.known else "none"
        return f"unknown circuit breaker {self.name!r}{hint} (known breakers: {known})"


class StoreUnavailableError(Exception):
    """Raised by a shared store when it cannot be reached; never escapes ``call``."""
