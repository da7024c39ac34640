"""`deckbuild adopt`: a cards tree written from a deck in an existing collection, linked to its notes and reviews.

The tree is written into a temporary folder beside the target and compiled there; only a tree that
builds is moved into place. The adopted types are then set in the collection as deckbuild builds them
(its citation fields and block added, reviews kept), and the state file is taken from the collection,
so the very next `push` changes nothing.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import tempfile
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from ..errors import ContentError, UsageError
from ..pipeline.compile import compile_tree
from ..pipeline.notetypes import CITATION, CITATION_CSS, CLOZE, NOTETYPES, QA
from ..pipeline.render import citation, guid_for
from ..pipeline.usertypes import CITED, NOTETYPES_FILE
from ..pipeline.validate import ID, TAG
from ..model import Source
from ..pipeline.lock import collection_lock, locked
from ..pipeline.state import temp_prefix
from .anki_types import sync_notetypes
from .store import backup, opened
from .typedpull import field_text
from .unrender import to_markdown

PLACEHOLDER = "adopted-no-source"
_WORDS = re.compile(r"[a-z0-9]+")
_TAGS = re.compile(r"<[^>]*>|\[sound:[^\]]*\]")
_SOUND = re.compile(r"\[sound:([^\]]+)\]")
_IMG = re.compile(r'<img\b[^>]*?\bsrc="([^"]+)"', re.IGNORECASE)
_CITATION = re.compile(r'<div class="citation">(?:(?P<head>.*?)\. )?<i>(?P<title>.*?)</i>\.'
                       r'(?: (?P<publisher>[^<]*?)\.)?(?: <a href="(?P<url>[^"]*)">[^<]*</a>)?</div>')


@dataclass(frozen=True, slots=True, kw_only=True)
class AdoptReport:
    """What adopt wrote and found."""

    cards_dir: Path
    notes: int
    files: int
    notetypes: tuple[str, ...]
    media: int
    placeholders: int
    approximate: tuple[str, ...]  # "id: field" whose YAML renders differently from Anki's HTML
    backup: Path | None

    def lines(self) -> list[str]:
        """What to tell the user."""
        lines = [f"backup: {self.backup}"] if self.backup else []
        lines += [f"approximate: review {a} (its text renders differently from Anki's HTML)" for a in self.approximate]
        lines.append(f"adopted {self.notes} notes into {self.cards_dir}: {self.files} deck files, "
                     f"{len(self.notetypes)} note types, {self.media} media files; {self.placeholders} cite the "
                     f"placeholder source '{PLACEHOLDER}' (`deckbuild check` lists them)")
        return lines


def adopt(*, collection: Path, deck: str, cards_dir: Path) -> AdoptReport:
    """Write a tree for `deck` (and its subdecks) from the collection, set its types there, and write the state."""
    if cards_dir.exists() and (not cards_dir.is_dir() or any(cards_dir.iterdir())):
        raise UsageError(f"'{cards_dir}' exists and is not an empty folder; adopt writes a new tree and never "
                         "overwrites files it didn't write: name a new folder")
    parent = cards_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=temp_prefix(), dir=parent))
    try:
        with locked(collection_lock(collection)) if collection.is_file() else nullcontext(), \
                opened(collection, command="adopt") as col:
            tree = _read(col, deck)
            written = _write(tree, work)
            compiled = compile_tree(work)
            errors = [p for p in compiled.problems if p.is_error]
            if errors:
                raise ContentError(errors)
            saved = backup(col, collection) if compiled.tree.notetypes else None
            sync_notetypes(col, compiled.tree.notetypes, force=True)
        if cards_dir.exists():
            cards_dir.rmdir()
        work.rename(cards_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    from .pull import restore_state  # pull imports push; imported here, once the tree is in place

    restore_state(cards_dir=cards_dir, collection=collection)
    return AdoptReport(cards_dir=cards_dir, notes=len(tree.notes), files=written["files"],
                       notetypes=tuple(compiled.tree.notetypes), media=written["media"],
                       placeholders=written["placeholders"], approximate=tuple(written["approximate"]), backup=saved)


@dataclass(frozen=True, slots=True)
class _Adopted:
    """A deck as the collection holds it."""

    notes: list  # anki Note objects, by note id
    decks: dict[int, str]  # note id -> the deck of its first card
    models: dict[int, dict]  # note type id -> its JSON
    media_dir: Path
    top: str


def _read(col, deck: str) -> _Adopted:
    """The deck's notes, their decks and note types."""
    found = col.decks.by_name(deck)
    if found is None:
        names = sorted(d.name for d in col.decks.all_names_and_ids())
        raise UsageError(f"no deck '{deck}' in the collection; its decks are: {', '.join(names)}")
    top = found["name"]
    decks: dict[int, str] = {}
    for nid, did, odid in col.db.all(
            "select nid, did, odid from cards where (case when odid then odid else did end) in "
            f"({','.join(str(int(d)) for d in col.decks.deck_and_child_ids(found['id']))}) "
            "order by nid, ord"):
        decks.setdefault(nid, col.decks.name(odid or did))
    notes = [col.get_note(nid) for nid in sorted(decks)]
    models = {note.mid: col.models.get(note.mid) for note in notes}
    return _Adopted(notes=notes, decks=decks, models=models, media_dir=Path(col.media.dir()), top=top)


def _slug(text: str, *, words: int = 6) -> str:
    """Lowercase words of a text joined by '-', for ids and file names."""
    plain = html.unescape(_TAGS.sub(" ", text)).lower()
    plain = plain.translate(str.maketrans("áàâäãåéèêëíìîïóòôöõúùûüñçß", "aaaaaaeeeeiiiiooooouuuuncs"))
    return "-".join(_WORDS.findall(plain)[:words])[:60].strip("-")


def _write(tree: _Adopted, root: Path) -> dict:
    """Write the tree's files into `root`; counts of what was written, and the approximate fields."""
    root.mkdir(exist_ok=True)
    media_used: dict[str, Path] = {}
    files: dict[str, list[str]] = defaultdict(list)
    ids: set[str] = set()
    approximate: list[str] = []
    sources: dict[str, Source] = {}
    placeholders = 0
    formats = _formats(tree)
    for note in tree.notes:
        deck = tree.decks[note.id]
        rel = "/".join(_slug(part, words=8) or "deck" for part in deck.split("::")) + ".yaml"
        folder = (root / rel).parent
        media = _media(note, tree.media_dir, root / "media", folder, media_used)
        model = tree.models[note.mid]
        if note.mid in (QA.id, CLOZE.id):
            own = note["Id"] if ID.match(note["Id"] or "") and guid_for(note["Id"]) == note.guid else ""
            item_id = own if own and own not in ids else _unique(_slug(note.fields[0]) or f"note-{note.id}", ids)
            lines, cited = _builtin(note, item_id, media, approximate, sources)
        else:
            item_id = _unique(_slug(note.fields[0]) or f"note-{note.id}", ids)
            lines, cited = _typed(note, item_id, model, formats[note.mid], media, approximate)
        ids.add(item_id)
        placeholders += not cited
        tags = [t for t in note.tags if TAG.match(t) and not t.startswith("::") and not t.endswith("::")]
        if tags:
            lines.append(f"    tags: [{', '.join(_quoted(t) for t in tags)}]")
        files[rel].append("\n".join(lines))
    by_deck = {}
    for note in tree.notes:
        by_deck.setdefault("/".join(_slug(p, words=8) or "deck" for p in tree.decks[note.id].split("::")) + ".yaml",
                           tree.decks[note.id])
    for rel, items in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"deck: {_quoted(by_deck[rel])}\ncards:\n" + "\n".join(items) + "\n", encoding="utf-8")
    _write_sources(root, sources)
    custom = {mid: model for mid, model in tree.models.items() if mid not in (QA.id, CLOZE.id)}
    if custom:
        (root / NOTETYPES_FILE).write_text(_notetypes_yaml(custom, formats), encoding="utf-8")
    return {"files": len(files), "media": len(media_used), "placeholders": placeholders, "approximate": approximate}


def _unique(base: str, ids: set[str]) -> str:
    """An id not taken yet: the base, or the base with -2, -3, …"""
    base = base or "note"
    found, n = base, 1
    while found in ids:
        n += 1
        found = f"{base}-{n}"
    return found


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    import json

    return json.dumps(text, ensure_ascii=False)


def _media(note, media_dir: Path, into: Path, folder: Path, used: dict[str, Path]) -> dict[str, str]:
    """Copy the files a note's fields name into `media/`; their names -> paths relative to the deck file."""
    found = {}
    for value in note.fields:
        for name in {*_IMG.findall(value), *_SOUND.findall(value)}:
            name = html.unescape(name)
            source = media_dir / name
            if "/" in name or "\\" in name or name.startswith(".") or not source.is_file():
                continue
            if name not in used:
                into.mkdir(exist_ok=True)
                target = into / _unhashed(name, source, used)
                shutil.copyfile(source, target)
                used[name] = target
            target = used[name]
            found[name] = Path(os.path.relpath(target, folder)).as_posix()
    return found


_HASHED = re.compile(r"(.+)-([0-9a-f]{16})(\.[^.]+)\Z")


def _unhashed(name: str, source: Path, used: dict[str, Path]) -> str:
    """A media file's name in the tree: a name deckbuild packaged (`stem-<content hash>.ext`) loses its hash, so
    building it again gives back the very same name; any other name stays."""
    import hashlib

    found = _HASHED.match(name)
    if found and hashlib.sha256(source.read_bytes()).hexdigest()[:16] == found[2]:
        plain = found[1] + found[3]
        if all(p.name != plain for p in used.values()):
            return plain
    return name


def _formats(tree: _Adopted) -> dict[int, list[str]]:
    """Per foreign note type, each field's format: sound, markdown where every note's value round-trips, else html."""
    formats = {}
    for mid, model in tree.models.items():
        if mid in (QA.id, CLOZE.id):
            continue
        names = [f["name"] for f in model["flds"]]
        values = [[n.fields[i] for n in tree.notes if n.mid == mid and n.fields[i]] for i in range(len(names))]
        chosen = []
        for name, column in zip(names, values):
            if name in CITED:
                chosen.append("html")
            elif column and all(_SOUND.fullmatch(v.strip()) for v in column):
                chosen.append("sound")
            elif all(to_markdown(_SOUND.sub("", v))[1] for v in column[:2000]):
                chosen.append("markdown")
            else:
                chosen.append("html")
        formats[mid] = chosen
    return formats


def _typed(note, item_id: str, model: dict, formats: list[str], media: dict[str, str],
           approximate: list[str]) -> tuple[list[str], bool]:
    """The YAML lines of a note of a foreign type (it cites the placeholder source)."""
    lines = [f"  - id: {item_id}", f"    type: {_quoted(model['name'])}", f"    guid: {_quoted(note.guid)}",
             "    fields:"]
    for field, fmt, value in zip(model["flds"], formats, note.fields):
        if not value.strip() or field["name"] in CITED:
            continue
        text, exact = field_text(value, fmt, media)
        if not exact:
            approximate.append(f"{item_id}: {field['name']}")
        lines.append(f"      {_quoted(field['name'])}: {_quoted(text)}")
    lines.append(f"    source: {PLACEHOLDER}")
    return lines, False


def _builtin(note, item_id: str, media: dict[str, str], approximate: list[str],
             sources: dict[str, Source]) -> tuple[list[str], bool]:
    """The YAML lines of a note deckbuild built (its own two types), its citations read back where they are exact."""
    cloze = note.mid == CLOZE.id
    keys = (("cloze", "Text"), ("extra", "Extra")) if cloze else (
        ("question", "Question"), ("answer", "Answer"), ("extra", "Extra"))
    lines = [f"  - id: {item_id}"]
    for key, field in keys:
        if not note[field].strip():
            continue
        text, exact = field_text(note[field], "markdown", media)
        if not exact:
            approximate.append(f"{item_id}: {key}")
        lines.append(f"    {key}: {_quoted(text)}")
    if not cloze and note["Reverse"].strip():
        lines.append("    reverse: true")
    keys = _citations(note["Source"], sources)
    lines.append(f"    source: {_quoted(keys[0]) if len(keys) == 1 else '[' + ', '.join(map(_quoted, keys)) + ']'}"
                 if keys else f"    source: {PLACEHOLDER}")
    if note["Quote"].strip():
        lines.append(f"    quote: {_quoted(html.unescape(note['Quote']))}")
    return lines, bool(keys)


def _citations(field: str, sources: dict[str, Source]) -> list[str]:
    """The source keys for a Source field deckbuild wrote, each read back and checked to render exactly; none if any isn't."""
    keys = []
    rest = field
    for match in _CITATION.finditer(field):
        head = html.unescape(match["head"] or "")
        date = re.search(r" ?\((\d{4}(?:-\d\d){0,2})\)$", head)
        author = head[:date.start()] if date else head
        source = Source(key="", title=html.unescape(match["title"]), author=tuple(a for a in [author] if a),
                        date=date[1] if date else None, publisher=html.unescape(match["publisher"] or "") or None,
                        url=html.unescape(match["url"] or "") or None)
        if citation(source) != match.group(0):
            return []
        existing = next((k for k, s in sources.items() if _same_source(s, source)), None)
        if existing is None:
            existing = _unique(_slug((author.split(",")[0].split() or ["source"])[0] + " " + (source.date or "")[:4]
                                     if author else source.title, words=4) or "source", set(sources))
            sources[existing] = Source(key=existing, title=source.title, author=source.author, date=source.date,
                                       publisher=source.publisher, url=source.url)
        keys.append(existing)
        rest = rest.replace(match.group(0), "", 1)
    return keys if keys and not rest.strip() else []


def _same_source(a: Source, b: Source) -> bool:
    """Whether two sources cite alike."""
    return (a.title, a.author, a.date, a.publisher, a.url) == (b.title, b.author, b.date, b.publisher, b.url)


def _write_sources(root: Path, sources: dict[str, Source]) -> None:
    """sources.yaml: the citations read back from deckbuild's notes, and the placeholder."""
    lines = [f"{PLACEHOLDER}:",
             '  title: "NO SOURCE YET: adopted from Anki without one; cite where these facts come from"',
             "  placeholder: true"]
    for key, source in sources.items():
        lines.append(f"{key}:")
        lines.append(f"  title: {_quoted(source.title)}")
        if source.author:
            lines.append(f"  author: {_quoted(source.author[0])}")
        for name in ("publisher", "date", "url"):
            if getattr(source, name):
                lines.append(f"  {name}: {_quoted(getattr(source, name))}")
    (root / "sources.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _notetypes_yaml(models: dict[int, dict], formats: dict[int, list[str]]) -> str:
    """notetypes.yaml for the foreign types, as the collection holds them (less deckbuild's own additions, if any)."""
    out = []
    for mid, model in sorted(models.items(), key=lambda m: m[1]["name"]):
        out.append(f"{_quoted(model['name'])}:")
        out.append(f"  id: {mid}")
        if model.get("type") == 1:
            out.append("  cloze: true")
        out.append("  fields:")
        for field, fmt in zip(model["flds"], formats[mid]):
            if field["name"] in CITED:
                continue
            out.append(f"    - {_quoted(field['name'])}" if fmt == "markdown" else
                       f"    - {{name: {_quoted(field['name'])}, format: {fmt}}}")
        out.append("  templates:")
        for template in model["tmpls"]:
            back = template["afmt"].replace(CITATION, "")
            out.append(f"    - name: {_quoted(template['name'])}")
            out.append(f"      front: {_quoted(template['qfmt'])}")
            out.append(f"      back: {_quoted(back)}")
        css = model.get("css", "")
        css = css.replace("\n" + CITATION_CSS, "") if css.endswith(CITATION_CSS) else css
        out.append(f"  css: {_quoted(css)}")
    return "\n".join(out) + "\n"
