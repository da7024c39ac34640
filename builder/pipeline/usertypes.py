"""A tree's own note types: `notetypes.yaml` read, checked at its lines, and turned into NoteTypes."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from ..model import USER_KIND, Problem
from .load import Document, Map, Seq, one_line
from .notetypes import CITATION, CITATION_CSS, CSS, NOTETYPES, NoteType, user_notetype_id
from .statecheck import MAX_NID

NOTETYPES_FILE = "notetypes.yaml"
TYPE_KEYS = ("id", "cloze", "fields", "templates", "css")
FIELD_KEYS = ("name", "format", "private", "was")
TEMPLATE_KEYS = ("name", "front", "back", "was")
FORMATS = ("markdown", "html", "sound")
CITED = ("Source", "Quote")  # fields deckbuild fills from an item's `source:` and `quote:`
# What a template may name besides the type's fields (Anki's own).
SPECIAL = frozenset({"FrontSide", "Tags", "Type", "Deck", "Subdeck", "Card", "CardFlag", "CardID"})
_REF = re.compile(r"\{\{(.*?)\}\}", re.S)
_FIELD_NAME = re.compile(r'[^:{}"#^/\s][^:{}"]*\Z')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def references(template: str) -> Iterator[tuple[str, int, str]]:
    """Each field a template names: (field, depth inside {{#…}} sections, filter such as 'cloze', '' or '#' for a
    section's own name)."""
    depth = 0
    for match in _REF.finditer(template):
        ref = match.group(1).strip()
        if not ref or ref.startswith("!"):
            continue
        if ref[0] in "#^":
            yield ref[1:].strip(), depth, ref[0]
            depth += 1
        elif ref[0] == "/":
            depth = max(0, depth - 1)
        else:
            *filters, name = ref.split(":")
            yield name.strip(), depth, (filters[0].strip() if filters else "")


def required_fields(notetype: NoteType) -> dict[str, set[str]]:
    """Per template name, the fields its front shows outside any {{#…}} section."""
    return {name: {f for f, depth, flt in references(front) if depth == 0 and flt not in ("#", "^") and f not in SPECIAL}
            for name, front, _ in notetype.templates}


def cloze_field(notetype: NoteType) -> str | None:
    """The field a cloze type's deletions are written in ({{cloze:Field}} on its front)."""
    for _, front, _ in notetype.templates:
        for name, _, flt in references(front):
            if flt == "cloze":
                return name
    return None


def card_ords(notetype: NoteType, filled: set[str]) -> tuple[int, ...]:
    """The cards a non-cloze note of this type makes: as Anki does, each template whose front shows a filled field."""
    return tuple(index for index, (_, front, _) in enumerate(notetype.templates)
                 if any(f in filled for f, _, flt in references(front) if f not in SPECIAL and flt != "^"))


def validate_notetypes(doc: Document | None, problems: list[Problem]) -> dict[str, NoteType]:
    """The tree's own note types by name, with a problem at its line for each thing wrong."""
    if doc is None:
        return {}
    shown = doc.shown

    def report(line: int, message: str) -> None:
        problems.append(Problem(path=shown, line=line, message=one_line(message)))

    data = doc.data
    if not isinstance(data, Map):
        report(getattr(data, "line", 1), "notetypes.yaml must map note type names to definitions, like 'Vocab:' "
                                         "followed by indented 'fields:' and 'templates:'")
        return {}
    found: dict[str, NoteType] = {}
    ids: dict[int, str] = {}
    for name, entry in data.items():
        line = data.lines[name]
        before = len(problems)
        if name in NOTETYPES or name in {t.name for t in NOTETYPES.values()} or _CONTROL.search(name) \
                or not name.strip() or '"' in name:
            report(line, f"note type name '{name}' is deckbuild's own or not usable; choose another name")
            continue
        if not isinstance(entry, Map):
            report(line, f"note type '{name}' must be a mapping with 'fields' and 'templates'")
            continue
        _unknown(entry, TYPE_KEYS, f"note type '{name}'", report)
        notetype = _notetype(name, entry, line=line, report=report)
        if notetype is None or len(problems) > before:
            continue
        if notetype.id in ids:
            report(line, f"note type '{name}' has the id of '{ids[notetype.id]}'; give one another 'id'")
            continue
        ids[notetype.id] = name
        found[name] = notetype
    return found


def _unknown(entry: Map, allowed: tuple[str, ...], what: str, report) -> None:
    """Report each key not in `allowed`, suggesting the nearest."""
    for key in entry:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else f"the keys are {', '.join(allowed)}"
            report(entry.lines[key], f"unknown key '{key}' in {what}; {hint}")


def _notetype(name: str, entry: Map, *, line: int, report) -> NoteType | None:
    """One type's definition, or None when it is too broken to check further."""
    type_id = user_notetype_id(name)
    if "id" in entry:
        raw = entry["id"]
        if not isinstance(raw, str) or not raw.isdigit() or not 0 < int(raw) <= MAX_NID:
            report(entry.lines["id"], f"'id' of note type '{name}' must be a whole number from 1 to {MAX_NID}")
        else:
            type_id = int(raw)
    cloze = entry.get("cloze", False)
    if not isinstance(cloze, bool):
        report(entry.lines["cloze"], f"'cloze' of note type '{name}' must be true or false")
        cloze = False
    css = entry.get("css", "")
    if not isinstance(css, str):
        report(entry.lines["css"], f"'css' of note type '{name}' must be text")
        css = ""
    renamed: list[tuple[str, str]] = []
    fields = _fields(name, entry, line=line, report=report, renamed=renamed)
    renamed_templates: list[tuple[str, str]] = []
    templates = _templates(name, entry, line=line, report=report, renamed=renamed_templates)
    if fields is None or templates is None:
        return None
    names = [f for f, _, _ in fields]
    written = [f.get("name") if isinstance(f, Map) else f for f in entry["fields"]]
    known = set(names) | set(CITED) | SPECIAL | {f for f in written if isinstance(f, str)}  # a bad one is reported
    for (template, front, back), tline in templates:
        for side, text in (("front", front), ("back", back)):
            for ref, _, flt in references(text):
                if ref not in known:
                    close = difflib.get_close_matches(ref, sorted(known - SPECIAL), n=1, cutoff=0.6)
                    hint = f"; did you mean '{close[0]}'?" if close else f"; its fields are {', '.join(names)}"
                    report(tline, f"template '{template}' of note type '{name}' names field '{ref}' on its {side}, "
                                  f"which the type lacks{hint}")
    plain = [t for t, _ in templates]
    if cloze and len(plain) != 1:
        report(entry.lines["templates"], f"cloze note type '{name}' must have exactly one template")
    formats = {f: fmt for f, fmt, _ in fields}
    all_fields = tuple(names) + tuple(c for c in CITED if c not in formats)
    has_source = any("Source" in {r for r, _, _ in references(back)} for _, _, back in plain)
    notetype = NoteType(
        id=type_id, kind=USER_KIND + name, name=name, fields=all_fields,
        templates=tuple((t, front, back if has_source else back + CITATION) for t, front, back in plain),
        css=(css if ".source" in css else (css.rstrip("\n") + "\n" + CITATION_CSS).lstrip("\n")) if css else
        CSS, cloze=cloze, formats=tuple(formats.get(f, "html") for f in all_fields),
        private=frozenset(f for f, _, private in fields if private), renamed=tuple(renamed),
        renamed_templates=tuple(renamed_templates), user=True)
    if cloze and plain and cloze_field(notetype) is None:
        report(templates[0][1], f"cloze note type '{name}' needs '{{{{cloze:Field}}}}' on its template's front")
    return notetype


def _fields(name: str, entry: Map, *, line: int, report,
            renamed: list[tuple[str, str]] | None = None) -> list[tuple[str, str, bool]] | None:
    """A type's fields: (name, format, private) each; (name, old name) of renamed ones into `renamed`."""
    value = entry.get("fields")
    if not isinstance(value, Seq) or not value:
        report(entry.lines.get("fields", line), f"note type '{name}' needs 'fields:', a list of field names")
        return None
    fields, seen = [], set()
    for field, fline in zip(value, value.lines):
        fmt, private = "markdown", False
        if isinstance(field, Map):
            _unknown(field, FIELD_KEYS, f"a field of note type '{name}'", report)
            fmt, private = field.get("format", "markdown"), field.get("private", False)
            was = field.get("was")
            if was is not None and renamed is not None:
                if isinstance(was, str) and was.strip():
                    renamed.append((str(field.get("name")), was))
                else:
                    report(fline, f"'was' of a field of note type '{name}' must be the field's old name")
            field = field.get("name")
            if fmt not in FORMATS:
                report(fline, f"field format '{fmt}' of note type '{name}' must be one of {', '.join(FORMATS)}")
            if not isinstance(private, bool):
                report(fline, f"'private' of a field of note type '{name}' must be true or false")
        if not isinstance(field, str) or not _FIELD_NAME.match(field) or field != field.strip():
            report(fline, f"each field of note type '{name}' needs a name without ':', '{{', '}}' or '\"', "
                          "not starting with '#', '^' or '/'")
            continue
        if field.casefold() in seen:
            report(fline, f"note type '{name}' has field '{field}' twice")
            continue
        if field in CITED and (fmt != "markdown" or private):
            report(fline, f"field '{field}' is filled by deckbuild from the item's '{field.lower()}:'; list it by name only")
        seen.add(field.casefold())
        fields.append((field, "html" if field in CITED else fmt, private is True))
    return fields


def _templates(name: str, entry: Map, *, line: int, report,
               renamed: list[tuple[str, str]] | None = None) -> list[tuple[tuple[str, str, str], int]] | None:
    """A type's templates: ((name, front, back), line) each."""
    value = entry.get("templates")
    if not isinstance(value, Seq) or not value:
        report(entry.lines.get("templates", line), f"note type '{name}' needs 'templates:', a list of "
                                                   "'name', 'front' and 'back'")
        return None
    templates, seen = [], set()
    for template, tline in zip(value, value.lines):
        if not isinstance(template, Map):
            report(tline, f"each template of note type '{name}' must have 'name', 'front' and 'back'")
            continue
        _unknown(template, TEMPLATE_KEYS, f"a template of note type '{name}'", report)
        parts = [template.get(key) for key in TEMPLATE_KEYS[:3]]
        if "was" in template:
            if isinstance(template["was"], str) and template["was"].strip() and renamed is not None:
                renamed.append((str(parts[0]), template["was"]))
            else:
                report(tline, f"'was' of a template of note type '{name}' must be the template's old name")
        missing = [key for key, part in zip(TEMPLATE_KEYS[:3], parts) if not isinstance(part, str) or not part.strip()]
        if missing:
            report(tline, f"template of note type '{name}' needs {' and '.join(repr(m) for m in missing)} as text")
            continue
        if parts[0] in seen:
            report(tline, f"note type '{name}' has template '{parts[0]}' twice")
            continue
        seen.add(parts[0])
        templates.append((tuple(parts), tline))
    return templates
