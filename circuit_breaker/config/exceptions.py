"""Importing what a configuration names by dotted path: the exception classes of
``ignore_exceptions`` and the ``failure_on_result`` predicate."""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

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


def import_callable(path: str) -> Callable[..., Any]:
    """The function (or other callable) at ``path``, like ``shop.health.is_error_page``."""
    found = _resolve(path, callable)
    if not callable(found):
        kind = type(found).__name__
        raise ImportFailure(f"{path!r} is not callable (it is a {kind})")
    return found


def _is_exception_class(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, BaseException)


def _import(path: str) -> type[BaseException]:
    found = _resolve(path, _is_exception_class)
    if not (isinstance(found, type) and issubclass(found, BaseException)):
        kind = type(found).__name__
        raise ImportFailure(f"{path!r} is not an exception class (it is a {kind})")
    return found


def _resolve(path: str, wanted: Callable[[object], bool]) -> object:
    """The object at ``path``; ``wanted`` picks the names a "did you mean" may suggest."""
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
            raise ImportFailure(_missing(found, owner_name, attribute, wanted)) from None
        owner_name += f".{attribute}"
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


def _missing(
    owner: object, owner_name: str, attribute: str, wanted: Callable[[object], bool]
) -> str:
    candidates = [name for name, value in getattr(owner, "__dict__", {}).items() if wanted(value)]
    hint = closest(attribute, candidates)
    if owner is builtins:
        exceptions = wanted is _is_exception_class
        message = f"{attribute!r} is not a built-in {'exception' if exceptions else 'name'}"
        example = "package.module.Error" if exceptions else "package.module.function"
        advice = f"give the full dotted path, like {example}"
    else:
        message = f"{owner_name!r} has no attribute {attribute!r}"
        advice = ""
    if hint:
        advice = f"did you mean {hint!r}?"
    return f"{message}; {advice}" if advice else message
