"""The pipeline: files → load → validate → render → package, with the state file beside the cards."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ContentError, UsageError
from .cache import Cache
from .compile import Compiled, Progress, compile_tree, shown
from ..model import Note
from .notetypes import NOTETYPES
from .output import check_output, environment
from .package import Row, write_apkg
from .state import FILENAME, Entry, State, dumps, read_state, write_atomic

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
    removed: tuple[tuple[str, str], ...]
    moved: tuple[tuple[str, str, str], ...]
    rekinded: tuple[tuple[str, str, str], ...]


def compile_clean(cards_dir: Path, *, cache: Cache | None = None,
                  progress: Progress | None = None) -> tuple[Compiled, State]:
    """The compiled tree and the last build's state; raises ContentError listing every error in both."""
    compiled = compile_tree(cards_dir, cache=cache, progress=progress)
    state, state_problems = read_state(cards_dir, shown=shown(cards_dir, cards_dir / FILENAME))
    errors = [p for p in compiled.problems if p.is_error] + state_problems
    if errors:
        raise ContentError(errors)
    return compiled, state


def now() -> int:
    """The build time in seconds: SOURCE_DATE_EPOCH when set, for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not epoch.isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH must be whole seconds, not '{epoch}'")
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
    """Compile the tree into an .apkg and update the state file; nothing is written on errors.

    The output is checked before any work (after compiling, when it is named after the deck).
    """
    if output is not None:
        check_output(output, cards_dir=cards_dir, force=force)
    compiled, state = compile_clean(cards_dir, cache=cache, progress=progress)
    if output is None:
        output = default_output(compiled.notes)
        check_output(output, cards_dir=cards_dir, force=force)
    stamp = now()
    rows, new_state, summary = plan(compiled.notes, state=state, stamp=stamp)
    with environment(output, "write"):
        size = write_apkg(rows=rows, notetype_mods=new_state.notetype_mods, output=output)
    with environment(cards_dir / FILENAME, "write the state file"):
        if new_state != state or not (cards_dir / FILENAME).exists():
            write_atomic(cards_dir / FILENAME, dumps(new_state).encode())
    return Summary(output=output, size=size, **summary)


def plan(notes: tuple[Note, ...], *, state: State, stamp: int) -> tuple[list[Row], State, dict]:
    """Give each note its id and mod: unchanged notes keep theirs, so re-imports leave them alone."""
    next_nid = max([stamp * 1000] + [e.nid + 1 for e in state.items.values()])
    rows, items = [], {}
    new, changed, moved, rekinded = [], [], [], []
    for note in notes:
        prev = state.items.get(note.id)
        if prev is None:
            nid, mod = next_nid, stamp
            next_nid += 1
            new.append(note.id)
        elif prev.digest == note.digest and prev.deck == note.deck:
            rows.append(Row(note=note, nid=prev.nid, mod=prev.mod))
            items[note.id] = prev
            continue
        elif prev.digest == note.digest:
            nid, mod = prev.nid, prev.mod
        else:
            nid, mod = prev.nid, max(stamp, prev.mod + 1)
            changed.append(note.id)
        if prev is not None and prev.deck != note.deck:
            moved.append((note.id, prev.deck, note.deck))
        if prev is not None and prev.kind != note.kind:
            rekinded.append((note.id, prev.kind, note.kind))
        rows.append(Row(note=note, nid=nid, mod=mod))
        items[note.id] = Entry(note.digest, mod, note.deck, nid, note.kind)
    notetypes = {}
    for kind, notetype in NOTETYPES.items():
        digest, mod = state.notetypes.get(kind, ("", 0))
        notetypes[kind] = (notetype.digest, mod if digest == notetype.digest else max(stamp, mod + 1))
    removed = tuple((key, e.deck) for key, e in sorted(state.items.items()) if key not in items)
    summary = dict(
        notes=len(rows),
        cards=sum(len(row.note.ords) for row in rows),
        new=tuple(new),
        changed=tuple(changed),
        unchanged=len(rows) - len(new) - len(changed),
        removed=removed,
        moved=tuple(moved),
        rekinded=tuple(rekinded),
    )
    return rows, State(items=items, notetypes=notetypes), summary
