"""`deckbuild push`: build, then apply the build to a collection completely: import, delete, move, convert."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..pipeline.build import Summary, build, compile_clean, default_output
from ..pipeline.notetypes import NOTETYPES
from ..pipeline.output import check_output
from ..model import Note
from ..pipeline.state import FILENAME, State, read_state, save_state
from ..collection.route import session
from .collection import AnkiNote

if TYPE_CHECKING:
    from ..collection.file import FileSession
    from ..collection.live import LiveSession

    Session = FileSession | LiveSession

# How a note's fields move when it switches type: for each field of the new type, the old field's index (-1: empty).
FIELD_MAP = {("qa", "cloze"): [0, 2, 3, 4, 5, 7], ("cloze", "qa"): [0, -1, 1, 2, 3, 4, -1, 5]}
# Which old card each new template takes (review history goes with it); a cloze keeps its card numbers.
TEMPLATE_MAP = {("qa", "cloze"): None, ("cloze", "qa"): [0, -1]}


@dataclass(frozen=True, slots=True, kw_only=True)
class PushReport:
    """What a push did to the collection."""

    backup: Path
    summary: Summary
    added: int
    updated: int
    unchanged: int
    conflicting: tuple[str, ...]
    converted: tuple[tuple[str, str, str], ...]  # (id, old kind, new kind)
    moved: tuple[tuple[str, str, str], ...]  # (id, from deck, to deck)
    left: tuple[tuple[str, str, str], ...]  # (id, deck the user moved it to, deck the YAML asks for)
    deleted: tuple[str, ...]
    kept: tuple[str, ...]  # removed items whose notes were not deleted (no --yes, no answer)
    unconverted: tuple[str, ...] = ()  # Q/A <-> cloze switches the route can't make keeping reviews (AnkiConnect)
    route: str = ""  # how the collection was reached

    def lines(self) -> list[str]:
        """One line per thing done, then a summary."""
        lines = [f"backup: {self.backup}"]
        lines += [f"converted: {i} from {NOTETYPES[a].name} to {NOTETYPES[b].name} (reviews kept)"
                  for i, a, b in self.converted]
        lines += [f"moved: {i} from {a} to {b}" for i, a, b in self.moved]
        lines += [f"left in {a}: {i} (moved there by hand, outside this tree's decks; the YAML says {b})"
                  for i, a, b in self.left]
        lines += [f"deleted: {i}" for i in self.deleted]
        lines += [f"not deleted: {i} (its item is gone from the tree; push --yes deletes it)" for i in self.kept]
        lines += [f"not converted: {i} (AnkiConnect can't switch Q/A ↔ cloze keeping reviews; left as it is: push "
                  "again with deckbuild's add-on, or with Anki closed)" for i in self.unconverted]
        lines += [f"conflicting: {i} (the note type was changed in Anki; undo that in Tools → Manage Note Types)"
                  for i in self.conflicting]
        lines.append(f"pushed {self.summary.output}: {self.added} added, {self.updated} updated, "
                     f"{self.unchanged} unchanged, {len(self.converted)} converted, {len(self.moved)} moved, "
                     f"{len(self.deleted)} deleted")
        return lines


def push(*, cards_dir: Path, collection: Path, output: Path | None = None, force: bool = False, yes: bool = False,
         confirm: Callable[[Sequence[str]], bool] | None = None, via: str | None = None) -> PushReport:
    """Build the tree, back the collection up, and apply the build to it; `confirm` asks before deleting notes."""
    compiled, state = compile_clean(cards_dir)  # every content error before anything is touched
    output = output or default_output(compiled.notes)
    check_output(output, cards_dir=cards_dir, force=force)  # before the backup: nothing happens if it's refused
    tree_ids = [note.id for note in compiled.notes]
    gone = removed_items(state, tree_ids)
    # The file, or the running Anki (one step on its Edit → Undo); exit 3 before anything is written if neither.
    with session(collection, command="push", via=via, undo="deckbuild push",
                 nids={key: entry.nid for key, entry in state.items.items()}) as col:
        saved = col.backup()
        summary = build(cards_dir=cards_dir, output=output, force=force)
        log = col.import_package(summary.output)
        before = col.read_notes(tree_ids)
        converted = _convert(col, compiled.notes, before)
        unconverted = [] if getattr(col, "can_convert", True) else [
            note.id for note in compiled.notes if note.id in before and before[note.id].kind not in (None, note.kind)]
        if converted:  # the conversion stamped them now: give them the build's content and mod
            col.refill(notes=[before[i] for i, _, _ in converted], apkg=summary.output)
        after = col.read_notes(tree_ids + gone)
        moved, left = _move(col, compiled.notes, after, tree_decks=tree_decks(compiled.notes, state))
        doomed = [i for i in gone if i in after]
        deleted = doomed if doomed and (yes or (confirm is not None and confirm(doomed))) else []
        if deleted:
            col.remove_notes([after[i].nid for i in deleted])
        _prune(cards_dir, deleted)
    converted_ids = {i for i, _, _ in converted}
    return PushReport(
        backup=saved, summary=summary, added=len(log["new"]), updated=len(log["updated"]) + len(converted),
        unchanged=len(log["duplicate"]), conflicting=tuple(i for i in log["conflicting"] if i not in converted_ids and i not in unconverted),
        converted=tuple(converted), moved=tuple(moved), left=tuple(left), deleted=tuple(deleted),
        kept=tuple(i for i in doomed if i not in deleted), unconverted=tuple(unconverted), route=col.describe())


def removed_items(state: State, tree_ids: Iterable[str]) -> list[str]:
    """The ids the state knows and the tree no longer has (its tombstones): notes whose items were removed."""
    present = set(tree_ids)
    return sorted(key for key in state.items if key not in present)


def tree_decks(notes: Sequence[Note], state: State) -> frozenset[str]:
    """The tree's decks, casefolded: any deck an item uses now or used at the last build.

    Cards in any other deck were put there by hand, and push leaves them there.
    """
    return frozenset({note.deck.casefold() for note in notes} | {e.deck.casefold() for e in state.items.values()})


def _convert(col: Session, notes: Sequence[Note], found: dict[str, AnkiNote]) -> list[tuple[str, str, str]]:
    """Switch each note whose item changed between Q/A and cloze to the other note type, keeping its cards' reviews."""
    converted = []
    for (old, new), mapping in FIELD_MAP.items():
        switched = [note.id for note in notes
                    if note.id in found and found[note.id].kind == old and note.kind == new]
        if not switched or not getattr(col, "can_convert", True) or not col.has_notetype(new):
            continue
        col.change_notetype(old=old, new=new, nids=[found[i].nid for i in switched], fields=mapping,
                            templates=TEMPLATE_MAP[(old, new)])
        converted += [(i, old, new) for i in switched]
    return converted


def _move(col: Session, notes: Sequence[Note], found: dict[str, AnkiNote], *,
          tree_decks: frozenset[str]) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """Move cards to their item's deck, unless the user put them in a deck outside the tree's decks."""
    moved, left = [], []
    for note in notes:
        current = found.get(note.id)
        if current is None or not current.decks:
            continue
        for deck in current.decks:
            if deck.casefold() == note.deck.casefold():
                continue
            if deck.casefold() not in tree_decks:
                left.append((note.id, deck, note.deck))
                continue
            col.move_cards(nid=current.nid, from_deck=deck, to_deck=note.deck)
            moved.append((note.id, deck, note.deck))
    return moved, left


def _prune(cards_dir: Path, deleted: Sequence[str]) -> None:
    """Drop the deleted notes' entries (tombstones) from the state file."""
    state, problems = read_state(cards_dir, shown=str(cards_dir / FILENAME))
    if problems or not any(i in state.items for i in deleted):
        return
    save_state(cards_dir, State(items={k: e for k, e in state.items.items() if k not in deleted},
                                notetypes=state.notetypes))
