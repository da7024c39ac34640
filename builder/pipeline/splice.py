"""Re-read one edited item of a deck file without parsing the rest of it; cut a large file into pieces."""

from __future__ import annotations

import re
from bisect import bisect_right
from pathlib import Path
from typing import NamedTuple

from ..model import Item, Problem, Source
from .load import load_file
from .validate import validate_deck


def splice(*, path: Path, shown: str, raw: bytes, old_raw: bytes, old_items: list[Item],
           sources: dict[str, Source] | None, notetypes: dict | None = None) -> tuple[list[Item], int] | None:
    """The items after an edit inside one item (not the last), and its index; None to read the whole file.

    The file's head (everything before its first item), the edited item's lines, and the file from
    its last item on are parsed and validated as a file of their own; the other items are the old
    ones, their lines shifted. Anything unusual (an edit across items, an item not written as
    `- key: ...`, any problem at all) returns None, and the caller reads the whole file.
    """
    if len(old_items) < 3 or old_raw == raw:
        return None
    # Line numbers and the few lines needed, found in the bytes: a large file is never split into all its lines.
    n_old, n_new = old_raw.count(b"\n") + 1, raw.count(b"\n") + 1
    same = min(n_old, n_new)
    at = _common_prefix(old_raw, raw)
    head = _first_changed_line(old_raw, raw, at)
    tail = min(_equal_last_lines(old_raw, raw), same - head)  # how many lines at the end are the same
    starts = [item.line - 1 for item in old_items]
    if any(b <= a for a, b in zip(starts, starts[1:])) or starts[-1] >= n_old:
        return None
    k = bisect_right(starts, head) - 1
    if k < 0 or k >= len(old_items) - 1 or n_old - tail > starts[k + 1]:
        return None
    shift = n_new - n_old
    first, last = starts[0], starts[-1] + shift
    if starts[k + 1] + shift <= starts[k]:
        return None
    here = old_raw.rfind(b"\n", 0, at) + 1  # where line `head` starts, in both files
    old_at = _Lines(old_raw, here, head)
    new_at = _Lines(raw, here, head)
    block = raw[new_at.start(starts[k]):new_at.start(starts[k + 1] + shift)]
    lines = block[:-1].split(b"\n")  # the edited item's lines
    top, next_start, last_start = (_Lines(old_raw, 0, 0).line(first), old_at.line(starts[k + 1]),
                                   _Lines.last(old_raw).line(starts[-1]))
    indent = len(top) - len(top.lstrip(b" "))
    entry, inside = b" " * indent + b"- ", b" " * (indent + 1)
    if not all(line.startswith(entry) for line in (lines[0], top, next_start, last_start)):
        return None
    if any(line.strip() and not line.startswith(inside) for line in lines[1:]):
        return None  # a line at the items' own indentation or left of it: let the whole file be read
    text = raw[:_Lines(raw, 0, 0).start(first)] + block + raw[_Lines.last(raw).start(last):]
    doc, found = load_file(path, shown=shown, raw=text)
    problems: list[Problem] = []
    items = validate_deck(doc, sources=sources, problems=problems, notetypes=notetypes) \
        if doc is not None and not found else []
    if problems or len(items) != 2 or _values(items[1]) != _values(old_items[-1]):
        return None
    moved = starts[k] - first  # the edited item's lines in the small file are this many above the real ones
    edited = _moved(items[0], moved)
    after = [_moved(item, shift) for item in old_items[k + 1:]] if shift else old_items[k + 1:]
    return [*old_items[:k], edited, *after], k


def _common_prefix(a: bytes, b: bytes) -> int:
    """How many bytes two byte strings share at their start (compared a block at a time)."""
    size, at = min(len(a), len(b)), 0
    while at < size and a[at:at + _BLOCK] == b[at:at + _BLOCK]:
        at += _BLOCK
    at = min(at, size)
    while at < size and a[at] == b[at]:
        at += 1
    return at


def _first_changed_line(a: bytes, b: bytes, at: int) -> int:
    """The first line that differs between two byte strings that differ first at byte `at`."""
    line = a.count(b"\n", 0, at)
    # One text ends where the other's same line ends with a line break: that line is the same in both.
    return line + 1 if (at == len(a) and b[at:at + 1] == b"\n") or (at == len(b) and a[at:at + 1] == b"\n") else line


def _equal_last_lines(a: bytes, b: bytes) -> int:
    """How many whole lines at the end of two different byte strings are the same."""
    size, back = min(len(a), len(b)), 0
    while back < size:
        step = min(_BLOCK, size - back)
        if a[len(a) - back - step:len(a) - back] != b[len(b) - back - step:len(b) - back]:
            break
        back += step
    while back < size and a[len(a) - back - 1] == b[len(b) - back - 1]:
        back += 1
    # The shared end holds this many line breaks, so as many whole lines; one more if both texts begin a line
    # where it begins (one of them begins there, or the other has a line break just before it).
    whole = [len(x) == back or x[len(x) - back - 1] == 0x0A for x in (a, b)]
    return a.count(b"\n", len(a) - back) + (whole[0] and whole[1])


_BLOCK = 1 << 16


class _Lines:
    """Lines of a text found by walking a few lines from a known one: line `line` starts at offset `at`."""

    def __init__(self, raw: bytes, at: int, line: int) -> None:
        self.raw, self.at, self.line_number = raw, at, line

    @classmethod
    def last(cls, raw: bytes) -> "_Lines":
        """From the text's last line."""
        return cls(raw, raw.rfind(b"\n") + 1, raw.count(b"\n"))

    def start(self, n: int) -> int:
        """Where line `n` (counted from 0) starts."""
        raw, at, line = self.raw, self.at, self.line_number
        while line < n:
            at, line = raw.index(b"\n", at) + 1, line + 1
        while line > n:
            at, line = raw.rfind(b"\n", 0, at - 1) + 1, line - 1
        return at

    def line(self, n: int) -> bytes:
        """Line `n`, without its line break."""
        at = self.start(n)
        end = self.raw.find(b"\n", at)
        return self.raw[at:end if end >= 0 else len(self.raw)]


def _values(item: Item) -> tuple:
    """What an item says, without where it is (its path, lines and folder)."""
    return tuple(item)[:11] + tuple(item)[14:17]


def _moved(item: Item, by: int) -> Item:
    """An item with all its line numbers moved down by `by` lines."""
    lines = tuple(part + by if isinstance(part, int) else part for part in item.lines)
    return item._replace(line=item.line + by, lines=lines)


class Piece(NamedTuple):
    """A piece of a file: `raw[:head] + raw[start:end]`, holding `count` items, whose lines past line `after`
    are `by` lines further down in the file."""

    head: int
    start: int
    end: int
    after: int
    by: int
    count: int

    def text(self, raw: bytes) -> bytes:
        """The piece's bytes, from the file's."""
        return raw[:self.head] + raw[self.start:self.end]


_CARDS = re.compile(rb"^cards:[ ]*(?:#[^\n]*)?\n", re.MULTILINE)
_FIRST = re.compile(rb"(?:[ ]*(?:#[^\n]*)?\n)*( *)- ")  # blank and comment lines, then the first item
_ODD = (b"\r", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")  # line breaks other than '\n'


def cut(raw: bytes, *, pieces: int) -> list[Piece] | None:
    """A deck file cut at its items' boundaries into about `pieces` texts that each parse alone; None if it
    isn't laid out plainly enough to cut safely.

    Each piece is the file's head (up to and including `cards:`) followed by a run of whole items (see
    `Piece`), to be read with `load_file`'s `shift`, so that every value keeps its line in the real file.
    The layout must be the plain one: `cards:` once at the left edge and last, and after it only items
    (`- ` at one indentation), lines indented further, comments and blank lines. A cut inside a multi-line quoted value leaves a piece that doesn't parse: the caller
    then reads the whole file, as it does when a piece has any problem at all.
    """
    if any(odd in raw for odd in _ODD):
        return None
    found = _CARDS.search(raw)
    if found is None or _CARDS.search(raw, found.end()) is not None:
        return None
    body = found.end()
    first = _FIRST.match(raw, body)
    if first is None:
        return None
    indent, start = len(first[1]), first.start(1)
    if re.compile(rb"^(?! {%d}| {%d}- |[ ]*#|[ ]*$)" % (indent + 1, indent), re.MULTILINE).search(raw, start):
        return None  # a line at the items' own indentation or left of it that starts no item
    starts = [m.start() for m in re.compile(rb"^ {%d}- " % indent, re.MULTILINE).finditer(raw, start)]
    if len(starts) < 2 * pieces:
        return None
    after = raw.count(b"\n", 0, body)
    out, line, at = [], after + 1, body  # `line`: the real line that `at` is on
    per = -(-len(starts) // pieces)
    for k in range(0, len(starts), per):
        a = starts[k]
        b = starts[k + per] if k + per < len(starts) else len(raw)
        line += raw.count(b"\n", at, a)
        at = a
        out.append(Piece(head=body, start=a, end=b, after=after, by=line - after - 1, count=min(per, len(starts) - k)))
    return out
