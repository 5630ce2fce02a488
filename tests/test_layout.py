"""The shape of the code: imports point down, and no module grows past what one reads at once.

Import cycles are found statically, counting every import: at module level, inside
functions, and under ``TYPE_CHECKING`` (a cycle hidden in a function is still a design
knot, and the next refactoring turns it into an ImportError).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("circuit_breaker", "circuit_breaker_django")
MAX_LINES = 450


def _modules(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """Project modules ``name`` imports, wherever in the file the import statement is."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            # "from pkg import submodule" imports the submodule; "from pkg import name" the package.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


def import_graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """Module -> the project modules it imports. A parent package's ``__init__`` running
    first is not an edge: only what the import statement names is."""
    modules = _modules(root, packages)
    return {name: set(_imports(name, path, modules)) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, ()):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_back_through_others() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_sees_imports_hidden_in_functions_and_type_checking(
    tmp_path: Path,
) -> None:
    package = tmp_path / "knot"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def late():\n    from knot import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import thing\n"
    )
    (package / "c.py").write_text("import knot.a\nthing = 1\n")
    (package / "d.py").write_text("from knot.a import late\n")
    assert cycles(import_graph(tmp_path, ("knot",))) == [["knot.a", "knot.b", "knot.c"]]


def test_the_pure_core_imports_nothing_else_of_the_library() -> None:
    graph = import_graph()
    for module, targets in graph.items():
        if module.startswith("circuit_breaker.core"):
            outside = {t for t in targets if not t.startswith("circuit_breaker.core")}
            assert outside == set(), module


def test_the_library_never_imports_the_django_app() -> None:
    graph = import_graph()
    for module, targets in graph.items():
        if module.startswith("circuit_breaker.") or module == "circuit_breaker":
            assert not any(t.startswith("circuit_breaker_django") for t in targets), module


@pytest.mark.parametrize("path", sorted((ROOT / "circuit_breaker").rglob("*.py")), ids=str)
def test_no_library_module_is_longer_than_one_sitting(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_no_test_module_imports_from_a_conftest() -> None:
    """Helpers live in plain modules; conftest files hold fixtures (pytest imports them)."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            if any(name.rpartition(".")[2] == "conftest" for name in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
