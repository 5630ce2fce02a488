"""Functions (and a non-function) that test configurations name in ``failure_on_result``."""

from __future__ import annotations

from typing import Any

THRESHOLD = 500
"""Not callable: naming it is a configuration error."""


def is_error_page(result: Any) -> bool:
    """A 200 answer whose body says the dependency failed."""
    return isinstance(result, dict) and result.get("status") == "error"
