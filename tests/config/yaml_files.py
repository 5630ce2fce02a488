"""Writing configuration files in tests (the ``write_yaml`` fixture uses these)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

# ``write_yaml("name.yaml", text)`` -> the path of the file written.
WriteYaml = Callable[[str, str], Path]


def yaml_writer(directory: Path) -> WriteYaml:
    """``write("name.yaml", text)``: a dedented file under ``directory``."""

    def write(name: str, text: str) -> Path:
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return write
