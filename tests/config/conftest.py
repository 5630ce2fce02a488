"""Fixtures for writing configuration files in tests (helpers in tests/config/yaml_files.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.yaml_files import WriteYaml, yaml_writer


@pytest.fixture
def write_yaml(tmp_path: Path) -> WriteYaml:
    """``write_yaml("name.yaml", text)``: a dedented file under tmp_path."""
    return yaml_writer(tmp_path)
