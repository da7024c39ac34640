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
           sources: dict[str, Source] | None) -> tuple[list[Item], int] | None:
    """The items after an edit inside one item (not the last), and its index; None to read the whole file.

    The file's head (everything before its first item), the edited item's lines, and the file from
    its last item on are parsed and validated as a file of their own; the other items are the old
    ones, their lines shifted. Anything unusual (an edit across items, an item not written as
    `- key: ...`, any problem at all) returns None, and the caller reads the whole file.
    """
    if len(old_items) < 3:
        return None
    old, new = old_raw.split(b"\n"), raw.split(b"\n")
    same = min(len(old), len(new))
    head = next((i for i in range(same) if old[i] != new[i]), same)
    tail = next((i for i in range(same - head) if old[-1 - i] != new[-1 - i]), same - head)
    starts = [item.line - 1 for item in old_items]
    if any(b <= a for a, b in zip(starts, starts[1:])) or starts[-1] >= len(old):
        return None
    k = bisect_right(starts, head) - 1
    if k < 0 or k >= len(old_items) - 1 or len(old) - tail > starts[k + 1]:
        return None
    shift = len(new) - len(old)
    first, last = starts[0], starts[-1] + shift
    lines = new[starts[k]:starts[k + 1] + shift]
    indent = len(old[first]) - len(old[first].lstrip(b" "))
    entry, inside = b" " * indent + b"- ", b" " * (indent + 1)
    if not lines or not all(line.startswith(entry) for line in (lines[0], old[first], old[starts[k + 1]],
                                                                 old[starts[-1]])):
        return None
    if any(line.strip() and not line.startswith(inside) for line in lines[1:]):
        return None  # a line at the items' own indentation or left of it: let the whole file be read
    text = b"\n".join(new[:first] + lines + new[last:])
    doc, found = load_file(path, shown=shown, raw=text)
    problems: list[Problem] = []
    items = validate_deck(doc, sources=sources, problems=problems) if doc is not None and not found else []
    if problems or len(items) != 2 or items[1][:-4] != old_items[-1][:-4]:
        return None
    moved = starts[k] - first  # the edited item's lines in the small file are this many above the real ones
    edited = _moved(items[0], moved)
    after = [_moved(item, shift) for item in old_items[k + 1:]] if shift else old_items[k + 1:]
    return [*old_items[:k], edited, *after], k


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
