"""`deckbuild diff`: what importing the build into a real Anki collection would do, tried on a copy."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..pipeline.build import compile_clean, now, plan
from ..errors import UsageError
from ..pipeline.notetypes import NOTETYPES
from ..pipeline.package import Row, write_apkg

if TYPE_CHECKING:
    from anki.collection import Collection

INSTALL = "pip install '.[anki]' (from a clone of deckbuild; it is not on PyPI)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Prediction:
    """The import's outcome per item id, in file order, and the cards a re-import would leave in place."""

    new: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    conflicting: tuple[tuple[str, str, str], ...]  # (id, note type in Anki, note type the build wants)
    moves: tuple[tuple[str, str, str], ...]  # (id, deck its cards are in, deck the YAML asks for)

    def lines(self) -> list[str]:
        """A one-line summary, then one line per note the import would touch, skip or leave in a wrong deck."""
        lines = [f"would add {len(self.new)}, update {len(self.updated)}, leave {len(self.unchanged)} unchanged, "
                 f"{len(self.conflicting)} conflicting"]
        lines += [f"new: {item_id}" for item_id in self.new]
        lines += [f"update: {item_id}" for item_id in self.updated]
        for item_id, current, wanted in self.conflicting:
            if current == wanted:
                why = f"note type '{current}' was changed in Anki; undo that in Tools → Manage Note Types"
            else:
                why = f"it is a '{current}' note in Anki, a '{wanted}' note in the YAML"
            lines.append(f"conflict: {item_id} ({why}, or in Anki, Browse, search \"Id:{item_id}\", "
                         "delete it, then re-import)")
        lines += [f"stays in {current}: {item_id} (wants {wanted})" for item_id, current, wanted in self.moves]
        return lines


def predict(*, cards_dir: Path, collection: Path) -> Prediction:
    """Build the tree to a temporary .apkg, import it into a temporary copy of `collection`, and report."""
    try:
        from anki.collection import Collection
        from anki.errors import DBError
    except ImportError:
        raise UsageError(f"deckbuild diff needs the anki package: {INSTALL}") from None
    if not collection.is_file():
        raise UsageError(f"collection '{collection}' not found")
    compiled, state = compile_clean(cards_dir)
    rows, new_state, _ = plan(compiled.notes, state=state, stamp=now())
    with tempfile.TemporaryDirectory(prefix="deckbuild-diff-") as work:
        apkg = Path(work) / "build.apkg"
        write_apkg(rows=rows, notetype_mods=new_state.notetype_mods, output=apkg)
        copy = Path(work) / "collection.anki2"
        for suffix in ("", "-wal"):
            if Path(f"{collection}{suffix}").is_file():
                shutil.copyfile(f"{collection}{suffix}", f"{copy}{suffix}")
        try:
            col = Collection(str(copy))
        except DBError as err:
            raise UsageError(f"cannot open '{collection}' as an Anki collection: {err}") from None
        try:
            return _import(col, apkg=apkg, rows=rows)
        finally:
            col.close()


def _import(col: Collection, *, apkg: Path, rows: Sequence[Row]) -> Prediction:
    """Import the package into the (copied) collection and read back what happened to each note."""
    from anki.import_export_pb2 import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    request = ImportAnkiPackageRequest(package_path=str(apkg), options=ImportAnkiPackageOptions())
    log = col.import_anki_package(request).log
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
    for item_id in sorted(updated + unchanged, key=order.__getitem__):
        note = rows[order[item_id]].note
        decks = col.db.list("select distinct case when c.odid then c.odid else c.did end from cards c "
                            "join notes n on n.id = c.nid where n.guid = ?", note.guid)
        moves += sorted((item_id, name, note.deck) for name in map(col.decks.name, decks)
                        if name.casefold() != note.deck.casefold())
    return Prediction(new=in_collection(log.new), updated=updated, unchanged=unchanged,
                      conflicting=conflicting, moves=tuple(moves))


def _notetype_name(col: Collection, guid: str) -> str:
    """The name of the note type a collection's note has (a conflicting note is left as it was)."""
    notetype = col.models.get(col.db.scalar("select mid from notes where guid = ?", guid))
    return notetype["name"] if notetype else "unknown"
