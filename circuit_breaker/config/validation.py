"""Run a pydantic model over an entry and turn its errors into located, plain-words problems."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from circuit_breaker.config.envvars import EnvStr
from circuit_breaker.config.source import Entry, KeyPath, problem
from circuit_breaker.errors import ConfigProblem, closest

M = TypeVar("M", bound=BaseModel)

# pydantic's own error types, in words; the value kinds raise "config" with their own.
_MESSAGES = {
    "dict_type": "expected a mapping of keys to values",
    "model_type": "expected a mapping of keys to values",
    "list_type": "expected a list",
    "missing": "this key is required",
}
_SECRETS = {"password"}  # keys whose value a message never shows


def validate(model: type[M], entry: Entry, path: KeyPath) -> tuple[M | None, list[ConfigProblem]]:
    """``model`` built from ``entry``, or None and every problem found in it."""
    try:
        return model.model_validate(entry.plain()), []
    except ValidationError as error:
        return None, [_problem(model, entry, path, detail) for detail in error.errors()]


def _problem(
    model: type[BaseModel], entry: Entry, path: KeyPath, detail: ErrorDetails
) -> ConfigProblem:
    loc: KeyPath = tuple(step for step in detail["loc"] if step != "[key]")
    where = entry.locate(loc)
    kind = detail["type"]
    value: Any = detail.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        known = list(model.model_fields)  # extra keys only occur at a model's top level
        hint = closest(key, known)
        message = f"unknown key {key!r}; " + (
            f"did you mean {hint!r}?" if hint else f"expected one of: {', '.join(known)}"
        )
        return problem(message, where, (*path, *loc))
    if kind == "config" and detail["loc"][-1] == "[key]":
        return problem(f"bad name {value!r}: {detail['msg']}", where, (*path, *loc))
    message = detail["msg"] if kind == "config" else _MESSAGES.get(kind, detail["msg"])
    if kind == "missing" or (loc and loc[-1] in _SECRETS):
        return problem(message, where, (*path, *loc))
    if isinstance(value, EnvStr):
        message += f" (read from {value.reference})"
    return problem(message, where, (*path, *loc), value, show=True)
