"""An HTML page showing every card's front and back, rendered through deckbuild's own note types."""

from __future__ import annotations

import base64
import html
import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..pipeline.build import Compiled, compile_clean
from ..model import Media
from ..pipeline.notetypes import NOTETYPES, notetype_of
from ..pipeline.render import AUDIO
from ..pipeline.output import PREVIEW_MARK, check_output, environment, marked_by
from ..pipeline.state import write_atomic
from ..pipeline.validate import CLOZE_TOKEN

_SECTION = re.compile(r"\{\{([#^])\s*([^}]+?)\s*\}\}(.*?)\{\{/\s*\2\s*\}\}", re.DOTALL)
_TAG = re.compile(r"\{\{\s*([^}]+?)\s*\}\}")
# Anki's test for an empty field: nothing but whitespace, <br> and <div> tags.
_EMPTY = re.compile(r"(?:\s|</?(?:br|div) ?/?>)*", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Card:
    """One card as Anki would show it: where it comes from, and its two sides as HTML."""

    item_id: str
    ord: int
    name: str
    deck: str
    place: str
    question: str
    answer: str
    media: tuple[Media, ...] = ()


@dataclass(slots=True, kw_only=True)
class _Deletion:
    """One cloze deletion while parsing: its number, hint and contents (text and nested deletions)."""

    ordinal: int
    hint: str | None = None
    parts: list[str | _Deletion] = field(default_factory=list)


def _parse_cloze(text: str) -> list[str | _Deletion]:
    """Cloze text as Anki parses it: nesting allowed, the first `::` starts a hint, unclosed ones vanish."""
    top: list[str | _Deletion] = []
    open_: list[_Deletion] = []

    def add_text(piece: str) -> None:
        if open_:
            if "::" in piece:
                piece, open_[-1].hint = piece.split("::", 1)
            open_[-1].parts.append(piece)
        else:
            top.append(piece)

    position = 0
    for match in CLOZE_TOKEN.finditer(text):
        add_text(text[position:match.start()])
        position = match.end()
        if match[1]:
            open_.append(_Deletion(ordinal=int(match[1])))
        elif open_:
            closed = open_.pop()
            (open_[-1].parts if open_ else top).append(closed)
        else:
            top.append("}}")
    add_text(text[position:])
    return top


def reveal_cloze(text: str, *, ordinal: int, question: bool) -> str:
    """Anki's `{{cloze:}}` filter: deletion `ordinal` blanked (question) or shown (answer), others as text."""
    def reveal(parts: list[str | _Deletion]) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
                continue
            inner = reveal(part.parts)
            if part.ordinal != ordinal:
                out.append(f'<span class="cloze-inactive" data-ordinal="{part.ordinal}">{inner}</span>')
            elif question:
                shown = "..." if part.hint is None else part.hint
                out.append(f'<span class="cloze" data-cloze="{html.escape(inner)}" '
                           f'data-ordinal="{part.ordinal}">[{shown}]</span>')
            else:
                out.append(f'<span class="cloze" data-ordinal="{part.ordinal}">{inner}</span>')
        return "".join(out)

    return reveal(_parse_cloze(text))


def render_template(template: str, *, fields: dict[str, str], ordinal: int, question: bool,
                    front: str = "") -> str:
    """Anki's template syntax as deckbuild's templates use it: fields, sections, FrontSide, cloze."""
    def section(match: re.Match) -> str:
        filled = not _EMPTY.fullmatch(fields.get(match[2], ""))
        return match[3] if filled == (match[1] == "#") else ""

    while (expanded := _SECTION.sub(section, template)) != template:
        template = expanded

    def tag(match: re.Match) -> str:
        name = match[1]
        if name == "FrontSide":
            return front
        if name.startswith("cloze:"):
            return reveal_cloze(fields[name.removeprefix("cloze:")], ordinal=ordinal, question=question)
        return fields.get(name.rpartition(":")[2].strip(), "")  # another filter (text:, hint:) shows the field

    return _TAG.sub(tag, template)


def render_cards(*, compiled: Compiled) -> list[Card]:
    """Every card of every note, in file order, each side rendered as Anki would."""
    cards = []
    for note, item in zip(compiled.notes, compiled.tree.items, strict=True):
        notetype = notetype_of(note.kind, compiled.tree.notetypes)
        fields = {**dict(zip(notetype.fields, note.fields, strict=True)), "Deck": note.deck,
                  "Subdeck": note.deck.rpartition("::")[2], "Tags": " ".join(note.tags), "Type": notetype.name}
        for ord_ in note.ords:
            name, qfmt, afmt = notetype.templates[0 if notetype.cloze else ord_]
            question = render_template(qfmt, fields=fields, ordinal=ord_ + 1, question=True)
            answer = render_template(afmt, fields=fields, ordinal=ord_ + 1, question=False, front=question)
            cards.append(Card(item_id=note.id, ord=ord_, name=f"{name} {ord_ + 1}" if notetype.cloze else name,
                              deck=note.deck, place=f"{item.path}:{item.line}", question=question,
                              answer=answer, media=note.media))
    return cards


def _inline(fragment: str, *, media: tuple[Media, ...]) -> str:
    """Card HTML with its packaged images and sounds as data: URIs, so the page stands alone; a sound plays in an
    <audio> element, where Anki shows its play button."""
    for image in media:
        sound = image.name.lower().endswith(AUDIO)
        if f'src="{image.name}"' not in fragment and not (sound and f"[sound:{image.name}]" in fragment):
            continue
        kind = mimetypes.guess_type(image.name)[0] or ("audio/mpeg" if sound else "application/octet-stream")
        data = base64.b64encode(image.path.read_bytes()).decode("ascii")
        fragment = fragment.replace(f'src="{image.name}"', f'src="data:{kind};base64,{data}"')
        if sound:
            fragment = fragment.replace(f"[sound:{image.name}]", f'<audio controls src="data:{kind};base64,{data}" '
                                                                  f'title="{html.escape(image.name)}"></audio>')
    return fragment


PAGE_CSS = """\
body { margin: 0; font: 15px/1.4 system-ui, sans-serif; background: #f2f2f4; color: #1d1d1f; }
[hidden] { display: none !important; }
.pv-bar { position: sticky; top: 0; z-index: 1; display: flex; gap: 1em; align-items: center;
  padding: .6em 1em; background: #fff; border-bottom: 1px solid #ccc; }
.pv-bar input { flex: 1; max-width: 30em; font: inherit; padding: .3em .5em; }
.pv-deck { padding: 0 1em 1em; }
.pv-card { margin: .8em 0; padding: .5em .8em .8em; background: #fafafa; border: 1px solid #ddd; border-radius: 6px; }
.pv-meta { font: 12px ui-monospace, monospace; color: #555; }
.pv-sides { display: flex; flex-wrap: wrap; align-items: flex-start; gap: .8em; margin-top: .4em; }
.pv-side { flex: 1 1 22em; min-width: 0; border: 1px solid #e2e2e2; background: #fff; }
.pv-label { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: #888; padding: .3em .5em 0; }
"""

FILTER_SCRIPT = """\
const box = document.getElementById("pv-filter"), count = document.getElementById("pv-count");
const cards = [...document.querySelectorAll(".pv-card")];
const texts = cards.map(card => (card.dataset.deck + " " + card.textContent).toLowerCase());
function applyFilter() {
  const terms = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
  cards.forEach((card, i) => { card.hidden = !terms.every(term => texts[i].includes(term)); });
  for (const deck of document.querySelectorAll(".pv-deck")) {
    deck.hidden = !deck.querySelector(".pv-card:not([hidden])");
  }
  const shown = cards.filter(card => !card.hidden).length;
  count.textContent = shown + " of " + cards.length + " cards";
}
box.value = new URLSearchParams(location.search).get("q") || box.value;
box.addEventListener("input", applyFilter);
applyFilter();
"""


def page(*, cards: list[Card], title: str, notetypes: dict | None = None) -> str:
    """The whole preview page: note-type CSS, one section per deck, and the filter box."""
    esc = html.escape
    decks: dict[str, list[Card]] = {}
    for card in cards:
        decks.setdefault(card.deck, []).append(card)
    body = []
    for deck in sorted(decks, key=lambda name: [part.casefold() for part in name.split("::")]):
        body.append(f'<section class="pv-deck"><h2>{esc(deck)}</h2>')
        for card in decks[deck]:
            body.append(
                f'<article class="pv-card" id="{esc(f"{card.item_id}-{card.ord + 1}")}" data-deck="{esc(deck)}">'
                f'<div class="pv-meta"><b>{esc(card.item_id)}</b> · {esc(card.name)} · {esc(card.place)}</div>'
                f'<div class="pv-sides">'
                f'<section class="pv-side pv-front"><div class="pv-label">Front</div>'
                f'<div class="card card{card.ord + 1}">{_inline(card.question, media=card.media)}</div></section>'
                f'<section class="pv-side pv-back"><div class="pv-label">Back</div>'
                f'<div class="card card{card.ord + 1}">{_inline(card.answer, media=card.media)}</div></section>'
                f'</div></article>')
        body.append("</section>")
    css = "\n".join(dict.fromkeys(t.css for t in [*NOTETYPES.values(), *(notetypes or {}).values()]))
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n{PREVIEW_MARK}\n'
        f"<title>{esc(title)}</title>\n<style>\n{css}</style>\n<style>\n{PAGE_CSS}</style></head>\n<body>\n"
        f'<div class="pv-bar"><b>{esc(title)}</b>'
        f'<input id="pv-filter" type="search" placeholder="Filter: words in the text, id, deck or file" '
        f'autocomplete="off" autofocus><span id="pv-count">{len(cards)} cards</span></div>\n'
        + "\n".join(body) + f"\n<script>\n{FILTER_SCRIPT}</script>\n</body></html>\n"
    )


def write_preview(*, cards_dir: Path, output: Path, force: bool = False) -> int:
    """Write the preview page of a cards tree; return how many cards it shows. Nothing is written on errors.

    An existing file is replaced only if it is a page this command wrote (or with `force`).
    """
    check_output(output, cards_dir=cards_dir, ours=marked_by(PREVIEW_MARK), what="a preview page deckbuild wrote",
                 force=force)
    compiled = compile_clean(cards_dir)[0]
    cards = render_cards(compiled=compiled)
    with environment(output, "write"):
        write_atomic(output, page(cards=cards, title=f"deckbuild preview: {cards_dir.as_posix()}",
                                  notetypes=compiled.tree.notetypes).encode("utf-8"))
    return len(cards)
