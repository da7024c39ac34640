"""A tree's own note types in a real collection: changed in place, notes switched between types, private fields kept.

Each function is one step `push` (or `adopt`) calls; none imports, builds or writes a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..model import USER_KIND, Note
from ..pipeline.notetypes import NOTETYPES, NoteType

if TYPE_CHECKING:
    from anki.collection import Collection

    from .store import AnkiNote


def kinds_by_id(notetypes: Mapping[str, NoteType], col: Collection | None = None) -> dict[int, str]:
    """Note type id -> kind, for deckbuild's two types and the tree's own; with `col`, also each other type the
    collection has (`type:<its name>`), so a note of a type renamed or dropped from the tree can be switched."""
    kinds = {int(m.id): USER_KIND + m.name for m in col.models.all_names_and_ids()} if col is not None else {}
    return {**kinds, **{t.id: t.kind for t in [*NOTETYPES.values(), *notetypes.values()]}}


def _structure(model: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A collection note type's field names and template names: what Anki's importer matches on."""
    return tuple(f["name"] for f in model["flds"]), tuple(t["name"] for t in model["tmpls"])


def sync_notetypes(col: Collection, notetypes: Mapping[str, NoteType], *, force: bool = False) -> list[str]:
    """Change each of the tree's own types the collection has, whose fields or template names differ, in place.

    Fields are matched by name (or by the name a field `was`), so a kept field keeps its content in
    every note; templates are matched by name, so their cards keep their reviews. Templates and CSS
    are set too, as the import would. With `force`, a type whose templates or CSS alone differ is
    set as well. Returns the names of the types changed.
    """
    changed = []
    for notetype in notetypes.values():
        model = col.models.get(notetype.id)
        if model is None:
            continue
        wanted = (notetype.fields, tuple(name for name, _, _ in notetype.templates))
        same_text = [(t["qfmt"], t["afmt"]) for t in model["tmpls"]] == [(q, a) for _, q, a in notetype.templates] \
            and model["css"] == notetype.css
        if _structure(model) == wanted and (not force or same_text):
            continue
        renamed = dict(notetype.renamed)
        old_fields = {f["name"]: f for f in model["flds"]}
        fields = []
        for name in notetype.fields:
            found = old_fields.pop(name, None) or old_fields.pop(renamed.get(name, ""), None)
            if found is None:
                found = col.models.new_field(name)
            found["name"] = name
            fields.append(found)
        old_templates = {t["name"]: t for t in model["tmpls"]}
        was = dict(notetype.renamed_templates)
        templates = []
        for name, front, back in notetype.templates:
            template = old_templates.pop(name, None) or old_templates.pop(was.get(name, ""), None) \
                or col.models.new_template(name)
            template["name"], template["qfmt"], template["afmt"] = name, front, back
            templates.append(template)
        model["flds"], model["tmpls"], model["css"] = fields, templates, notetype.css
        if model.get("sortf", 0) >= len(fields):
            model["sortf"] = 0
        mods = col.db.all("select id, mod from notes where mid = ?", notetype.id)
        col.models.update_dict(model)
        # Changing a type's fields stamps its notes `mod = now`; put back their mods, so the import that
        # follows still updates exactly the notes the build made newer (and no note edited in Anki since).
        col.db.executemany("update notes set mod = ? where id = ?", [(mod, nid) for nid, mod in mods])
        changed.append(notetype.name)
    return changed


def switches(notes: Sequence[Note], found: Mapping[str, AnkiNote]) -> list[tuple[str, str, str]]:
    """(id, kind in Anki, kind in the YAML) of each note whose item names another note type than Anki's note has."""
    return [(note.id, found[note.id].kind, note.kind) for note in notes
            if note.id in found and found[note.id].kind is not None and found[note.id].kind != note.kind]


def convert_by_name(col: Collection, convert: Iterable[tuple[str, str, str]], found: Mapping[str, AnkiNote],
                    notetypes: Mapping[str, NoteType]) -> list[tuple[str, str, str]]:
    """Switch the notes of `convert` (id, old kind, new kind) where either kind is one of the tree's own.

    Anki's change-notetype operation, fields and templates mapped by name, so reviews stay with
    their cards (deckbuild's own Q/A ↔ cloze switch has its fixed mapping elsewhere). Returns the
    switches made.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    for item_id, old_kind, new_kind in convert:
        if old_kind in NOTETYPES and new_kind in NOTETYPES:
            continue
        groups.setdefault((old_kind, new_kind), []).append(item_id)
    converted = []
    for (old_kind, new_kind), ids in sorted(groups.items()):
        # Both as the collection holds them: the old one may be gone from the tree (a type renamed).
        old, new = (col.models.get(_type_id(col, kind, notetypes)) for kind in (old_kind, new_kind))
        if old is None or new is None:
            continue
        request = col.models.change_notetype_info(old_notetype_id=old["id"], new_notetype_id=new["id"]).input
        request.note_ids.extend(found[i].nid for i in ids)
        names = [f["name"] for f in old["flds"]]
        del request.new_fields[:]
        request.new_fields.extend(names.index(f["name"]) if f["name"] in names else -1 for f in new["flds"])
        if new.get("type") != 1 and old.get("type") != 1:  # a cloze type keeps its card numbers
            del request.new_templates[:]
            request.new_templates.extend(_template_map([t["name"] for t in old["tmpls"]],
                                                       [t["name"] for t in new["tmpls"]]))
        col.models.change_notetype_of_notes(request)
        converted += [(i, old_kind, new_kind) for i in ids]
    return converted


def _type_id(col: Collection, kind: str, notetypes: Mapping[str, NoteType]) -> int:
    """A kind's note type id: deckbuild's, the tree's, or (a type no longer in the tree) the collection's by name."""
    if kind in NOTETYPES:
        return NOTETYPES[kind].id
    name = kind.removeprefix(USER_KIND)
    return notetypes[name].id if name in notetypes else int(col.models.id_for_name(name) or 0)


def _template_map(old: list[str], new: list[str]) -> list[int]:
    """For each new template, the old one whose cards (and reviews) it takes: the same name, else the next unused
    old one in order (the first card stays the first card), else none (-1)."""
    spare = [i for i, name in enumerate(old) if name not in new]
    return [old.index(name) if name in old else (spare.pop(0) if spare else -1) for name in new]


def private_values(col: Collection, found: Mapping[str, AnkiNote],
                   notetypes: Mapping[str, NoteType]) -> dict[int, dict[str, str]]:
    """What the collection's notes hold in their private fields now, by note id (only the non-empty ones)."""
    kept: dict[int, dict[str, str]] = {}
    by_kind = {t.kind: t for t in notetypes.values() if t.private}
    for note in found.values():
        notetype = by_kind.get(note.kind or "")
        if notetype is None:
            continue
        values = {name: note.fields[i] for i, name in enumerate(notetype.fields)
                  if name in notetype.private and i < len(note.fields) and note.fields[i]}
        if values:
            kept[note.nid] = values
    return kept


def unblock_private_edits(col: Collection, notes: Sequence[Note], found: Mapping[str, AnkiNote], state,
                          notetypes: Mapping[str, NoteType],
                          *, bookkeeping: frozenset[str] = frozenset({"leech", "marked"})) -> list[int]:
    """Give back the last build's `mod` to notes edited in Anki only in private fields whose YAML changed since, so
    the import still updates them (the private fields are put back after it, stamping them newer again); the note
    ids. A note whose YAML didn't change keeps its `mod`."""
    from .typedpull import typed_digest

    private = {t.kind for t in notetypes.values() if t.private}
    changed = {note.id for note in notes if note.id in state.items and note.digest != state.items[note.id].digest}
    unblocked = []
    for item_id, note in found.items():
        base = state.items.get(item_id)
        if note.kind not in private or base is None or note.mod <= base.mod or item_id not in changed:
            continue
        tags = tuple(sorted(t for t in note.tags if t.casefold() not in bookkeeping))
        if typed_digest(note, notetypes, tags=tags) == base.digest:
            unblocked.append(note.nid)
            col.db.execute("update notes set mod = ? where id = ?", base.mod, note.nid)
    return unblocked


def restore_private(col: Collection, kept: Mapping[int, Mapping[str, str]]) -> list[int]:
    """Put private fields back where an import changed them; the note ids restored."""
    restored = []
    for nid, values in kept.items():
        try:
            note = col.get_note(nid)
        except Exception:  # noqa: BLE001 - the note is gone (deleted by this push): nothing to keep
            continue
        if any(name in note and note[name] != value for name, value in values.items()):
            for name, value in values.items():
                if name in note:
                    note[name] = value
            col.update_note(note)
            restored.append(nid)
    return restored


def removed_guids(col: Collection, state, gone: Iterable[str]) -> dict[str, str]:
    """The GUIDs of removed items of the tree's own types, by the note id the state kept (such an item may have
    carried its own `guid:`, which left the tree with it)."""
    wanted = {state.items[i].nid: i for i in gone if i in state.items and state.items[i].kind not in NOTETYPES}
    found = {}
    for nid, item_id in wanted.items():
        guid = col.db.scalar("select guid from notes where id = ?", nid)
        if guid:
            found[item_id] = guid
    return found


def item_ids(log_entries: Iterable, by_nid: Mapping[int, str]) -> list[str]:
    """The item ids of an import log's notes, by note id (a tree's own type need not have an Id field)."""
    return [by_nid.get(entry.id.nid, entry.fields[-1] if entry.fields else "") for entry in log_entries]
