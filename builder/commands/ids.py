"""`deckbuild ids`: give each item without an id one made from its question, inserting only that line."""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

import yaml

from ..pipeline.compile import deck_files, read_input, shown
from ..errors import ContentError
from ..pipeline.load import Document, Map, Seq, load_file
from ..model import Problem
from ..pipeline.output import environment
from ..pipeline.state import write_atomic
from ..pipeline.validate import CLOZE_ANSWER

MAX_WORDS = 6
# Words that say little about which card this is; dropped unless nothing else is left.
SKIP = frozenset(
    "a an the of is are was were be what which who whom whose how why when where do does did "
    "to in on at for by with from and or its it this that these those as".split())
_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ø": "o", "Ø": "o",
                       "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ð": "d", "þ": "th", "Þ": "th"})
_MARKUP = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|<[^>]*>")  # links and images keep their text; tags go
_BREAK = re.compile(r"(\r\n|[\r\n])")  # the line breaks load.py counts lines by, as editors do
_LEAD = re.compile(r"( *)(-[ \t]+)?")


def slugify(text: str) -> str:
    """A few lowercase ascii words of a question or cloze, joined by '-' ('card' if none are left)."""
    text = _MARKUP.sub(lambda m: f" {m.group(1) or ''} ", CLOZE_ANSWER.sub(r"\1", text))
    text = re.sub(r"(?<=\w)['’](?:s\b|(?=\w))", "", text)  # CNS's → CNS, don't → dont
    plain = unicodedata.normalize("NFKD", text.translate(_FOLD)).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", plain)
    kept = [word for word in words if word not in SKIP] or words
    return "-".join(kept[:MAX_WORDS]) or "card"


def assign_ids(*, cards_dir: Path) -> list[tuple[str, str]]:
    """Insert an `id:` line into every item that lacks one; return each new id's `path:line` and id."""
    docs, problems = [], []
    for path in deck_files(cards_dir, problems):
        raw = read_input(cards_dir, path, problems)
        if raw is None:
            continue
        doc, found = load_file(path, shown=shown(cards_dir, path), raw=raw)
        problems += found
        if doc is not None:
            docs.append(doc)
    if problems:
        raise ContentError(problems)
    taken = {item["id"] for doc in docs for _, item, _ in _items(doc) if isinstance(item.get("id"), str)}
    edits: list[tuple[Path, bytes]] = []
    added: list[tuple[str, str]] = []
    for doc in docs:
        wanted = []
        for index, item, line in _items(doc):
            text = next((item[key] for key in ("question", "cloze") if isinstance(item.get(key), str)), None)
            if "id" in item or text is None:
                continue  # an item with neither is left for `check` to explain
            new_id = _unique(slugify(text), taken)
            taken.add(new_id)
            wanted.append((index, line, new_id))
        if wanted:
            data, places = _insert(doc, wanted, problems)
            edits.append((doc.path, data))
            added += places
    if problems:
        raise ContentError(problems)
    for path, data in edits:
        with environment(path, "write"):
            write_atomic(path, data)
    return added


def _items(doc: Document) -> list[tuple[int, Map, int]]:
    """Each mapping in a deck file's `cards`, with its index and first line."""
    cards = doc.data.get("cards") if isinstance(doc.data, Map) else None
    if not isinstance(cards, Seq):
        return []
    return [(i, item, line) for i, (item, line) in enumerate(zip(cards, cards.lines)) if isinstance(item, Map)]


def _unique(slug: str, taken: set[str]) -> str:
    """The slug, or the first of slug-2, slug-3 ... that no item has yet."""
    n, candidate = 1, slug
    while candidate in taken:
        n += 1
        candidate = f"{slug}-{n}"
    return candidate


def _insert(doc: Document, wanted: list[tuple[int, int, str]],
            problems: list[Problem]) -> tuple[bytes, list[tuple[str, str]]]:
    """The file's bytes with each wanted `id:` line inserted, and where each landed."""
    raw = doc.path.read_bytes()
    bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
    parts = _BREAK.split(raw[len(bom):].decode("utf-8"))
    rows, ends = parts[0::2], parts[1::2] + [""]
    usual = next((end for end in ends if end), "\n")
    cards = doc.data["cards"]
    misplaced = []
    for index, line, new_id in wanted:
        row = _place(rows[line - 1], key=next(iter(cards[index]), ""), value=_word(new_id),
                     end=ends[line - 1] or usual)
        if row is None:
            misplaced.append(_by_hand(doc, line, new_id))
        else:
            rows[line - 1] = row
    data = bom + "".join(row + end for row, end in zip(rows, ends)).encode("utf-8")
    places = None if misplaced else _check(doc, data, wanted)
    if places is None:
        problems += misplaced or [_by_hand(doc, line, new_id) for _, line, new_id in wanted]
        return data, []
    return data, places


def _place(row: str, *, key: str, value: str, end: str) -> str | None:
    """One line with `id: value` put before the item's first key, or None if the item isn't where expected."""
    lead = _LEAD.match(row)
    head, rest = row[: lead.end()], row[lead.end():]
    if rest.startswith("{"):  # a flow mapping: {question: Q, answer: A}
        after = rest[1:]
        entry = f" id: {value}," if after.startswith(" ") else f"id: {value}," + " " * bool(after)
        return f"{head}{{{entry}{after}"
    if not (rest.startswith((key, f'"{key}"', f"'{key}'", "? ")) and key):
        return None
    if lead.group(2):  # `  - question: Q` → `  - id: slug` then `    question: Q`
        return f"{head}id: {value}{end}{' ' * len(head)}{rest}"
    return f"{head}id: {value}{end}{row}"  # the item's first key starts its own line


def _word(slug: str) -> str:
    """The slug as YAML text that reads back as that text (quoted only if it would read as true/false/null)."""
    tag = yaml.resolver.Resolver().resolve(yaml.ScalarNode, slug, (True, False))
    return f'"{slug}"' if tag.endswith((":bool", ":null")) else slug


def _check(doc: Document, data: bytes, wanted: list[tuple[int, int, str]]) -> list[tuple[str, str]] | None:
    """Where each new id landed, if the edited file reads as the old one plus exactly those ids."""
    new, found = load_file(doc.path, shown=doc.shown, raw=data)
    cards = new.data.get("cards") if new is not None and isinstance(new.data, Map) else None
    if found or not isinstance(cards, Seq) or len(cards) != len(doc.data["cards"]):
        return None
    places = []
    for index, _, new_id in wanted:
        item = cards[index]
        if not isinstance(item, Map) or item.get("id") != new_id:
            return None
        places.append((f"{doc.shown}:{item.lines['id']}", new_id))
        del item["id"]
    return places if new.data == doc.data else None


def _by_hand(doc: Document, line: int, new_id: str) -> Problem:
    """The problem for an item whose id can't be inserted without rewriting the file."""
    return Problem(path=doc.shown, line=line, message=(
        f"can't insert an id for this card without rewriting the file (is it inside a [...] list?); "
        f"add `id: {new_id}` to it by hand"))
