"""Shared machinery for every content loader.

Every loader reads files through `Source`, which turns YAML and front-matter
errors into `Problem`s carrying `path:line`, and pulls typed fields out of a
mapping through `Fields`, which records every bad field rather than stopping
at the first. A broken item is skipped; nothing here raises into the caller.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Problem:
    path: str  # relative to the content root
    line: int  # 1-based; 0 when the problem is about the whole file
    message: str
    severity: str = "error"  # "error" stops doctor; "warning" only reports

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"

    def as_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "message": self.message}


class LineDict(dict):
    """A YAML mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    line: int = 0


# libyaml's parser when PyYAML has it (5-10x faster), with our constructors.
class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def parse_yaml(text: str) -> Any:
    """Parse YAML keeping line numbers; raises yaml.YAMLError."""
    return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass


class ContentReadError(Exception):
    """A content file that cannot be read; the message says why in words."""


def read_content_text(path: Path) -> str:
    """The one guarded reader for content files. Refuses, with a message a
    learner can act on, what would otherwise crash or hang a caller: a symlink
    loop, a dangling link, a directory or FIFO where a file should be, an
    unreadable or non-UTF-8 file."""
    import errno
    import os
    import stat

    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ContentReadError("symlink loop (the link points back to itself)") from exc
        if exc.errno == errno.ENOENT and os.path.islink(path):
            raise ContentReadError(f"broken symlink (points to {os.readlink(path)})") from exc
        raise ContentReadError(exc.strerror or str(exc)) from exc
    if stat.S_ISDIR(st.st_mode):
        raise ContentReadError("is a directory where a file should be")
    if not stat.S_ISREG(st.st_mode):
        raise ContentReadError("is not a regular file (a FIFO, socket or device would block or mislead)")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ContentReadError(f"cannot read file: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContentReadError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


class Source:
    """One content file and the problems found in it."""

    def __init__(self, root: Path, path: Path, problems: list[Problem]):
        self.root = root
        self.path = path
        self.problems = problems
        try:
            self.rel = path.relative_to(root).as_posix()
        except ValueError:
            self.rel = path.as_posix()

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.rel, line, message))

    def warning(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.rel, line, message, "warning"))

    def read_text(self) -> str | None:
        try:
            return read_content_text(self.path)
        except ContentReadError as exc:
            self.error(0, f"cannot read file: {exc}")
            return None

    def _yaml(self, text: str) -> Any:
        try:
            return parse_yaml(text)
        except yaml.YAMLError as exc:
            # Where the broken construct (an unclosed bracket or quote) began is
            # more useful than where the parser gave up, so prefer the context.
            mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 0
            problem = getattr(exc, "problem", None) or str(exc)
            context = getattr(exc, "context", None)
            self.error(line, f"YAML error: {context + ': ' if context else ''}{problem}")
            return None

    def read_yaml(self) -> Any:
        text = self.read_text()
        return None if text is None else self._yaml(text)

    def read_mapping(self) -> LineDict | None:
        text = self.read_text()
        if text is None:
            return None
        if not text.strip():  # a truncated file must not vanish from the catalog unnoticed
            self.error(1, "file is empty: expected a mapping")
            return None
        data = self._yaml(text)
        if data is None:
            return None
        if not isinstance(data, LineDict):
            self.error(1, "expected a mapping at the top of the file")
            return None
        return data

    def read_list(self, key: str) -> list:
        """The list under top-level `key` of a YAML mapping file; [] (reported) otherwise."""
        data = self.read_mapping()
        if data is None:
            return []
        if not isinstance(data.get(key), list):
            self.error(data.line_of(key), f"expected a top-level '{key}:' list")
            return []
        return data[key]

    def read_front_matter(self) -> tuple[LineDict | None, str, int]:
        """Split a Markdown file into (front matter, body, body's first line)."""
        text = self.read_text()
        if text is None:
            return None, "", 1
        lines = text.splitlines(keepends=True)
        if not lines or lines[0].strip() != "---":
            self.error(1, "missing front matter: the file must start with a '---' line")
            return None, text, 1
        for end, line in enumerate(lines[1:], start=1):  # noqa: B007 - `end` is used after the loop
            if line.strip() == "---":
                break
        else:
            self.error(1, "front matter is not closed by a second '---' line")
            return None, text, 1
        # A leading newline keeps YAML's line numbers equal to the file's.
        meta = self._yaml("\n" + "".join(lines[1:end]))
        body = "".join(lines[end + 1 :])
        if meta is None:
            return None, body, end + 2
        if not isinstance(meta, LineDict):
            self.error(2, "front matter must be a mapping of fields")
            return None, body, end + 2
        return meta, body, end + 2


_MISSING = object()


class Fields:
    """Typed access to one mapping; every problem is recorded, none raised."""

    def __init__(self, source: Source, data: LineDict, what: str = ""):
        self.source = source
        self.data = data
        self.what = f"{what}: " if what else ""
        self.failed = False

    def line(self, key: str | None = None) -> int:
        return self.data.line_of(key) if key else self.data.line

    def error(self, key: str | None, message: str) -> None:
        self.failed = True
        self.source.error(self.line(key), self.what + message)

    def _get(self, key: str, kinds: tuple[type, ...], label: str, default: Any) -> Any:
        if key not in self.data or self.data[key] is None:
            if default is _MISSING:
                self.error(None, f"missing field '{key}'")
                return None
            return default
        value = self.data[key]
        if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
            self.error(key, f"field '{key}' must be {label}, not {type(value).__name__}")
            return None if default is _MISSING else default
        return value

    def str(self, key: str, default: Any = _MISSING) -> str:
        value = self._get(key, (str, int, float), "text", default)
        return value if value is None or isinstance(value, str) else str(value)

    def int(self, key: str, default: Any = _MISSING, minimum: int | None = None) -> int:
        value = self._get(key, (int,), "a whole number", default)
        if isinstance(value, int) and minimum is not None and value < minimum:
            self.error(key, f"field '{key}' must be at least {minimum}, not {value}")
        return value

    def number(self, key: str, default: Any = _MISSING) -> float:
        value = self._get(key, (int, float), "a number", default)
        return float(value) if isinstance(value, (int, float)) else value

    def bool(self, key: str, default: Any = _MISSING) -> bool:
        return self._get(key, (bool,), "true or false", default)

    def mapping(self, key: str, default: Any = _MISSING) -> LineDict:
        return self._get(key, (dict,), "a mapping", default)

    def list(self, key: str, default: Any = _MISSING) -> list:
        return self._get(key, (list,), "a list", default)

    def str_list(self, key: str, default: Any = _MISSING) -> list[str]:
        value = self.list(key, default)
        if value is None:
            return []
        out = []
        for item in value:
            if isinstance(item, (str, int, float)) and not isinstance(item, bool):
                out.append(str(item))
            else:
                self.error(key, f"field '{key}' must list text items, found {type(item).__name__}")
        return out

    def choice(self, key: str, choices: tuple[str, ...], default: Any = _MISSING) -> str:
        value = self.str(key, default)
        if value is not None and value not in choices:
            self.error(key, f"field '{key}' must be one of {', '.join(choices)}, not {value!r}")
        return value

    def subset(self, key: str, allowed: set[str], default: Any = _MISSING) -> list[str]:
        values = self.str_list(key, default)
        for value in values:
            if value not in allowed:
                self.error(key, f"field '{key}': unknown value {value!r} (known: {', '.join(sorted(allowed))})")
        return values


def load_items(
    source: Source,
    items: list,
    build: Callable[[Fields], Any],
    registry: dict,
    what: str,
    key: str = "id",
) -> None:
    """Build each mapping in `items`; skip broken ones; refuse duplicate ids."""
    for raw in items:
        if not isinstance(raw, LineDict):
            source.error(getattr(items, "line", 0), f"each {what} must be a mapping")
            continue
        fields = Fields(source, raw, f"{what} {raw.get(key, '?')}")
        item = build(fields)
        if item is None or fields.failed:
            continue
        add_unique(registry, item, source, raw.line_of(key), what)


def add_unique(registry: dict, item: Any, source: Source, line: int, what: str) -> bool:
    if item.id in registry:
        first = registry[item.id]
        where = getattr(first, "origin", "")
        source.error(line, f"duplicate {what} id '{item.id}'" + (f" (first at {where})" if where else ""))
        return False
    registry[item.id] = item
    return True


@dataclass
class LoadContext:
    """What every content loader gets: the root, the catalog to fill, the problem list."""

    root: Path
    catalog: Any
    problems: list[Problem] = field(default_factory=list)

    def source(self, path: Path) -> Source:
        return Source(self.root, path, self.problems)

    def files(self, folder: str, pattern: str) -> list[Path]:
        base = self.root / folder
        return sorted(base.glob(pattern)) if base.is_dir() else []
