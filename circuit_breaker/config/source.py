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

# Bounds on a document once its aliases are expanded: far above any real configuration
# (1,000 breakers giving every key and 17 exception classes are 45,000 values and five
# levels), far below what makes loading slow or exhausts memory.
MAX_VALUES = 250_000
MAX_DEPTH = 64
_TOO_DEEP = f"values are nested more than {MAX_DEPTH} levels deep"


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
        _Measure(display).check(node)
        converter = _Converter(loader, display)
        entry = converter.entry(node, node.start_mark.line + 1)
        return (None if entry.value is _REFUSED else entry), converter.problems
    except _Oversized as exc:
        return None, [exc.problem]
    except RecursionError:  # the pure-Python parser recurses once per level
        return None, [ConfigProblem(_TOO_DEEP, file=display)]
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


class _Oversized(Exception):
    """A document too large or too deep to read; ``problem`` says where and why."""

    def __init__(self, problem: ConfigProblem) -> None:
        self.problem = problem


@dataclass(frozen=True, slots=True)
class _Step:
    """The path to a node, as a link to its parent's: O(1) memory per node."""

    parent: _Step | None
    key: str | int

    def path(self) -> KeyPath:
        steps: list[str | int] = []
        step: _Step | None = self
        while step is not None:
            steps.append(step.key)
            step = step.parent
        return tuple(reversed(steps))


@dataclass(frozen=True, slots=True)
class _Size:
    values: int  # in the node, once aliases are expanded
    levels: int  # of nesting, the node's own included
    where: Location  # where the node is written (its anchor, for an aliased node)
    at: _Step | None  # the first path that reaches it (None: the document)

    @property
    def path(self) -> KeyPath:
        return () if self.at is None else self.at.path()


_SCALAR = _Size(1, 1, Location(None), None)


class _Measure:
    """The size and depth a document would have once its aliases are expanded.

    YAML aliases make a document a graph: nine lines of nested aliases stand for a
    billion values (the "billion laughs"), which would exhaust memory long before any
    validation could complain. Each node is measured once, so measuring costs what
    parsing did, and a document past the bounds is refused before anything is built,
    at the value that aliases repeat the most.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self._sizes: dict[int, _Size] = {}  # mappings and lists, by node id
        self._open: set[int] = set()  # nodes being measured: recursive aliases
        self._largest_repeated: _Size | None = None

    def check(self, node: yaml.Node) -> None:
        self._measure(node, 1, None)

    def _measure(self, node: yaml.Node, depth: int, at: _Step | None) -> _Size:
        """``node``'s size, reached at ``depth`` along ``at``."""
        if isinstance(node, yaml.ScalarNode):
            return _SCALAR
        size = self._sizes.get(id(node))
        if size is not None:  # an alias repeats it here
            if self._largest_repeated is None or size.values > self._largest_repeated.values:
                self._largest_repeated = size
        elif id(node) in self._open:
            return _SCALAR  # the converter refuses the recursion
        else:
            size = self._sizes[id(node)] = self._new_size(node, depth, at)
        if depth + size.levels - 1 > MAX_DEPTH:
            raise self._too_deep(size.where)
        return size

    def _new_size(self, node: yaml.Node, depth: int, at: _Step | None) -> _Size:
        where = Location(self.file, node.start_mark.line + 1)
        if depth > MAX_DEPTH:
            raise self._too_deep(where)
        self._open.add(id(node))
        values, levels = 1, 1
        for child, key in _children(node):
            child_size = self._measure(child, depth + 1, _Step(at, key))
            values += child_size.values
            levels = max(levels, child_size.levels + 1)
        self._open.discard(id(node))
        size = _Size(values, levels, where, at)
        if values > MAX_VALUES:
            raise self._too_large(size)
        return size

    def _too_large(self, size: _Size) -> _Oversized:
        """Located at the value aliases repeat the most: where the expansion comes from."""
        repeated = self._largest_repeated
        if repeated is None:
            message, at = f"this value holds more than {MAX_VALUES:,} values", size
        else:
            message = (
                f"aliases repeat this value ({repeated.values:,} values) until the document "
                f"expands to more than {MAX_VALUES:,} values"
            )
            at = repeated
        message += "; a breaker configuration needs far fewer"
        return _Oversized(problem(message, at.where, at.path))

    def _too_deep(self, where: Location) -> _Oversized:
        return _Oversized(problem(f"{_TOO_DEEP} (counting what aliases repeat)", where))


def _children(node: yaml.Node) -> list[tuple[yaml.Node, str | int]]:
    """A node's values, each with the step that leads to it (keys are plain text or
    refused unconverted, so they never expand)."""
    if isinstance(node, yaml.SequenceNode):
        return [(child, index) for index, child in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        return [
            (value, str(key.value) if isinstance(key, yaml.ScalarNode) else "?")
            for key, value in node.value
        ]
    return []


class _Converter:
    """Builds entries from composed nodes, refusing every tag ``safe_load`` would not build
    and the few it would but a configuration never needs (sets, ordered maps).

    A refused value is left out, so that it is reported once. A node that aliases
    repeat is converted once: its entries are shared, so later stages never change an
    entry tree in place.
    """

    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.problems: list[ConfigProblem] = []
        self._values: dict[int, Any] = {}  # node id -> its converted value
        self._open: set[int] = set()  # nodes being converted: catches recursive aliases

    def entry(self, node: yaml.Node, line: int) -> Entry:
        return Entry(self._converted(node), Location(self.file, line))

    def _converted(self, node: yaml.Node) -> Any:
        if id(node) in self._values:
            return self._values[id(node)]
        if id(node) in self._open:
            return self._refuse(node, "a recursive alias is not allowed")
        self._open.add(id(node))
        try:
            value = self._values[id(node)] = self._value(node)
        finally:
            self._open.discard(id(node))
        return value

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
            value = self._converted(source)
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
    """An entry tree for a Python mapping (``BreakerRegistry.from_dict``), within the
    bounds YAML documents have (a mapping that contains itself is infinitely deep)."""
    problems: list[ConfigProblem] = []
    values = 0

    def convert(item: Any, at: KeyPath) -> Entry:
        nonlocal values
        values += 1
        if values > MAX_VALUES:
            message = f"the mapping holds more than {MAX_VALUES:,} values"
            raise _Oversized(problem(message, where, at))
        if len(at) >= MAX_DEPTH:
            message = f"{_TOO_DEEP} (does a value contain itself?)"
            raise _Oversized(problem(message, where, at))
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

    try:
        return convert(value, ()), problems
    except _Oversized as exc:
        return Entry({}, where), [exc.problem]
