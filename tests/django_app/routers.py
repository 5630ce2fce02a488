"""A database router sending Transition writes to the ``unreachable`` alias (outage tests)."""

from __future__ import annotations

from typing import Any


class TransitionsNowhere:
    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return "unreachable" if model._meta.model_name == "transition" else None
