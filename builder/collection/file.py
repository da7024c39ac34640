"""The file route: the collection file opened by deckbuild itself, with Anki closed (today's code, as a session)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import anki_types
from .store import (AnkiNote, Applied, _import_log, backup, backup_interval, convert_notes,
                                   delete_notes, import_package, make_older, move_cards, notetype_fields,
                                   notetype_mods, read_applied, read_notes, remove_cards, write_applied)
from ..pipeline.notetypes import NOTETYPES, NoteType

if TYPE_CHECKING:
    from anki.collection import Collection


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSession:
    """An open collection file: what push, pull and diff read and change, through the `anki` library."""

    col: Collection
    path: Path
    route: str = "file"
    how: str = "Anki is closed"

    def describe(self) -> str:
        return f"via the collection file {self.path} ({self.how})"

    def read_notes(self, ids: Iterable[str], *, since: Mapping[str, int] | None = None,
                   nids: Mapping[str, int] | None = None, guids: Mapping[str, str] | None = None,
                   kinds: Mapping[int, str] | None = None) -> dict[str, AnkiNote]:
        """The notes of these items (`since` only spares the live route's traffic; the file reads in full)."""
        return read_notes(self.col, ids, nids=nids, guids=guids, kinds=kinds)

    def kinds(self, notetypes: Mapping[str, NoteType]) -> dict[int, str]:
        """Note type id -> kind: deckbuild's, the tree's own, and each other type the collection has."""
        return anki_types.kinds_by_id(notetypes, self.col)

    def removed_guids(self, state, gone: Iterable[str]) -> dict[str, str]:
        return anki_types.removed_guids(self.col, state, gone)

    def notetype_mods(self, notetypes: Mapping | None = None) -> dict[str, int]:
        return notetype_mods(self.col, notetypes)

    def notetype_fields(self, notetypes: Mapping) -> dict:
        return notetype_fields(self.col, notetypes)

    def check_own_types(self, notetypes: Mapping[str, NoteType], state) -> None:
        """The file route does everything the tree's own note types need."""

    def cannot_switch(self, old: str, new: str) -> str | None:
        """Why this route can't switch a note between these kinds keeping reviews (never: it can)."""
        return None

    def backup(self) -> Path:
        return backup(self.col, self.path)

    def backup_interval(self) -> int:
        return backup_interval(self.col)

    def import_package(self, apkg: Path, *, by_nid: Mapping[int, str] | None = None) -> dict[str, list[str]]:
        """Import with the README's options; item ids (by note id, else the last field) by outcome."""
        return _import_log(self.col, apkg, by_nid=by_nid)

    def sync_notetypes(self, notetypes: Mapping[str, NoteType]) -> list[str]:
        return anki_types.sync_notetypes(self.col, notetypes)

    def convert_by_name(self, convert, found: Mapping[str, AnkiNote], notetypes: Mapping[str, NoteType]) -> list:
        return anki_types.convert_by_name(self.col, convert, found, notetypes)

    def private_values(self, found: Mapping[str, AnkiNote], notetypes: Mapping[str, NoteType]) -> dict:
        return anki_types.private_values(self.col, found, notetypes)

    def unblock_private_edits(self, notes, found: Mapping[str, AnkiNote], state,
                              notetypes: Mapping[str, NoteType]) -> list[int]:
        return anki_types.unblock_private_edits(self.col, notes, found, state, notetypes)

    def restore_private(self, kept: Mapping[int, Mapping[str, str]]) -> list[int]:
        return anki_types.restore_private(self.col, kept)

    def read_applied(self) -> Applied:
        return read_applied(self.col)

    def write_applied(self, applied: Applied) -> None:
        write_applied(self.col, applied)

    def has_notetype(self, kind: str) -> bool:
        return self.col.models.get(NOTETYPES[kind].id) is not None

    def change_notetype(self, *, old: str, new: str, nids: Sequence[int], fields: Sequence[int],
                        templates: Sequence[int] | None) -> None:
        """Anki's change-notetype operation: the notes switch type and keep their cards (numbers and reviews)."""
        assert templates is None  # a switch keeps card numbers
        convert_notes(self.col, old=old, new=new, nids=list(nids), fields=list(fields))

    def refill(self, *, notes: Sequence[AnkiNote], apkg: Path) -> None:
        """Give these notes the package's content and mod (after a conversion stamped them now)."""
        make_older(self.col, [note.nid for note in notes])
        import_package(self.col, apkg)

    def remove_cards(self, cards: Iterable[tuple[int, int]]) -> None:
        remove_cards(self.col, cards)

    def move_cards(self, *, nid: int, from_deck: str, to_deck: str) -> None:
        move_cards(self.col, nid=nid, from_deck=from_deck, to_deck=to_deck)

    def remove_notes(self, nids: Sequence[int]) -> None:
        delete_notes(self.col, list(nids))
