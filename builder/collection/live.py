"""The live route: the collection Anki has open, changed through deckbuild's companion add-on on loopback."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .store import APPLIED, KINDS, AnkiCard, AnkiNote, Applied, applied_record, parse_applied
from ..errors import EnvironmentFault
from ..pipeline.notetypes import NOTETYPES, NoteType
from ..pipeline.render import guid_for
from .client import Client, Refused, Unreachable

READS = frozenset({"notesByGuid", "notetypeMods", "deckbuildVersion", "collectionPath", "beginUndo", "undoStatus",
                   "createBackup", "backupInterval", "findNotes", "notesInfo", "cardsInfo", "getDecks", "modelNames", "version"})


def _reads(action: str, params: dict) -> bool:
    """Whether an action leaves the collection as it was."""
    return action in READS or (action == "deckbuildConfig" and "value" not in params)


@dataclass(slots=True, kw_only=True)
class LiveSession:
    """The running Anki's collection, through deckbuild's add-on: the same calls as a FileSession."""

    client: Client
    path: Path  # the collection Anki has open (checked against --collection)
    route: str = "anki"
    step: int | None = field(default=None)
    changed: bool = False  # whether a change was sent to Anki
    saved: Path | None = None  # the backup made before the first change

    def call(self, action: str, **params: object) -> object:
        """One action; a failure is exit 3 saying whether the collection was changed, and how to undo it."""
        try:
            result = self.client.call(action, **params)
        except (Unreachable, Refused) as err:
            raise EnvironmentFault(self._failed(action, err)) from None
        if not _reads(action, params):
            self.changed = True
        return result

    def _failed(self, action: str, err: Exception) -> str:
        """What went wrong, and what state the collection is in."""
        broke = isinstance(err, Unreachable)
        what = (f"Anki stopped answering during '{action}' ({err})" if broke
                else f"Anki refused '{action}': {err}")
        sent = self.changed or (broke and err.sent and not _reads(action, {}))
        if not sent:
            return f"{what}; nothing was changed"
        undo = f"; the backup {self.saved} has the collection as it was before" if self.saved else ""
        return (f"{what}; the collection may be partly changed (Edit → Undo in Anki, or run the command again "
                f"once Anki is back{undo})")

    def describe(self) -> str:
        return f"via Anki (deckbuild's add-on on 127.0.0.1:{self.client.port}, collection {self.path})"

    def begin(self, name: str) -> None:
        """Start one step on Anki's Edit → Undo that every change until `end` joins."""
        self.step = int(self.call("beginUndo", name=name))

    def end(self) -> None:
        if self.step is not None:
            self.call("endUndo", step=self.step)
            self.step = None

    def read_notes(self, ids: Iterable[str], *, since: Mapping[str, int] | None = None,
                   nids: Mapping[str, int] | None = None, guids: Mapping[str, str] | None = None,
                   kinds: Mapping[int, str] | None = None) -> dict[str, AnkiNote]:
        """The notes of these items; with `since` (item id -> mod), a note not newer has no fields or tags (empty).

        That is pull's cheap first answer: only the notes edited since the last build travel in full. `guids` are
        GUIDs known already; the add-on finds notes by GUID, so `nids` (the file route's hint) is not needed.
        """
        guids = guids or {}
        kinds = {**KINDS, **(kinds or {})}
        by_guid = {guids.get(item_id) or guid_for(item_id): item_id for item_id in ids}
        known = {guids.get(i) or guid_for(i): mod for i, mod in (since or {}).items()}
        found = {}
        for guid, nid, mid, mod, fields, tags, decks, cards in self.call("notesByGuid", guids=list(by_guid),
                                                                       since=known):
            item_id = by_guid[guid]
            found[item_id] = AnkiNote(id=item_id, nid=nid, kind=kinds.get(mid), fields=tuple(fields or ()),
                                      tags=tuple(tags or ()), mod=mod, decks=tuple(decks),
                                      cards=tuple(AnkiCard(id=cid, ord=ord_, deck=deck, reviews=reviews)
                                                  for cid, ord_, deck, reviews in cards))
        return found

    def notetype_mods(self, notetypes: Mapping | None = None) -> dict[str, int]:
        every = [*NOTETYPES.values(), *(notetypes or {}).values()]
        mods = self.call("notetypeMods", ids=[notetype.id for notetype in every])
        return {t.kind: mods[str(t.id)] for t in every if str(t.id) in mods}

    def kinds(self, notetypes: Mapping[str, NoteType]) -> dict[int, str]:
        """Note type id -> kind: deckbuild's and the tree's own (another type's notes are no item's: kind None)."""
        return {t.id: t.kind for t in [*NOTETYPES.values(), *notetypes.values()]}

    def check_own_types(self, notetypes: Mapping[str, NoteType], state) -> None:
        """Refuse (exit 3, before any change) a tree with note types of its own: the live route can't change a
        note type, switch notes to or from one, or keep private fields yet."""
        own = sorted(notetypes) or sorted({e.kind for e in state.items.values() if e.kind not in NOTETYPES})
        if own:
            raise EnvironmentFault(
                f"the tree has note types of its own ({', '.join(own)}), which the live route can't handle yet "
                "(changing a type, switching notes to or from one, private fields): close Anki and run it again "
                "(--via file); nothing was changed")

    def cannot_switch(self, old: str, new: str) -> str | None:
        """Why the route can't switch these kinds keeping reviews: only Q/A ↔ cloze goes through the add-on."""
        if old in NOTETYPES and new in NOTETYPES:
            return None
        return ("deckbuild's add-on can't switch a note to or from a note type of your own yet; left as it is: "
                "push again with Anki closed")

    def removed_guids(self, state, gone: Iterable[str]) -> dict[str, str]:
        return {}  # only a tree's own types carry GUIDs of their own, and the live route refuses those

    def notetype_fields(self, notetypes: Mapping) -> dict:
        return {}  # only for a tree's own types, which the live route refuses

    def backup(self) -> Path:
        self.saved = Path(str(self.call("createBackup")))
        return self.saved

    def backup_interval(self) -> int:
        """Anki's minimum time between its automatic backups, in minutes (0, so a backup is made, if not told)."""
        try:
            return int(self.client.call("backupInterval"))
        except (Refused, Unreachable, TypeError, ValueError):
            return 0

    def import_package(self, apkg: Path, *, by_nid: Mapping[int, str] | None = None) -> dict[str, list[str]]:
        log = self.call("importPackageLog", path=str(apkg.resolve()))
        by_nid = by_nid or {}
        return {name: [by_nid.get(nid, item_id) for nid, item_id in log[name]]
                for name in ("new", "updated", "duplicate", "conflicting")}

    def sync_notetypes(self, notetypes: Mapping[str, NoteType]) -> list[str]:
        self.check_own_types(notetypes, _NO_STATE)
        return []

    def convert_by_name(self, convert, found: Mapping[str, AnkiNote], notetypes: Mapping[str, NoteType]) -> list:
        """Switches to or from a tree's own types: none here (push leaves them, listed, before any change)."""
        if any(self.cannot_switch(old, new) for _, old, new in convert):
            raise AssertionError("the live route can't switch to or from a tree's own type; push leaves those")
        return []

    def private_values(self, found: Mapping[str, AnkiNote], notetypes: Mapping[str, NoteType]) -> dict:
        self.check_own_types(notetypes, _NO_STATE)
        return {}

    def unblock_private_edits(self, notes, found, state, notetypes: Mapping[str, NoteType]) -> list[int]:
        return []

    def restore_private(self, kept: Mapping[int, Mapping[str, str]]) -> list[int]:
        return []

    def read_applied(self) -> Applied:
        return parse_applied(self.call("deckbuildConfig", key=APPLIED))

    def write_applied(self, applied: Applied) -> None:
        self.call("deckbuildConfig", key=APPLIED, value=applied_record(applied))

    def remove_cards(self, cards: Iterable[tuple[int, int]]) -> None:
        """Remove cards, each named by its note id and card number."""
        pairs = [[nid, ord_] for nid, ord_ in cards]
        if pairs:
            self.call("removeCards", cards=pairs)

    def has_notetype(self, kind: str) -> bool:
        return bool(self.call("notetypeMods", ids=[NOTETYPES[kind].id]))

    def change_notetype(self, *, old: str, new: str, nids: Sequence[int], fields: Sequence[int],
                        templates: Sequence[int] | None) -> None:
        self.call("changeNotetype", old=NOTETYPES[old].id, new=NOTETYPES[new].id, notes=list(nids),
                         fields=list(fields), templates=None if templates is None else list(templates))

    def refill(self, *, notes: Sequence[AnkiNote], apkg: Path) -> None:
        """The package's content and mod for these notes: a package of just them, imported "always"."""
        with tempfile.TemporaryDirectory(prefix=".deckbuild-tmp-refill-") as work:
            only = only_notes(apkg, guids={guid_for(note.id) for note in notes}, work=Path(work))
            self.call("importPackageLog", path=str(only), always=True)

    def move_cards(self, *, nid: int, from_deck: str, to_deck: str) -> None:
        self.call("moveCards", note=nid, fromDeck=from_deck, toDeck=to_deck)

    def remove_notes(self, nids: Sequence[int]) -> None:
        self.call("deleteNotes", notes=list(nids))


class _NoState:
    """A state with no items (for checks that only look at the tree's note types)."""

    items: dict = {}


_NO_STATE = _NoState()


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
