"""Modules being written by colleagues: a scenario that needs one is skipped until it exists."""

from __future__ import annotations

import importlib
from types import ModuleType


def find(module: str, *attributes: str) -> tuple[ModuleType | None, str | None]:
    """``(module, None)`` when it imports with every attribute, else ``(None, reason)``."""
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None, f"{module} does not exist yet"
        return None, f"{module} cannot be imported: {exc}"
    except Exception as exc:
        return None, f"{module} cannot be imported: {type(exc).__name__}: {exc}"
    absent = [name for name in attributes if not hasattr(found, name)]
    if absent:
        return None, f"{module} has no {', '.join(absent)} yet"
    return found, None
