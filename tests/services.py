"""Services the tests use for real: skip without them, fail without them under CI=true."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; browsers are never downloaded
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def skip_or_fail(reason: str) -> NoReturn:
    """A missing service skips the test, except under CI=true where it is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: a missing service is an error)")
    pytest.skip(reason)


def playwright_or_skip() -> ModuleType:
    """Playwright's sync API driving Debian's Chromium, or skip naming what is missing."""
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    try:
        import playwright.sync_api as sync_api
    except ImportError:
        skip_or_fail("the playwright package is missing: pip install playwright")
    return sync_api
