"""Importing the exception classes named in ``ignore_exceptions``."""

from __future__ import annotations

import builtins
import importlib
from types import ModuleType

from circuit_breaker.errors import closest


class ImportFailure(Exception):
    """A dotted path that does not lead to an exception class; the message says why."""


class ExceptionImporter:
    """Resolves dotted paths, each once per configuration load (1,000 breakers often
    share a handful of classes)."""

    def __init__(self) -> None:
        self._cache: dict[str, type[BaseException] | ImportFailure] = {}

    def get(self, path: str) -> type[BaseException]:
        if path not in self._cache:
            try:
                self._cache[path] = _import(path)
            except ImportFailure as failure:
                self._cache[path] = failure
        found = self._cache[path]
        if isinstance(found, ImportFailure):
            raise found
        return found


def _import(path: str) -> type[BaseException]:
    parts = path.split(".")
    if len(parts) == 1:
        module, attributes = builtins, parts
    else:
        module, attributes = _import_longest_module(parts)
    found: object = module
    owner_name = module.__name__
    for attribute in attributes:
        try:
            found = getattr(found, attribute)
        except AttributeError:
            raise ImportFailure(_missing(found, owner_name, attribute)) from None
        owner_name += f".{attribute}"
    if not (isinstance(found, type) and issubclass(found, BaseException)):
        kind = type(found).__name__
        raise ImportFailure(f"{path!r} is not an exception class (it is a {kind})")
    return found


def _import_longest_module(parts: list[str]) -> tuple[ModuleType, list[str]]:
    """The longest importable module prefix of ``parts`` and the attribute path after it."""
    for end in range(len(parts) - 1, 0, -1):
        name = ".".join(parts[:end])
        try:
            return importlib.import_module(name), parts[end:]
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if name != missing and not name.startswith(missing + "."):
                raise ImportFailure(f"importing {name!r} failed: {exc}") from None
        except Exception as exc:  # the module exists but fails to import
            raise ImportFailure(f"importing {name!r} failed: {type(exc).__name__}: {exc}") from None
    raise ImportFailure(f"no module named {parts[0]!r}")


def _missing(owner: object, owner_name: str, attribute: str) -> str:
    exceptions = [
        name
        for name, value in getattr(owner, "__dict__", {}).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    ]
    hint = closest(attribute, exceptions)
    if owner is builtins:
        message = f"{attribute!r} is not a built-in exception"
        advice = "give the full dotted path, like package.module.Error"
    else:
        message = f"{owner_name!r} has no attribute {attribute!r}"
        advice = ""
    if hint:
        advice = f"did you mean {hint!r}?"
    return f"{message}; {advice}" if advice else message
