"""`deckbuild pull`: edits made in Anki brought back into the YAML, three-way against the last build."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ContentError
from ..model import Item, Note, Problem
from ..pipeline.build import compile_clean, tree_locked
from ..pipeline.lock import collection_lock, locked
from ..pipeline.compile import Compiled, compile_tree, shown
from ..pipeline.load import Document, Map, load_file
from ..pipeline.notetypes import NOTETYPES
from ..pipeline.render import MediaStore, note_digest, render_item
from ..pipeline.state import FILENAME, Entry, State, save_state
from ..pipeline.validate import validate_deck
from .file import FileSession
from .route import session
from .anki_types import kinds_by_id
from .store import AnkiNote, copy_to, opened
from .typedpull import typed_changes, typed_digest, typed_keys
from .push import removed_items
from .unrender import same_html, to_markdown
from .yamledit import Change, Edited, edit, write

if TYPE_CHECKING:
    from ..pipeline.cache import Cache

BOOKKEEPING = frozenset({"leech", "marked"})  # tags Anki adds by itself; never pulled, never compared
FIELDS = {"qa": ("question", "answer", "extra"), "cloze": ("cloze", "extra")}  # YAML keys by Anki field index
REQUIRED = frozenset({"question", "answer", "cloze"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """One line of a pull's report: where, which item, what happened."""

    place: str
    id: str
    kind: str  # pulled, approximate, conflict, kept, moved, removed, restored
    detail: str = ""

    def __str__(self) -> str:
        place = f"{self.place}: " if self.place else ""
        if self.kind == "approximate":
            return f"{place}approximate: review {self.id} ({self.detail})"
        return f"{place}{self.kind} {self.id}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class PullReport:
    """Every outcome of a pull, in file order, and whether it was a dry run."""

    outcomes: tuple[Outcome, ...]
    dry_run: bool = False
    route: str = ""  # how the collection was reached

    def count(self, kind: str) -> int:
        """How many outcomes of one kind."""
        return sum(o.kind == kind for o in self.outcomes)

    def summary(self) -> str:
        """The closing line."""
        parts = [f"{self.count('pulled')} pulled ({self.count('approximate')} approximate)",
                 f"{self.count('conflict')} conflicting", f"{self.count('moved')} moved in Anki (not pulled)",
                 f"{self.count('removed')} removed from the tree"]
        tail = "; dry run, nothing written." if self.dry_run else "."
        return ", ".join(parts) + tail


@dataclass(frozen=True, slots=True)
class _FileEdits:
    """The changes pull makes to one deck file, and the items they belong to."""

    doc: Document
    changes: list[Change] = field(default_factory=list)
    pulled: dict[str, AnkiNote] = field(default_factory=dict)


@contextmanager
def locked_for(cards_dir: Path, collection: Path, *, dry_run: bool) -> Iterator[None]:
    """The tree's lock, and the collection's unless this is a dry run (which reads a copy)."""
    with tree_locked(cards_dir), (locked(collection_lock(collection)) if not dry_run and collection.is_file()
                                  else nullcontext()):
        yield


def pull(*, cards_dir: Path, collection: Path, prefer: str | None = None, dry_run: bool = False,
         cache: Cache | None = None, via: str | None = None) -> PullReport:
    """Bring each note edited in Anki since the last build into its item, unless its YAML changed too.

    The tree is compiled through `cache` (build's), which gives the same items and notes as compiling afresh.
    """
    with locked_for(cards_dir, collection, dry_run=dry_run):  # from the state's first read to its last write
        return _pull(cards_dir=cards_dir, collection=collection, prefer=prefer, dry_run=dry_run, cache=cache,
                     via=via)


def _pull(*, cards_dir: Path, collection: Path, prefer: str | None, dry_run: bool, cache: Cache | None,
          via: str | None) -> PullReport:
    """The pull, under the locks."""
    compiled, state = compile_clean(cards_dir, cache=cache)
    pairs = list(zip(compiled.tree.items, compiled.notes))
    gone = removed_items(state, (note.id for note in compiled.notes))
    notetypes = compiled.tree.notetypes
    with _reading(collection, command="pull", dry_run=dry_run, via=via,
                  nids={key: entry.nid for key, entry in state.items.items()}) as col:
        col.check_own_types(notetypes, state)  # the live route refuses a tree with its own note types
        # Only notes newer than the last build can have been edited in Anki: the others' mods and decks suffice.
        anki = col.read_notes([note.id for note in compiled.notes] + gone,
                              since={key: entry.mod for key, entry in state.items.items()},
                              nids={key: entry.nid for key, entry in state.items.items()},
                              guids={**col.removed_guids(state, gone), **{n.id: n.guid for n in compiled.notes}},
                              kinds=kinds_by_id(notetypes))
        route = col.describe()
    outcomes: list[Outcome] = []
    files: dict[str, _FileEdits] = {}
    items = dict(state.items)
    notes = {note.id: note for note in compiled.notes}
    for item, note in pairs:
        found = anki.get(note.id)
        if found is None:
            continue
        outcomes += _moved(item, note, found)
        base = state.items.get(note.id)
        verdict, outcome = _three_way(item, note, found, base=base, prefer=prefer, notetypes=notetypes)
        outcomes += [outcome] if outcome else []
        if verdict == "agreed" and base is not None and base.digest != note.digest:
            items[note.id] = base._replace(digest=note.digest, mod=found.mod)  # the YAML was changed to Anki's text
        elif verdict == "yaml":
            # The next build must be newer than the Anki edit, so that the import replaces the edit.
            items[note.id] = (base or _entry(note, found)._replace(digest=""))._replace(mod=found.mod)
        elif verdict == "anki":
            if item.path not in files:  # each file read once, however many of its items are pulled
                files[item.path] = _FileEdits(doc=_load(Path(item.path), item.path))
            edits = files[item.path]
            outcomes += typed_changes(item, note, found, edits, notetypes=notetypes) if item.notetype else \
                _changes(item, note, found, edits)
    for item_id in gone:
        if item_id in anki:
            outcomes.append(Outcome(place="", id=item_id, kind="removed", detail=(
                "in the collection, gone from the tree; never written back (push --yes deletes the note)")))
    edited, digests = _apply(files, compiled=compiled, cards_dir=cards_dir)
    outcomes = _relined(outcomes, files=files, edited=edited)
    for edits in files.values():
        for item_id, found in edits.pulled.items():
            base = state.items.get(item_id) or _entry(notes[item_id], found)
            items[item_id] = base._replace(digest=digests[item_id], mod=found.mod)
    new_state = State(items=items, notetypes=state.notetypes, fields=state.fields)
    if not dry_run:
        write(edited)
        if new_state != state:
            save_state(cards_dir, new_state)
    return PullReport(outcomes=tuple(outcomes), dry_run=dry_run, route=route)


def _three_way(item: Item, note: Note, found: AnkiNote, *, base: Entry | None,
               prefer: str | None, notetypes: dict | None = None) -> tuple[str, Outcome | None]:
    """Which side wins for one note (none, agreed, anki, yaml, conflict), and the line that says so, if any.

    Anki's side changed if its `mod` is newer than the base's and its content hash differs (Anki
    stamps `mod` for its own bookkeeping too, such as tagging a leech).
    """
    digest = _digest(found, notetypes)
    changed_in_anki = base is None or (found.mod > base.mod and digest != base.digest)
    changed_in_yaml = base is None or note.digest != base.digest
    place = f"{item.path}:{item.line}"
    if not changed_in_anki:
        return "none", None
    if _same(note, found, notetypes):
        if digest == note.digest:
            return "agreed", None
        return "agreed", Outcome(place=place, id=note.id, kind="kept", detail=(
            "edited in Anki only in fields pull never writes back (source, quote, hint); left as it is"))
    switched = found.kind != note.kind  # Anki's text can't be pulled across note types
    if not switched and (not changed_in_yaml or prefer == "anki"):
        return "anki", None
    if prefer == "yaml":
        return "yaml", Outcome(place=place, id=note.id, kind="kept", detail="the YAML wins; push it")
    if switched:
        return "conflict", Outcome(place=place, id=note.id, kind="conflict", detail=(
            f"a {found.kind or 'foreign'} note in Anki, a {note.kind} item in the YAML, edited in Anki; "
            "push converts it and the Anki edit is lost: copy it by hand, or --prefer yaml"))
    return "conflict", Outcome(place=place, id=note.id, kind="conflict", detail=(
        f"{', '.join(_differing(note, found, notetypes))} changed in Anki and in the YAML; "
        "--prefer anki or --prefer yaml settles it"))


def restore_state(*, cards_dir: Path, collection: Path, dry_run: bool = False, via: str | None = None) -> PullReport:
    """A new state file from the collection: each note it holds, taken as built from the YAML as it is now.

    Ids and mods come from the collection, so the next build leaves every note there as it is.
    """
    with locked_for(cards_dir, collection, dry_run=dry_run):
        return _restore_state(cards_dir=cards_dir, collection=collection, dry_run=dry_run, via=via)


def _restore_state(*, cards_dir: Path, collection: Path, dry_run: bool, via: str | None) -> PullReport:
    """The state's restoration, under the locks."""
    compiled = compile_tree(cards_dir)
    errors = [p for p in compiled.problems if p.is_error]
    if errors:
        raise ContentError(errors)
    own = compiled.tree.notetypes
    with _reading(collection, command="pull --restore-state", dry_run=dry_run, via=via) as col:
        col.check_own_types(own, State(items={}))  # the live route refuses a tree with its own note types
        anki = col.read_notes([note.id for note in compiled.notes], guids={n.id: n.guid for n in compiled.notes},
                              kinds=kinds_by_id(own))
        mods, fields = col.notetype_mods(own), col.notetype_fields(own)
        route = col.describe()
    items, outcomes = {}, []
    for item, note in zip(compiled.tree.items, compiled.notes):
        found = anki.get(note.id)
        if found is None:
            continue
        deck = note.deck if note.deck.casefold() in {d.casefold() for d in found.decks} or not found.decks \
            else found.decks[0]
        digest = note.digest if found.kind == note.kind else ""  # a switched kind must still count as changed
        items[note.id] = Entry(digest, found.mod, deck, found.nid, found.kind or note.kind)
        if found.kind == note.kind and not _same(note, found, own):
            outcomes.append(Outcome(place=f"{item.path}:{item.line}", id=note.id, kind="differs", detail=(
                "Anki's note and the YAML disagree; Anki's is kept until the YAML changes")))
    every = {**NOTETYPES, **{t.kind: t for t in own.values()}}
    notetypes = {kind: (every[kind].digest, mod) for kind, mod in mods.items()}
    if not dry_run:
        save_state(cards_dir, State(items=items, notetypes=notetypes, fields=fields))
    outcomes.append(Outcome(place=shown(cards_dir, cards_dir / FILENAME), id=f"{len(items)} notes",
                            kind="restored", detail="ids and mods from the collection"
                            + ("; dry run, nothing written" if dry_run else "")))
    return PullReport(outcomes=tuple(outcomes), dry_run=dry_run, route=route)


@contextmanager
def _reading(collection: Path, *, command: str, dry_run: bool, via: str | None,
             nids: dict[str, int] | None = None) -> Iterator:
    """The collection to read: the file or the running Anki, or for a dry run on the file a copy nothing touches."""
    if not dry_run or not collection.is_file() or via == "anki":
        with session(collection, command=command, via=via, nids=nids) as col:
            yield col
        return
    with tempfile.TemporaryDirectory(prefix="deckbuild-pull-") as work:
        with opened(copy_to(collection, Path(work)), command=command, shown=collection) as col:
            yield FileSession(col=col, path=collection, how="read from a copy")


def _load(path: Path, shown_as: str) -> Document:
    """A deck file the compile step already read without problems."""
    doc, _ = load_file(path, shown=shown_as)
    assert doc is not None  # compile_clean read it without errors a moment ago
    return doc


def _anki_tags(found: AnkiNote) -> tuple[str, ...]:
    """The note's tags without Anki's bookkeeping ones, sorted as a build sorts them."""
    return tuple(sorted(t for t in found.tags if t.casefold() not in BOOKKEEPING))


def _digest(found: AnkiNote, notetypes: dict | None = None) -> str:
    """The note's content hash as the state file would record it, had a build emitted it."""
    if found.kind is None:
        return ""
    if found.kind not in NOTETYPES:
        return typed_digest(found, notetypes or {}, tags=_anki_tags(found))
    return note_digest(kind=found.kind, fields=found.fields, tags=_anki_tags(found))


def _entry(note: Note, found: AnkiNote) -> Entry:
    """A state entry for a note the state file doesn't know."""
    return Entry(note.digest, found.mod, note.deck, found.nid, note.kind)


def _same(note: Note, found: AnkiNote, notetypes: dict | None = None) -> bool:
    """Whether Anki's note has the YAML's text and tags, whitespace aside."""
    return found.kind == note.kind and not _differing(note, found, notetypes)


def _differing(note: Note, found: AnkiNote, notetypes: dict | None = None) -> list[str]:
    """The YAML keys whose text differs between Anki's note and the YAML's, and 'tags'."""
    keys = [key for index, key in typed_keys(note.kind, notetypes or {}, FIELDS)
            if index < len(found.fields) and not same_html(found.fields[index], note.fields[index])]
    if {t.casefold() for t in _anki_tags(found)} != {t.casefold() for t in note.tags}:
        keys.append("tags")
    return keys


def _moved(item: Item, note: Note, found: AnkiNote) -> list[Outcome]:
    """A line for a note whose cards are in another deck in Anki: decks are never pulled."""
    if not found.decks or note.deck.casefold() in {d.casefold() for d in found.decks}:
        return []
    return [Outcome(place=f"{item.path}:{item.line_of('id')}", id=note.id, kind="moved", detail=(
        f"in {', '.join(found.decks)} in Anki, {note.deck} in the YAML; decks are never written back"))]


def _changes(item: Item, note: Note, found: AnkiNote, edits: _FileEdits) -> list[Outcome]:
    """The changes that bring Anki's fields and tags into this item, and the lines that report them."""
    index = next(i for i, entry in enumerate(edits.doc.data["cards"])
                 if isinstance(entry, Map) and entry.get("id") == note.id)
    entry = edits.doc.data["cards"][index]
    images = {m.name: Path(os.path.relpath(m.path, item.folder.resolve())).as_posix() for m in note.media}
    outcomes, keys = [], []
    for position, key in enumerate(FIELDS[note.kind]):
        html = found.fields[position] if position < len(found.fields) else ""
        if same_html(html, note.fields[position]):
            continue
        place = f"{item.path}:{item.line_of(key)}"
        text, exact = to_markdown(html, images=images)
        if not text.strip():
            if key in REQUIRED:
                outcomes.append(Outcome(place=place, id=note.id, kind="conflict",
                                        detail=f"{key} was emptied in Anki; a card needs it, so it is not pulled"))
                continue
            edits.changes.append(Change(item=index, key=key, value=None))
            keys.append(key)
            continue
        old = entry.get(key)
        if isinstance(old, str) and old.endswith("\n") and not text.endswith("\n"):
            text += "\n"  # keeps a `|` block a `|` block; it renders the same
        edits.changes.append(Change(item=index, key=key, value=text, after=_after(entry, key)))
        keys.append(key)
        if not exact:
            outcomes.append(Outcome(place=place, id=note.id, kind="approximate", detail=(
                f"{key}: its Markdown renders differently from Anki's HTML; check it")))
    outcomes += _tag_changes(item, note, found, edits, index=index, keys=keys)
    if keys:
        edits.pulled[note.id] = found
        outcomes.insert(0, Outcome(place=f"{item.path}:{item.line}", id=note.id, kind="pulled",
                                   detail=", ".join(keys)))
    elif not outcomes:
        outcomes.append(Outcome(place=f"{item.path}:{item.line}", id=note.id, kind="kept", detail=(
            "edited in Anki only in fields pull never writes back (source, quote, hint); left as it is")))
    return outcomes


def _after(entry: Map, key: str) -> str:
    """The key a new one goes after: `extra` after the text it explains, anything else last."""
    if key == "extra" and ("answer" in entry or "cloze" in entry):
        return "answer" if "answer" in entry else "cloze"
    return list(entry)[-1]


def _tag_changes(item: Item, note: Note, found: AnkiNote, edits: _FileEdits, *, index: int,
                 keys: list[str]) -> list[Outcome]:
    """The item's own `tags` changed to match Anki's; a file-level tag stays in the file's `tags`."""
    entry = edits.doc.data["cards"][index]
    own = entry.get("tags") or []
    own = [own] if isinstance(own, str) else list(own)
    file_tags = edits.doc.data.get("tags") or []
    file_tags = {file_tags.casefold()} if isinstance(file_tags, str) else {t.casefold() for t in file_tags}
    anki = {t.casefold(): t for t in _anki_tags(found)}
    yaml = {t.casefold() for t in note.tags}
    added = [tag for folded, tag in anki.items() if folded not in yaml and folded not in file_tags]
    dropped = {t for t in yaml if t not in anki}
    kept = [t for t in own if t.casefold() not in dropped]
    outcomes = [Outcome(place=f"{item.path}:{item.line_of('tags')}", id=note.id, kind="kept", detail=(
        f"tag '{t}' was removed in Anki but comes from the file's tags; remove it there if you mean it"))
        for t in sorted(dropped & file_tags)]
    if kept + added == own:
        return outcomes
    edits.changes.append(Change(item=index, key="tags", value=tuple(kept + added) or None, after=_after(entry, "tags")))
    keys.append("tags")
    return outcomes


def _relined(outcomes: list[Outcome], *, files: dict[str, _FileEdits], edited: list[Edited]) -> list[Outcome]:
    """The outcomes with their lines as they are in the edited files."""
    moves: dict[tuple[str, int], int] = {}
    for result in edited:
        old_cards, new_cards = files[result.doc.shown].doc.data["cards"], result.doc.data["cards"]
        for old, new in zip(old_cards, new_cards):
            if isinstance(old, Map) and isinstance(new, Map):
                moves[(result.doc.shown, old.line)] = new.line
                moves.update(((result.doc.shown, old.lines[k]), new.lines[k]) for k in old.lines if k in new.lines)

    def moved(place: str) -> str:
        path, _, line = place.rpartition(":")
        return f"{path}:{moves.get((path, int(line)), line)}" if line.isdigit() else place

    return [Outcome(place=moved(o.place), id=o.id, kind=o.kind, detail=o.detail) for o in outcomes]


def _apply(files: dict[str, _FileEdits], *, compiled: Compiled,
           cards_dir: Path) -> tuple[list[Edited], dict[str, str]]:
    """Each file's edit, re-read and validated, and the new content hash of each pulled item."""
    problems: list[Problem] = []
    edited, digests = [], {}
    media = MediaStore(cards_dir)
    for path, edits in files.items():
        if not edits.changes:
            continue
        result = edit(edits.doc, edits.changes)
        if result is None:
            lines = sorted({edits.doc.data["cards"][c.item].line for c in edits.changes})
            problems += [Problem(path=path, line=line, message=(
                "can't write the Anki edit into this item without rewriting more of the file; "
                "copy it by hand, or --prefer yaml")) for line in lines]
            continue
        found: list[Problem] = []
        own = compiled.tree.notetypes
        items = validate_deck(result.doc, sources=compiled.tree.sources, problems=found, notetypes=own)
        # Only the pulled items changed: the file's other items rendered without errors a moment ago.
        notes = [render_item(item, sources=compiled.tree.sources, media=media, problems=found, notetypes=own)
                 for item in items if item.id in edits.pulled]
        problems += [Problem(path=p.path, line=p.line, message=f"after pulling from Anki: {p.message}")
                     for p in found if p.is_error]
        digests.update((n.id, n.digest) for n in notes if n.id in edits.pulled)
        edited.append(result)
    if problems:
        raise ContentError(problems)
    return edited, digests
