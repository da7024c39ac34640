"""Edit a deck file's items in place: only the bytes of the changed values move, and the result is verified."""

from __future__ import annotations

import codecs
import copy
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..pipeline.load import _Loader, Document, Map, load_file
from ..pipeline.output import environment
from ..pipeline.state import write_atomic

_INDICATOR = re.compile(r"[|>][-+1-9]*")
_BREAK = re.compile(r"\r\n|\r|\n")
Value = str | tuple[str, ...] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One key of one item (by its index in `cards`) set to a text, a list of words, or removed (None).

    A key the item lacks is inserted after the key `after` names, or before the item's first key.
    """

    item: int
    key: str
    value: Value
    after: str | None = None
    within: str | None = None  # the item's mapping the key is in (`fields` of a note type's item), or the item


@dataclass(frozen=True, slots=True, kw_only=True)
class Edited:
    """A deck file's new bytes and the document they read as."""

    path: Path
    data: bytes
    doc: Document


def edit(doc: Document, changes: Sequence[Change]) -> Edited | None:
    """The file with these changes made in place, or None if that can't be done without rewriting more of it.

    The edited bytes are read back with deckbuild's loader and must equal the old document plus
    exactly these changes.
    """
    raw = doc.path.read_bytes()
    bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
    text = raw[len(bom):].decode("utf-8")
    first_break = _BREAK.search(text)
    newline = first_break.group() if first_break else "\n"
    try:
        root = yaml.compose(text, Loader=_Loader)  # the marks index characters of `text`
        cards = _get(root, "cards")
        splices = [s for change in changes
                   for s in _splices(text, cards.value[change.item], change, newline=newline)]
    except (yaml.YAMLError, AttributeError, IndexError, KeyError, _CantEdit):
        return None
    spans = sorted(splices, key=lambda s: (s[0], s[1]))
    if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
        return None
    for start, end, new in reversed(spans):
        text = text[:start] + new + text[end:]
    data = bom + text.encode("utf-8")
    new_doc, problems = load_file(doc.path, shown=doc.shown, raw=data)
    if new_doc is None or problems or new_doc.data != expected(doc.data, changes):
        return None
    return Edited(path=doc.path, data=data, doc=new_doc)


def write(edits: Sequence[Edited]) -> None:
    """Replace each edited file atomically; a fault of the machine is an EnvironmentFault naming the file."""
    for edited in edits:
        with environment(edited.path, "write"):
            write_atomic(edited.path, edited.data)


def expected(data: Map, changes: Sequence[Change]) -> dict:
    """The document as plain values with the changes applied: what the edited file must read as."""
    plain = copy.deepcopy(_plain(data))
    for change in changes:
        item = plain["cards"][change.item]
        if change.within is not None:
            item = item[change.within]
        if change.value is None:
            item.pop(change.key, None)
        elif isinstance(change.value, tuple):
            item[change.key] = merged(item.get(change.key), change.value)
        else:
            item[change.key] = change.value
    return plain


def merged(old: object, new: tuple[str, ...]) -> list[str]:
    """A list edited in place: the old entries still wanted, in their order, then the new ones."""
    old = [old] if isinstance(old, str) else list(old or [])
    return [e for e in old if e in new] + [e for e in new if e not in old]


class _CantEdit(Exception):
    """The change can't be made by touching only its own bytes."""


def _plain(value: object) -> object:
    """Map and Seq as plain dicts and lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _get(node: yaml.MappingNode, key: str) -> yaml.Node:
    """A mapping node's value for a key."""
    return next(v for k, v in node.value if k.value == key)


def _splices(text: str, item: yaml.MappingNode, change: Change, *, newline: str) -> list[tuple[int, int, str]]:
    """The (start, end, replacement) spans of the text that make one change."""
    if not isinstance(item, yaml.MappingNode) or not item.value:
        raise _CantEdit
    pairs = {k.value: (k, v) for k, v in item.value}
    if change.within is not None:
        if change.within not in pairs:
            raise _CantEdit
        item = pairs[change.within][1]
        if not isinstance(item, yaml.MappingNode) or not item.value:
            raise _CantEdit
        pairs = {k.value: (k, v) for k, v in item.value}
    flow = bool(item.flow_style)
    if change.key in pairs:
        key, node = pairs[change.key]
        if change.value is None:
            return [_remove(text, item, key, node)]
        if isinstance(change.value, tuple) and isinstance(node, yaml.SequenceNode):
            return _list(text, node, change.value, newline=newline)
        if not isinstance(node, yaml.ScalarNode):
            raise _CantEdit
        if isinstance(change.value, tuple):  # a single word becomes a list
            return [(node.start_mark.index, _content_end(text, node), _flow_list(change.value))]
        return [_scalar(text, key, node, change.value, flow=flow, newline=newline)]
    if change.value is None:
        return []

    def pair(*, indent: int) -> str:
        value = change.value
        written = _flow_list(value) if isinstance(value, tuple) else _text(value, flow=flow, indent=indent,
                                                                             newline=newline)
        return f"{change.key}: {written}"

    if change.after in pairs:
        key, node = pairs[change.after]
        end = _content_end(text, node)
        if flow:
            return [(end, end, f", {pair(indent=0)}")]
        column = key.start_mark.column
        return [(_line_end(text, end), _line_end(text, end), f"{newline}{' ' * column}{pair(indent=column + 2)}")]
    first = item.value[0][0]
    at = first.start_mark.index
    if flow and first.start_mark.line == item.start_mark.line:
        return [(at, at, f"{pair(indent=0)}, ")]
    if flow:  # `{` ends its line: the new key goes right after it
        return [(item.start_mark.index + 1, item.start_mark.index + 1, f"{pair(indent=0)},")]
    column = first.start_mark.column
    return [(at, at, f"{pair(indent=column + 2)}{newline}{' ' * column}")]


def _line_end(text: str, index: int) -> int:
    """Where the line holding `index` ends (before its line break)."""
    found = _BREAK.search(text, index)
    return found.start() if found else len(text)


def _line_start(text: str, index: int) -> int:
    """Where the line holding `index` starts."""
    return max(text.rfind("\n", 0, index), text.rfind("\r", 0, index)) + 1


def _content_end(text: str, node: yaml.Node) -> int:
    """Where a value's own text ends: a block scalar's span also takes the blank lines after it."""
    start, end = node.start_mark.index, node.end_mark.index
    return start + len(text[start:end].rstrip(" \t\r\n"))


def _remove(text: str, item: yaml.MappingNode, key: yaml.Node, node: yaml.Node) -> tuple[int, int, str]:
    """The span that removes one key and its value."""
    if item.flow_style:
        index = [k for k, _ in item.value].index(key)
        if index == 0:
            raise _CantEdit
        before = item.value[index - 1][1]
        return (_content_end(text, before), _content_end(text, node), "")
    start = _line_start(text, key.start_mark.index)
    if text[start:key.start_mark.index].strip():
        raise _CantEdit  # the key shares its line with `- `: removing it would need the next key moved up
    end = _line_end(text, _content_end(text, node))
    found = _BREAK.match(text, end)
    return (start, found.end() if found else end, "")


def _list(text: str, node: yaml.SequenceNode, wanted: tuple[str, ...], *,
          newline: str) -> list[tuple[int, int, str]]:
    """The spans that turn a list into `merged(old, wanted)`, leaving the entries that stay untouched."""
    entries = node.value
    if not all(isinstance(e, yaml.ScalarNode) for e in entries):
        raise _CantEdit
    old = [e.value for e in entries]
    result = merged(old, wanted)
    drop = [i for i, value in enumerate(old) if value not in result]
    add = [value for value in result if value not in old]
    if not result or (node.flow_style and len(drop) == len(entries)):
        return [(node.start_mark.index, _content_end(text, node), _flow_list(tuple(result)))] if node.flow_style \
            else _block_to_flow(text, node, result)
    spans = []
    if node.flow_style:
        for i in drop:
            if i > 0:
                spans.append((_content_end(text, entries[i - 1]), _content_end(text, entries[i]), ""))
            else:
                spans.append((entries[0].start_mark.index, entries[1].start_mark.index, ""))
        if add:
            last = len(entries) - 1
            while last in drop:
                last -= 1
            at = _content_end(text, entries[last])
            spans.append((at, at, "".join(f", {_text(v, flow=True, indent=0, newline=newline)}" for v in add)))
        return spans
    for i in drop:
        start = _line_start(text, entries[i].start_mark.index)
        end = _line_end(text, _content_end(text, entries[i]))
        found = _BREAK.match(text, end)
        spans.append((start, found.end() if found else end, ""))
    if add:
        last = entries[-1]
        line = text[_line_start(text, last.start_mark.index):last.start_mark.index]
        at = _line_end(text, _content_end(text, last))
        spans.append((at, at, "".join(
            f"{newline}{line}{_text(v, flow=False, indent=len(line), newline=newline)}" for v in add)))
    return spans


def _block_to_flow(text: str, node: yaml.SequenceNode, result: list[str]) -> list[tuple[int, int, str]]:
    """A block list replaced by a flow one (when no entry of it stays)."""
    start = _line_start(text, node.start_mark.index)
    before = text[:start].rstrip(" \t\r\n")
    if not before.endswith(":"):
        raise _CantEdit
    return [(len(before), _line_end(text, _content_end(text, node)), " " + _flow_list(tuple(result)))]


def _flow_list(values: tuple[str, ...]) -> str:
    """A list of words as a flow list, each entry quoted only where it must be."""
    return "[" + ", ".join(_text(v, flow=True, indent=0, newline="\n") for v in values) + "]"


def _scalar(text: str, key: yaml.Node, node: yaml.ScalarNode, value: str, *, flow: bool,
            newline: str) -> tuple[int, int, str]:
    """The span that replaces a scalar's text, keeping its style where the new value allows it."""
    start = node.start_mark.index
    if node.style in ("|", ">"):
        header = _INDICATOR.match(text, start).end()
        content = text[_line_end(text, header):_content_end(text, node)]
        lines = [row for row in _BREAK.split(content) if row.strip()]
        indent = len(lines[0]) - len(lines[0].lstrip(" ")) if lines else key.start_mark.column + 2
        new = _text(value, flow=flow, indent=indent, newline=newline, style=node.style)
        if new[:1] in "|>":  # keep the comment after the header, if any
            head = _INDICATOR.match(new).group()
            return (start, _content_end(text, node), head + text[header:_line_end(text, header)] + new[len(head):])
        return (start, _content_end(text, node), new)
    new = _text(value, flow=flow, indent=key.start_mark.column + 2, newline=newline, style=node.style or "")
    return (start, _content_end(text, node), new)


def _text(value: str, *, flow: bool, indent: int, newline: str, style: str = "") -> str:
    """A value as YAML text that reads back as it: in `style` if it can, else the least quoting that works."""
    plain = ["", "'", '"'] if '"' in value or "\\" in value else ["", '"', "'"]
    order = {"": plain, "'": ["'", '"'], '"': ['"'], "|": ["|", '"'], ">": [">", "|", '"']}[style]
    if "\n" in value.rstrip("\n") and not flow and style in ("", "'"):
        order = ["|", '"']
    for candidate in order:
        written = _written(value, candidate, indent=indent, newline=newline)
        if written is not None and _reads_back(written, value, flow=flow, indent=indent):
            return written
    raise _CantEdit


def _written(value: str, style: str, *, indent: int, newline: str) -> str | None:
    """The value written in one style (None where that style can't hold it)."""
    if style == "":
        return value
    if style == "'":
        return None if "\n" in value else "'" + value.replace("'", "''") + "'"
    if style == '"':
        return '"' + "".join(_ESCAPES.get(c, c if c.isprintable() or c == "\u00a0" else f"\\u{ord(c):04x}")
                             for c in value) + '"'
    body = value.rstrip("\n")
    trailing = len(value) - len(body)
    if trailing > 1 or not body:
        return None
    chomp = "" if trailing else "-"
    pad = " " * indent
    if style == ">":
        if "\n" in body:
            return None
        rows = textwrap.wrap(body, width=max(80 - indent, 40), break_long_words=False, break_on_hyphens=False)
    else:
        rows = body.split("\n")
    return f"{style}{chomp}" + "".join(f"{newline}{pad}{row}" if row else newline for row in rows)


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _reads_back(written: str, value: str, *, flow: bool, indent: int) -> bool:
    """Whether deckbuild's loader reads the written text back as exactly the value, where it will stand."""
    sample = f"{{j: {written}}}" if flow else " " * max(indent - 2, 0) + f"j: {written}\n"
    doc, problems = load_file(Path("check.yaml"), shown="check.yaml", raw=sample.encode("utf-8"))
    return doc is not None and not problems and isinstance(doc.data, Map) and doc.data.get("j") == value
