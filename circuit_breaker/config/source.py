"""Configuration sources as trees of located values.

Every value read from YAML (or a Python mapping) keeps the file and line it came from,
so that every later problem -- a bad type, an unknown profile, an import that fails --
can point at the exact line, even after several files have been merged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from circuit_breaker.errors import ConfigProblem

# libyaml parses much faster; both loaders only know the safe YAML tags.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"  # the key "=", which safe_load reads as text
_REFUSED = object()  # a value already reported as not allowed

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value was written; ``file`` is None for Python mappings."""

    file: str | None
    line: int | None = None


@dataclass(slots=True)
class Entry:
    """A value with its location; mappings hold ``dict[str, Entry]``, lists ``list[Entry]``.

    In a mapping, ``where`` is the line of the key, which is where a reader looks.
    """

    value: Any
    where: Location

    def plain(self) -> Any:
        """The value without locations, for validation."""
        if isinstance(self.value, dict):
            return {key: entry.plain() for key, entry in self.value.items()}
        if isinstance(self.value, list):
            return [entry.plain() for entry in self.value]
        return self.value

    def locate(self, path: KeyPath) -> Location:
        """The location of the deepest entry along ``path`` (a missing key: its parent)."""
        entry = self
        for step in path:
            children = entry.value
            in_list = isinstance(children, list) and isinstance(step, int) and step < len(children)
            if not (in_list or (isinstance(children, dict) and step in children)):
                break
            entry = children[step]
        return entry.where


def problem(
    message: str, where: Location, path: KeyPath = (), value: Any = None, *, show: bool = False
) -> ConfigProblem:
    """A ConfigProblem at ``where``; ``show`` adds the offending value to the message."""
    return ConfigProblem(
        message,
        file=where.file,
        line=where.line,
        path=dotted_path(path),
        value=value,
        has_value=show,
    )


def dotted_path(path: KeyPath) -> str:
    """``("breakers", "db", "ignore_exceptions", 0)`` -> ``breakers.db.ignore_exceptions[0]``."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def read_yaml(path: Path, display: str) -> tuple[Entry | None, list[ConfigProblem]]:
    """Parse one YAML file with ``safe_load`` semantics, keeping node lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [ConfigProblem("file not found", file=display)]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ConfigProblem(f"cannot read the file: {exc}", file=display)]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:  # an empty file is an empty configuration
            return Entry({}, Location(display, 1)), []
        converter = _Converter(loader, display)
        entry = converter.entry(node, node.start_mark.line + 1)
        return (None if entry.value is _REFUSED else entry), converter.problems
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(exc, display)]
    except yaml.YAMLError as exc:
        return None, [ConfigProblem(f"invalid YAML: {exc}", file=display)]
    finally:
        loader.dispose()


def _syntax_problem(exc: yaml.MarkedYAMLError, display: str) -> ConfigProblem:
    mark = exc.problem_mark or exc.context_mark
    message = f"invalid YAML: {exc.problem or exc.context}"
    if exc.context and exc.problem and exc.context_mark is not None:
        message += f" ({exc.context} that starts on line {exc.context_mark.line + 1})"
    return ConfigProblem(message, file=display, line=mark.line + 1 if mark else None)


class _Converter:
    """Builds entries from composed nodes, refusing every tag ``safe_load`` would not build
    and the few it would but a configuration never needs (sets, ordered maps).

    A refused value is left out, so that it is reported once.
    """

    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.problems: list[ConfigProblem] = []
        self._open: set[int] = set()  # nodes being converted: catches recursive aliases

    def entry(self, node: yaml.Node, line: int) -> Entry:
        where = Location(self.file, line)
        if id(node) in self._open:
            return Entry(self._refuse(node, "a recursive alias is not allowed"), where)
        self._open.add(id(node))
        try:
            return Entry(self._value(node), where)
        finally:
            self._open.discard(id(node))

    def _value(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node) if node.tag == _MAP else self._unsafe(node)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                return self._unsafe(node)
            items = (self.entry(item, item.start_mark.line + 1) for item in node.value)
            return [item for item in items if item.value is not _REFUSED]
        if node.tag == _STR:  # most scalars: skip the constructor's bookkeeping
            return node.value
        try:
            return self.loader.construct_object(node)
        except yaml.constructor.ConstructorError:
            return self._unsafe(node)

    def _mapping(self, node: yaml.MappingNode) -> dict[str, Entry]:
        """The mapping's own keys over those its merge key (``<<: *anchor``) brings."""
        own: dict[str, Entry] = {}
        merged: dict[str, Entry] = {}
        merge_line: int | None = None
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE:
                if merge_line is not None:
                    self._refuse(key_node, f"duplicate key '<<' (first given on line {merge_line})")
                merge_line = line
                for source in self._merge_sources(value_node):
                    for key, entry in source.items():
                        merged.setdefault(key, entry)  # earlier mappings win
                continue
            key = self._key(key_node)
            if key is _REFUSED:
                continue
            if not isinstance(key, str):
                self._refuse(key_node, f"keys must be plain text (got {key!r})")
                continue
            if key in own:
                first = own[key].where.line
                self._refuse(key_node, f"duplicate key {key!r} (first given on line {first})")
            entry = self.entry(value_node, line)
            if entry.value is not _REFUSED:
                own[key] = entry
        return {**merged, **own} if merged else own

    def _key(self, node: yaml.Node) -> Any:
        if node.tag == _VALUE:
            return node.value
        return self._value(node) if isinstance(node, yaml.ScalarNode) else None

    def _merge_sources(self, node: yaml.Node) -> list[dict[str, Entry]]:
        """The mappings a merge key names: one mapping, or a list of them."""
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        sources: list[dict[str, Entry]] = []
        for source in nodes:
            if not isinstance(source, yaml.MappingNode):
                self._refuse(source, "a merge key (<<) takes a mapping or a list of mappings")
                continue
            value = self.entry(source, source.start_mark.line + 1).value
            if isinstance(value, dict):
                sources.append(value)
        return sources

    def _unsafe(self, node: yaml.Node) -> object:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        return self._refuse(
            node,
            f"the YAML tag {tag!r} is not allowed: configuration files are read with "
            "safe_load semantics (plain mappings, lists, text, numbers, booleans)",
        )

    def _refuse(self, node: yaml.Node, message: str) -> object:
        self.problems.append(ConfigProblem(message, file=self.file, line=node.start_mark.line + 1))
        return _REFUSED


def from_python(value: Any, where: Location) -> tuple[Entry, list[ConfigProblem]]:
    """An entry tree for a Python mapping (``BreakerRegistry.from_dict``)."""
    problems: list[ConfigProblem] = []

    def convert(item: Any, at: KeyPath) -> Entry:
        if isinstance(item, Mapping):
            children: dict[str, Entry] = {}
            for key, child in item.items():
                if isinstance(key, str):
                    children[key] = convert(child, (*at, key))
                else:
                    problems.append(problem("keys must be text", where, at, key, show=True))
            return Entry(children, where)
        if isinstance(item, list | tuple):
            return Entry([convert(child, (*at, i)) for i, child in enumerate(item)], where)
        return Entry(item, where)

    return convert(value, ()), problems
