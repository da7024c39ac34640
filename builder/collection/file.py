"""The file route: the collection file opened by deckbuild itself, with Anki closed (today's code, as a session)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..commands.collection import (AnkiNote, Applied, _import_log, backup, convert_notes, delete_notes,
                                   import_package, make_older, move_cards, notetype_mods, read_applied, read_notes,
                                   remove_cards, write_applied)
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
        return _import_log(self.col, apkg)

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
