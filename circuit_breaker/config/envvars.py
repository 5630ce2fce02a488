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


_UNRESOLVED = object()


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


def substitute(entry: Entry, path: KeyPath, environ: Mapping[str, str]) -> list[ConfigProblem]:
    """Expand references in every string under ``entry``, in place.

    A value whose reference cannot be resolved is dropped, so that it is reported once.
    """
    problems: list[ConfigProblem] = []
    value = entry.value
    if isinstance(value, dict):
        for key, child in list(value.items()):
            problems += substitute(child, (*path, key), environ)
            if child.value is _UNRESOLVED:
                del value[key]
    elif isinstance(value, list):
        for index, child in enumerate(value):
            problems += substitute(child, (*path, index), environ)
        entry.value = [child for child in value if child.value is not _UNRESOLVED]
    elif isinstance(value, str):
        try:
            entry.value = expand(value, environ)
        except MissingVariableError as exc:
            problems.append(problem(str(exc), entry.where, path))
            entry.value = _UNRESOLVED
    return problems
