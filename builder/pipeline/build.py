"""The pipeline: files → load → validate → render → package, with the state file beside the cards."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from ..errors import ContentError, UsageError
from .cache import Cache
from .compile import Compiled, Progress, compile_tree, shown
from ..model import Note
from .notetypes import NOTETYPES, NoteType
from .output import check_output, environment
from .package import Row, pack_apkg
from .lock import locked, tree_lock
from .state import FILENAME, MAX_MOD, MAX_NID, Entry, Shape, State, commit, read_state, temp_dir

@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """What a build wrote and how it differs from the last one."""

    output: Path
    size: int
    notes: int
    cards: int
    new: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: int
    removed: tuple[tuple[str, str], ...]  # (id, deck) of items this build found gone; not earlier ones
    moved: tuple[tuple[str, str, str], ...]
    rekinded: tuple[tuple[str, str, str], ...]
    restored: tuple[str, ...] = ()  # items back in the tree with the note id and mod they had
    retyped: tuple[tuple[str, Shape, Shape], ...] = ()  # (type, old fields and templates, new ones)
    private: tuple[str, ...] = ()  # the tree's own types with private fields (a manual import clears them)


def compile_clean(cards_dir: Path, *, cache: Cache | None = None, progress: Progress | None = None,
                  items: bool = True) -> tuple[Compiled, State]:
    """The compiled tree and the last build's state; raises ContentError listing every error in both."""
    compiled = compile_tree(cards_dir, cache=cache, progress=progress, items=items)
    state, state_problems = read_state(cards_dir, shown=shown(cards_dir, cards_dir / FILENAME))
    errors = [p for p in compiled.problems if p.is_error] + state_problems
    if errors:
        raise ContentError(errors)
    return compiled, state


def now() -> int:
    """The build time in seconds: SOURCE_DATE_EPOCH when set, for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not epoch.isdigit() or not 0 < int(epoch) <= MAX_MOD:
            raise UsageError(f"SOURCE_DATE_EPOCH must be whole seconds from 1 to {MAX_MOD}, not '{epoch}'")
        return int(epoch)
    return int(time.time())


def default_output(notes: tuple[Note, ...]) -> Path:
    """`dist/<top-level deck>.apkg`, when the tree has exactly one top-level deck."""
    roots = sorted({note.deck.split("::")[0] for note in notes})
    if not roots:
        raise UsageError("the tree has no cards, so no deck to name the .apkg after; add cards or choose a file with -o")
    if len(roots) != 1:
        raise UsageError(f"the decks have several top-level names ({', '.join(roots)}); choose a file with -o")
    return Path("dist") / (re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", roots[0]).strip(". ") + ".apkg")


def build(*, cards_dir: Path, output: Path | None = None, cache: Cache | None = None,
          progress: Progress | None = None, force: bool = False) -> Summary:
    """Compile the tree into an .apkg and update the state file together; nothing is written on errors.

    The output is checked before any work (after compiling, when it is named after the deck).
    """
    if output is not None:
        check_output(output, cards_dir=cards_dir, force=force)
    with tree_locked(cards_dir):  # from the state's first read to its last write
        return _build(cards_dir=cards_dir, output=output, cache=cache, progress=progress, force=force)


def tree_locked(cards_dir: Path):
    """The cards tree's lock (nothing to lock when the folder is missing: compiling reports that)."""
    return locked(tree_lock(cards_dir)) if cards_dir.is_dir() else nullcontext()


def _build(*, cards_dir: Path, output: Path | None, cache: Cache | None, progress: Progress | None,
           force: bool) -> Summary:
    """The build, under the tree's lock."""
    compiled, state = compile_clean(cards_dir, cache=cache, progress=progress, items=False)
    if output is None:
        output = default_output(compiled.notes)
        check_output(output, cards_dir=cards_dir, force=force)
    stamp = now()
    rows, new_state, summary = plan(compiled.notes, state=state, stamp=stamp, notetypes=compiled.tree.notetypes)
    chunks = cache.deflated(cards_dir) if cache is not None else None  # the last package's, mostly the same
    with environment(output, "write"), temp_dir(output.parent) as work:
        package = pack_apkg(rows=rows, notetype_mods=new_state.notetype_mods, work=work, chunks=chunks,
                            notetypes=compiled.tree.notetypes)
        size = package.stat().st_size
        with environment(cards_dir, "write the state file into"):
            commit(cards_dir=cards_dir, package=package, output=output, state=new_state)
    if chunks is not None:
        cache.keep_deflated(cards_dir, chunks)  # type: ignore[union-attr]
    private = tuple(t.name for t in compiled.tree.notetypes.values() if t.private)
    return Summary(output=output, size=size, private=private, **summary)


def plan(notes: tuple[Note, ...], *, state: State, stamp: int,
         notetypes: dict[str, NoteType] | None = None) -> tuple[list[Row], State, dict]:
    """Give each note its id and mod: unchanged notes keep theirs, so re-imports leave them alone.

    An item that left the tree stays in the state as a tombstone (`removed`), so restoring it
    restores its note id and mod; only an item that leaves with this build is reported as removed.
    """
    fresh = _fresh_nids(state, stamp=stamp)
    rows, items = [], {}
    new, changed, moved, rekinded, restored = [], [], [], [], []
    for note in notes:
        prev = state.items.get(note.id)
        if prev is not None and prev.removed:
            restored.append(note.id)
        if prev is None:
            nid, mod = next(fresh), stamp
            new.append(note.id)
        elif prev.digest == note.digest and prev.deck == note.deck:
            rows.append(Row(note=note, nid=prev.nid, mod=prev.mod))
            items[note.id] = prev._replace(removed=False) if prev.removed else prev
            continue
        elif prev.digest == note.digest:
            nid, mod = prev.nid, prev.mod
        else:
            nid, mod = prev.nid, min(max(stamp, prev.mod + 1), MAX_MOD)
            changed.append(note.id)
        if prev is not None and prev.deck != note.deck:
            moved.append((note.id, prev.deck, note.deck))
        if prev is not None and prev.kind != note.kind:
            rekinded.append((note.id, prev.kind, note.kind))
        rows.append(Row(note=note, nid=nid, mod=mod))
        items[note.id] = Entry(note.digest, mod, note.deck, nid, note.kind)
    every = {**NOTETYPES, **{t.kind: t for t in (notetypes or {}).values()}}
    notetypes = {}
    for kind, notetype in every.items():
        digest, mod = state.notetypes.get(kind, ("", 0))
        notetypes[kind] = (notetype.digest, mod if digest == notetype.digest else min(max(stamp, mod + 1), MAX_MOD))
    removed = []
    for key, entry in sorted(state.items.items()):
        if key not in items:
            if not entry.removed:
                removed.append((key, entry.deck))
            items[key] = entry._replace(removed=True)
    summary = dict(
        notes=len(rows),
        cards=sum(len(row.note.ords) for row in rows),
        new=tuple(new),
        changed=tuple(changed),
        unchanged=len(rows) - len(new) - len(changed),
        removed=tuple(removed),
        moved=tuple(moved),
        rekinded=tuple(rekinded),
        restored=tuple(restored),
    )
    fields = {t.kind: Shape(t.fields, tuple(name for name, _, _ in t.templates)) for t in every.values() if t.user}
    retyped = tuple((kind.removeprefix("type:"), state.fields[kind], names) for kind, names in sorted(fields.items())
                    if kind in state.fields and state.fields[kind] != names)
    summary["retyped"] = retyped
    return rows, State(items=items, notetypes=notetypes, fields=fields), summary


def _fresh_nids(state: State, *, stamp: int) -> Iterator[int]:
    """Note ids for new notes: after every id the state holds (tombstones too), from the build time on."""
    used = {entry.nid for entry in state.items.values()}
    nid = max([stamp * 1000] + [n + 1 for n in used])
    if nid > MAX_NID:  # only a hand-made state gets here: take the free ids below instead
        nid = min(stamp * 1000, MAX_NID)
        while True:
            if nid not in used:
                yield nid
            nid -= 1
    while True:
        yield nid
        nid += 1
