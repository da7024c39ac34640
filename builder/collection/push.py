"""`deckbuild push`: build, then apply the build to a collection completely: import, convert, remove, move, delete.

A push reads what the collection holds (`collection.read_notes`, `read_applied`), compares it with
the YAML to make a `Plan` (here), and applies the plan (`collection.apply_plan`); another route to
a collection reads and applies in its own way and shares the plan. It never decides from what the
last build recorded, so a push stopped at any point is finished by the next one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import EnvironmentFault
from ..pipeline.build import Summary, build, compile_clean, default_output, tree_locked
from ..pipeline.cache import Cache
from ..pipeline.hooks import pause
from ..pipeline.lock import collection_lock, locked
from ..pipeline.notetypes import NOTETYPES
from ..pipeline.output import check_output
from ..model import Note
from ..pipeline.state import FILENAME, State, read_state, save_state
from .route import session
from .store import AnkiNote, Applied, apply_plan, last_backup


# A switch keeps card numbers. Only card 1 is the same fact on both sides (the forward card, c1):
# a reverse card asks the other way round and a c2 hides another part, so neither has a counterpart.
SAME_FACT = frozenset({0})


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What a push will do to a collection, decided from what it holds and what the YAML says."""

    convert: tuple[tuple[str, str, str], ...]  # (id, old kind, new kind)
    refill: tuple[str, ...]  # converted by a stopped push, not yet filled from the build
    remove: tuple[tuple[str, int, int, str], ...]  # cards the build no longer makes: (id, number, reviews, name)
    moves: tuple[tuple[str, str, str], ...]  # (id, from deck, to deck)
    left: tuple[tuple[str, str, str], ...]  # (id, deck the user moved it to, deck the YAML asks for)
    delete: tuple[tuple[str, int], ...]  # notes of removed items: (id, reviews)
    deleted_before: tuple[str, ...]  # deleted by a stopped push: only their tombstones are left to drop

    def needs_yes(self) -> list[str]:
        """What a push removes only with --yes (or an answer): one line each."""
        return ([f"note {i} ({_reviews(n)})" for i, n in self.delete]
                + [f"card {i} {name} ({_reviews(n)})" for i, _, n, name in self.remove])

    def lines(self) -> list[str]:
        """What the plan will do, one line each, for diff (= push --dry-run)."""
        lines = [f"convert: {i} from {_name(a)} to {_name(b)} (reviews kept)" for i, a, b in self.convert]
        lines += [f"remove card: {i} {name} ({_reviews(n)}; the build no longer makes it; push --yes removes it)"
                  for i, _, n, name in self.remove]
        return lines


def _reviews(count: int) -> str:
    return f"{count} review{'s' * (count != 1)}"


def _card(kind: str, ord_: int) -> str:
    """A card's name as the user sees it: c<n> of a cloze, 'forward'/'reverse' of a Q/A note, else its number."""
    if kind not in NOTETYPES:
        return f"card {ord_ + 1}"
    return f"c{ord_ + 1}" if kind == "cloze" else ("forward" if ord_ == 0 else "reverse")


def _name(kind: str) -> str:
    """A note type's name as Anki shows it."""
    return NOTETYPES[kind].name if kind in NOTETYPES else kind.removeprefix("type:")


@dataclass(frozen=True, slots=True, kw_only=True)
class PushReport:
    """What a push did to the collection."""

    backup: Path | None  # None when none was due (`no_backup` says why)
    summary: Summary
    added: int
    updated: int
    unchanged: int
    conflicting: tuple[str, ...]
    converted: tuple[tuple[str, str, str], ...]  # (id, old kind, new kind)
    moved: tuple[tuple[str, str, str], ...]  # (id, from deck, to deck)
    left: tuple[tuple[str, str, str], ...]  # (id, deck the user moved it to, deck the YAML asks for)
    deleted: tuple[str, ...]
    kept: tuple[tuple[str, int], ...]  # removed items whose notes were not deleted (no --yes, no answer): (id, reviews)
    removed_cards: tuple[tuple[str, str, int], ...] = ()  # (id, card, reviews)
    kept_cards: tuple[tuple[str, str, int], ...] = ()
    not_converted: tuple[str, ...] = ()  # switches that would remove a card, without --yes
    unconverted: tuple[tuple[str, str], ...] = ()  # (id, why): switches the route can't make keeping reviews
    route: str = ""  # how the collection was reached
    no_backup: str = ""  # why no backup was made, when none was
    retyped: tuple[str, ...] = ()  # the tree's own note types changed in place (fields mapped by name)
    private: int = 0  # notes whose private fields the import changed and push put back

    def lines(self) -> list[str]:
        """One line per thing done, then a summary."""
        lines = [f"backup: {self.backup}" if self.backup is not None else f"backup: none made ({self.no_backup})"]
        lines += [f"note type changed: {name} (fields and templates mapped by name, reviews kept)"
                  for name in self.retyped]
        lines += [f"converted: {i} from {_name(a)} to {_name(b)} (reviews kept)" for i, a, b in self.converted]
        lines += [f"kept the private fields of {self.private} notes"] if self.private else []
        lines += [f"moved: {i} from {a} to {b}" for i, a, b in self.moved]
        lines += [f"left in {a}: {i} (moved there by hand, not where deckbuild put it; the YAML says {b})"
                  for i, a, b in self.left]
        lines += [f"deleted: {i}" for i in self.deleted]
        lines += [f"removed card: {i} {c} ({_reviews(n)})" for i, c, n in self.removed_cards]
        lines += [f"not deleted: {i} ({_reviews(n)}; its item is gone from the tree; push --yes deletes it)"
                  for i, n in self.kept]
        lines += [f"not removed: card {i} {c} ({_reviews(n)}; the build no longer makes it; push --yes removes it)"
                  for i, c, n in self.kept_cards]
        lines += [f"not converted: {i} (the switch removes a card; push --yes does it)" for i in self.not_converted]
        lines += [f"not converted: {i} ({why})" for i, why in self.unconverted]
        lines += [f"conflicting: {i} (the note type was changed in Anki; undo that in Tools → Manage Note Types)"
                  for i in self.conflicting]
        lines.append(f"pushed {self.summary.output}: {self.added} added, {self.updated} updated, "
                     f"{self.unchanged} unchanged, {len(self.converted)} converted, {len(self.moved)} moved, "
                     f"{len(self.deleted)} deleted, {len(self.removed_cards)} card{'s' * (len(self.removed_cards) != 1)} removed")
        return lines


def push(*, cards_dir: Path, collection: Path, output: Path | None = None, force: bool = False, yes: bool = False,
         confirm: Callable[[Sequence[str]], bool] | None = None, cache: Cache | None = None,
         via: str | None = None) -> PushReport:
    """Build the tree, back the collection up when `backup_reason` says so, and apply the build to it.

    `confirm` asks before removing. The plan is made before the build (which never touches the
    collection), so that the backup, when one is due, comes before anything is written. `via` picks
    the route (the file, or the running Anki); both make the same plan.
    """
    # The tree is compiled twice (to plan, then by the build): held in memory, the second reads nothing again.
    cache = cache if cache is not None and cache.in_memory else Cache(cache.folder if cache else None, memory=True)
    with tree_locked(cards_dir):
        compiled, before = compile_clean(cards_dir, cache=cache)  # every content error before anything is touched
        output = output or default_output(compiled.notes)
        check_output(output, cards_dir=cards_dir, force=force)  # before the backup: nothing happens if it's refused
        # The file, or the running Anki (one step on its Edit → Undo); exit 3 before any write if neither.
        with locked(collection_lock(collection)) if collection.is_file() else tree_locked(cards_dir), \
                session(collection, command="push", via=via, undo="deckbuild push",
                        nids={key: entry.nid for key, entry in before.items.items()}) as col:
            notetypes = compiled.tree.notetypes
            col.check_own_types(notetypes, before)  # the live route refuses what it can't do yet, before any change
            tree_ids = [note.id for note in compiled.notes]
            gone = removed_items(before, tree_ids)  # the build keeps every tombstone: the same ids after it
            applied = col.read_applied()
            nids = {key: entry.nid for key, entry in before.items.items()}
            guids = {**col.removed_guids(before, gone), **{note.id: note.guid for note in compiled.notes}}
            found = col.read_notes(tree_ids + gone, nids=nids, guids=guids, kinds=col.kinds(notetypes))
            plan = make_plan(notes=compiled.notes, found=found, gone=gone, applied=applied,
                             decks=tree_decks(compiled.notes, before))
            plan, unconverted = _routable(plan, col)
            asked = plan.needs_yes()
            approved = bool(asked) and (yes or (confirm is not None and confirm(asked)))
            if approved and plan.remove and not getattr(col, "can_remove_cards", True):
                raise EnvironmentFault("AnkiConnect can't remove cards the build no longer makes: push with "
                                       "deckbuild's add-on, or with Anki closed; nothing was changed")
            # A tree with its own note types may change them in the collection (sync_notetypes): always back up.
            reason = None if notetypes else backup_reason(plan, approved=approved, last=last_backup(collection),
                                                          interval=col.backup_interval())
            saved = col.backup() if reason is None else None
            pause("push-backup")
            summary = build(cards_dir=cards_dir, output=output, force=force, cache=cache)
            pause("push-build")
            retyped = col.sync_notetypes(notetypes)  # before the import, which would refuse a changed type's notes
            if retyped:  # a type changed in place: its notes are read again, and the plan made again
                found = col.read_notes(tree_ids + gone, nids=nids, guids=guids, kinds=col.kinds(notetypes))
                plan = make_plan(notes=compiled.notes, found=found, gone=gone, applied=applied,
                                 decks=tree_decks(compiled.notes, before))
            private = col.private_values(found, notetypes)
            col.unblock_private_edits(compiled.notes, found, before, notetypes)
            done = apply_plan(col, plan=plan, approved=approved, found=found, applied=applied,
                              decks={note.id: note.deck for note in compiled.notes}, apkg=summary.output,
                              on_deleted=lambda ids: _prune(cards_dir, ids), notetypes=notetypes)
            kept_private = col.restore_private(private)
    convert = [c for c in plan.convert if c[0] not in done.blocked]
    converted_ids = {i for i, _, _ in convert}
    log = done.log
    return PushReport(
        backup=saved, no_backup=reason or "", summary=summary, added=len(log["new"]),
        updated=len([i for i in log["updated"] if i not in converted_ids]) + len(convert) + len(plan.refill),
        unchanged=len([i for i in log["duplicate"] if i not in converted_ids and i not in plan.refill]),
        conflicting=tuple(i for i in log["conflicting"]
                          if i not in converted_ids and i not in done.blocked and i not in dict(unconverted)),
        converted=tuple(convert), moved=plan.moves, left=plan.left, deleted=done.deleted,
        kept=tuple((i, n) for i, n in plan.delete if i not in done.deleted),
        removed_cards=tuple((i, name, n) for i, _, n, name in plan.remove if approved),
        kept_cards=tuple((i, name, n) for i, _, n, name in plan.remove if not approved),
        not_converted=done.blocked, unconverted=unconverted, route=col.describe(), retyped=tuple(retyped),
        private=len(kept_private))


def _routable(plan: Plan, col) -> tuple[Plan, tuple[tuple[str, str], ...]]:
    """The plan without the switches the route can't make keeping reviews (and their cards' removals); those left."""
    unconverted = tuple((i, why) for i, a, b in plan.convert if (why := col.cannot_switch(a, b)))
    if not unconverted:
        return plan, ()
    left = {i for i, _ in unconverted}
    return replace(plan, convert=tuple(c for c in plan.convert if c[0] not in left),
                   remove=tuple(r for r in plan.remove if r[0] not in left)), unconverted


def backup_reason(plan: Plan, *, approved: bool, last: tuple[Path, float] | None, interval: int,
                  now: float | None = None) -> str | None:
    """Why this push needs no backup, or None when it must make one.

    A backup is made before a push that converts, moves, or (approved) deletes notes or removes cards,
    and before any push when the newest backup beside the collection (`last`: its path and mtime) is
    missing or older than Anki's own backup interval (`interval` minutes): a push that only imports
    changes nothing the YAML and that backup can't restore.
    """
    if plan.convert or plan.refill or plan.moves or (approved and (plan.delete or plan.remove)):
        return None
    if last is None:
        return None
    age = ((time.time() if now is None else now) - last[1]) / 60
    if age < 0 or age >= interval:
        return None
    return (f"it only imports; the last backup, {last[0]}, is {int(age)} min old, within Anki's backup interval "
            f"of {interval} min")


def make_plan(*, notes: Sequence[Note], found: dict[str, AnkiNote], gone: Sequence[str], applied: Applied,
              decks: frozenset[str]) -> Plan:
    """Compare the YAML's notes with the collection's: what to convert, refill, remove, move and delete.

    A card in a deck other than the YAML's is moved when it is where a push last put it, or, for a
    note no push has placed, in one of `decks` (the tree's, casefolded) or under the YAML's top-level
    decks; else the user put it there.
    """
    convert, refill, remove, moves, left = [], [], [], [], []
    roots = {note.deck.split("::")[0].casefold() for note in notes}
    for note in notes:
        current = found.get(note.id)
        if current is None or current.kind is None:
            continue
        if current.kind != note.kind:
            convert.append((note.id, current.kind, note.kind))
            # To or from a tree's own type, cards follow their templates by name (anki_types.convert_by_name).
            keep = set(note.ords) & SAME_FACT if current.kind in NOTETYPES and note.kind in NOTETYPES \
                else {card.ord for card in current.cards}
        else:
            keep = set(note.ords)
            if note.id in applied.converting:
                refill.append(note.id)
        remove += [(note.id, card.ord, card.reviews, _card(current.kind, card.ord))
                   for card in current.cards if card.ord not in keep]
        for deck in current.decks:
            if deck.casefold() == note.deck.casefold():
                continue
            last = applied.decks.get(note.id)
            ours = deck.casefold() == last.casefold() if last is not None else (
                deck.casefold() in decks or deck.split("::")[0].casefold() in roots)
            (moves if ours else left).append((note.id, deck, note.deck))
    delete = [(i, sum(c.reviews for c in found[i].cards)) for i in gone if i in found]
    deleted_before = [i for i in applied.deleting if i in gone and i not in found]
    return Plan(convert=tuple(convert), refill=tuple(refill), remove=tuple(remove), moves=tuple(moves),
                left=tuple(left), delete=tuple(delete), deleted_before=tuple(deleted_before))


def removed_items(state: State, tree_ids: Iterable[str]) -> list[str]:
    """The ids the state knows and the tree no longer has (its tombstones): notes whose items were removed."""
    present = set(tree_ids)
    return sorted(key for key in state.items if key not in present)


def tree_decks(notes: Sequence[Note], state: State) -> frozenset[str]:
    """The tree's decks, casefolded: any deck an item uses now or used at the last build.

    For a note no push has placed yet, cards in any other deck were put there by hand, and push leaves them.
    """
    return frozenset({note.deck.casefold() for note in notes} | {e.deck.casefold() for e in state.items.values()})


def _prune(cards_dir: Path, deleted: Sequence[str]) -> None:
    """Drop the deleted notes' entries (tombstones) from the state file."""
    state, problems = read_state(cards_dir, shown=str(cards_dir / FILENAME))
    if problems or not any(i in state.items for i in deleted):
        return
    save_state(cards_dir, State(items={k: e for k, e in state.items.items() if k not in deleted},
                                notetypes=state.notetypes, fields=state.fields))
