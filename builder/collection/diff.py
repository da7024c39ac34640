"""`deckbuild diff` (= `push --dry-run`): what importing the build into a real collection would do, tried on a copy."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..pipeline.build import compile_clean, now, plan
from ..pipeline.notetypes import NOTETYPES
from ..pipeline.package import Row, write_apkg
from .route import copy_of
from .anki_types import kinds_by_id, removed_guids, sync_notetypes
from .store import import_package, opened, read_applied, read_notes
from .push import Plan, make_plan, removed_items, tree_decks

if TYPE_CHECKING:
    from anki.collection import Collection

    from ..pipeline.cache import Cache


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
    plan: Plan | None = field(default=None, compare=False)  # what push would do beyond the import

    def _pushed(self, item_id: str, deck: str) -> bool:
        """Whether push moves this note's cards out of `deck` (else the user put them there, and push leaves them)."""
        return self.plan is not None and any(i == item_id and d == deck for i, d, _ in self.plan.moves)

    def lines(self) -> list[str]:
        """A one-line summary, then one line per note the import would touch, skip or leave in a wrong deck."""
        lines = [f"would add {len(self.new)}, update {len(self.updated)}, leave {len(self.unchanged)} unchanged, "
                 f"{len(self.conflicting)} conflicting, {len(self.removed)} removed"]
        lines += [f"new: {item_id}" for item_id in self.new]
        lines += [f"update: {item_id}" for item_id in self.updated]
        for item_id, current, wanted in self.conflicting:
            if current == wanted:
                lines.append(f"conflict: {item_id} (note type '{current}' was changed in Anki; undo that in "
                             f"Tools → Manage Note Types, or in Anki, Browse, search \"Id:{item_id}\", "
                             "delete it, then re-import)")
            else:  # deleting it would lose its reviews: push converts it
                lines.append(f"conflict: {item_id} (it is a '{current}' note in Anki, a '{wanted}' note in the "
                             "YAML; push converts it, keeping its reviews)")
        lines += [f"stays in {current}: {item_id} (wants {wanted}; "
                  + ("push moves it)" if self._pushed(item_id, current) else
                     "moved there by hand, not where deckbuild put it, so push leaves it)")
                  for item_id, current, wanted in self.moves]
        lines += self.plan.lines() if self.plan is not None else []
        reviews = dict(self.plan.delete) if self.plan is not None else {}
        lines += [f"removed: {item_id} ("
                  + (f"{reviews[item_id]} review{'s' * (reviews[item_id] != 1)}; " if item_id in reviews else "")
                  + "its item is gone from the tree; push --yes deletes the note)" for item_id in self.removed]
        return lines


def predict(*, cards_dir: Path, collection: Path, cache: Cache | None = None, via: str | None = None) -> Prediction:
    """Build the tree to a temporary .apkg, import it into a temporary copy of `collection`, and report.

    It works on a copy, so Anki may even be running (what it has not saved yet is not seen). The tree
    is compiled through `cache` (build's), which gives the same notes as compiling afresh.
    """
    compiled, state = compile_clean(cards_dir, cache=cache)
    rows, new_state, _ = plan(compiled.notes, state=state, stamp=now(), notetypes=compiled.tree.notetypes)
    gone = removed_items(state, (note.id for note in compiled.notes))
    with tempfile.TemporaryDirectory(prefix="deckbuild-diff-") as work:
        apkg = Path(work) / "build.apkg"
        write_apkg(rows=rows, notetype_mods=new_state.notetype_mods, output=apkg, notetypes=compiled.tree.notetypes)
        copy, route = copy_of(collection, Path(work), via=via) if collection.is_file() else (collection, "")
        with opened(copy, command="diff", shown=collection) as col:
            if copy != collection:  # on the copy, as push would: a type whose fields changed is changed in place
                sync_notetypes(col, compiled.tree.notetypes)
            known = {key: entry.nid for key, entry in state.items.items()}
            guids = {**removed_guids(col, state, gone), **{note.id: note.guid for note in compiled.notes}}
            found = read_notes(col, [note.id for note in compiled.notes] + gone, nids=known, guids=guids,
                               kinds=kinds_by_id(compiled.tree.notetypes))
            plan_ = make_plan(notes=compiled.notes, found=found, gone=gone, applied=read_applied(col),
                              decks=tree_decks(compiled.notes, state) | tree_decks((), new_state))
            prediction = _import(col, apkg=apkg, rows=rows, removed=tuple(i for i in gone if i in found),
                                 nids={i: note.nid for i, note in found.items()})
    return replace(prediction, plan=plan_, route=route)


def _import(col: Collection, *, apkg: Path, rows: Sequence[Row], removed: tuple[str, ...],
            nids: dict[str, int]) -> Prediction:
    """Import the package into the (copied) collection and read back what happened to each note.

    `nids` are the note ids read before the import (an import keeps a matched note's id).
    """
    log = import_package(col, apkg)
    by_guid = {row.note.guid: row.note for row in rows}
    order = {row.note.id: position for position, row in enumerate(rows)}

    def in_collection(entries) -> tuple[str, ...]:
        """Item ids of log entries that name a note of the collection (new, updated, duplicate)."""
        logged = [e.id.nid for e in entries]
        held = dict(col.db.all("select id, guid from notes where id in (select value from json_each(?))",
                               json.dumps(logged)))
        guids = (held.get(nid) for nid in logged)
        return tuple(sorted((by_guid[g].id for g in guids if g in by_guid), key=order.__getitem__))

    # Anki logs a conflicting note under the id it had in the package: the one the build gave it.
    built = {row.nid: row.note for row in rows}
    conflicting = tuple(
        (note.id, _notetype_name(col, note.guid), NOTETYPES[note.kind].name if note.kind in NOTETYPES
         else note.kind.removeprefix("type:"))
        for note in sorted((built[e.id.nid] for e in log.conflicting), key=lambda n: order[n.id])
    )
    updated, unchanged = in_collection(log.updated), in_collection(log.duplicate)
    moves = []
    current = _decks(col, {item_id: nids[item_id] for item_id in updated + unchanged if item_id in nids})
    for item_id in sorted(current, key=order.__getitem__):
        wanted = rows[order[item_id]].note.deck
        moves += sorted((item_id, name, wanted) for name in current[item_id]
                        if name.casefold() != wanted.casefold())
    return Prediction(new=in_collection(log.new), updated=updated, unchanged=unchanged,
                      conflicting=conflicting, moves=tuple(moves), removed=removed)


def _decks(col: Collection, nids: dict[str, int]) -> dict[str, tuple[str, ...]]:
    """The home decks of each note's cards after the import, in card order, by item id (the note ids are
    those read before it: an import keeps a matched note's id)."""
    by_nid = {nid: item_id for item_id, nid in nids.items()}
    decks: dict[str, dict[str, None]] = {}
    names: dict[int, str] = {}
    for nid, did in col.db.all("select nid, case when odid then odid else did end from cards "
                               "where nid in (select value from json_each(?)) order by nid, ord",
                               json.dumps(sorted(by_nid))):
        name = names[did] if did in names else names.setdefault(did, col.decks.name(did))
        decks.setdefault(by_nid[nid], {})[name] = None
    return {item_id: tuple(found) for item_id, found in decks.items()}


def _notetype_name(col: Collection, guid: str) -> str:
    """The name of the note type a collection's note has (a conflicting note is left as it was)."""
    notetype = col.models.get(col.db.scalar("select mid from notes where guid = ?", guid))
    return notetype["name"] if notetype else "unknown"
