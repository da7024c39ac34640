"""What each action does to the open collection; every function here runs on Anki's main thread.

The first group answers AnkiConnect's documented actions (the subset deckbuild uses); the second is deckbuild's own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

WRITES = frozenset({"importPackage", "changeDeck", "deleteNotes", "updateNoteFields", "addTags", "removeTags",
                    "createDeck", "importPackageLog", "changeNotetype", "moveCards", "endUndo", "removeCards"})


class ActionError(Exception):
    """An action that can't be done, with the reason the caller is told."""


def _import(col, path: str, *, always: bool = False):
    from anki.import_export_pb2 import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    if not os.path.isabs(path):
        raise ActionError("the package path must be absolute")
    options = ImportAnkiPackageOptions(update_notes=1 if always else 0)  # 1: always, 0: if newer (Anki's default)
    return col.import_anki_package(ImportAnkiPackageRequest(package_path=path, options=options))


# AnkiConnect's actions, as its documentation describes them ------------------------------------------------------

def version(col, params: dict) -> int:
    return 6


def findNotes(col, params: dict) -> list[int]:  # noqa: N802 - the protocol's names
    return list(col.find_notes(params.get("query", "")))


def notesInfo(col, params: dict) -> list[dict]:  # noqa: N802
    out = []
    for nid in params.get("notes", []):
        try:
            note = col.get_note(nid)
        except Exception:  # noqa: BLE001 - a missing note answers an empty object, as documented
            out.append({})
            continue
        names = [f["name"] for f in note.note_type()["flds"]]
        out.append({"noteId": note.id, "modelName": note.note_type()["name"], "tags": list(note.tags),
                    "fields": {name: {"value": note.fields[i], "order": i} for i, name in enumerate(names)},
                    "mod": note.mod, "cards": list(note.card_ids())})
    return out


def cardsInfo(col, params: dict) -> list[dict]:  # noqa: N802
    out = []
    for cid in params.get("cards", []):
        try:
            card = col.get_card(cid)
        except Exception:  # noqa: BLE001
            out.append({})
            continue
        out.append({"cardId": card.id, "note": card.nid, "deckName": col.decks.name(card.odid or card.did),
                    "ord": card.ord, "type": card.type, "queue": card.queue, "due": card.due,
                    "interval": card.ivl, "factor": card.factor, "reps": card.reps, "lapses": card.lapses,
                    "left": card.left, "mod": card.mod})
    return out


def importPackage(col, params: dict) -> bool:  # noqa: N802
    _import(col, params["path"])
    return True


def changeDeck(col, params: dict):  # noqa: N802
    return col.set_deck(params["cards"], col.decks.id(params["deck"], create=True))


def deleteNotes(col, params: dict):  # noqa: N802
    return col.remove_notes(params["notes"])


def updateNoteFields(col, params: dict):  # noqa: N802
    given = params["note"]
    note = col.get_note(given["id"])
    for name, value in given.get("fields", {}).items():
        note[name] = value
    return col.update_note(note)


def addTags(col, params: dict):  # noqa: N802
    return col.tags.bulk_add(params["notes"], params["tags"])


def removeTags(col, params: dict):  # noqa: N802
    return col.tags.bulk_remove(params["notes"], params["tags"])


def createDeck(col, params: dict) -> int:  # noqa: N802
    return int(col.decks.id(params["deck"], create=True))


def deckNames(col, params: dict) -> list[str]:  # noqa: N802
    return [deck.name for deck in col.decks.all_names_and_ids()]


def exportPackage(col, params: dict) -> bool:  # noqa: N802
    from anki.collection import DeckIdLimit, ExportAnkiPackageOptions

    deck = col.decks.id_for_name(params["deck"])
    if deck is None:
        raise ActionError(f"no deck named {params['deck']}")
    options = ExportAnkiPackageOptions(with_scheduling=bool(params.get("includeSched")), with_deck_configs=False,
                                       with_media=True, legacy=True)
    col.export_anki_package(out_path=params["path"], options=options, limit=DeckIdLimit(deck))
    return True


def guiBrowse(col, params: dict) -> list[int]:  # noqa: N802
    import aqt

    browser = aqt.dialogs.open("Browser", aqt.mw)
    browser.search_for(params.get("query", ""))
    return list(col.find_cards(params.get("query", "")))


# deckbuild's own actions ------------------------------------------------------------------------------------------

def collectionPath(col, params: dict) -> str:  # noqa: N802
    return str(Path(col.path).resolve())


def notesByGuid(col, params: dict) -> list[list]:  # noqa: N802
    """Each note with one of these GUIDs: guid, id, note type id, mod, fields, tags, its cards' home decks, and its
    cards as [id, number, home deck, reviews].

    One query per 500 GUIDs, cards joined in: 5,000 notes in well under a second.
    """
    guids = list(params.get("guids", []))
    since = params.get("since") or {}  # guid -> mod: a note not newer comes without its fields and tags (None)
    names: dict[int, str] = {}
    found: dict[int, list] = {}
    for start in range(0, len(guids), 500):
        chunk = guids[start:start + 500]
        rows = col.db.all(
            "select n.id, n.guid, n.mid, n.mod, n.flds, n.tags, case when c.odid then c.odid else c.did end, "
            "c.id, c.ord, (select count() from revlog where cid = c.id) "
            f"from notes n left join cards c on c.nid = n.id where n.guid in ({','.join('?' * len(chunk))}) "
            "order by n.id, c.ord", *chunk)
        for nid, guid, mid, mod, flds, tags, deck, cid, ord_, reviews in rows:
            note = found.get(nid)
            if note is None:
                fresh = guid not in since or mod > since[guid]
                note = found[nid] = [guid, nid, mid, mod, flds.split("\x1f") if fresh else None,
                                     tags.split() if fresh else None, [], []]
            if deck is not None:
                name = names.get(deck) or names.setdefault(deck, col.decks.name(deck))
                if name not in note[6]:
                    note[6].append(name)
                note[7].append([cid, ord_, name, reviews])
    return list(found.values())


def notetypeMods(col, params: dict) -> dict[str, int]:  # noqa: N802
    mods = {}
    for mid in params.get("ids", []):
        found = col.models.get(mid)
        if found:
            mods[str(mid)] = int(found["mod"])
    return mods


def createBackup(col, params: dict) -> str:  # noqa: N802
    """Anki's own backup into the profile's backups folder, forced; the new file's path."""
    import aqt

    folder = Path(aqt.mw.pm.backupFolder())
    before = set(folder.iterdir())
    col.create_backup(backup_folder=str(folder), force=True, wait_for_completion=True)
    made = sorted(set(folder.iterdir()) - before, key=lambda p: p.stat().st_mtime)
    if made:
        return str(made[-1])
    # Anki made none: nothing changed since its newest backup, which therefore holds the collection as it is
    existing = sorted(folder.glob("*.colpkg"), key=lambda p: p.stat().st_mtime)
    if existing:
        return str(existing[-1])
    raise ActionError("Anki made no backup; nothing was changed")


def backupInterval(col, params: dict) -> int:  # noqa: N802
    """Anki's minimum time between its automatic backups, in minutes (Preferences → Backups)."""
    return int(col.get_preferences().backups.minimum_interval_mins)


def importPackageLog(col, params: dict) -> dict[str, list]:  # noqa: N802
    """importPackage, answering Anki's log: for each outcome, [note id, last field] of each note."""
    log = _import(col, params["path"], always=bool(params.get("always"))).log
    return {name: [[entry.id.nid, entry.fields[-1] if entry.fields else ""] for entry in getattr(log, name)]
            for name in ("new", "updated", "duplicate", "conflicting")}


def changeNotetype(col, params: dict) -> int:  # noqa: N802
    """Anki's change-notetype operation (it keeps the cards and their reviews) with a field and template mapping."""
    request = col.models.change_notetype_info(old_notetype_id=params["old"], new_notetype_id=params["new"]).input
    request.note_ids.extend(params["notes"])
    del request.new_fields[:]
    request.new_fields.extend(params["fields"])
    if params.get("templates") is not None:
        del request.new_templates[:]
        request.new_templates.extend(params["templates"])
    col.models.change_notetype_of_notes(request)
    return len(params["notes"])


def moveCards(col, params: dict) -> int:  # noqa: N802
    """Move a note's cards whose home deck is `fromDeck` to `toDeck` (made if missing); how many moved."""
    home = col.decks.id_for_name(params["fromDeck"])
    cards = col.db.list("select id from cards where nid = ? and (case when odid then odid else did end) = ?",
                        params["note"], home)
    if cards:
        col.set_deck(cards, col.decks.id(params["toDeck"], create=True))
    return len(cards)


def undoStatus(col, params: dict) -> str:  # noqa: N802
    """What Edit → Undo would undo now (its label), or an empty string."""
    return col.undo_status().undo


def removeCards(col, params: dict) -> int:  # noqa: N802
    """Remove cards, each named [note id, card number]; how many."""
    ids = [cid for nid, ord_ in params.get("cards", [])
           for cid in col.db.list("select id from cards where nid = ? and ord = ?", nid, ord_)]
    if ids:
        col.remove_cards_and_orphaned_notes(ids)
    return len(ids)


def deckbuildConfig(col, params: dict):  # noqa: N802
    """Read, or with `value` write, one of deckbuild's keys in the collection's config (only keys starting so)."""
    key = str(params.get("key", ""))
    if not key.startswith("deckbuild"):
        raise ActionError("only deckbuild's own config keys")
    if "value" in params:
        col.set_config(key, params["value"])
        return True
    return col.get_config(key, None)


def beginUndo(col, params: dict) -> int:  # noqa: N802
    """Start one step on Anki's Edit → Undo that every change until endUndo joins."""
    return col.add_custom_undo_entry(params.get("name") or "deckbuild push")


def endUndo(col, params: dict):  # noqa: N802
    return col.merge_undo_entries(params["step"])


ACTIONS: dict[str, Any] = {name: fn for name, fn in dict(globals()).items()
                           if callable(fn) and getattr(fn, "__module__", None) == __name__
                           and name[0].islower() and not name.startswith("_")}
