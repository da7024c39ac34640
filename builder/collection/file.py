"""The file route: the collection file opened by deckbuild itself, with Anki closed (today's code, as a session)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..commands.collection import AnkiNote, backup, import_package, notetype_mods, read_notes
from ..pipeline.notetypes import NOTETYPES

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

    def read_notes(self, ids: Iterable[str], *, since: Mapping[str, int] | None = None) -> dict[str, AnkiNote]:
        """The notes of these items (`since` only spares the live route's traffic; the file reads in full)."""
        return read_notes(self.col, ids)

    def notetype_mods(self) -> dict[str, int]:
        return notetype_mods(self.col)

    def backup(self) -> Path:
        return backup(self.col, self.path)

    def import_package(self, apkg: Path) -> dict[str, list[str]]:
        """Import with the README's options; item ids (the last field) by outcome."""
        log = import_package(self.col, apkg)
        return {name: [entry.fields[-1] for entry in getattr(log, name)]
                for name in ("new", "updated", "duplicate", "conflicting")}

    def has_notetype(self, kind: str) -> bool:
        return self.col.models.get(NOTETYPES[kind].id) is not None

    def change_notetype(self, *, old: str, new: str, nids: Sequence[int], fields: Sequence[int],
                        templates: Sequence[int] | None) -> None:
        """Anki's change-notetype operation: the notes switch type and keep their cards' reviews."""
        request = self.col.models.change_notetype_info(old_notetype_id=NOTETYPES[old].id,
                                                       new_notetype_id=NOTETYPES[new].id).input
        request.note_ids.extend(nids)
        del request.new_fields[:]
        request.new_fields.extend(fields)
        if templates is not None:
            del request.new_templates[:]
            request.new_templates.extend(templates)
        self.col.models.change_notetype_of_notes(request)

    def refill(self, *, notes: Sequence[AnkiNote], apkg: Path) -> None:
        """Give these notes the package's content and mod (after a conversion stamped them now)."""
        nids = [note.nid for note in notes]
        self.col.db.execute(f"update notes set mod = 0 where id in ({','.join('?' * len(nids))})", *nids)
        import_package(self.col, apkg)

    def move_cards(self, *, nid: int, from_deck: str, to_deck: str) -> None:
        """Move a note's cards whose home deck is `from_deck` to `to_deck`."""
        home = self.col.decks.id_for_name(from_deck)
        cards = self.col.db.list("select id from cards where nid = ? and (case when odid then odid else did end) = ?",
                                 nid, home)
        self.col.set_deck(cards, self.col.decks.id(to_deck, create=True))

    def remove_notes(self, nids: Sequence[int]) -> None:
        self.col.remove_notes(list(nids))
