"""A real Anki collection for `diff`, `pull` and `push`: opened alone, backed up, and deckbuild's notes read."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EnvironmentFault, UsageError
from ..pipeline.notetypes import NOTETYPES
from ..pipeline.render import guid_for

if TYPE_CHECKING:
    from anki.collection import Collection

INSTALL = "pip install '.[anki]' (from a clone of deckbuild; it is not on PyPI)"
KINDS = {notetype.id: kind for kind, notetype in NOTETYPES.items()}


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
    """Anki's own backup of the collection, in the `backups` folder beside it (as Anki keeps them); its path."""
    folder = path.parent / "backups"
    folder.mkdir(exist_ok=True)
    before = set(folder.iterdir())
    try:
        col.create_backup(backup_folder=str(folder), force=True, wait_for_completion=True)
    except Exception:  # noqa: BLE001 - Anki's backup failed: fall back to a plain copy
        pass
    made = sorted(set(folder.iterdir()) - before, key=lambda p: p.stat().st_mtime)
    if made:
        return made[-1]
    # Anki names backups by the second (a second one within it replaces the first), or it made none.
    copy = folder / f"{path.stem}-{time.strftime('%Y-%m-%d-%H.%M.%S')}-{time.time_ns() % 10**9:09d}{path.suffix}"
    try:
        col.db.execute("pragma wal_checkpoint(full)")
        shutil.copyfile(path, copy)
    except (OSError, Exception) as err:  # noqa: BLE001 - no backup: stop before anything changes
        raise EnvironmentFault(f"could not back up '{path}' into '{folder}': {err}; nothing was changed") from None
    return copy


def read_notes(col: Collection, ids: Iterable[str], *, guids: Mapping[str, str] | None = None,
               kinds: Mapping[int, str] | None = None) -> dict[str, AnkiNote]:
    """The collection's notes for these item ids (by GUID), keyed by item id; ids it lacks are left out.

    `guids` gives the GUID of items that carry their own (adopted notes); `kinds` names the tree's own note types.
    """
    guids = guids or {}
    kinds = {**KINDS, **(kinds or {})}
    by_guid = {guids.get(item_id) or guid_for(item_id): item_id for item_id in ids}
    found: dict[str, AnkiNote] = {}
    guids = list(by_guid)
    for start in range(0, len(guids), 500):
        chunk = guids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for nid, guid, mid, mod, flds, tags in col.db.all(
                f"select id, guid, mid, mod, flds, tags from notes where guid in ({marks})", *chunk):
            decks = col.db.list("select distinct case when odid then odid else did end from cards "
                                "where nid = ? order by ord", nid)
            found[by_guid[guid]] = AnkiNote(
                id=by_guid[guid], nid=nid, kind=kinds.get(mid), fields=tuple(flds.split("\x1f")),
                tags=tuple(tags.split()), mod=mod, decks=tuple(dict.fromkeys(map(col.decks.name, decks))))
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
