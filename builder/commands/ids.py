"""`deckbuild ids`: give each item without an id one made from its question, inserting only that line."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from ..pipeline.compile import deck_files, read_input, shown
from ..errors import ContentError
from ..pipeline.load import Document, Map, Seq, load_file
from ..model import Problem
from ..pipeline.validate import CLOZE_ANSWER
from ..collection.yamledit import Change, Edited, edit, write

MAX_WORDS = 6
# Words that say little about which card this is; dropped unless nothing else is left.
SKIP = frozenset(
    "a an the of is are was were be what which who whom whose how why when where do does did "
    "to in on at for by with from and or its it this that these those as".split())
_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ø": "o", "Ø": "o",
                       "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ð": "d", "þ": "th", "Þ": "th"})
_MARKUP = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|<[^>]*>")  # links and images keep their text; tags go


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
    edits: list[Edited] = []
    added: list[tuple[str, str]] = []
    for doc in docs:
        wanted = []
        for index, item, line in _items(doc):
            text = next((item[key] for key in ("question", "cloze") if isinstance(item.get(key), str)), None)
            if text is None and isinstance(item.get("fields"), dict):  # an item of a note type of notetypes.yaml
                text = next((value for value in item["fields"].values() if isinstance(value, str)), None)
            if "id" in item or text is None:
                continue  # an item with neither is left for `check` to explain
            new_id = _unique(slugify(text), taken)
            taken.add(new_id)
            wanted.append((index, line, new_id))
        if wanted:
            edited, places = _insert(doc, wanted, problems)
            edits += [edited] if edited else []
            added += places
    if problems:
        raise ContentError(problems)
    write(edits)
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
            problems: list[Problem]) -> tuple[Edited | None, list[tuple[str, str]]]:
    """The file with each wanted `id:` line inserted before its item's first key, and where each landed."""
    edited = edit(doc, [Change(item=index, key="id", value=new_id) for index, _, new_id in wanted])
    if edited is None:
        problems += [_by_hand(doc, line, new_id) for _, line, new_id in wanted]
        return None, []
    cards = edited.doc.data["cards"]
    return edited, [(f"{doc.shown}:{cards[index].lines['id']}", new_id) for index, _, new_id in wanted]


def _by_hand(doc: Document, line: int, new_id: str) -> Problem:
    """The problem for an item whose id can't be inserted without rewriting the file."""
    return Problem(path=doc.shown, line=line, message=(
        f"can't insert an id for this card without rewriting more of the file; "
        f"add `id: {new_id}` to it by hand"))
