"""Re-read one edited item of a deck file without parsing the rest of it."""

from __future__ import annotations

from bisect import bisect_right
from pathlib import Path

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
    items = validate_deck(doc, sources=sources, problems=problems, notetypes=notetypes) \
        if doc is not None and not found else []
    if problems or len(items) != 2 or _values(items[1]) != _values(old_items[-1]):
        return None
    moved = starts[k] - first  # the edited item's lines in the small file are this many above the real ones
    edited = _moved(items[0], moved)
    after = [_moved(item, shift) for item in old_items[k + 1:]] if shift else old_items[k + 1:]
    return [*old_items[:k], edited, *after], k


def _values(item: Item) -> tuple:
    """What an item says, without where it is (its path, lines and folder)."""
    return tuple(item)[:11] + tuple(item)[14:17]


def _moved(item: Item, by: int) -> Item:
    """An item with all its line numbers moved down by `by` lines."""
    lines = tuple(part + by if isinstance(part, int) else part for part in item.lines)
    return item._replace(line=item.line + by, lines=lines)
