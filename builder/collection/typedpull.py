"""`pull` for items of the tree's own note types: Anki's fields back into `fields:`, private fields never."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from ..model import Item, Note
from ..pipeline.notetypes import NOTETYPES, NoteType
from ..pipeline.render import SOUND_LINK, note_digest, sanitize
from ..pipeline.usertypes import CITED, cloze_field, required_fields
from .unrender import same_html, to_markdown
from .yamledit import Change

_SOUND = re.compile(r"\[sound:([^\]]+)\]")
_HELD = re.compile("\ue004(\\d+)\ue005")
_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]*)(")', re.IGNORECASE)


def _notetype(kind: str, notetypes: Mapping[str, NoteType]) -> NoteType | None:
    """One of the tree's own types by its kind (`type:<name>`)."""
    return notetypes.get(kind.removeprefix("type:")) if kind not in NOTETYPES else None


def typed_keys(kind: str, notetypes: Mapping[str, NoteType],
               builtin: Mapping[str, tuple[str, ...]]) -> list[tuple[int, str]]:
    """(field index, YAML key) of the fields pull compares: deckbuild's keys, or a type's own fields but private ones."""
    notetype = _notetype(kind, notetypes)
    if notetype is None:
        return list(enumerate(builtin.get(kind, ())))
    return [(i, name) for i, name in enumerate(notetype.fields) if name not in notetype.private and name not in CITED]


def typed_digest(found, notetypes: Mapping[str, NoteType], *, tags: tuple[str, ...]) -> str:
    """An Anki note's content hash as a build would record it: its private fields left out (a build leaves them empty)."""
    notetype = _notetype(found.kind, notetypes)
    if notetype is None:
        return ""
    fields = tuple("" if name in notetype.private else (found.fields[i] if i < len(found.fields) else "")
                   for i, name in enumerate(notetype.fields))
    return note_digest(kind=found.kind, fields=fields, tags=tags)


def field_text(html: str, fmt: str, media: Mapping[str, str]) -> tuple[str, bool]:
    """A field's HTML as its YAML value (paths for packaged media names), and whether that is exact."""
    def path(name: str) -> str:
        return media.get(name, name)

    if fmt == "sound":
        found = _SOUND.fullmatch(html.strip())
        return (path(found.group(1)), True) if found else (html, False)
    if fmt == "html":
        exact = same_html(sanitize(html), html)
        text = _SRC.sub(lambda m: m.group(1) + path(m.group(2)) + m.group(3), html)
        return _SOUND.sub(lambda m: f"[sound:{path(m.group(1))}]", text), exact
    sounds: list[str] = []

    def hold(match: re.Match) -> str:
        sounds.append(path(match.group(1)))
        return f"\ue004{len(sounds) - 1}\ue005"

    text, exact = to_markdown(_SOUND.sub(hold, html), images=media)
    return _HELD.sub(lambda m: _sound_link(sounds[int(m.group(1))]), text), exact


def _sound_link(path: str) -> str:
    """A sound in a Markdown field: `![](path)`, or `[sound:path]` where the path has what a link can't hold."""
    return f"![]({path})" if SOUND_LINK.fullmatch(f"![]({path})") else f"[sound:{path}]"


def typed_changes(item: Item, note: Note, found, edits, *, notetypes: Mapping[str, NoteType]) -> list:
    """The changes that bring Anki's fields and tags into an item's `fields:`, and the lines that report them."""
    from .pull import Outcome, _tag_changes  # pull imports this module

    notetype = notetypes[item.notetype]
    cards = edits.doc.data["cards"]
    index = next(i for i, entry in enumerate(cards) if getattr(entry, "get", None) and entry.get("id") == note.id)
    values = cards[index].get("fields")
    media = {}
    for m in note.media:  # by its packaged name, and by the file's own name (an adopted note still uses it)
        media[m.name] = media[m.path.name] = Path(os.path.relpath(m.path, item.folder.resolve())).as_posix()
    needed = set().union(*required_fields(notetype).values()) | {cloze_field(notetype) or ""}
    outcomes, keys = [], []
    for position, name in typed_keys(note.kind, notetypes, {}):
        html = found.fields[position] if position < len(found.fields) else ""
        if same_html(html, note.fields[position]):
            continue
        place = f"{item.path}:{item.line_of('fields.' + name)}"
        fmt = notetype.formats[position]
        text, exact = field_text(html, fmt, media)
        if values and text == values.get(name):
            continue  # Anki's HTML differs only in how the build names the same media
        if not text.strip():
            if name in needed:
                outcomes.append(Outcome(place=place, id=note.id, kind="conflict",
                                        detail=f"{name} was emptied in Anki; a card needs it, so it is not pulled"))
                continue
            edits.changes.append(Change(item=index, key=name, value=None, within="fields"))
        else:
            old = values.get(name) if values else None
            if isinstance(old, str) and old.endswith("\n") and not text.endswith("\n"):
                text += "\n"
            edits.changes.append(Change(item=index, key=name, value=text, within="fields",
                                        after=list(values)[-1] if values else None))
        keys.append(name)
        if not exact:
            outcomes.append(Outcome(place=place, id=note.id, kind="approximate", detail=(
                f"{name}: its text renders differently from Anki's HTML; check it")))
    outcomes += _tag_changes(item, note, found, edits, index=index, keys=keys)
    if keys:
        edits.pulled[note.id] = found
        outcomes.insert(0, Outcome(place=f"{item.path}:{item.line}", id=note.id, kind="pulled", detail=", ".join(keys)))
    return outcomes
