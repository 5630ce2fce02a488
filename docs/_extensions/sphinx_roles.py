"""A griffe extension for the API reference: Sphinx roles in docstrings read as code.

The docstrings cross-reference with Sphinx roles (``:class:`~circuit_breaker.BreakerRegistry```),
which Markdown would print as they are. Each becomes inline code of its target; a ``~``
keeps only the last component, as Sphinx does.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const):`(?P<target>[^`]+)`")


def _as_code(match: re.Match[str]) -> str:
    target = match["target"]
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}`"


class SphinxRolesAsCode(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_as_code, obj.docstring.value)
