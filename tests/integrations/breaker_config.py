"""The registry configuration the integration tests share."""

from __future__ import annotations

from typing import Any

# Jitter off, so that deadlines are exact; the built-in api profile (3 failures, 5 min).
CONFIG: dict[str, Any] = {"version": 1, "defaults": {"jitter_enabled": False}}
