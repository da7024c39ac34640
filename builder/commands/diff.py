"""`deckbuild diff` (= `push --dry-run`): what importing the build into a real collection would do, tried on a copy."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..pipeline.build import compile_clean, now, plan
from ..pipeline.notetypes import NOTETYPES
from ..pipeline.package import Row, write_apkg
from ..collection.route import copy_of
from .collection import import_package, opened, read_notes
from .push import removed_items, tree_decks

if TYPE_CHECKING:
    from anki.collection import Collection


@dataclass(frozen=True, slots=True, kw_only=True)
class Prediction:
    """The import's outcome per item id, in file order, and the cards a re-import would leave in place."""

    new: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    conflicting: tuple[tuple[str, str, str], ...]  # (id, note type in Anki, note type the build wants)
    moves: tuple[tuple[str, str, str], ...]  # (id, deck its cards are in, deck the YAML asks for)
    removed: tuple[str, ...] = ()  # notes in the collection whose items were removed from the tree
    route: str = field(default="", compare=False)  # how the collection was reached
    # The tree's decks, casefolded: cards in any other deck were moved there by hand, and push leaves them.
    tree_decks: frozenset[str] = field(default=frozenset(), compare=False)

    def lines(self) -> list[str]:
        """A one-line summary, then one line per note the import would touch, skip or leave in a wrong deck."""
        lines = [f"would add {len(self.new)}, update {len(self.updated)}, leave {len(self.unchanged)} unchanged, "
                 f"{len(self.conflicting)} conflicting, {len(self.removed)} removed"]
        lines += [f"new: {item_id}" for item_id in self.new]
        lines += [f"update: {item_id}" for item_id in self.updated]
        for item_id, current, wanted in self.conflicting:
            if current == wanted:
                why = f"note type '{current}' was changed in Anki; undo that in Tools → Manage Note Types"
            else:
                why = f"it is a '{current}' note in Anki, a '{wanted}' note in the YAML; push converts it, keeping its reviews"
            lines.append(f"conflict: {item_id} ({why}, or in Anki, Browse, search \"Id:{item_id}\", "
                         "delete it, then re-import)")
        lines += [f"stays in {current}: {item_id} (wants {wanted}; "
                  + ("push moves it)" if current.casefold() in self.tree_decks else
                     "moved by hand outside the tree's decks, so push leaves it)")
                  for item_id, current, wanted in self.moves]
        lines += [f"removed: {item_id} (its item is gone from the tree; push --yes deletes the note)"
                  for item_id in self.removed]
        return lines


def predict(*, cards_dir: Path, collection: Path, via: str | None = None) -> Prediction:
    """Build the tree to a temporary .apkg, import it into a temporary copy of `collection`, and report.

    It works on a copy, so Anki may even be running (what it has not saved yet is not seen).
    """
    compiled, state = compile_clean(cards_dir)
    rows, new_state, _ = plan(compiled.notes, state=state, stamp=now())
    gone = removed_items(state, (note.id for note in compiled.notes))
    with tempfile.TemporaryDirectory(prefix="deckbuild-diff-") as work:
        apkg = Path(work) / "build.apkg"
        write_apkg(rows=rows, notetype_mods=new_state.notetype_mods, output=apkg)
        copy, route = copy_of(collection, Path(work), via=via) if collection.is_file() else (collection, "")
        with opened(copy, command="diff", shown=collection) as col:
            present = read_notes(col, gone)
            prediction = _import(col, apkg=apkg, rows=rows, removed=tuple(i for i in gone if i in present))
    return replace(prediction, tree_decks=tree_decks(compiled.notes, state), route=route)


def _import(col: Collection, *, apkg: Path, rows: Sequence[Row], removed: tuple[str, ...]) -> Prediction:
    """Import the package into the (copied) collection and read back what happened to each note."""
    log = import_package(col, apkg)
    by_guid = {row.note.guid: row.note for row in rows}
    order = {row.note.id: position for position, row in enumerate(rows)}

    def in_collection(entries) -> tuple[str, ...]:
        """Item ids of log entries that name a note of the collection (new, updated, duplicate)."""
        guids = (col.db.scalar("select guid from notes where id = ?", e.id.nid) for e in entries)
        return tuple(sorted((by_guid[g].id for g in guids if g in by_guid), key=order.__getitem__))

    # Anki logs a conflicting note under the id it had in the package: the one the build gave it.
    built = {row.nid: row.note for row in rows}
    conflicting = tuple(
        (note.id, _notetype_name(col, note.guid), NOTETYPES[note.kind].name)
        for note in sorted((built[e.id.nid] for e in log.conflicting), key=lambda n: order[n.id])
    )
    updated, unchanged = in_collection(log.updated), in_collection(log.duplicate)
    moves = []
    current = read_notes(col, updated + unchanged)
    for item_id in sorted(current, key=order.__getitem__):
        wanted = rows[order[item_id]].note.deck
        moves += sorted((item_id, name, wanted) for name in current[item_id].decks
                        if name.casefold() != wanted.casefold())
    return Prediction(new=in_collection(log.new), updated=updated, unchanged=unchanged,
                      conflicting=conflicting, moves=tuple(moves), removed=removed)


def _notetype_name(col: Collection, guid: str) -> str:
    """The name of the note type a collection's note has (a conflicting note is left as it was)."""
    notetype = col.models.get(col.db.scalar("select mid from notes where guid = ?", guid))
    return notetype["name"] if notetype else "unknown"
