"""Property tests: any text in question/answer/cloze builds safely, and Anki shows what was written.

1. Arbitrary Unicode, HTML and brace text never crashes a build (it succeeds or raises ContentError),
   the package always imports into real Anki with no blank cloze card, and no field carries scripts,
   frames, handlers, javascript: URLs or cloze syntax inside a tag.
2. Text made from fragments whose visible form is known by construction (plain words, characters HTML
   must show literally, braces, entities, allowed and forbidden HTML, Markdown) reads the same on the
   cards real Anki renders from the package.
3. `validate.cloze_numbers` finds the deletions real Anki finds (an unclosed one hides what it holds).
4. The plain-text shortcut in `render.markdown` gives exactly what the parser and sanitizer give.
"""

from __future__ import annotations

import itertools
import os
import re
import sqlite3
import tempfile
import unicodedata
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from unittest import mock

import pytest
import yaml
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from builder.pipeline import render
from builder.pipeline.build import build
from builder.errors import ContentError
from builder.pipeline.notetypes import NOTETYPES
from builder.pipeline.validate import cloze_numbers
from conftest import Anki, visible_text

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

SOURCES = "src:\n  title: T\n"
CITED = "T."  # how the one source's citation reads on a card's back
# fsync-heavy writes (the state file, Anki's database) are far quicker in memory, where there is one
_TMP = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
_STAMPS = itertools.count(1_700_000_000)  # each build gets its own second, so note ids never collide
_IDS = itertools.count(1)


# --- building and importing ------------------------------------------------------------------


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """One real Anki collection for a whole test: item ids (and so GUIDs) are unique per example."""
    pytest.importorskip("anki")
    col = Anki(tmp_path_factory.mktemp("anki") / "collection.anki2")
    yield col
    col.close()


def new_id() -> str:
    return f"p-{next(_IDS)}"


@contextmanager
def deck(items: list[dict], **dump: object):
    """A cards folder holding `items` as YAML; yields (cards_dir, output path)."""
    with tempfile.TemporaryDirectory(prefix="deckbuild-prop-", dir=_TMP) as work:
        cards = Path(work) / "cards"
        cards.mkdir()
        (cards / "sources.yaml").write_text(SOURCES, encoding="utf-8")
        text = yaml.safe_dump({"deck": "Prop", "cards": items}, sort_keys=False, **dump)
        (cards / "deck.yaml").write_text(text, encoding="utf-8")
        yield cards, Path(work) / "out.apkg"


def run_build(cards: Path, output: Path):
    with mock.patch.dict(os.environ, {"SOURCE_DATE_EPOCH": str(next(_STAMPS))}):
        return build(cards_dir=cards, output=output)


def packaged_fields(apkg: Path) -> dict[str, tuple[int, list[str]]]:
    """Each packaged note's fields straight from the .apkg, keyed by its Id field: (notetype id, fields)."""
    with tempfile.TemporaryDirectory(dir=_TMP) as work, zipfile.ZipFile(apkg) as package:
        db = Path(package.extract("collection.anki2", work))
        conn = sqlite3.connect(db)
        try:
            rows = conn.execute("SELECT mid, flds FROM notes").fetchall()
        finally:
            conn.close()
    return {flds.split("\x1f")[-1]: (mid, flds.split("\x1f")) for mid, flds in rows}


def anki_cards(col: Anki, item_id: str) -> list:
    """The cards of one imported note, in template order."""
    nids = col.col.find_notes(f'"Id:{item_id}"')
    assert len(nids) == 1, f"{item_id}: {len(nids)} notes in Anki"
    return sorted(col.col.get_note(nids[0]).cards(), key=lambda card: card.ord)


# --- what may never be in a field ------------------------------------------------------------

_URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"}
_GENERIC_ATTRS = {"title", "lang"}  # nh3 (ammonia) allows these on every tag
_ALLOWED_ATTRS = {tag: names | ({"rel"} if tag == "a" else set()) for tag, names in render.ATTRIBUTES.items()}


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))

    handle_startendtag = handle_starttag


def assert_safe(field: str, *, where: str) -> None:
    """A rendered field: only allowlisted tags and attributes, no handlers, no script URLs."""
    lowered = field.lower()
    for bad in ("<script", "<iframe", "<object", "<embed", "<style"):
        assert bad not in lowered, f"{where}: {bad!r} in {field!r}"
    parser = _Elements()
    parser.feed(field)
    parser.close()
    for tag, attrs in parser.found:
        assert tag in render.TAGS, f"{where}: <{tag}> in {field!r}"
        for name, value in attrs:
            assert not name.startswith("on"), f"{where}: handler {name!r} in {field!r}"
            assert name in _ALLOWED_ATTRS.get(tag, set()) | _GENERIC_ATTRS, f"{where}: {tag}[{name}] in {field!r}"
            if name in _URL_ATTRS and value is not None:
                # browsers drop ASCII whitespace and controls inside a scheme
                squeezed = re.sub(r"[\x00-\x20]", "", value).lower()
                assert not squeezed.startswith(("javascript:", "vbscript:", "data:")), (
                    f"{where}: {tag}[{name}]={value!r}")


# --- 1. arbitrary text never crashes ---------------------------------------------------------

# Snippets that mean something to YAML, Markdown, HTML, the sanitizer, MathJax holding or Anki.
SOUP = st.sampled_from([
    "<script>alert(1)</script>", "<script", "</script>", "<SCRIPT SRC=//x>", "<iframe src=x>", "</iframe>",
    "<img src=https://e.com/a.png onerror=alert(1)>", '<a href="javascript:alert(1)">', "</a>",
    '<a href="https://e.com" title="', '<img src="https://e.com/a.png" alt="', '">', "onerror=", "onclick=",
    "javascript:", "java\tscript:", "&#106;avascript:", "<svg onload=alert(1)>", "<style>", "</style>",
    "<b>", "</b>", "<p>", "</p>", "<!--", "-->", "<![CDATA[", "]]>", "<", ">", "&", "&amp;", "&lt;", "&#0;",
    "&#x1f;", '"', "'", "`", "```", "*", "**", "_", "[", "]", "(", ")", "![x](", "[x](", "#", "> ", "- ",
    "1. ", "|", "~~", "\\", "\\(", "\\)", "\\[", "\\]", "$", "{", "}", "{{", "}}", "{{c1::", "{{c2::", "::",
    "{{c0::", "{{Question}}", "{{FrontSide}}", "[sound:a.mp3]", "[latex]", "\ue000", "\ue001", "\ue0000\ue001",
    "\ue0007\ue001", "\x1f", "\x1e", "\x00", "\x0b", "\x0c", "\x85", "\u2028", "\u00a0", "\ufeff", "\r", "\n",
    "\n\n", "\t", " ", "  \n", "é", "e\u0301", "\U0001f600", "\u202e",
])
ANY_TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(SOUP | st.text(max_size=4), max_size=12).map("".join),
)
TEXT = ANY_TEXT.map(lambda s: s if s.strip() else s + "x")  # blank text is refused, hiding the rest


@st.composite
def any_item(draw) -> dict:
    item: dict = {"id": new_id(), "source": "src"}
    text = ANY_TEXT if draw(st.integers(0, 9)) == 0 else TEXT
    if draw(st.booleans()):
        item["question"] = draw(text)
        item["answer"] = draw(text)
        if draw(st.booleans()):
            item["reverse"] = True
    elif draw(st.integers(0, 2)):
        item["cloze"] = f"{draw(ANY_TEXT)} {{{{c1::{draw(ANY_TEXT)}}}}} {draw(ANY_TEXT)}"
    else:
        item["cloze"] = draw(text)
    if draw(st.integers(0, 3)) == 0:
        item["extra"] = draw(text)
    if draw(st.integers(0, 3)) == 0:
        item["quote"] = draw(text)
    return item


def _round_trips(items: list[dict], dump: dict) -> bool:
    text = yaml.safe_dump({"deck": "Prop", "cards": items}, sort_keys=False, **dump)
    return yaml.load(text, Loader=_Loader) == {"deck": "Prop", "cards": items}


def yaml_options(items: list[dict], dump: dict) -> dict:
    """`dump`, unless PyYAML would mangle the text with it (it writes U+0085 raw in single quotes)."""
    if _round_trips(items, dump):
        return dump
    event("PyYAML needs double quotes")
    assert _round_trips(items, {"default_style": '"'})
    return {"default_style": '"'}


_MARKDOWN_FIELDS = {"qa": (0, 1, 2), "cloze": (0, 1)}  # question, answer, extra / text, extra


@settings(max_examples=120, deadline=None)
@given(items=st.lists(any_item(), min_size=1, max_size=3),
       dump=st.fixed_dictionaries({"allow_unicode": st.booleans(), "default_style": st.sampled_from([None, '"'])}))
# A \x1f left in a field split it in the .apkg ("note has 9 fields, expected 8" in Anki).
@example(items=[{"id": "x-1f", "source": "src", "question": "a\x1fb", "answer": "c"}], dump={})
@example(items=[{"id": "x-1f-quote", "source": "src", "cloze": "{{c1::a}}", "quote": "q\x1fq"}], dump={})
# Math restored after sanitizing could close an attribute and add an event handler.
@example(items=[{"id": "x-math-attr", "source": "src", "question": "q",
                 "answer": r'<a href="https://e.com" title="\(" onmouseover="alert(1)\)">hi</a>'}], dump={})
# Text holding the math placeholder's characters crashed (IndexError) or was replaced by the math.
@example(items=[{"id": "x-hold", "source": "src", "question": "\ue0005\ue001 \\(x\\)", "answer": "a"}], dump={})
# A deletion left unclosed or dropped by the sanitizer (comment, script, attribute, link address) built
# without a word and gave a blank card; now refused. A '{{c1::' or '}}' in an attribute also broke the
# tag once Anki rendered it; braces in tags are now character references.
@example(items=[{"id": "x-unclosed", "source": "src", "cloze": "{{c1::"}], dump={})
@example(items=[{"id": "x-lost-comment", "source": "src", "cloze": "a <!-- {{c1::b}} c"}], dump={})
@example(items=[{"id": "x-lost-attr", "source": "src", "cloze": '<a href="https://e.com" title="{{c1::b}}">c</a>'}],
         dump={})
@example(items=[{"id": "x-lost-url", "source": "src", "cloze": "[a](https://e.com/{{c1::b}}) {{c2::c}}"}], dump={})
def test_any_text_builds_or_is_refused_and_stays_safe(collection, items, dump):
    with deck(items, **yaml_options(items, dump)) as (cards, out):
        try:
            summary = run_build(cards, out)
        except ContentError as err:
            event("refused: " + re.sub(r"'[^']*'", "…", err.problems[0].message)[:40])
            assert not out.exists()
            return
        event("built")
        assert summary.notes == len(items)
        packaged = packaged_fields(out)
        assert set(packaged) == {item["id"] for item in items}
        for item in items:
            kind = "cloze" if "cloze" in item else "qa"
            mid, fields = packaged[item["id"]]
            assert mid == NOTETYPES[kind].id
            assert len(fields) == len(NOTETYPES[kind].fields), f"{item['id']}: fields split: {fields!r}"
            for index in _MARKDOWN_FIELDS[kind]:
                assert_safe(fields[index], where=f"{item['id']}.{NOTETYPES[kind].fields[index]}")
            quote = fields[NOTETYPES[kind].fields.index("Quote")]
            assert "<" not in quote, f"{item['id']}: quote not escaped: {quote!r}"
        log = collection.import_apkg(out)
        assert len(log.new) == len(items)
        for item in items:
            for card in anki_cards(collection, item["id"]):
                card.question(), card.answer()  # Anki renders every card without error
        # Anki's Empty Cards check: a cloze card whose deletion vanished would be blank
        empty = {entry.note_id for entry in collection.col.get_empty_cards().notes}
        for item in items:
            if "cloze" in item:
                (nid,) = collection.col.find_notes(f'"Id:{item["id"]}"')
                text = packaged[item["id"]][1][0]
                assert nid not in empty, f"{item['id']}: Anki finds an empty cloze card in {text!r}"
                assert not re.search(r"<[^>]*(?:[{}]|::)", text), f"{item['id']}: cloze syntax in a tag: {text!r}"


# --- 2. what Anki shows is what was written --------------------------------------------------


@dataclass(frozen=True)
class Text:
    """Written source and the text a reader sees for it (before whitespace folding)."""

    written: str
    visible: str


def joined(parts: list[Text], sep: str = " ") -> Text:
    return Text(sep.join(p.written for p in parts), sep.join(p.visible for p in parts))


def fold(text: str) -> str:
    """Visible text as compared: whitespace folded, NFC (Anki normalizes note text on import)."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def same(written: str, visible: str | None = None) -> Text:
    return Text(written, written if visible is None else visible)


WORD = st.text(st.characters(categories=("L", "Nd")), min_size=1, max_size=8).map(same)
# HTML-special characters that must read literally ('<' only where it can't open a tag)
LITERAL = st.sampled_from(["&", '"', "'", ">", "<1", "& b", "1 < 2", "x&y", "&&"]).map(same)
BRACES = st.one_of(
    st.sampled_from(["{", "}", "{{", "}}", "::", "{}", "{{}}", "}}{{", ":"]).map(same),
    WORD.map(lambda w: same("{{" + w.written + "}}")),
    WORD.map(lambda w: same("{" + w.written + "}")),
)
ENTITY = st.sampled_from([
    ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"), ("&copy;", "©"),
    ("&lt;b&gt;", "<b>"), ("&amp;lt;", "&lt;"), ("&#x41;", "A"),
]).map(lambda p: Text(*p))
INLINE_TAG = st.sampled_from(["b", "i", "em", "strong", "u", "s", "del", "sub", "sup", "small", "mark",
                              "kbd", "code", "span", "abbr", "font", "marquee", "blink"])
INLINE_HTML = st.builds(lambda tag, w: Text(f"<{tag}>{w.written}</{tag}>", w.visible), INLINE_TAG, WORD)
# Forbidden HTML: gone from the card, with whatever text it wrapped left readable.
FORBIDDEN = st.one_of(
    st.sampled_from([
        "<script>alert(1)</script>", "<script src=https://e.com/x.js></script>", '<iframe src="https://e.com"></iframe>',
        '<img src="https://e.com/a.png" onerror="alert(1)">', "<svg onload=alert(1)></svg>",
        '<object data="https://e.com/x"></object>', '<embed src="https://e.com/x">', "<style>p{color:red}</style>",
        "<!-- note -->",
    ]).map(lambda w: Text(w, "")),
    WORD.map(lambda w: Text(f'<a href="javascript:alert(1)">{w.written}</a>', w.visible)),
    WORD.map(lambda w: Text(f'<b onclick="alert(1)">{w.written}</b>', w.visible)),
    WORD.map(lambda w: Text(f'<span onmouseover="alert(1)" style="x">{w.written}</span>', w.visible)),
)
# Braces in an attribute are no cloze syntax, even inside a deletion: Anki must not end one there.
ATTRIBUTE_BRACES = WORD.map(lambda w: Text(f'<abbr title="}}}} {{{{x}}}} ::">{w.written}</abbr>', w.visible))
MARKDOWN = st.one_of(
    WORD.map(lambda w: Text(f"**{w.written}**", w.visible)),
    WORD.map(lambda w: Text(f"*{w.written}*", w.visible)),
    WORD.map(lambda w: Text(f"~~{w.written}~~", w.visible)),
    WORD.map(lambda w: Text(f"[{w.written}](https://e.com/x)", w.visible)),
    st.sampled_from(["\\*", "\\_", "\\#", "\\\\", "\\<", "\\&", "\\`", "\\~"]).map(lambda w: Text(w, w[1])),
)
_CODE_CHARS = "abc xyz 123 <>&\"'*_#=+-!~|"


def code_span(extra: str = "") -> st.SearchStrategy[Text]:
    body = st.text(st.sampled_from(_CODE_CHARS + extra), min_size=1, max_size=10).filter(
        lambda s: s.strip() == s)
    return body.map(lambda s: Text(f"`{s}`", s))


def math(extra: str = "") -> st.SearchStrategy[Text]:
    """MathJax passes through untouched: it reads exactly as written."""
    body = st.text(st.sampled_from(_CODE_CHARS + "^`" + extra), min_size=1, max_size=10)
    delimiters = st.sampled_from([("\\(", "\\)"), ("\\[", "\\]")])
    return st.builds(lambda pair, s: same(pair[0] + s + pair[1]), delimiters, body)


def fragments(*, braces: bool) -> st.SearchStrategy[Text]:
    """One fragment; without braces (or colons) for inside a cloze deletion."""
    options = [WORD, WORD, LITERAL, ENTITY, INLINE_HTML, FORBIDDEN, MARKDOWN, ATTRIBUTE_BRACES,
               code_span("{}:" if braces else ""), math("{}" if braces else "")]
    if braces:
        options.append(BRACES)
    return st.one_of(*options)


def line(*, braces: bool = True, max_size: int = 6) -> st.SearchStrategy[Text]:
    """Fragments joined by spaces, starting with a word so no line opens a Markdown block."""
    return st.builds(lambda first, rest: joined([first, *rest]), WORD,
                     st.lists(fragments(braces=braces), max_size=max_size))


# Block markup at a line's start: a heading, list item or quote reads as its text alone.
BLOCK = st.sampled_from(["", "", "", "# ", "### ", "- ", "* ", "1. ", "> "]).map(lambda p: Text(p, ""))


def passage() -> st.SearchStrategy[Text]:
    """One or more lines, each maybe a heading, list item or quote, as soft breaks or paragraphs."""
    block_line = st.builds(lambda mark, ln: joined([mark, ln], ""), BLOCK, line())
    return st.builds(lambda first, rest: joined([first, *(joined([Text(sep, " "), ln], "") for sep, ln in rest)], ""),
                     block_line, st.lists(st.tuples(st.sampled_from(["\n", "\n\n"]), block_line), max_size=2))


@dataclass(frozen=True)
class Deletion:
    number: int
    content: Text
    hint: str | None


def cloze_segments() -> st.SearchStrategy[list[Text | Deletion]]:
    deletion = st.builds(Deletion, st.integers(1, 3), line(braces=False, max_size=3),
                         st.none() | WORD.map(lambda w: w.written))
    plain = line(max_size=4)
    return st.builds(lambda segs, must, at: [*segs[:at], must, *segs[at:]],
                     st.lists(st.one_of(deletion, plain), max_size=4), deletion, st.integers(0, 4))


def cloze_written(segments) -> str:
    parts = []
    for seg in segments:
        if isinstance(seg, Deletion):
            hint = f"::{seg.hint}" if seg.hint else ""
            parts.append(f"{{{{c{seg.number}::{seg.content.written}{hint}}}}}")
        else:
            parts.append(seg.written)
    return " ".join(parts)


def cloze_visible(segments, *, hide: int | None) -> str:
    """The text of one cloze card: deletion `hide` as Anki's [...] (or [hint]), the rest shown."""
    parts = []
    for seg in segments:
        if isinstance(seg, Deletion):
            parts.append(f"[{seg.hint or '...'}]" if seg.number == hide else seg.content.visible)
        else:
            parts.append(seg.visible)
    return " ".join(parts)


QA_ITEM = st.tuples(passage(), passage(), st.booleans())


def check_visible(card, expected: str, *, side: str, item: dict) -> None:
    html_ = card.question() if side == "front" else card.answer()
    assert fold(visible_text(html_)) == fold(expected), f"{side} of {item!r}:\n{html_[html_.find('</style>'):]!r}"


@settings(max_examples=60, deadline=None)
@given(qa=st.lists(QA_ITEM, max_size=3), clozes=st.lists(cloze_segments(), max_size=3))
@example(qa=[(Text("a &amp; b", "a & b"), same('x \\(a<"b"\\) y'), False),
             (same("\ue0005\ue001 \\(x\\) and \ue000"), same("w"), True)], clozes=[])
# A '}}' in an attribute inside a deletion ended it there: Anki showed half a tag as text.
@example(qa=[], clozes=[[same("x {"), Deletion(1, Text('a <abbr title="}} {{c1::">w</abbr>', "a w"), None), same("}}")]])
def test_anki_shows_what_was_written(collection, qa, clozes):
    items, checks = [], []
    for question, answer, reverse in qa:
        item = {"id": new_id(), "question": question.written, "answer": answer.written, "source": "src"}
        if reverse:
            item["reverse"] = True
        items.append(item)
        back = [question.visible, answer.visible, CITED, item["id"]]
        checks.append((item, [(question.visible, " ".join(back))]))
        if reverse:
            checks[-1][1].append((answer.visible, " ".join([answer.visible, question.visible, CITED, item["id"]])))
    for segments in clozes:
        item = {"id": new_id(), "cloze": cloze_written(segments), "source": "src"}
        items.append(item)
        numbers = sorted({s.number for s in segments if isinstance(s, Deletion)})
        shown = cloze_visible(segments, hide=None)
        checks.append((item, [(cloze_visible(segments, hide=n), f"{shown} {CITED} {item['id']}") for n in numbers]))
    if not items:
        return
    with deck(items, allow_unicode=True) as (cards, out):
        run_build(cards, out)
        log = collection.import_apkg(out)
    assert len(log.new) == len(items)
    for item, sides in checks:
        cards_ = anki_cards(collection, item["id"])
        assert len(cards_) == len(sides), item
        for card, (front, back) in zip(cards_, sides):
            check_visible(card, front, side="front", item=item)
            check_visible(card, back, side="back", item=item)


# --- 3. deckbuild counts a cloze's deletions as Anki does --------------------------------------

CLOZE_SOUP = st.lists(st.sampled_from(["{{c1::", "{{c2::", "{{c10::", "{{c0::", "{{c01::", "}}", "}}}", "::", "{",
                                       "}", "{{", "c1::", "a", " ", "<b>", "</b>", "\n"]), max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=CLOZE_SOUP)
@example(text="{{c1::a {{c2::b}}")  # an unclosed deletion swallows the ones inside it
def test_cloze_numbers_match_anki(collection, text):
    note = collection.col.new_note(collection.col.models.by_name("Cloze"))
    note["Text"] = text
    assert cloze_numbers(text)[0] == set(note.cloze_numbers_in_fields())


# --- 4. the plain-text shortcut agrees with the parser ---------------------------------------

PLAINISH = st.text(st.one_of(
    st.sampled_from(" \"'{}:;/()=+-.,?$%^@0123456789aZ\x0b\x0c\x1c\x1d\x1e\x1f\x7f\x85\u2028\u2029\u3000"
                    "\ue000\ue001\ufeff\ufffe\uffff\u200b\u202e"),
    st.characters(exclude_categories=["Cs"], exclude_characters="\\`*_[]<>&#!~|\n\r\t\x00\u00a0"),
), max_size=30)


@settings(max_examples=300, deadline=None)
@given(text=PLAINISH)
@example(text="\ue0000\ue001")
@example(text="1 ) a")
def test_plain_text_shortcut_matches_full_render(text):
    if render._SYNTAX.search(text):
        event("has syntax")
        return
    event("shortcut")
    assert render.markdown(text) == render._parse(text) == text


# --- 5. Markdown without raw HTML skips the sanitizer only where the sanitizer would change nothing ---

MARKDOWN_ONLY = st.lists(st.sampled_from([
    "a", "b c", " ", "\n", "\n\n", "*", "**", "_", "~", "~~", "`", "```", "#", "# ", "- ", "1. ", "3) ", "> ",
    "---", "***", "|", "| a | b |\n|:-:|--|\n| 1 | 2 |\n", "  \n", "\\", "&", "&amp;", "&lt;", "&copy;", '"', "'",
    ">", "\u00a0", "\x00", "\x0b", "\x0c", "\r", "\t", "    ", "&#13;", "&#0;", "&#x85;", "&quot;", "[a](b)",
    "[x](javascript:y)", "![i](p.png)", "[r]: /u",
    "[r]", "{{c1::", "}}", "::", "\\(", "\\)", "é", "\ufffd", "=", "==", "+ ",
]), max_size=14).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=MARKDOWN_ONLY)
@example(text="| a |\n|---|\n")
@example(text="```py\nx\n```")
def test_markdown_without_html_renders_as_the_sanitizer_would(text):
    with mock.patch.object(render, "_generated", lambda rendered: None):
        vetted = render._parse(text, on_image=lambda src: src)
    assert render._parse(text, on_image=lambda src: src) == vetted


# --- the quick forms of the renderer's patterns find what the patterns find ---------------------------------

ANY_TEXT = st.lists(st.one_of(st.sampled_from(list(" \t\n\r\x0b\x0c\x1c\x85\u2028\u3000\xa0+=-.)0123456789*_<>/p")
                                             + ["<p>", "</p>", "</p>\n", "1.", "2)"]),
                             st.characters(exclude_categories=["Cs"])), max_size=40).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=ANY_TEXT)
@example(text="<p></p>")
@example(text="<p>a</p>\n")
@example(text="<p>a</p><p>b</p>")
@example(text="<p></p>\n")
def test_the_quick_checks_find_what_the_patterns_find(text):
    assert render._has_syntax(text) == bool(render._SYNTAX.search(text))
    for rendered in (text, f"<p>{text}</p>", f"<p>{text}</p>\n"):
        found = render._PARAGRAPH.fullmatch(rendered)
        assert render._single_paragraph(rendered) == (found.group(1) if found else None)
