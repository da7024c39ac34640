"""deckbuild's two note types (their ids, field names and template names never change), and the shape of a tree's own."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass

import genanki

# Chosen once at random. Anki matches note types by id: changing one orphans every imported note.
QA_ID = 1_690_311_457
CLOZE_ID = 1_690_311_458

CSS = """\
.card { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 20px; line-height: 1.45; text-align: left; color: #1d1d1f; background: #fff;
  max-width: 42em; margin: 0 auto; padding: 0 .5em; }
.nightMode.card, .night_mode .card { color: #e8e8e8; background: #1e1e1e; }
.prompt { font-size: 1.1em; }
.answer { margin-top: .4em; }
.extra { margin-top: .8em; color: #555; font-size: .85em; }
.nightMode .extra { color: #b0b0b0; }
.source { margin-top: 1.2em; padding-top: .5em; border-top: 1px solid #ccc; font-size: .7em; color: #666; }
.nightMode .source { color: #a0a0a0; }
.source .citation { margin: .15em 0; }
.source blockquote { margin: .4em 0 0; padding-left: .7em; border-left: 3px solid #ccc; font-style: italic; }
.item-id { margin-top: .6em; font-size: .6em; color: #999; font-family: monospace; }
.cloze { font-weight: bold; color: #0a58ca; }
.nightMode .cloze { color: #6ea8fe; }
img { max-width: 100%; height: auto; }
"""

_SOURCE_BLOCK = (
    '<div class="source">{{Source}}'
    '{{#Quote}}<blockquote class="quote">{{Quote}}</blockquote>{{/Quote}}</div>'
    '<div class="item-id">{{Id}}</div>'
)
_EXTRA = '{{#Extra}}<div class="extra">{{Extra}}</div>{{/Extra}}'


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteType:
    """A note type: its fixed id, name, field names, templates and CSS.

    A tree's own types (notetypes.yaml) also say how each field is written (`formats`: markdown,
    html or sound) and which fields belong to the learner's collection (`private`).
    """

    id: int
    kind: str
    name: str
    fields: tuple[str, ...]
    templates: tuple[tuple[str, str, str], ...]
    css: str = CSS
    cloze: bool = False
    formats: tuple[str, ...] = ()  # per field, for a tree's own types
    private: frozenset[str] = frozenset()
    renamed: tuple[tuple[str, str], ...] = ()  # (field, the name it had): push keeps its content across the rename
    renamed_templates: tuple[tuple[str, str], ...] = ()  # (template, the name it had): its cards keep their reviews
    user: bool = False

    @property
    def digest(self) -> str:
        """A hash of the definition: when it changes, the note type's `mod` must move."""
        text = json.dumps([self.name, self.fields, self.templates, self.css, self.cloze])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_json(self, *, mod: int, deck_id: int) -> dict:
        """The note type as Anki's collection JSON, built by genanki."""
        model = genanki.Model(
            self.id,
            self.name,
            fields=[{"name": name} for name in self.fields],
            # genanki's to_json writes into the template dicts: hand it fresh ones
            templates=copy.deepcopy([{"name": n, "qfmt": q, "afmt": a} for n, q, a in self.templates]),
            css=self.css,
            model_type=genanki.Model.CLOZE if self.cloze else genanki.Model.FRONT_BACK,
        )
        return model.to_json(mod, deck_id)


QA = NoteType(
    id=QA_ID,
    kind="qa",
    name="deckbuild Q/A",
    # Hint is reserved for later; fields can never be renamed without a second note type.
    fields=("Question", "Answer", "Extra", "Hint", "Source", "Quote", "Reverse", "Id"),
    templates=(
        ("Question → Answer",
         '<div class="prompt">{{Question}}</div>',
         '{{FrontSide}}<hr id="answer"><div class="answer">{{Answer}}</div>' + _EXTRA + _SOURCE_BLOCK),
        ("Answer → Question",
         '{{#Reverse}}<div class="prompt">{{Answer}}</div>{{/Reverse}}',
         '{{FrontSide}}<hr id="answer"><div class="answer">{{Question}}</div>' + _EXTRA + _SOURCE_BLOCK),
    ),
)

CLOZE = NoteType(
    id=CLOZE_ID,
    kind="cloze",
    name="deckbuild Cloze",
    fields=("Text", "Extra", "Hint", "Source", "Quote", "Id"),
    templates=(
        ("Cloze",
         '<div class="prompt">{{cloze:Text}}</div>',
         '<div class="prompt">{{cloze:Text}}</div>' + _EXTRA + _SOURCE_BLOCK),
    ),
    cloze=True,
)

NOTETYPES = {QA.kind: QA, CLOZE.kind: CLOZE}
# What a tree's own type gets when its back template doesn't place {{Source}} itself: the citation and quote.
CITATION = ('{{#Source}}<div class="source">{{Source}}'
            '{{#Quote}}<blockquote class="quote">{{Quote}}</blockquote>{{/Quote}}</div>{{/Source}}')
CITATION_CSS = """\
.source { margin-top: 1.2em; padding-top: .5em; border-top: 1px solid #ccc; font-size: .7em; color: #666; }
.source blockquote { margin: .4em 0 0; padding-left: .7em; border-left: 3px solid #ccc; font-style: italic; }
"""


def user_notetype_id(name: str) -> int:
    """A tree's own type's id when notetypes.yaml gives none: a hash of its name (renaming it makes a new type)."""
    return int.from_bytes(hashlib.sha256(f"deckbuild-notetype:{name}".encode()).digest()[:5], "big") + 1


def notetype_of(kind: str, notetypes: dict[str, NoteType] | None = None) -> NoteType:
    """The note type of a note's kind: one of deckbuild's two, or one of the tree's own."""
    found = NOTETYPES.get(kind) or (notetypes or {}).get(kind.removeprefix("type:"))
    if found is None:
        raise KeyError(kind)
    return found
