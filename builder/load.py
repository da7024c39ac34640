"""Read YAML files safely into plain values that remember their line numbers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .model import Problem

try:  # libyaml's composer is several times faster; fall back where it is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_TAG = "tag:yaml.org,2002:"
_BOOLS = yaml.constructor.SafeConstructor.bool_values
_MAX_DEPTH = 64


class Map(dict):
    """A YAML mapping that knows its own line and each key's line."""

    __slots__ = ("line", "lines")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: dict[str, int] = {}


class Seq(list):
    """A YAML sequence that knows its own line and each entry's line."""

    __slots__ = ("line", "lines")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: list[int] = []


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    """One YAML file: where it is and what it holds."""

    path: Path
    shown: str
    data: Any


def load_file(path: Path, *, shown: str) -> tuple[Document | None, list[Problem]]:
    """Read one file into a Document, or say every reason it can't be read."""
    def problem(line: int, message: str) -> Problem:
        return Problem(path=shown, line=line, message=message)

    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        return None, [problem(line, f"not UTF-8 text (byte 0x{raw[err.start]:02x}); save the file as UTF-8")]
    tabs = [
        problem(n, "tab in indentation; YAML indents with spaces only")
        for n, row in enumerate(text.splitlines(), 1)
        if "\t" in row[: len(row) - len(row.lstrip(" \t"))]
    ]
    if tabs:
        return None, tabs
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else 1
        what = err.problem or err.context or "invalid YAML"
        return None, [problem(line, f"YAML syntax error: {what}")]
    except yaml.YAMLError as err:
        return None, [problem(1, f"YAML error: {err}")]
    if node is None:
        return None, [problem(1, "file is empty")]
    refused: list[tuple[int, str]] = []
    data = _Walker(refused).value(node, depth=0)
    if refused:
        return None, [problem(line, message) for line, message in dict.fromkeys(refused)]
    return Document(path=path, shown=shown, data=data), []


class _Walker:
    """Turns composed nodes into Map, Seq and scalars, noting what it refuses."""

    def __init__(self, refused: list[tuple[int, str]]) -> None:
        self.refused = refused
        self.seen: set[int] = set()

    def refuse(self, line: int, message: str) -> None:
        """Note one refused node; the walk goes on so every problem is reported."""
        self.refused.append((line, message))

    def value(self, node: yaml.Node, *, depth: int) -> Any:
        """The value of one node (None where it was refused)."""
        line = node.start_mark.line + 1
        if id(node) in self.seen:
            return self.refuse(line, _ALIAS)
        if depth > _MAX_DEPTH:
            return self.refuse(line, f"nested deeper than {_MAX_DEPTH} levels")
        tag = node.tag
        if isinstance(node, yaml.ScalarNode):
            if tag in _SCALARS:
                return _SCALARS[tag](node.value)
            return self.refuse(line, _tag_message(tag))
        self.seen.add(id(node))
        if isinstance(node, yaml.SequenceNode) and tag == _TAG + "seq":
            seq = Seq(line)
            for child in node.value:
                seq.append(self.value(child, depth=depth + 1))
                seq.lines.append(child.start_mark.line + 1)
            return seq
        if isinstance(node, yaml.MappingNode) and tag == _TAG + "map":
            return self.mapping(node, line=line, depth=depth)
        return self.refuse(line, _tag_message(tag))

    def mapping(self, node: yaml.MappingNode, *, line: int, depth: int) -> Map:
        """A mapping with plain-word keys, each key once."""
        out = Map(line)
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if id(key_node) in self.seen:
                self.refuse(key_line, _ALIAS)
            elif not isinstance(key_node, yaml.ScalarNode):
                self.refuse(key_line, "mapping keys must be plain words")
            elif key_node.tag == _TAG + "merge":
                self.refuse(key_line, "YAML merge keys (<<) are not allowed")
            elif key_node.value in out:
                first = out.lines[key_node.value]
                self.refuse(key_line, f"duplicate key '{key_node.value}' (first at line {first})")
            else:
                out[key_node.value] = self.value(value_node, depth=depth + 1)
                out.lines[key_node.value] = key_line
        return out


def _tag_message(tag: str) -> str:
    """Why a tagged node was refused."""
    shown = "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag
    return f"YAML tag '{shown}' is not allowed; only plain values, lists and mappings"


_ALIAS = "YAML anchors and aliases are not allowed (the value anchored here is reused)"
# Numbers and dates keep their written text: every value deckbuild reads is text or a flag.
_SCALARS = {
    _TAG + "str": str,
    _TAG + "null": lambda value: None,
    _TAG + "bool": lambda value: _BOOLS[value.lower()],
    _TAG + "int": str,
    _TAG + "float": str,
    _TAG + "timestamp": str,
}
