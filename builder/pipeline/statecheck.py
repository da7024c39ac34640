"""The state file's text → a State, validated like the cards: every problem at its item's line.

The file is JSON written one item per line, so an item's problems are reported at its line. The
parser walks the text itself (json's own scanner for each value) to know where every key starts,
and to see duplicate keys, which json.loads silently merges.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from json.decoder import scanstring
from typing import Any, NamedTuple

from ..model import USER_KIND, Problem
from .notetypes import NOTETYPES
from .validate import ID, _deck_problem

VERSION = 2  # the version this deckbuild writes; it reads 1 (no tombstones) and 2
# Measured with anki 26.9: ids and mods are 64-bit in the collection, but the importer renumbers a
# note whose id lies more than a day in the future, and Check Database resets a mod in the future.
# Note ids are milliseconds, mods seconds; deckbuild keeps both within JavaScript's exact integers
# (Anki's screens pass note ids through JavaScript), mods so that `mod * 1000` is one too.
MAX_NID = 2**53 - 1
MAX_MOD = MAX_NID // 1000
RESTORE = "restore it from version control, or delete it to start afresh (every note is then re-stamped)"
_HASH = re.compile(r"[0-9a-f]{16,64}\Z")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_WS = re.compile(r"[ \t\n\r]*")
_KEY = re.compile(r'"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*')
_SEPARATOR = re.compile(r"[ \t\n\r]*([,}])[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_ITEM_KEYS = ("deck", "hash", "kind", "mod", "nid")
# The file exactly as `state.dumps` writes it, for `_written`: its head, each item's line, and its end.
_HEAD = re.compile(r'\{"version": ([1-9][0-9]{0,5}),\n "notetypes": (\{[^\n]*\}),\n "items": \{\n')
_LINE = re.compile(r'  "(' + ID.pattern.removesuffix(r"\Z") + r')": \{"deck": "([^"\\\x00-\x1f\x7f]+)", '
                   r'"hash": "([0-9a-f]{16,64})", "kind": "(' + "|".join(map(re.escape, NOTETYPES)) + r')", '
                   r'"mod": ([1-9][0-9]{0,15}), "nid": ([1-9][0-9]{0,15})(, "removed": true)?\}(,\n|\n \}\n\}\n\Z)')


class Entry(NamedTuple):
    """What one note was last built as: content hash, mod time, deck, note id, kind, and whether it left the tree.

    A NamedTuple rather than a dataclass: a large deck has tens of thousands, built on every run.
    A removed entry is a tombstone: restoring the item brings back its note id and mod.
    """

    digest: str
    mod: int
    deck: str
    nid: int
    kind: str
    removed: bool = False


class Shape(NamedTuple):
    """What Anki's importer matches a note type on: its field names and template names."""

    fields: tuple[str, ...]
    templates: tuple[str, ...]


class Parsed(NamedTuple):
    """A state file's items and note types, or the problems that make it unusable."""

    items: dict[str, Entry]
    notetypes: dict[str, tuple[str, int]]
    problems: list[Problem]
    fields: dict[str, Shape] = {}  # a tree's own note types' field and template names at the last build


class _Report:
    """Problems at the line of a position in the text."""

    def __init__(self, text: str, *, shown: str, first_line: int) -> None:
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.shown, self.first_line = shown, first_line
        self.problems: list[Problem] = []

    def line(self, pos: int) -> int:
        """The file line a text position is on."""
        return self.first_line + bisect.bisect_left(self.newlines, pos)

    def __call__(self, pos: int, message: str) -> None:
        message = _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", message)  # one problem, one line
        self.problems.append(Problem(path=self.shown, line=self.line(pos), message=message))


def parse_state(text: str, *, shown: str, first_line: int = 1) -> Parsed:
    """Parse and validate a state file's text; `first_line` is where the text starts in its file."""
    return _written(text) or parse_carefully(text, shown=shown, first_line=first_line)


def parse_carefully(text: str, *, shown: str, first_line: int = 1) -> Parsed:
    """`parse_state` for any text: the general parser, which says where each problem is."""
    report = _Report(text, shown=shown, first_line=first_line)
    try:
        start = _WS.match(text).end()
        if text[start:start + 1] != "{":
            raise ValueError("not a JSON object")
        top = _unique(_members(text, start), report)
        if text[_WS.match(text, top.end).end():]:
            raise ValueError("text after the object")
    except (ValueError, IndexError) as err:
        return Parsed({}, {}, [_unreadable(text, err, report)])
    version = top.values.get("version")
    if type(version) is int and version > VERSION:
        report(top.where["version"], f"state file was written by a newer deckbuild (state version {version}; "
                                     f"this one reads up to {VERSION}): upgrade deckbuild")
        return Parsed({}, {}, report.problems)
    layout = _layout(top.values)
    if layout:
        report(start, f"state file does not have the layout deckbuild {VERSION} writes ({layout}); {RESTORE}")
        return Parsed({}, {}, report.problems)
    fields: dict[str, Shape] = {}
    notetypes = _notetypes(top.values["notetypes"], pos=top.where["notetypes"], report=report, fields=fields)
    items = _items(text, top.starts["items"], version=version, report=report)
    return Parsed(items, notetypes, report.problems, fields)


def _written(text: str) -> Parsed | None:
    """The state of a file laid out exactly as `state.dumps` writes it, with every value good; else None.

    About five times quicker than the general parser, with the same checks; anything else, or any
    problem at all, is left to the general parser, which says where each problem is.
    """
    head = _HEAD.match(text)
    if head is None or int(head[1]) > VERSION:
        return None
    try:
        types = json.loads(head[2])
    except ValueError:
        return None
    checked: list[str] = []
    fields: dict[str, Shape] = {}
    notetypes = _notetypes(types, pos=0, report=lambda _, message: checked.append(message), fields=fields) \
        if isinstance(types, dict) else None
    if notetypes is None or checked:
        return None
    version = int(head[1])
    items: dict[str, Entry] = {}
    nids: set[int] = set()
    decks: dict[str, str] = {}
    line, pos = _LINE.match, head.end()
    while (found := line(text, pos)) is not None:  # the line's pattern checks the id and the kind
        key, deck, digest, kind, mod, nid, removed, end = found.groups()
        mod, nid = int(mod), int(nid)
        if key in items or nid in nids or mod > MAX_MOD or nid > MAX_NID or (removed and version < 2):
            return None
        known = decks.get(deck)
        if known is None:
            if _deck_problem(deck):
                return None
            known = decks[deck] = deck
        items[key] = Entry(digest, mod, known, nid, kind, bool(removed))  # a deck's name held once, not per item
        nids.add(nid)
        if end != ",\n":
            return Parsed(items, notetypes, [], fields)
        pos = found.end()
    return None


def _unreadable(text: str, err: Exception, report: _Report) -> Problem:
    """The one problem of a file that is not a JSON object: json's own message where it has one."""
    try:
        json.loads(text)
    except json.JSONDecodeError as bad:
        return Problem(path=report.shown, line=report.first_line + bad.lineno - 1,
                       message=f"state file is not valid JSON ({bad.msg}); {RESTORE}")
    except ValueError:
        pass
    return Problem(path=report.shown, line=report.first_line,
                   message=f"state file does not have the layout deckbuild {VERSION} writes ({err}); {RESTORE}")


def _layout(top: dict[str, Any]) -> str | None:
    """What is wrong with the file's top level, or None."""
    missing = [key for key in ("version", "notetypes", "items") if key not in top]
    unknown = sorted(set(top) - {"version", "notetypes", "items"})
    if missing:
        return f"no {', '.join(missing)}"
    if unknown:
        return f"unknown key {_name(unknown[0])}"
    if type(top["version"]) is not int or top["version"] < 1:
        return f"unknown version {_show(top['version'])}"
    if not isinstance(top["notetypes"], dict) or not isinstance(top["items"], dict):
        return "notetypes and items must be objects"
    return None


class _Object(NamedTuple):
    """A JSON object's members by key, where each key and value starts, and where the object ends."""

    values: dict[str, Any]
    where: dict[str, int]
    starts: dict[str, int]
    end: int


def _members(text: str, pos: int) -> Iterator[tuple[str, int, Any, int, int]]:
    """(key, key position, value, value position, end so far) for each member of the object at `pos`."""
    pos = _WS.match(text, pos + 1).end()
    if text[pos] == "}":
        yield "", -1, None, -1, pos + 1
        return
    scan = _DECODER.scan_once  # json's C scanner: a value and where it ends
    while True:
        head = _KEY.match(text, pos)  # one match for `"key" :`, the common case of a key without escapes
        if head:
            key, start = head.group(1), head.end()
        else:
            if text[pos] != '"':
                raise ValueError("expected a key")
            key, end = scanstring(text, pos + 1)
            colon = _WS.match(text, end).end()
            if text[colon] != ":":
                raise ValueError("expected ':'")
            start = _WS.match(text, colon + 1).end()
        try:
            value, end = scan(text, start)
        except StopIteration:
            raise ValueError("expected a value") from None
        after = _SEPARATOR.match(text, end)
        if not after:
            raise ValueError("expected ',' or '}'")
        yield key, pos, value, start, after.end()
        if after.group(1) == "}":
            return
        pos = after.end()


def _unique(members: Iterator[tuple[str, int, Any, int, int]], report: _Report) -> _Object:
    """An object's members, each duplicate key reported (the first one counts)."""
    values: dict[str, Any] = {}
    where: dict[str, int] = {}
    starts: dict[str, int] = {}
    end = 0
    for key, pos, value, start, end in members:
        if pos < 0:
            continue
        if key in values:
            report(pos, f"{_name(key)} appears twice in the state file (also line {report.line(where[key])}); "
                        "keep one")
            continue
        values[key], where[key], starts[key] = value, pos, start
    return _Object(values, where, starts, end)


def _show(value: Any) -> str:
    """A JSON value as the file spells it, cut short."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _name(key: str) -> str:
    """A key as a message shows it: quoted plainly when it is a simple word, else as JSON."""
    return f"'{key}'" if re.fullmatch(r"[\w.-]{1,64}", key, re.ASCII) else _show(key)


def known_kind(kind: Any) -> bool:
    """Whether a state entry's kind names a note type: one of deckbuild's two, or `type:<name>` (notetypes.yaml)."""
    return isinstance(kind, str) and (kind in NOTETYPES or (kind.startswith(USER_KIND) and len(kind) > len(USER_KIND)))


def _whole(value: Any, *, low: int, high: int) -> bool:
    """Whether a value is a whole number in range (a JSON true is not a number)."""
    return type(value) is int and low <= value <= high


def _notetypes(data: dict[str, Any], *, pos: int, report: _Report,
               fields: dict[str, Shape]) -> dict[str, tuple[str, int]]:
    """Each note type's definition hash and mod (and, for a tree's own type, its field and template names)."""
    notetypes = {}
    for kind, entry in data.items():
        if kind.startswith(USER_KIND) and isinstance(entry, dict) and {"fields", "templates"} <= set(entry):
            names, templates = entry["fields"], entry["templates"]
            if all(isinstance(v, list) and v and all(isinstance(n, str) for n in v) for v in (names, templates)):
                entry = {k: v for k, v in entry.items() if k not in ("fields", "templates")}
                fields[kind] = Shape(tuple(names), tuple(templates))
        if not known_kind(kind):
            report(pos, f"state file: unknown note type {_name(kind)} (deckbuild has {', '.join(NOTETYPES)}); {RESTORE}")
        elif (not isinstance(entry, dict) or set(entry) != {"hash", "mod"} or not isinstance(entry["hash"], str)
              or not _HASH.match(entry["hash"]) or not _whole(entry["mod"], low=1, high=MAX_MOD)):
            report(pos, f"state file: note type '{kind}' must be {{\"hash\": <hex>, \"mod\": <1 to {MAX_MOD}>}}, "
                        f"not {_show(entry)}; {RESTORE}")
        else:
            notetypes[kind] = (entry["hash"], entry["mod"])
    return notetypes


def _items(text: str, start: int, *, version: int, report: _Report) -> dict[str, Entry]:
    """Every item's entry, each problem at its line; ids and note ids must be unique."""
    items: dict[str, Entry] = {}
    where: dict[str, int] = {}
    nids: dict[int, str] = {}
    decks: set[str] = set()  # deck names already found good: a deck has many items
    for key, pos, value, _, _ in _members(text, start):
        if pos < 0:
            continue
        if key in where:
            report(pos, f"{_name(key)} appears twice in the state file (also line {report.line(where[key])}); "
                        "keep one")
            continue
        where[key] = pos
        entry = _good(key, value, version=version, decks=decks) or _entry(key, value, version=version, decks=decks)
        if isinstance(entry, str):
            report(pos, f"state file: item {_name(key)}: {entry} (restore the state file from version control)")
        elif entry.nid in nids:
            other = nids[entry.nid]
            report(pos, f"state file: item '{key}' has note id {entry.nid}, already the note id of '{other}' "
                        f"(line {report.line(where[other])}); every note needs its own "
                        "(restore the state file from version control)")
        else:
            nids[entry.nid] = key
            items[key] = entry
    return items


def _good(key: str, value: Any, *, version: int, decks: set[str]) -> Entry | None:
    """The entry of a well-formed item, quickly; None sends anything else to `_entry` for its message."""
    if type(value) is not dict:
        return None
    get = value.get
    digest, mod, deck, nid, kind = get("hash"), get("mod"), get("deck"), get("nid"), get("kind")
    removed = len(value) == 6 and version >= 2 and value.get("removed") is True
    if ((len(value) == 5 or removed) and type(mod) is int and 0 < mod <= MAX_MOD and type(nid) is int
            and 0 < nid <= MAX_NID and type(kind) is str and known_kind(kind) and type(deck) is str
            and deck in decks and type(digest) is str and _HASH.match(digest) and ID.match(key)):
        return Entry(digest, mod, deck, nid, kind, removed)
    return None


def _entry(key: str, value: Any, *, version: int, decks: set[str]) -> Entry | str:
    """One item's entry, or what is wrong with it."""
    if not ID.match(key):
        return "not a valid item id"
    if not isinstance(value, dict):
        return f"must be an object, not {_show(value)}"
    allowed = _ITEM_KEYS + (("removed",) if version >= 2 else ())
    missing = [k for k in _ITEM_KEYS if k not in value]
    unknown = sorted(set(value) - set(allowed))
    if missing:
        return f"no {', '.join(missing)}"
    if unknown:
        return f"unknown key {_name(unknown[0])}"
    digest, mod, deck, nid, kind = (value[k] for k in ("hash", "mod", "deck", "nid", "kind"))
    if not isinstance(digest, str) or not _HASH.match(digest):
        return f"hash must be 16 to 64 lowercase hex digits, not {_show(digest)}"
    if not _whole(mod, low=1, high=MAX_MOD):
        return f"mod must be a whole number of seconds from 1 to {MAX_MOD}, not {_show(mod)}"
    if not _whole(nid, low=1, high=MAX_NID):
        return f"nid must be a whole number from 1 to {MAX_NID}, not {_show(nid)}"
    if not isinstance(kind, str) or not known_kind(kind):
        return (f"kind must be {' or '.join(repr(k) for k in NOTETYPES)} (or 'type:' and the name of a note type "
                f"of notetypes.yaml), not {_show(kind)}")
    if not isinstance(deck, str) or not deck:
        return f"deck must be a deck name, not {_show(deck)}"
    problem = _deck_problem(deck)
    if problem:
        return problem
    decks.add(deck)
    removed = value.get("removed", False)
    if removed is not True and "removed" in value:
        return f"removed must be true when present, not {_show(removed)}"
    return Entry(digest, mod, deck, nid, kind, removed)
