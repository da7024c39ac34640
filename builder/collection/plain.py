"""The live route through plain AnkiConnect: only its long-standing actions, and what they can't do is left, listed.

AnkiConnect's notesInfo has no GUID: notes are found by their Id field (deckbuild's item id) and confirmed by it.
It can't switch a note between Q/A and cloze keeping its reviews, report note type mods, undo as one step, or say
which collection is open. A card's deck is its current deck (AnkiConnect's getDecks), not the home deck of a card
in a filtered deck.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .store import AnkiCard, AnkiNote, Applied
from ..pipeline.notetypes import NOTETYPES
from ..pipeline.render import guid_for
from .live import LiveSession, only_notes

KIND_BY_NAME = {notetype.name: kind for kind, notetype in NOTETYPES.items()}
CHUNK = 20  # up to this many item ids are searched by their Id field


@dataclass(slots=True, kw_only=True)
class PlainSession(LiveSession):
    """The running Anki through AnkiConnect: the calls a LiveSession answers, with AnkiConnect's actions."""

    route: str = "ankiconnect"
    can_remove_cards: bool = False
    nids: dict[str, int] = field(default_factory=dict)  # item id -> note id, as the state file records them

    def describe(self) -> str:
        return (f"via Anki (AnkiConnect on 127.0.0.1:{self.client.port}; it can't say which collection Anki has "
                f"open, so --collection {self.path} was not checked)")

    def begin(self, name: str) -> None:
        """AnkiConnect has no undo step: each change is its own."""

    def end(self) -> None:
        pass

    def read_notes(self, ids: Iterable[str], *, since: Mapping[str, int] | None = None,
                   nids: Mapping[str, int] | None = None, guids: Mapping[str, str] | None = None,
                   kinds: Mapping[int, str] | None = None) -> dict[str, AnkiNote]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        # deckbuild's notes by their note types (an indexed search), each confirmed by its Id field below: a
        # search on the Id field itself reads every note's fields once per id (minutes for thousands).
        # Each item through the note id the state file records (confirmed below by the note's Id field); the
        # others by a search: their Id field when few (a field search reads every note once per id), else all of
        # deckbuild's notes by note type (an indexed search).
        nids = [self.nids[i] for i in wanted if i in self.nids]
        unknown = [i for i in wanted if i not in self.nids]
        if unknown:
            query = " OR ".join(f'"Id:{_quoted(i)}"' for i in unknown) if len(unknown) <= CHUNK else \
                " OR ".join(f'"note:{n.name}"' for n in NOTETYPES.values())
            nids += self.call("findNotes", query=query)
        if not nids:
            return {}
        infos = [info for info in self.call("notesInfo", notes=sorted(set(nids))) if info]
        deck_of = self._decks([c for info in infos for c in info["cards"]])
        found, wanted_set, now = {}, set(wanted), int(time.time())
        for info in infos:
            fields = [v["value"] for _, v in sorted(info["fields"].items(), key=lambda kv: kv[1]["order"])]
            item_id = info["fields"].get("Id", {}).get("value")
            if item_id not in wanted_set:  # found by a wildcard, or not deckbuild's note: not this item
                continue
            # Older AnkiConnect releases give no note mod: taken as now, so pull judges by content alone.
            mod = info.get("mod") or now
            found[item_id] = AnkiNote(id=item_id, nid=info["noteId"], kind=KIND_BY_NAME.get(info["modelName"]),
                                      fields=tuple(fields), tags=tuple(info["tags"]), mod=mod,
                                      decks=tuple(dict.fromkeys(deck_of[c] for c in info["cards"] if c in deck_of)),
                                      # notesInfo lists a note's cards by number; their reviews it doesn't tell
                                      cards=tuple(AnkiCard(id=c, ord=n, deck=deck_of.get(c, ""), reviews=0)
                                                  for n, c in enumerate(info["cards"])))
        return found

    def _decks(self, cards: list[int]) -> dict[int, str]:
        """Each card's deck, through getDecks (cardsInfo renders every card: far too slow for thousands)."""
        return {card: deck for deck, ids in (self.call("getDecks", cards=cards) if cards else {}).items()
                for card in ids}

    def notetype_mods(self, notetypes: object = None) -> dict[str, int]:
        return {}  # AnkiConnect doesn't tell

    def cannot_switch(self, old: str, new: str) -> str | None:
        """AnkiConnect can make no switch that keeps reviews."""
        return ("AnkiConnect can't switch Q/A ↔ cloze keeping reviews; left as it is: push again with deckbuild's "
                "add-on, or with Anki closed")

    def backup_interval(self) -> int:
        return 0  # AnkiConnect can't tell Anki's: every push backs up

    def backup(self) -> Path:
        """An exportPackage, with scheduling, of each top-level deck holding deckbuild's notes, beside the collection."""
        nids = self.call("findNotes", query=" OR ".join(f'"note:{n.name}"' for n in NOTETYPES.values()))
        cards = [c for info in self.call("notesInfo", notes=nids) if info for c in info["cards"]] if nids else []
        decks = {deck.split("::")[0] for deck in self._decks(cards).values()}
        folder = self.path.parent / "backups"
        folder.mkdir(exist_ok=True)
        stamp = time.strftime("%Y-%m-%d-%H.%M.%S")
        made = []
        for deck in sorted(decks):
            target = folder / f"deckbuild-{deck.replace('/', '_')}-{stamp}.apkg"
            self.call("exportPackage", deck=deck, path=str(target.resolve()), includeSched=True)
            made.append(target)
        self.saved = made[0] if len(made) == 1 else folder
        return self.saved

    def import_package(self, apkg: Path, *, by_nid: object = None) -> dict[str, list[str]]:
        """importPackage (AnkiConnect answers only true), and the outcome per note read before and after."""
        kinds, nids = package_notes(apkg)
        self.nids.update(nids)  # a package's notes keep their note ids in the collection
        before = self.read_notes(kinds)
        # A note whose kind switched would make AnkiConnect's import fail as a whole: it is left out, untouched.
        switched = {i for i, kind in kinds.items() if i in before and before[i].kind not in (None, kind)}
        with tempfile.TemporaryDirectory(prefix=".deckbuild-tmp-import-") as work:
            if switched:
                apkg = only_notes(apkg, guids={guid_for(i) for i in kinds if i not in switched}, work=Path(work))
            self.call("importPackage", path=str(apkg.resolve()))
        after = self.read_notes(kinds)
        log: dict[str, list[str]] = {"new": [], "updated": [], "duplicate": [], "conflicting": []}
        for item_id, kind in kinds.items():
            old, new = before.get(item_id), after.get(item_id)
            if new is None:
                continue
            if old is None:
                log["new"].append(item_id)
            elif new.kind != kind:
                log["conflicting"].append(item_id)
            elif (old.fields, old.tags) != (new.fields, new.tags):  # (older AnkiConnect gives no mod to compare)
                log["updated"].append(item_id)
            else:
                log["duplicate"].append(item_id)
        return log

    def read_applied(self) -> Applied:
        return Applied(decks={})  # AnkiConnect can't read the collection's config: decks by the tree's rule

    def write_applied(self, applied: Applied) -> None:
        """AnkiConnect can't write the collection's config: nothing is recorded."""

    def remove_cards(self, cards: Iterable[tuple[int, int]]) -> None:
        if list(cards):
            raise AssertionError("AnkiConnect can't remove cards; push refuses before any change")

    def has_notetype(self, kind: str) -> bool:
        return NOTETYPES[kind].name in self.call("modelNames")

    def change_notetype(self, **_: object) -> None:
        raise AssertionError("AnkiConnect can't switch note types keeping reviews; push leaves those notes")

    def move_cards(self, *, nid: int, from_deck: str, to_deck: str) -> None:
        [info] = self.call("notesInfo", notes=[nid])
        cards = [card for card, deck in self._decks(info["cards"]).items() if deck == from_deck]
        if cards:
            self.call("changeDeck", cards=cards, deck=to_deck)

    def remove_notes(self, nids: Sequence[int]) -> None:
        self.call("deleteNotes", notes=list(nids))


def _quoted(item_id: str) -> str:
    """An item id as an exact field search: Anki's wildcards and quotes escaped."""
    return item_id.replace("\\", "\\\\").replace('"', '\\"').replace("*", "\\*").replace("_", "\\_")


def package_notes(apkg: Path) -> tuple[dict[str, str], dict[str, int]]:
    """Each note of a deckbuild package by item id (its last field): its kind, and its note id."""
    with tempfile.TemporaryDirectory(prefix=".deckbuild-tmp-read-") as work:
        db = Path(work) / "collection.anki2"
        with zipfile.ZipFile(apkg) as package:
            db.write_bytes(package.read("collection.anki2"))
        con = sqlite3.connect(db)
        try:
            rows = con.execute("select id, mid, flds from notes order by id").fetchall()
        finally:
            con.close()
    kinds = {notetype.id: kind for kind, notetype in NOTETYPES.items()}
    return ({flds.split("\x1f")[-1]: kinds.get(mid, "") for _, mid, flds in rows},
            {flds.split("\x1f")[-1]: nid for nid, _, flds in rows})
