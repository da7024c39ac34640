"""The live route: the collection Anki has open, changed through deckbuild's companion add-on on loopback."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..commands.collection import KINDS, AnkiNote
from ..pipeline.notetypes import NOTETYPES
from ..pipeline.render import guid_for
from .client import Client


@dataclass(slots=True, kw_only=True)
class LiveSession:
    """The running Anki's collection, through deckbuild's add-on: the same calls as a FileSession."""

    client: Client
    path: Path  # the collection Anki has open (checked against --collection)
    route: str = "anki"
    step: int | None = field(default=None)

    def describe(self) -> str:
        return f"via Anki (deckbuild's add-on on 127.0.0.1:{self.client.port}, collection {self.path})"

    def begin(self, name: str) -> None:
        """Start one step on Anki's Edit → Undo that every change until `end` joins."""
        self.step = int(self.client.call("beginUndo", name=name))

    def end(self) -> None:
        if self.step is not None:
            self.client.call("endUndo", step=self.step)
            self.step = None

    def read_notes(self, ids: Iterable[str]) -> dict[str, AnkiNote]:
        by_guid = {guid_for(item_id): item_id for item_id in ids}
        found = {}
        for guid, nid, mid, mod, fields, tags, decks in self.client.call("notesByGuid", guids=list(by_guid)):
            item_id = by_guid[guid]
            found[item_id] = AnkiNote(id=item_id, nid=nid, kind=KINDS.get(mid), fields=tuple(fields),
                                      tags=tuple(tags), mod=mod, decks=tuple(decks))
        return found

    def notetype_mods(self) -> dict[str, int]:
        mods = self.client.call("notetypeMods", ids=[notetype.id for notetype in NOTETYPES.values()])
        return {kind: mods[str(notetype.id)] for kind, notetype in NOTETYPES.items() if str(notetype.id) in mods}

    def backup(self) -> Path:
        return Path(str(self.client.call("createBackup")))

    def import_package(self, apkg: Path) -> dict[str, list[str]]:
        log = self.client.call("importPackageLog", path=str(apkg.resolve()))
        return {name: [item_id for _, item_id in log[name]] for name in ("new", "updated", "duplicate", "conflicting")}

    def has_notetype(self, kind: str) -> bool:
        return bool(self.client.call("notetypeMods", ids=[NOTETYPES[kind].id]))

    def change_notetype(self, *, old: str, new: str, nids: Sequence[int], fields: Sequence[int],
                        templates: Sequence[int] | None) -> None:
        self.client.call("changeNotetype", old=NOTETYPES[old].id, new=NOTETYPES[new].id, notes=list(nids),
                         fields=list(fields), templates=None if templates is None else list(templates))

    def refill(self, *, notes: Sequence[AnkiNote], apkg: Path) -> None:
        """The package's content and mod for these notes: a package of just them, imported "always"."""
        with tempfile.TemporaryDirectory(prefix=".deckbuild-tmp-refill-") as work:
            only = only_notes(apkg, guids={guid_for(note.id) for note in notes}, work=Path(work))
            self.client.call("importPackageLog", path=str(only), always=True)

    def move_cards(self, *, nid: int, from_deck: str, to_deck: str) -> None:
        self.client.call("moveCards", note=nid, fromDeck=from_deck, toDeck=to_deck)

    def remove_notes(self, nids: Sequence[int]) -> None:
        self.client.call("deleteNotes", notes=list(nids))


def only_notes(apkg: Path, *, guids: set[str], work: Path) -> Path:
    """A copy of a deckbuild package holding only the notes with these GUIDs (and their cards)."""
    db = work / "collection.anki2"
    out = work / "only.apkg"
    with zipfile.ZipFile(apkg) as package, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in package.infolist():
            if info.filename == "collection.anki2":
                with package.open(info) as source, db.open("wb") as target:
                    shutil.copyfileobj(source, target)
                with sqlite3.connect(db) as con:
                    wanted = list(guids)
                    con.execute("create temp table keep (guid text primary key)")
                    con.executemany("insert or ignore into keep values (?)", ((g,) for g in wanted))
                    con.execute("delete from notes where guid not in (select guid from keep)")
                    con.execute("delete from cards where nid not in (select id from notes)")
                con.close()
                copy.write(db, "collection.anki2")
            else:
                copy.writestr(info, package.read(info))
    return out
