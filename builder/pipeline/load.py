"""Read YAML files safely into plain values that remember their line numbers."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..model import Problem

try:  # libyaml's parser is several times faster; fall back where it is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_TAG = "tag:yaml.org,2002:"
_BOOLS = yaml.constructor.SafeConstructor.bool_values
_MAX_DEPTH = 64
# What YAML 1.1 calls printable; anything else makes libyaml stop with a message about a position.
_UNPRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Line breaks to YAML but not to editors; where they occur, lines are counted by '\n', '\r\n' and '\r' alone.
_ODD_BREAKS = re.compile("[\x85\u2028\u2029]")
# Characters that would split a problem's one line, as escapes the reader can see.
_BREAKS_SHOWN = str.maketrans({c: repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"})
_REFUSED = object()  # stands for a mapping key that was refused, so its value is skipped
# The tags of short plain values already resolved (keys, mostly): resolving depends on the value alone.
_RESOLVED: dict[tuple[str, tuple[bool, bool]], str] = {}


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


Found = list[tuple[int, str]]
LineOf = Callable[[yaml.Mark], int]


def load_file(path: Path, *, shown: str, raw: bytes | None = None,
              shift: tuple[int, int] = (0, 0)) -> tuple[Document | None, list[Problem]]:
    """Read one file (or its bytes, when already read) into a Document, or say every reason it can't be read.

    A Document can come with problems (a duplicate key) that leave the rest of it worth checking.
    `shift` = (after, by): the values' lines past line `after` are `by` lines further down in the real
    file (for a piece of a file cut by `splice.cut`; its other problems' lines are not shifted).
    """
    def problems(found: Found) -> list[Problem]:
        return [Problem(path=shown, line=line, message=one_line(message)) for line, message in dict.fromkeys(found)]

    try:
        raw = path.read_bytes() if raw is None else raw
    except OSError as err:
        return None, problems([(1, f"cannot read the file ({err.strerror or err}); check that it is readable")])
    text, found = _decode(raw)
    if text is None or found:
        return None, problems(found)
    line_of = _line_finder(text)
    if shift[1]:
        after, by, unshifted = shift[0], shift[1], line_of
        line_of = lambda mark: line if (line := unshifted(mark)) <= after else line + by  # noqa: E731
    try:
        data, refused, kept = _Builder(text, line_of).build()
    except yaml.MarkedYAMLError as err:
        return None, problems(_tabs(text) if _tab_error(err, text, line_of) else [_syntax(err, line_of)])
    except yaml.YAMLError as err:
        first = (str(err).splitlines() or ["invalid YAML"])[0]
        return None, problems([(1, f"YAML error: {first}")])
    if refused:
        return None, problems(refused + kept)
    if data is None:
        return None, problems([(1, "file is empty (only blank lines or comments); add its content or delete it")])
    return Document(path=path, shown=shown, data=data), problems(kept)


def one_line(message: str) -> str:
    """A message with any line break in the values it quotes shown as an escape, so it stays one line."""
    return message.translate(_BREAKS_SHOWN)


def _decode(raw: bytes) -> tuple[str | None, Found]:
    """The file's text, or each line that isn't UTF-8 or holds a character YAML forbids."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, [(1, "file is UTF-16 text, not UTF-8; save it as UTF-8")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        bad = [(n, byte) for n, row in enumerate(raw.split(b"\n"), 1) if (byte := _bad_byte(row))]
        bad = bad or [(raw[: err.start].count(b"\n") + 1, f"byte 0x{raw[err.start]:02x}")]
        return None, [(n, f"not UTF-8 text ({byte}); save the file as UTF-8") for n, byte in bad]
    if not _UNPRINTABLE.search(text):  # the common case, without going line by line
        return text, []
    found = [
        (n, f"control character U+{ord(char.group()):04X} is not allowed in YAML; delete it")
        for n, row in enumerate(text.split("\n"), 1) if (char := _UNPRINTABLE.search(row))
    ]
    return text, found


def _line_finder(text: str) -> LineOf:
    """How to turn a parser's mark into the line number an editor shows."""
    if not _ODD_BREAKS.search(text):
        return lambda mark: mark.line + 1
    starts = [0] + [match.end() for match in re.finditer("\r\n|\r|\n", text)]
    return lambda mark: bisect.bisect_right(starts, mark.index)


def _bad_byte(row: bytes) -> str:
    """`byte 0xff` for the first byte of a line that isn't UTF-8, or nothing."""
    try:
        row.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as err:
        return f"byte 0x{row[err.start]:02x}"
    return ""


def _tabs(text: str) -> Found:
    """Each line indented with a tab."""
    return [
        (n, "tab in indentation; YAML indents with spaces only")
        for n, row in enumerate(text.split("\n"), 1)
        if "\t" in row[: len(row) - len(row.lstrip(" \t"))]
    ]


def _tab_error(err: yaml.MarkedYAMLError, text: str, line_of: LineOf) -> bool:
    """Whether a syntax error comes from a tab in some line's indentation."""
    tabs = _tabs(text)
    if err.problem_mark is None or not tabs:
        return False
    return "tab" in (err.problem or "") or any(n == line_of(err.problem_mark) for n, _ in tabs)


# How to fix the syntax errors people make most, by the words of libyaml's message.
_HINTS = (
    ("mapping values are not allowed", "put quotes around text that contains ': '"),
    ("found undefined alias", "put quotes around text that starts with '*'"),
    ("while scanning an alias", "put quotes around text that starts with '*'"),
    ("while scanning an anchor", "put quotes around text that starts with '&'"),
    ("cannot start any token", "put quotes around text that starts with '@', '`' or '%'"),
    ("expected '-' indicator", "check this line's indentation"),
    ("did not find expected key", "quote the whole value if it starts with a quote, '[' or '{' (a cloze must be "
                                  "quoted); otherwise check this line's indentation"),
    ("unknown escape character", "in double quotes write '\\\\' for a backslash, or use single quotes"),
)


def _syntax(err: yaml.MarkedYAMLError, line_of: LineOf) -> tuple[int, str]:
    """Where a syntax error was found and how to fix it, on one line (naming where an unclosed thing opened)."""
    problem = err.problem or err.context or "invalid YAML"
    context = err.context or ""
    mark = err.problem_mark or err.context_mark
    line = line_of(mark) if mark else 1
    opened = line_of(err.context_mark) if err.context_mark else line
    if "quoted scalar" in context and "end of stream" in problem:
        return line, f"YAML syntax error: the quote opened at line {opened} is never closed; add the closing quote"
    if "flow sequence" in context:
        return line, (f"YAML syntax error in the '[' list opened at line {opened}: {problem}; separate its entries "
                      "with ',' and close it with ']', or quote text that starts with '['")
    if "flow mapping" in context:
        return line, (f"YAML syntax error in the '{{' mapping opened at line {opened}: {problem}; quote text that "
                      "starts with '{', such as a cloze, or close it with '}'")
    words = f"{problem} {context}"
    hint = next((hint for key, hint in _HINTS if key in words), "check the indentation and quoting here")
    return line, f"YAML syntax error: {problem}; {hint}"


class _Builder:
    """Turns the parser's events into Map, Seq and scalars, noting what it refuses.

    Working from events, never building a node graph, means an alias is never followed
    (no billion laughs) and nesting is cut off before it can exhaust the stack.
    """

    def __init__(self, text: str, line_of: LineOf) -> None:
        self.loader = _Loader(text)
        self.line_of = line_of
        self.refused: Found = []
        self.kept: Found = []
        self.stack: list[list[Any]] = []  # [container, pending key, key line] per open collection

    def build(self) -> tuple[Any, Found, Found]:
        """The file's one document (None if it has none), the refusals, and the lesser problems."""
        try:
            return self.document(), self.refused, self.kept
        finally:
            self.loader.dispose()

    def document(self) -> Any:
        """Read the stream's single document."""
        loader = self.loader
        loader.get_event()  # StreamStart
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # DocumentStart
        data = self.value()
        if self.stack:  # cut off: nested too deep
            return None
        loader.get_event()  # DocumentEnd
        if loader.check_event(yaml.DocumentStartEvent):
            line = self.line_of(loader.peek_event().start_mark)
            self.refused.append((line, "a second YAML document starts here; a file holds one, so remove this '---'"))
        return data

    def value(self) -> Any:
        """Read one whole value, nesting without recursion."""
        while True:
            event = self.loader.get_event()
            line = self.line_of(event.start_mark)
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if self.start(event, line):
                    continue
                return None
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                value = self.stack.pop()[0]
                line = value.line
            elif isinstance(event, yaml.AliasEvent):
                value = self.refuse(line, f"YAML aliases (*{event.anchor}) are not allowed; write the value out")
            else:
                value = self.scalar(event, line, key=bool(self.stack) and self.wants_key())
            if not self.stack:
                return value
            self.attach(value, line)

    def start(self, event: yaml.Event, line: int) -> bool:
        """Open a mapping or sequence; False when it nests too deep to go on."""
        if len(self.stack) >= _MAX_DEPTH:
            self.refuse(line, f"nested deeper than {_MAX_DEPTH} levels; cards need only a few")
            return False
        mapping = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (None, "!", _TAG + ("map" if mapping else "seq")):
            self.refuse(line, _tag_message(event.tag))
        self.stack.append([Map(line) if mapping else Seq(line), None, 0])
        return True

    def scalar(self, event: yaml.ScalarEvent, line: int, *, key: bool) -> Any:
        """A plain value: text, a flag or nothing (numbers and dates keep their text)."""
        tag = event.tag
        if tag is None or tag == "!":
            known = (event.value, event.implicit)
            tag = _RESOLVED.get(known) if len(event.value) <= 24 else None
            if tag is None:
                tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
                if len(event.value) <= 24 and len(_RESOLVED) < 8192:
                    _RESOLVED[known] = tag
        if key and tag == _TAG + "merge":
            return self.refuse(line, "YAML merge keys (<<) are not allowed; write the keys out")
        if tag not in _SCALARS:
            return self.refuse(line, _tag_message(tag))
        if tag == _TAG + "bool" and event.value.lower() not in _BOOLS:  # only an explicit !!bool gets here
            return self.refuse(line, f"'{event.value}' is not true or false; write one of them")
        return event.value if key else _SCALARS[tag](event.value)

    def wants_key(self) -> bool:
        """Whether the innermost open collection is a mapping waiting for its next key."""
        frame = self.stack[-1]
        return isinstance(frame[0], Map) and frame[1] is None

    def attach(self, value: Any, line: int) -> None:
        """Put a finished value into the innermost open collection."""
        frame = self.stack[-1]
        container = frame[0]
        if isinstance(container, Seq):
            container.append(value)
            container.lines.append(line)
        elif frame[1] is None:
            if not isinstance(value, str) and value is not None:
                self.refuse(line, "mapping keys must be plain words; quote text that starts with '{' or '[', "
                                  "such as a cloze")
            frame[1], frame[2] = (value if isinstance(value, str) else _REFUSED), line
        else:
            key, key_line = frame[1], frame[2]
            frame[1] = None
            if key is _REFUSED:
                return
            if key in container:
                first = container.lines[key]
                self.kept.append((key_line, f"duplicate key '{key}' (first at line {first}); delete one of them"))
                return
            container[key] = value
            container.lines[key] = key_line

    def refuse(self, line: int, message: str) -> None:
        """Note one refused value; the reading goes on so every problem is reported."""
        self.refused.append((line, message))


def _tag_message(tag: str) -> str:
    """Why a tagged value was refused."""
    shown = "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag
    return f"YAML tag '{shown}' is not allowed; write plain text, lists and mappings only"


_SCALARS = {
    _TAG + "str": str,
    _TAG + "null": lambda value: None,
    _TAG + "bool": lambda value: _BOOLS[value.lower()],
    _TAG + "int": str,
    _TAG + "float": str,
    _TAG + "timestamp": str,
}
