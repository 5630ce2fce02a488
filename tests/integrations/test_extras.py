"""Without its library, each integration says which extra to install (never a PyPI name)."""

from __future__ import annotations

import importlib
import sys

import pytest


@pytest.mark.parametrize(
    ("module", "library", "extra"),
    [
        ("circuit_breaker.integrations.httpx", "httpx", "httpx"),
        ("circuit_breaker.integrations.requests", "requests", "requests"),
        ("circuit_breaker.integrations.tenacity", "tenacity", "tenacity"),
        ("circuit_breaker.integrations.opentelemetry", "opentelemetry", "opentelemetry"),
    ],
)
def test_a_missing_library_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, module: str, library: str, extra: str
) -> None:
    for name in [m for m in sys.modules if m == library or m.startswith(f"{library}.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, library, None)  # importing it fails
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ImportError) as raised:
        importlib.import_module(module)
    message = str(raised.value)
    assert f"install the `{extra}` extra" in message
    assert "pip install" not in message
