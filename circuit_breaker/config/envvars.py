"""``${VAR}`` and ``${VAR:-default}`` substitution in configuration strings.

Substituted strings become :class:`EnvStr`, which the value kinds read as the key's type
(``"${N}"`` with ``N=7`` is the number 7 where a number is expected), while a quoted
literal like ``"7"`` stays text and is refused where a number is expected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from circuit_breaker.config.source import Entry, KeyPath, problem
from circuit_breaker.errors import ConfigProblem

# $$ escapes a dollar; ${...} is a reference; a lone "${" is unterminated.
_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
_REFERENCE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)


class EnvStr(str):
    """A string produced by substitution; ``reference`` is the text it came from."""

    reference: str

    def __new__(cls, value: str, reference: str) -> EnvStr:
        text = super().__new__(cls, value)
        text.reference = reference
        return text


class MissingVariableError(Exception):
    """A reference that cannot be resolved; the message says why."""


def expand(text: str, environ: Mapping[str, str]) -> str:
    """``text`` with every reference replaced: an :class:`EnvStr` if it had any."""
    if "$" not in text:
        return text
    referenced = False

    def replace(match: re.Match[str]) -> str:
        nonlocal referenced
        token = match.group(0)
        if token == "$$":
            return "$"
        body = match.group(1)
        reference = _REFERENCE.fullmatch(body) if body is not None else None
        if reference is None:
            raise MissingVariableError(
                f"malformed variable reference {token!r}: expected ${{NAME}} or ${{NAME:-default}}"
            )
        referenced = True
        name, default = reference.group(1), reference.group(2)
        value = environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise MissingVariableError(
                    f"environment variable {name!r} is not set and {token} has no default "
                    f"(write ${{{name}:-default}} to give one)"
                )
            return default
        return value

    expanded = _TOKEN.sub(replace, text)
    return EnvStr(expanded, text) if referenced else expanded


def substitute(
    entries: dict[str, Entry], path: KeyPath, environ: Mapping[str, str]
) -> tuple[dict[str, Entry], list[ConfigProblem]]:
    """``entries`` with references expanded in every string under them, and the problems.

    The result is a new tree: entries reached through YAML aliases are shared and must
    not change in place. A value whose reference cannot be resolved is left out, so
    that it is reported once.
    """
    problems: list[ConfigProblem] = []

    def expanded(entry: Entry, at: KeyPath) -> Entry | None:
        value = entry.value
        if isinstance(value, dict):
            return Entry(mapping(value, at), entry.where)
        if isinstance(value, list):
            items = (expanded(child, (*at, index)) for index, child in enumerate(value))
            return Entry([item for item in items if item is not None], entry.where)
        if isinstance(value, str):
            try:
                return Entry(expand(value, environ), entry.where)
            except MissingVariableError as exc:
                problems.append(problem(str(exc), entry.where, at))
                return None
        return entry

    def mapping(children: dict[str, Entry], at: KeyPath) -> dict[str, Entry]:
        pairs = ((key, expanded(child, (*at, key))) for key, child in children.items())
        return {key: child for key, child in pairs if child is not None}

    return mapping(entries, path), problems
