"""A real Anki collection for `diff`, `pull` and `push`: opened alone, backed up, read, and a push's plan applied.

Reading (`read_notes`, `read_applied`) and writing (`apply_plan` and its steps) live here, so that
`push` only plans; another route to a collection (a running Anki) provides the same two ends.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EnvironmentFault, UsageError
from ..pipeline.hooks import pause
from ..pipeline.notetypes import NOTETYPES
from ..pipeline.render import guid_for
from ..pipeline.state import temp_dir
from .anki_types import item_ids

if TYPE_CHECKING:
    from anki.collection import Collection

    from .file import FileSession
    from .live import LiveSession
    from .push import Plan

    Steps = FileSession | LiveSession  # a route's session: what apply_plan calls

INSTALL = ("pip install '.[anki]' from a clone of deckbuild (the extra is deckbuild's; "
           "Anki's own `anki` package comes from PyPI with it)")
# How a note's fields move when it switches type: for each field of the new type, the old field's index (-1: empty).
FIELD_MAP = {("qa", "cloze"): [0, 2, 3, 4, 5, 7], ("cloze", "qa"): [0, -1, 1, 2, 3, 4, -1, 5]}
APPLIED = "deckbuildApplied"  # the collection's config key for what pushes have applied (see Applied)
KINDS = {notetype.id: kind for kind, notetype in NOTETYPES.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class AnkiCard:
    """One card of a note as the collection holds it."""

    id: int
    ord: int
    deck: str  # its home deck (a filtered deck's card counts as in its home deck)
    reviews: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AnkiNote:
    """One of the tree's notes as the collection holds it now."""

    id: str
    nid: int
    kind: str | None  # 'qa' or 'cloze'; None when the note has a note type deckbuild didn't make
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    mod: int
    decks: tuple[str, ...]  # the home decks of its cards (a filtered deck's cards count as in their home deck)
    cards: tuple[AnkiCard, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Applied:
    """What deckbuild's pushes have applied to this collection, kept in the collection itself.

    Written only after Anki holds the change, so a push stopped anywhere is finished by the next:
    `decks` is the deck each item was last put in; `converting` and `deleting` are the notes a
    push had begun to convert or delete (written before it began, cleared once done).
    """

    decks: dict[str, str]
    converting: tuple[str, ...] = ()
    deleting: tuple[str, ...] = ()


@contextmanager
def opened(path: Path, *, command: str, shown: Path | None = None) -> Iterator[Collection]:
    """The collection, open for this command alone, and closed after it; exit 3 if Anki has it open.

    `shown` is the path to name in messages when `path` is a copy.
    """
    shown = shown or path
    try:
        from anki.collection import Collection
        from anki.errors import DBError
    except ImportError:
        raise UsageError(f"deckbuild {command} needs the anki package: {INSTALL}") from None
    if not path.is_file():
        raise UsageError(f"collection '{shown}' not found")
    try:
        col = Collection(str(path))
    except DBError as err:
        if "already open" in str(err) or "locked" in str(err):
            raise EnvironmentFault(f"collection '{shown}' is open in Anki or another program; close Anki first "
                                   "(nothing was changed)") from None
        raise UsageError(f"cannot open '{shown}' as an Anki collection: {err}") from None
    try:
        yield col
    finally:
        col.close()


def copy_to(path: Path, folder: Path) -> Path:
    """A copy of the collection (and its write-ahead log) in `folder`, to try things on."""
    copy = folder / "collection.anki2"
    for suffix in ("", "-wal"):
        if Path(f"{path}{suffix}").is_file():
            shutil.copyfile(f"{path}{suffix}", f"{copy}{suffix}")
    return copy


def backup(col: Collection, path: Path) -> Path:
    """Anki's own backup of the collection, in the `backups` folder beside it (as Anki keeps them); its path.

    Anki writes it into a temporary folder first; it is then given a name no earlier backup has
    (Anki names them by the second), so a backup is never replaced and never seen half-written.
    """
    folder = path.parent / "backups"
    try:
        with temp_dir(folder) as work:
            made: list[Path] = []
            try:
                col.create_backup(backup_folder=str(work), force=True, wait_for_completion=True)
                made = sorted(work.iterdir())
            except Exception:  # noqa: BLE001 - Anki's backup failed: fall back to a plain copy
                pass
            if not made:
                col.db.execute("pragma wal_checkpoint(full)")
                made = [work / f"{path.stem}-{time.strftime('%Y-%m-%d-%H.%M.%S')}{path.suffix}"]
                shutil.copyfile(path, made[0])
            return _keep(made[-1], folder)
    except (OSError, Exception) as err:  # noqa: BLE001 - no backup: stop before anything changes
        raise EnvironmentFault(f"could not back up '{path}' into '{folder}': {err}; nothing was changed") from None


def last_backup(path: Path) -> tuple[Path, float] | None:
    """The newest backup in the `backups` folder beside the collection (Anki's or a push's), with its mtime."""
    newest = None
    try:
        with os.scandir(path.parent / "backups") as listing:
            for entry in listing:
                if entry.name.endswith((".colpkg", path.suffix)) and not entry.name.startswith(".") \
                        and entry.is_file() and entry.stat().st_size:
                    mtime = entry.stat().st_mtime
                    if newest is None or mtime > newest[1]:
                        newest = (Path(entry.path), mtime)
    except OSError:
        return None
    return newest


def backup_interval(col: Collection) -> int:
    """Anki's own minimum time between its automatic backups, in minutes (Preferences → Backups)."""
    return int(col.get_preferences().backups.minimum_interval_mins)


def _keep(made: Path, folder: Path) -> Path:
    """Move a finished backup into `folder` under its name, or its name plus a number if that is taken."""
    stem, suffix = made.stem, made.suffix
    for number in range(10_000):
        target = folder / (f"{stem}{suffix}" if not number else f"{stem}-{number}{suffix}")
        try:
            os.link(made, target)  # fails if the name is taken: never replaces an earlier backup
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links: claim the name, then move the backup onto it
            try:
                os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                continue
            os.replace(made, target)
        return target
    raise OSError(f"no free backup name for {made.name}")


def read_notes(col: Collection, ids: Iterable[str], *, nids: Mapping[str, int] | None = None,
               guids: Mapping[str, str] | None = None, kinds: Mapping[int, str] | None = None) -> dict[str, AnkiNote]:
    """The collection's notes for these item ids (by GUID), keyed by item id; ids it lacks are left out.

    Four set-based queries whose cost follows the number of ids, not the size of the collection:
    `nids` (the note ids the state file recorded) are read by id, Anki's primary key, and kept where
    the note there has the item's GUID; only the rest are looked for by GUID, all in one pass (the
    collection has no index on GUIDs). `guids` are GUIDs known already (a compiled note's, an adopted
    item's own); `kinds` names the tree's own note types.
    """
    guids = guids or {}
    kinds = {**KINDS, **(kinds or {})}
    by_guid = {guids.get(item_id) or guid_for(item_id): item_id for item_id in ids}
    wanted = set(by_guid.values())
    hinted = sorted({nid for item_id, nid in (nids or {}).items() if item_id in wanted})
    # Each set goes in as one JSON parameter: one query each, whatever the number of ids.
    rows = {row[0]: row for row in col.db.all(
        "select id, guid, mid, mod, flds, tags from notes where id in (select value from json_each(?))",
        json.dumps(hinted)) if row[1] in by_guid}
    missing = set(by_guid) - {row[1] for row in rows.values()}
    if missing:
        rows.update((row[0], row) for row in col.db.all(
            "select id, guid, mid, mod, flds, tags from notes where guid in (select value from json_each(?))",
            json.dumps(sorted(missing))))
    cards: dict[int, list[tuple[int, int, int]]] = {}
    for nid, cid, ord_, did in col.db.all(
            "select nid, id, ord, case when odid then odid else did end from cards "
            "where nid in (select value from json_each(?)) order by nid, ord", json.dumps(sorted(rows))):
        cards.setdefault(nid, []).append((cid, ord_, did))
    reviews = dict(col.db.all("select cid, count() from revlog where cid in (select value from json_each(?)) "
                              "group by cid", json.dumps([cid for found in cards.values() for cid, _, _ in found])))
    names: dict[int, str] = {}
    found: dict[str, AnkiNote] = {}
    for nid, guid, mid, mod, flds, tags in rows.values():
        held = tuple(AnkiCard(id=cid, ord=ord_, deck=names[did] if did in names else names.setdefault(
                         did, col.decks.name(did)), reviews=reviews.get(cid, 0))
                     for cid, ord_, did in cards.get(nid, ()))
        found[by_guid[guid]] = AnkiNote(
            id=by_guid[guid], nid=nid, kind=kinds.get(mid), fields=tuple(flds.split("\x1f")),
            tags=tuple(tags.split()), mod=mod, decks=tuple(dict.fromkeys(card.deck for card in held)), cards=held)
    return found


def notetype_mods(col: Collection, notetypes: Mapping | None = None) -> dict[str, int]:
    """The collection's mod time of each of deckbuild's note types it has (and of the tree's own, `notetypes`)."""
    mods = {}
    for notetype in [*NOTETYPES.values(), *(notetypes or {}).values()]:
        found = col.models.get(notetype.id)
        if found:
            mods[notetype.kind] = int(found["mod"])
    return mods


def notetype_fields(col: Collection, notetypes: Mapping) -> dict:
    """The field and template names (a state `Shape`) the collection's copy of each of the tree's own types has."""
    from ..pipeline.state import Shape

    fields = {}
    for notetype in notetypes.values():
        found = col.models.get(notetype.id)
        if found:
            fields[notetype.kind] = Shape(tuple(f["name"] for f in found["flds"]), tuple(t["name"] for t in found["tmpls"]))
    return fields


def import_package(col: Collection, apkg: Path):
    """Import a package with the options the README tells users to choose (Anki's defaults); return Anki's log."""
    from anki.import_export_pb2 import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    request = ImportAnkiPackageRequest(package_path=str(apkg), options=ImportAnkiPackageOptions())
    return col.import_anki_package(request).log


def read_applied(col: Collection) -> Applied:
    """What earlier pushes applied to this collection (nothing, before the first)."""
    return parse_applied(col.get_config(APPLIED, None))


def parse_applied(record: object) -> Applied:
    """The record of what pushes applied, as the collection's config holds it (any route reads it so)."""
    if not isinstance(record, dict):
        return Applied(decks={})
    decks = record.get("decks")
    return Applied(decks={str(k): str(v) for k, v in decks.items()} if isinstance(decks, dict) else {},
                   converting=tuple(map(str, record.get("converting") or ())),
                   deleting=tuple(map(str, record.get("deleting") or ())))


def write_applied(col: Collection, applied: Applied) -> None:
    """Record what has been applied, in the collection (Anki commits it at once)."""
    col.set_config(APPLIED, applied_record(applied))


def applied_record(applied: Applied) -> dict:
    """The record of what pushes applied, as the collection's config keeps it."""
    return {"decks": dict(sorted(applied.decks.items())), "converting": list(applied.converting),
            "deleting": list(applied.deleting)}


def convert_notes(col: Collection, *, old: str, new: str, nids: list[int], fields: list[int]) -> None:
    """Switch notes from one of deckbuild's note types to the other; their cards keep their numbers and reviews."""
    request = col.models.change_notetype_info(old_notetype_id=NOTETYPES[old].id,
                                              new_notetype_id=NOTETYPES[new].id).input
    request.note_ids.extend(nids)
    del request.new_fields[:]
    request.new_fields.extend(fields)
    col.models.change_notetype_of_notes(request)


def make_older(col: Collection, nids: list[int]) -> None:
    """Mark notes older than any build, so the next import fills them from the package."""
    for start in range(0, len(nids), 500):
        chunk = nids[start:start + 500]
        col.db.execute(f"update notes set mod = 0 where id in ({','.join('?' * len(chunk))})", *chunk)


def remove_cards(col: Collection, cards: Iterable[tuple[int, int]]) -> None:
    """Remove cards, each named by its note id and card number (the numbers survive a conversion)."""
    ids = [cid for nid, ord_ in cards
           for cid in col.db.list("select id from cards where nid = ? and ord = ?", nid, ord_)]
    if ids:
        col.remove_cards_and_orphaned_notes(ids)


def move_cards(col: Collection, *, nid: int, from_deck: str, to_deck: str) -> None:
    """Move a note's cards that are in `from_deck` (as their home deck) to `to_deck`."""
    home = col.decks.id_for_name(from_deck)
    cards = col.db.list("select id from cards where nid = ? and (case when odid then odid else did end) = ?",
                        nid, home)
    if cards:
        col.set_deck(cards, col.decks.id(to_deck, create=True))


def delete_notes(col: Collection, nids: list[int]) -> None:
    """Delete notes and their cards."""
    if nids:
        col.remove_notes(nids)


@dataclass(frozen=True, slots=True, kw_only=True)
class Done:
    """What applying a plan did beyond the plan itself: the import's outcome per item id, and what waited."""

    log: dict[str, list[str]]
    blocked: tuple[str, ...]  # conversions that would drop a card, left for --yes
    deleted: tuple[str, ...]  # notes deleted now or by a stopped push


def apply_plan(col: Steps, *, plan: Plan, approved: bool, found: dict[str, AnkiNote], applied: Applied,
               decks: dict[str, str], apkg: Path, on_deleted: Callable[[list[str]], None],
               notetypes: Mapping | None = None) -> Done:
    """Apply a push's plan to the collection, recording what is done (`Applied`) as soon as Anki holds it.

    `col` is a route's session (the file, or the running Anki): the same steps either way.
    `approved` allows what --yes allows (removing cards, deleting notes); `decks` is each item's
    deck in the YAML; `on_deleted` drops the deleted notes' tombstones before the record forgets them.
    """
    removing = plan.remove if approved else ()
    # A switch that would drop a card waits for --yes: Anki would drop it silently otherwise.
    blocked = {i for i, o, _, _ in plan.remove if not approved and i in {c[0] for c in plan.convert} and o != 0}
    convert = [c for c in plan.convert if c[0] not in blocked]
    # Cards a switch would carry into a different fact go first (card 1 stays: the note needs one card).
    col.remove_cards([(found[i].nid, o) for i, o, _, _ in removing if o != 0 and i in {c[0] for c in convert}])
    log = col.import_package(apkg, by_nid={note.nid: item_id for item_id, note in found.items()})
    pause("push-import")
    if convert or plan.refill:
        applied = replace(applied, converting=tuple(sorted({c[0] for c in convert} | set(plan.refill))))
        col.write_applied(applied)
        for (old, new), fields in FIELD_MAP.items():
            nids = [found[i].nid for i, a, b in convert if (a, b) == (old, new)]
            if nids and col.has_notetype(new):
                col.change_notetype(old=old, new=new, nids=nids, fields=fields, templates=None)
        col.convert_by_name(convert, found, notetypes or {})  # to or from the tree's own types
        pause("push-convert")
        col.refill(notes=[found[i] for i in applied.converting], apkg=apkg)  # the build's content and mod
        applied = replace(applied, converting=())
        col.write_applied(applied)
    col.remove_cards([(found[i].nid, o) for i, o, _, _ in removing])
    pause("push-remove")
    for item_id, deck, wanted in plan.moves:
        col.move_cards(nid=found[item_id].nid, from_deck=deck, to_deck=wanted)
    left = {i for i, _, _ in plan.left}
    applied = replace(applied, decks={**applied.decks, **{i: d for i, d in decks.items() if i not in left}})
    col.write_applied(applied)
    pause("push-move")
    deleted = [i for i, _ in plan.delete] if approved else []
    if deleted:
        col.write_applied(replace(applied, deleting=tuple(deleted)))
        col.remove_notes([found[i].nid for i in deleted])
        pause("push-delete")
    done = deleted + list(plan.deleted_before)
    on_deleted(done)
    col.write_applied(replace(applied, decks={k: v for k, v in applied.decks.items() if k not in done},
                              deleting=()))
    return Done(log=log, blocked=tuple(sorted(blocked)), deleted=tuple(done))


def _import_log(col: Collection, apkg: Path, *, by_nid: Mapping[int, str] | None = None) -> dict[str, list[str]]:
    """Import the package; the item ids of its notes by outcome (by note id, else by the Id field deckbuild's two
    note types end with)."""
    log = import_package(col, apkg)
    return {name: item_ids(getattr(log, name), by_nid or {}) for name in ("new", "updated", "duplicate", "conflicting")}
