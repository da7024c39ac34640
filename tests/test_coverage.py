"""`deckbuild coverage`: which sentences of each source text the cards quote, and which of their words the cards ask
for, in the terminal and on a page."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from builder.checking.asked import asked_words, asks
from builder.checking.coverage import measure
from builder.model import Item
from builder.pipeline.texts import sentence_spans, skipped_spans
from conftest import probe_in_chromium

ART = """\
Home > Health > Brains
Microglia are tiny cells. They’re the “first line” of defense — in the CNS, says Dr. Abraham.
Advertisement
Glia means glue. Scientists used PET scans. They found neuroinflammation.
Related: ten foods for your brain
"""
SOURCES = """\
art:
  title: The Article
  text: art.txt
  skip:
    - 1
    - "^Advertisement$"
    - "^Related:.*"
paper:
  title: A paper the article lists
  via: art
"""
DECK = """\
deck: T
cards:
  - id: tiny
    question: What are microglia?
    answer: Tiny cells.
    source: art
    quote: "microglia are TINY cells"
  - id: defense
    question: What are microglia in the CNS?
    answer: The first line of defense.
    source: [art, paper]
    quote: "They're the \\"first line\\" of defense - in the CNS"
  - id: two-sentences
    question: What did scientists find with PET scans?
    answer: Neuroinflammation.
    source: paper
    quote: "used PET scans. They found"
  - id: same-quote
    question: What was found with PET?
    answer: Neuroinflammation.
    source: art
    quote: "PET scans. They found"
  - id: microglia-cloze
    cloze: "{{c1::Microglia}} are tiny cells."
    source: art
    quote: "Microglia are tiny cells."
"""
# The sentences after skipping, with whether a card quotes them.
SENTENCES = [
    (2, "Microglia are tiny cells.", True),
    (2, "They’re the “first line” of defense — in the CNS, says Dr. Abraham.", True),
    (4, "Glia means glue.", False),
    (4, "Scientists used PET scans.", True),
    (4, "They found neuroinflammation.", True),
]


@pytest.fixture
def cards(write_tree):
    tree = write_tree({"deck.yaml": DECK}, sources=SOURCES)
    (tree / "art.txt").write_text(ART, encoding="utf-8")
    return tree


def test_sentences_skip_and_coverage(cards):
    coverage = measure(cards_dir=cards)
    [article] = coverage.articles
    assert [(s.line, s.text, s.covered) for s in article.sentences] == SENTENCES
    assert (coverage.covered, coverage.total) == (4, 5)
    quoted = sorted((ART[q.start:q.end], coverage.cards[q.card][0]) for q in article.quoted)
    assert quoted == [("Microglia are tiny cells", "tiny"), ("Microglia are tiny cells.", "microglia-cloze"),
                      ("PET scans. They found", "same-quote"),
                      ("They’re the “first line” of defense — in the CNS", "defense"),
                      ("used PET scans. They found", "two-sentences")]


def test_terminal_report_and_min(cards, deckbuild, tmp_path):
    out = tmp_path / "cov.html"
    result = deckbuild("coverage", cards, "-o", out, "--min", "80")
    assert result.exit_code == 0, result.output
    text, place = f"{cards}/art.txt", f"{cards}/deck.yaml"
    assert result.output.splitlines() == [
        f"{text}: 4 of 5 sentences quoted (80%)",
        f'{text}:4: uncovered: "Glia means glue."',
        f"{text}: 3 of 4 quoted sentences have a word some card asks for (75%)",
        f'{text}:4: never asked: "Scientists used PET scans." '
        f"(quoted by two-sentences ({place}:13), same-quote ({place}:18))",
        f"4 of 5 sentences quoted (80%) in 1 text → {out}",
        "3 of 4 quoted sentences have a word some card asks for (75%)",
    ]
    failed = deckbuild("coverage", cards, "-o", out, "--min", "80.1")
    assert failed.exit_code == 1
    assert "coverage is under --min 80.1%" in failed.output


def test_min_asked_counts_quoted_sentences_with_an_asked_word(cards, deckbuild, tmp_path):
    out = tmp_path / "cov.html"
    assert deckbuild("coverage", cards, "-o", out, "--min-asked", "75", "--min", "80").exit_code == 0
    failed = deckbuild("coverage", cards, "-o", out, "--min-asked", "75.1", "--min", "80")
    assert failed.exit_code == 1
    assert "asked coverage is under --min-asked 75.1%" in failed.output
    assert "under --min 80" not in failed.output
    both = deckbuild("coverage", cards, "-o", out, "--min-asked", "76", "--min", "81")
    assert both.exit_code == 1 and "under --min 81%" in both.output and "under --min-asked 76%" in both.output
    assert deckbuild("coverage", cards, "-o", out, "--min-asked", "101").exit_code == 2


def test_asked_words_per_sentence_and_the_cards_asking(cards):
    coverage = measure(cards_dir=cards)
    [article] = coverage.articles
    ids = [card for card, _ in coverage.cards]
    asked = [[(ART[w.start:w.end], [ids[c] for c in w.cards]) for w in s.asked] for s in article.sentences]
    assert asked == [
        [("Microglia", ["microglia-cloze"]), ("tiny", ["tiny"]), ("cells", ["tiny"])],
        [("first", ["defense"]), ("line", ["defense"]), ("defense", ["defense"])],
        [],  # uncovered
        [],  # quoted, but both cards ask only for the finding, which stands in the next sentence
        [("neuroinflammation", ["two-sentences", "same-quote"])],  # beyond the quotes, in a sentence they overlap
    ]
    assert [[ids[c] for c in s.quoted_by] for s in article.sentences] == [
        ["tiny", "microglia-cloze"], ["defense"], [], ["two-sentences", "same-quote"], ["two-sentences", "same-quote"]]
    assert (article.asked, coverage.asked) == (3, 3)


def _item(**fields: object) -> Item:
    return Item(id="x", deck="Biology::Cells", sources=("art",), **fields)


@pytest.mark.parametrize("sentence, item, expected", [
    # Case, typographic quotes and dashes, Markdown emphasis and stop words ("the", "of") don't matter.
    ("They’re the “first line” of defense — in the CNS.",
     _item(question="What are microglia?", answer="The **first line of DEFENSE**."), ["first", "line", "defense"]),
    # A word the front already shows is not asked.
    ("PET scans found neuroinflammation in the brain.",
     _item(question="What did PET scans find in the brain?", answer="Neuroinflammation in the brain."),
     ["neuroinflammation"]),
    # Inflections meet (the editorial lint's stem), and possessives are the word itself.
    ("Scientists used PET scans to study the brain’s microglia.",
     _item(question="What did scientists study?", answer="The brains' microglial cells, with a PET scan"),
     ["PET", "scans", "brain’s", "microglia"]),
    # Each word is matched where it stands, in any order; a word the sentence lacks marks nothing.
    ("Hyperalgesia is the amplification of pain.",
     _item(question="What is hyperalgesia?", answer="Pain, amplified (more of it)"), ["amplification", "pain"]),
    # A reverse card also asks for its question.
    ("Hyperalgesia is the amplification of pain.",
     _item(question="What is hyperalgesia?", answer="Amplified pain", reverse=True),
     ["Hyperalgesia", "amplification", "pain"]),
    # A link's target and HTML tags are not words of the answer; entities are.
    ("The word glia means glue, and word has it that it holds.",
     _item(question="What does glia mean?", answer='[glue](https://example.org/word-holds) <b class="holds">&amp;</b>'),
     ["glue"]),
    # An answer of stop words only asks for nothing.
    ("Is it all in their heads? No, it is not.", _item(question="Is it all in their heads?", answer="No, it is not."),
     []),
    # Each cloze deletion, without its hint; the words around it are shown, not asked.
    ("Microglia are tiny cells of the CNS.", _item(cloze="{{c1::Microglia}} are {{c2::tiny::size}} cells of the CNS."),
     ["Microglia", "tiny"]),
    # A deletion whose word the same front shows elsewhere (or the other deletion shows) asks for nothing new.
    ("Glia means glue: the glue of the brain.", _item(cloze="Glia means {{c1::glue}}: the glue of the brain."), []),
    ("Microglia are glial cells.", _item(cloze="{{c1::Microglia}} are {{c2::glial cells}}, like other glial cells."),
     ["Microglia"]),
    # Digits are words; a word's stem must match, not merely its start.
    ("In 2014 a study found activation.", _item(question="When was the study?", answer="2014"), ["2014"]),
    ("Cells, cellular, cello.", _item(question="What?", answer="cell"), ["Cells"]),
])
def test_which_words_of_a_sentence_a_card_asks_for(sentence, item, expected):
    marked = asked_words(sentence, 0, len(sentence), {0: asks(item)})
    assert [sentence[w.start:w.end] for w in marked] == expected
    assert all(w.cards == (0,) for w in marked)


def test_a_missing_text_is_a_note_and_min_fails_with_nothing_measured(write_tree, deckbuild, tmp_path):
    tree = write_tree({"deck.yaml": DECK}, sources=SOURCES)
    result = deckbuild("coverage", tree, "-o", tmp_path / "c.html")
    assert result.exit_code == 0, result.output
    assert f"{tree}/sources.yaml:1: note: text file '{tree}/art.txt' of source 'art' is not found; " \
        "its coverage was not measured" in result.output
    failed = deckbuild("coverage", tree, "-o", tmp_path / "c.html", "--min", "1")
    assert failed.exit_code == 1
    assert "nothing measured: no source text could be read" in failed.output and "is under" not in failed.output
    nothing = deckbuild("coverage", tree, "-o", tmp_path / "c.html", "--min-asked", "0")
    assert nothing.exit_code == 1 and "0 of 0 quoted sentences have a word some card asks for (n/a)" in nothing.output
    assert "nothing measured: no source text could be read" in nothing.output


def test_an_unsafe_text_is_skipped_with_a_warning(write_tree, deckbuild, tmp_path):
    tree = write_tree({"deck.yaml": DECK}, sources=SOURCES.replace("text: art.txt", "text: /dev/zero"))
    result = deckbuild("coverage", tree, "-o", tmp_path / "c.html")
    assert result.exit_code == 0, result.output
    assert f"{tree}/sources.yaml:1: warning [quote-not-found] text file '/dev/zero' of source 'art' is not a regular " \
        "file; its coverage was not measured" in result.output
    assert "0 of 0 sentences quoted (n/a) in 0 texts" in result.output


@pytest.mark.parametrize("text, expected", [
    ("One. Two! Three? four. Five", ["One.", "Two!", "Three? four.", "Five"]),
    ("Dr. Abraham says so (a.k.a. fog.) Then e.g. this. 3.5 mg. “Quoted.” Next", [
        "Dr. Abraham says so (a.k.a. fog.)", "Then e.g. this.", "3.5 mg.", "“Quoted.”", "Next"]),
    ("Heading\n\nA line. Another.\n  ---  \n", ["Heading", "A line.", "Another."]),
])
def test_sentence_splitting(text, expected):
    assert [text[a:b] for a, b in sentence_spans(text, [])] == expected


def test_skip_by_line_range_and_pattern():
    text = "one\ntwo\nthree\nfour Ad five\n"
    spans = skipped_spans(text, ("2-3", "Ad ", "9-12"))
    assert [text[a:b] for a, b in spans] == ["two\nthree\n", "Ad "]
    assert [text[a:b] for a, b in sentence_spans(text, spans)] == ["one", "four", "five"]


def test_refuses_to_overwrite_a_file_it_did_not_write_or_one_in_the_cards_folder(cards, deckbuild, tmp_path):
    mine = tmp_path / "notes.html"
    mine.write_text("<p>my own notes</p>", encoding="utf-8")
    result = deckbuild("coverage", cards, "-o", mine)
    assert result.exit_code == 2
    assert f"output '{mine}' exists and is not a coverage page deckbuild wrote, so it was left alone" in result.output
    assert mine.read_text(encoding="utf-8") == "<p>my own notes</p>"
    inside = deckbuild("coverage", cards, "-o", cards / "cov.html")
    assert inside.exit_code == 2 and "inside the cards folder" in inside.output
    assert not (cards / "cov.html").exists()
    page = tmp_path / "cov.html"
    assert deckbuild("coverage", cards, "-o", page).exit_code == 0
    assert deckbuild("coverage", cards, "-o", page).exit_code == 0  # its own page is replaced
    assert list(tmp_path.glob(".cov.html.*")) == [] and list(tmp_path.glob(".deckbuild-tmp-*")) == []
    assert deckbuild("coverage", cards, "-o", mine, "--force").exit_code == 0
    assert "deckbuild coverage" in mine.read_text(encoding="utf-8")


def test_bad_input_writes_no_page(write_tree, deckbuild, tmp_path):
    tree = write_tree({"deck.yaml": DECK.replace("    answer: Tiny cells.\n", "")}, sources=SOURCES)
    out = tmp_path / "cov.html"
    result = deckbuild("coverage", tree, "-o", out)
    assert result.exit_code == 1 and "card has a 'question' but no 'answer'" in result.output
    assert not out.exists()


# --- in a real browser -----------------------------------------------------------------------------

PROBE = """
<script>
const marks = [...document.querySelectorAll("mark.cv-q")];
const quoted = marks.map(mark => {
  mark.click();
  const cards = [...document.querySelectorAll("#cv-panel li")].map(li => li.innerText);
  const shown = !document.getElementById("cv-panel").hidden;
  mark.click();  // unpin
  return {text: mark.textContent, cards, shown, hiddenAfter: document.getElementById("cv-panel").hidden};
});
const box = document.getElementById("cv-panel");
marks[0].dispatchEvent(new MouseEvent("mouseenter"));
const hovered = {shown: !box.hidden, cards: [...box.querySelectorAll("li")].map(li => li.innerText)};
marks[0].dispatchEvent(new MouseEvent("mouseleave"));
hovered.hiddenAfter = box.hidden;
const uncovered = [...document.querySelectorAll(".cv-text .cv-uncovered")].map(s => ({text: s.textContent, line: s.dataset.line,
  visible: s.getClientRects().length > 0}));
const skipped = [...document.querySelectorAll(".cv-text .cv-skip")].map(s => s.textContent);
const ids = JSON.parse(document.getElementById("cv-cards").textContent).map(card => card[0]);
const asked = [...document.querySelectorAll(".cv-text b.cv-ask")].map(b => ({text: b.textContent,
  cards: b.dataset.cards.split(" ").map(i => ids[i]), inQuote: !!b.closest("mark.cv-q")}));
const unasked = [...document.querySelectorAll(".cv-text .cv-unasked")].map(s => ({text: s.textContent, line: s.dataset.line,
  visible: s.getClientRects().length > 0}));
const bg = element => getComputedStyle(element).backgroundColor;
const colours = {  // what a reader tells apart at a glance, and the legend's sample of each
  quoted: bg(document.querySelector(".cv-text mark.cv-q:not(.cv-many):not(.cv-unasked mark)")),
  asked: bg(document.querySelector(".cv-text b.cv-ask")),
  unasked: bg(document.querySelector(".cv-text .cv-unasked mark.cv-q")),
  uncovered: bg(document.querySelector(".cv-text .cv-uncovered")),
};
const legend = {quoted: bg(document.querySelector(".cv-key mark")), asked: bg(document.querySelector(".cv-legend-ask")),
  unasked: bg(document.querySelector(".cv-legend-unasked")), uncovered: bg(document.querySelector(".cv-legend-uncovered"))};
const out = document.createElement("pre");
out.id = "probe";
out.textContent = JSON.stringify({quoted, hovered, uncovered, skipped, total: document.getElementById("cv-total").textContent,
  asked, unasked, colours, legend, askedTotal: document.getElementById("cv-asked").textContent,
  articleAsked: [...document.querySelectorAll(".cv-article .cv-asked")].map(s => s.textContent)});
document.body.append(out);
</script>
"""


def test_page_highlights_quotes_and_asked_words_and_marks_unasked_and_uncovered_sentences(cards, deckbuild, tmp_path):
    out = tmp_path / "coverage.html"
    assert deckbuild("coverage", cards, "-o", out).exit_code == 0
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", out.read_text(encoding="utf-8"))  # no network
    report = probe_in_chromium(out, PROBE, tmp_path=tmp_path)
    place = f"{cards.as_posix()}/deck.yaml"
    two, same = f"two-sentences {place}:13", f"same-quote {place}:18"
    assert [(q["text"], q["cards"]) for q in report["quoted"]] == [
        ("Microglia are tiny cells", [f"tiny {place}:3 asks: tiny, cells", f"microglia-cloze {place}:23 asks: Microglia"]),
        (".", [f"microglia-cloze {place}:23"]),
        ("They’re the “first line” of defense — in the CNS", [f"defense {place}:8 asks: first, line, defense"]),
        ("used ", [two]),
        ("PET scans.", [two, same]),
        (" They found", [two, same]),
    ]
    assert all(q["shown"] and q["hiddenAfter"] for q in report["quoted"])
    assert report["hovered"] == {"shown": True, "cards": [f"tiny {place}:3 asks: tiny, cells",
                                                          f"microglia-cloze {place}:23 asks: Microglia"],
                                 "hiddenAfter": True}
    assert report["asked"] == [
        {"text": "Microglia", "cards": ["microglia-cloze"], "inQuote": True},
        {"text": "tiny", "cards": ["tiny"], "inQuote": True},
        {"text": "cells", "cards": ["tiny"], "inQuote": True},
        {"text": "first", "cards": ["defense"], "inQuote": True},
        {"text": "line", "cards": ["defense"], "inQuote": True},
        {"text": "defense", "cards": ["defense"], "inQuote": True},
        {"text": "neuroinflammation", "cards": ["two-sentences", "same-quote"], "inQuote": False},
    ]
    # The quoted sentence no card asks a word of, in its two pieces (before and within the quotes).
    assert report["unasked"] == [{"text": "Scientists ", "line": "4", "visible": True},
                                 {"text": "used ", "line": "4", "visible": True},
                                 {"text": "PET scans.", "line": "4", "visible": True}]
    assert report["uncovered"] == [{"text": "Glia means glue.", "line": "4", "visible": True}]
    assert report["skipped"] == ["Home > Health > Brains\n", "Advertisement", "Related: ten foods for your brain"]
    assert report["total"] == "4 of 5 sentences quoted (80%)"
    assert report["askedTotal"] == "3 of 4 quoted sentences have a word some card asks for (75%)"
    assert report["articleAsked"] == [report["askedTotal"]]
    colours = report["colours"]
    assert len(set(colours.values())) == 4, colours  # quoted, asked, quoted-but-never-asked, uncovered: all distinct
    assert report["legend"] == colours


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("Ab. ?!\n”“)(3e"), max_size=60),
       skip=st.lists(st.sampled_from(["1", "2-3", "b", r"\.", "^A"]), max_size=3))
def test_sentences_are_ordered_disjoint_trimmed_and_never_skipped(text, skip):
    skipped = skipped_spans(text, tuple(skip))
    spans = sentence_spans(text, skipped)
    assert all(a < b for a, b in spans) and all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:]))
    for a, b in spans:
        assert text[a:b] == text[a:b].strip() and "\n" not in text[a:b]
        assert not any(s < b and e > a for s, e in skipped)


def test_markup_in_the_article_or_title_never_becomes_markup(write_tree, deckbuild, tmp_path):
    deck = DECK.replace("answer: Tiny cells.", "answer: '<b onmouseover=\"alert(3)\">Tiny</b> cells.'")
    tree = write_tree({"<i>deck.yaml": deck}, sources=SOURCES.replace("The Article", "'<script>alert(1)</script>'"))
    (tree / "art.txt").write_text(ART.replace("Glia means glue.", "Glia <img src=x onerror=alert(2)> </script>."),
                                  encoding="utf-8")
    out = tmp_path / "cov.html"
    result = deckbuild("coverage", tree, "-o", out)
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.count("<script") == 2 and page.count("</script>") == 2  # the card list and the page's own
    assert "<img" not in page and "<i>" not in page and "alert(3)" not in page and "&lt;script&gt;alert(1)" in page
    assert 'title="asked by tiny (' in page and "&lt;i&gt;deck.yaml:3)" in page  # the asked word names its card
