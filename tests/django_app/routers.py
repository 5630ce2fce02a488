"""Database routers for outage tests: rows sent to aliases nobody answers on."""

from __future__ import annotations

from typing import Any


class TransitionsNowhere:
    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return "unreachable" if model._meta.model_name == "transition" else None


class BreakersToFrozen:
    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        return "frozen" if model._meta.model_name == "breaker" else None

    db_for_write = db_for_read
