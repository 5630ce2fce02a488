"""Reading configuration files and includes, and merging them into one document.

Files are merged in order, each after the files it includes: later values override
earlier ones key by key within ``defaults``, ``store`` and each profile and breaker, so
a later file can change one breaker's threshold and keep the rest of it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from circuit_breaker.config.envvars import substitute
from circuit_breaker.config.kinds import is_name
from circuit_breaker.config.models import DURATION_KEYS, FileOutline
from circuit_breaker.config.source import (
    Entry,
    KeyPath,
    Location,
    from_python,
    problem,
    read_yaml,
)
from circuit_breaker.config.validation import validate
from circuit_breaker.errors import ConfigProblem

# Each duration key and its constructor-named twin replace one another.
_TWINS = {
    **{key: parameter for key, (parameter, _) in DURATION_KEYS.items()},
    **{parameter: key for key, (parameter, _) in DURATION_KEYS.items()},
}
NAMED_SECTIONS = ("profiles", "breakers")
PLAIN_SECTIONS = ("defaults", "store")


@dataclass
class Document:
    """The merged configuration, not yet validated: ``section -> key -> entry``.

    In ``profiles`` and ``breakers`` each entry is a body (normally a mapping of
    entries) located at the line of its name.
    """

    sections: dict[str, dict[str, Entry]] = field(
        default_factory=lambda: {name: {} for name in (*NAMED_SECTIONS, *PLAIN_SECTIONS)}
    )
    sources: list[str] = field(default_factory=list)  # files, in the order they merged
    problems: list[ConfigProblem] = field(default_factory=list)


class _Reader:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.document = Document()
        self._seen: set[Path] = set()

    def read_file(
        self,
        path: Path,
        display: str,
        stack: tuple[Path, ...] = (),
        include: tuple[Location, KeyPath] | None = None,
    ) -> None:
        """Merge ``path``; ``include`` locates the item naming it, ``stack`` its includers."""
        real = path.resolve()
        at, at_path = include or (Location(display), ())
        if real in stack:
            chain = " -> ".join([*(p.name for p in stack[stack.index(real) :]), path.name])
            self._add(problem(f"include cycle: {chain}", at, at_path))
            return
        if real in self._seen:  # included twice: the first time decides its place
            return
        if include is not None and not path.is_file():
            self._add(problem(f"included file not found: {display}", at, at_path))
            return
        self._seen.add(real)
        entry, problems = read_yaml(path, display)
        self.document.problems += problems
        if entry is not None:
            self.read_entry(entry, path.parent, (*stack, real), display)

    def read_entry(
        self,
        entry: Entry,
        directory: Path,
        stack: tuple[Path, ...] = (),
        display: str | None = None,
    ) -> None:
        """Merge one document after the files it includes (relative to ``directory``)."""
        if not isinstance(entry.value, dict):
            self._add(problem("expected a mapping of keys at the top level", entry.where))
            return
        valid: dict[str, Entry] = {}
        for key, value in entry.value.items():
            if key in ("version", "include"):
                expanded, problems = substitute({key: value}, (), self.environ)
                self.document.problems += problems
                if key not in expanded:  # its variable is missing, as reported
                    continue
                value = expanded[key]
            outline, problems = validate(FileOutline, Entry({key: value}, entry.where), ())
            self.document.problems += problems
            if outline is not None:
                valid[key] = value
                if key == "include":
                    self._read_includes(value, outline.include, directory, stack)
            elif key in NAMED_SECTIONS and isinstance(value.value, dict):
                # Only names are checked in a mapping of bodies: one bad name hides no body.
                named = {name: body for name, body in value.value.items() if is_name(name)}
                valid[key] = Entry(named, value.where)
        if display is not None:
            self.document.sources.append(display)
        for section in PLAIN_SECTIONS:
            if section in valid:
                body = self._without_twins(_mapping(valid[section]), (section,))
                _override(self.document.sections[section], body)
        for section in NAMED_SECTIONS:
            if section in valid:
                self._merge_named(section, _mapping(valid[section]))

    def _read_includes(
        self, items: Entry, paths: list[str], directory: Path, stack: tuple[Path, ...]
    ) -> None:
        for index, (item, include) in enumerate(zip(items.value, paths, strict=True)):
            target = directory / include
            self.read_file(
                target, os.path.normpath(target), stack, (item.where, ("include", index))
            )

    def _merge_named(self, section: str, bodies: dict[str, Entry]) -> None:
        target = self.document.sections[section]
        for name, body in bodies.items():
            if body.value is not None and not isinstance(body.value, dict):
                target[name] = body  # validation reports it
                continue
            values = self._without_twins(_mapping(body), (section, name))
            earlier = target.get(name)
            merged = dict(earlier.value) if earlier and isinstance(earlier.value, dict) else {}
            _override(merged, values)
            target[name] = Entry(merged, body.where)

    def _without_twins(self, body: dict[str, Entry], path: KeyPath) -> dict[str, Entry]:
        """A duration key and its twin in one mapping: report it, keep the later one.

        Returns a new mapping: ``body`` may be shared through a YAML alias.
        """
        keys = list(body)
        kept = dict(body)
        for key, (parameter, _) in DURATION_KEYS.items():
            if key in body and parameter in body:
                first, second = sorted((key, parameter), key=keys.index)
                message = f"give either {key} or {parameter}, not both"
                self._add(problem(message, body[second].where, (*path, second)))
                del kept[first]
        return kept

    def _add(self, found: ConfigProblem) -> None:
        self.document.problems.append(found)

    def finish(self) -> Document:
        """Expand environment variables in what survived the merge."""
        for section, entries in self.document.sections.items():
            expanded, problems = substitute(entries, (section,), self.environ)
            self.document.sections[section] = expanded
            self.document.problems += problems
        return self.document


def _override(target: dict[str, Entry], values: dict[str, Entry]) -> None:
    for key, entry in values.items():
        target.pop(_TWINS.get(key, ""), None)
        target[key] = entry


def _mapping(entry: Entry) -> dict[str, Entry]:
    """A section or body the outline accepted: a mapping, or null for an empty one."""
    return entry.value if isinstance(entry.value, dict) else {}


def read_files(paths: Iterable[str | os.PathLike[str]], environ: Mapping[str, str]) -> Document:
    reader = _Reader(environ)
    for path in paths:
        reader.read_file(Path(path), os.fspath(path))
    return reader.finish()


def read_mapping(mapping: Mapping[str, Any], environ: Mapping[str, str]) -> Document:
    """A configuration given as Python data; ``include`` paths are relative to the cwd."""
    reader = _Reader(environ)
    entry, problems = from_python(mapping, Location(None))
    reader.document.problems += problems
    reader.read_entry(entry, Path.cwd())
    return reader.finish()
