"""`deckbuild coverage`: which sentences of each source text some card quotes, and which words of them some card
asks for, in the terminal and as a page."""

from __future__ import annotations

import bisect
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..model import Problem, Source
from ..pipeline.build import compile_clean
from ..pipeline.output import check_output, environment, marked_by
from ..pipeline.state import write_atomic
from ..pipeline.texts import fold, fold_map, occurrences, sentence_spans, skipped_spans
from .asked import Asked, asked_words, asks
from .citations import source_texts, text_source

# What the page puts in its <head>, so a later run knows the page is its own to replace.
COVERAGE_MARK = '<meta name="generator" content="deckbuild coverage">'


@dataclass(frozen=True, slots=True, kw_only=True)
class Sentence:
    """One sentence of a source text: its span, its line, the cards quoting part of it and the words they ask for."""

    start: int
    end: int
    line: int
    text: str
    quoted_by: tuple[int, ...] = ()  # indices into Coverage.cards
    asked: tuple[Asked, ...] = ()

    @property
    def covered(self) -> bool:
        """Whether some card quotes part of this sentence."""
        return bool(self.quoted_by)


@dataclass(frozen=True, slots=True, kw_only=True)
class Quoted:
    """One place a card's quote stands in a source text."""

    start: int
    end: int
    card: int  # index into Coverage.cards


@dataclass(frozen=True, slots=True, kw_only=True)
class Article:
    """One source text, split into sentences, with its skipped parts and quoted spans."""

    source: Source
    text: str
    skipped: tuple[tuple[int, int], ...]
    sentences: tuple[Sentence, ...]
    quoted: tuple[Quoted, ...]

    @property
    def covered(self) -> int:
        """How many sentences some card quotes."""
        return sum(sentence.covered for sentence in self.sentences)

    @property
    def asked(self) -> int:
        """How many sentences have a word some card asks for (each of them is quoted)."""
        return sum(bool(sentence.asked) for sentence in self.sentences)


@dataclass(frozen=True, slots=True, kw_only=True)
class Coverage:
    """Every source text's coverage, the cards that quote them (id, file:line), and texts that couldn't be read."""

    articles: tuple[Article, ...]
    cards: tuple[tuple[str, str], ...]
    unread: tuple[Problem, ...]

    @property
    def covered(self) -> int:
        return sum(article.covered for article in self.articles)

    @property
    def total(self) -> int:
        return sum(len(article.sentences) for article in self.articles)

    @property
    def asked(self) -> int:
        return sum(article.asked for article in self.articles)


def percent(covered: int, total: int) -> str:
    """A share for people, one decimal, never rounded up to a threshold it misses."""
    return f"{covered * 1000 // total / 10:g}%" if total else "n/a"


def measure(*, cards_dir: Path) -> Coverage:
    """The coverage of every readable source text by the quotes of the cards citing it, and what those cards ask.

    A card's asked words (`asks`) are looked for only in the sentences its own quote overlaps.
    """
    compiled, _ = compile_clean(cards_dir)
    tree = compiled.tree
    texts, unread = source_texts(tree.sources, unverified="its coverage was not measured")
    cards = tuple((item.id, f"{item.path}:{item.line}") for item in tree.items)
    asked_by: dict[int, frozenset[str]] = {}
    articles = []
    for key, text in texts.items():
        source = tree.sources[key]
        folded, origin = fold_map(text)
        quoted = []
        for index, item in enumerate(tree.items):
            cites = {found.key for k in item.sources if (found := text_source(k, tree.sources)) is not None}
            quote = fold(item.quote or "")
            if key not in cites or not quote:
                continue
            quoted += [Quoted(start=a, end=b, card=index) for a, b in occurrences(folded, origin, quote)]
        skipped = skipped_spans(text, source.skip)
        spans = sentence_spans(text, skipped)
        starts = [a for a, _ in spans]
        quoting: list[set[int]] = [set() for _ in spans]  # per sentence, the cards quoting part of it
        for q in quoted:
            i = max(bisect.bisect_right(starts, q.start) - 1, 0)  # the last sentence starting at or before it
            while i < len(spans) and spans[i][0] < q.end:
                if spans[i][1] > q.start:
                    quoting[i].add(q.card)
                i += 1
        line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        sentences = []
        for (a, b), by in zip(spans, quoting):
            quoted_by = tuple(sorted(by))
            for card in quoted_by:
                if card not in asked_by:
                    asked_by[card] = asks(tree.items[card])
            sentences.append(Sentence(
                start=a, end=b, line=bisect.bisect_right(line_starts, a), text=" ".join(text[a:b].split()),
                quoted_by=quoted_by, asked=asked_words(text, a, b, {card: asked_by[card] for card in quoted_by})))
        articles.append(Article(source=source, text=text, skipped=tuple(skipped), sentences=tuple(sentences),
                                quoted=tuple(quoted)))
    return Coverage(articles=tuple(articles), cards=cards, unread=tuple(unread))


def who(cards: tuple[tuple[str, str], ...], indices: tuple[int, ...]) -> str:
    """Some cards for people: `id (path:line)`, comma-separated."""
    return ", ".join(f"{cards[i][0]} ({cards[i][1]})" for i in indices)


def report_lines(coverage: Coverage) -> list[str]:
    """The terminal report, per text: its share quoted, `path:line: uncovered: "…"` per sentence no card quotes,
    then how many quoted sentences some card asks a word of, and `path:line: never asked: "…"` for the others."""
    lines = []
    for article in coverage.articles:
        shown = article.source.text.as_posix()  # type: ignore[union-attr]
        lines.append(f"{shown}: {article.covered} of {len(article.sentences)} sentences quoted "
                     f"({percent(article.covered, len(article.sentences))})")
        lines += [f'{shown}:{s.line}: uncovered: "{s.text}"' for s in article.sentences if not s.covered]
        lines.append(f"{shown}: {asked_line(article.asked, article.covered)}")
        lines += [f'{shown}:{s.line}: never asked: "{s.text}" (quoted by {who(coverage.cards, s.quoted_by)})'
                  for s in article.sentences if s.covered and not s.asked]
    return lines


def asked_line(asked: int, quoted: int) -> str:
    """How many quoted sentences have a word some card asks for, for people."""
    return f"{asked} of {quoted} quoted sentences have a word some card asks for ({percent(asked, quoted)})"


# --- the page ------------------------------------------------------------------------------------------

PAGE_CSS = """\
body { margin: 0; font: 15px/1.55 system-ui, sans-serif; background: #f4f4f6; color: #1d1d1f; }
.cv-bar { position: sticky; top: 0; z-index: 1; padding: .6em 1em; background: #fff; border-bottom: 1px solid #ccc; }
.cv-bar .cv-key { margin-top: .2em; font-size: 13px; color: #555; }
.cv-article { margin: 1em; padding: .2em 1em 1em; background: #fff; border: 1px solid #ddd; border-radius: 6px; }
.cv-meta { font: 12px ui-monospace, monospace; color: #555; }
.cv-text { white-space: pre-wrap; overflow-wrap: anywhere; max-width: 60em; }
mark.cv-q { background: #cde9c3; border-bottom: 2px solid #5a9e4b; cursor: pointer; }
mark.cv-q.cv-many { background: #a9d99b; }
mark.cv-q:focus, mark.cv-q.cv-on { outline: 2px solid #2f6b23; }
.cv-uncovered, .cv-legend-uncovered { background: #fde2e0; text-decoration: underline wavy #c0392b;
  text-decoration-thickness: 1px; }
b.cv-ask, .cv-legend-ask { background: #2f6b23; color: #fff; font-weight: 600; border-radius: 2px; }
.cv-unasked, .cv-legend-unasked { background: #fff1c9; text-decoration: underline dashed #b7791f;
  text-decoration-thickness: 1px; }
.cv-unasked mark.cv-q, .cv-legend-unasked { background: #ffe08a; border-bottom: 2px solid #b7791f; }
mark.cv-legend { background: #cde9c3; }
.cv-asks { color: #2f6b23; }
.cv-skip { color: #999; }
#cv-panel { position: fixed; right: 1em; bottom: 1em; max-width: 32em; padding: .6em 1em; background: #fffbe6;
  border: 1px solid #d9c36a; border-radius: 6px; box-shadow: 0 2px 8px rgba(0,0,0,.15); font-size: 13px; }
#cv-panel ul { margin: .3em 0 0; padding-left: 1.2em; }
#cv-panel code { font: 12px ui-monospace, monospace; color: #555; }
[hidden] { display: none !important; }
"""

PAGE_SCRIPT = """\
const cards = JSON.parse(document.getElementById("cv-cards").textContent);
const panel = document.getElementById("cv-panel"), list = panel.querySelector("ul");
let pinned = null;
function show(mark) {
  list.replaceChildren(...mark.dataset.cards.split(" ").map(i => {
    const li = document.createElement("li"), b = document.createElement("b"), code = document.createElement("code");
    b.textContent = cards[i][0];
    code.textContent = cards[i][1];
    li.append(b, " ", code);
    const asked = [...mark.querySelectorAll("b.cv-ask")].filter(w => w.dataset.cards.split(" ").includes(i))
      .map(w => w.textContent);
    if (asked.length) {
      const asks = document.createElement("span");
      asks.className = "cv-asks";
      asks.textContent = " asks: " + [...new Set(asked)].join(", ");
      li.append(asks);
    }
    return li;
  }));
  panel.hidden = false;
}
function hide() { if (!pinned) panel.hidden = true; }
for (const mark of document.querySelectorAll("mark.cv-q")) {
  mark.addEventListener("mouseenter", () => { if (!pinned) show(mark); });
  mark.addEventListener("mouseleave", hide);
  mark.addEventListener("focus", () => { if (!pinned) show(mark); });
  mark.addEventListener("click", event => {
    event.stopPropagation();
    if (pinned) pinned.classList.remove("cv-on");
    pinned = pinned === mark ? null : mark;
    if (pinned) { pinned.classList.add("cv-on"); show(mark); } else hide();
  });
}
document.addEventListener("click", () => { if (pinned) { pinned.classList.remove("cv-on"); pinned = null; hide(); } });
"""


def _segments(article: Article, cards: tuple[tuple[str, str], ...]) -> str:
    """An article's text as HTML: quoted runs marked with their cards, asked words in them, sentences no card
    quotes or none asks a word of, and skipped parts marked."""
    text, esc = article.text, html.escape
    flagged = [s for s in article.sentences if not s.asked]  # uncovered, or quoted and never asked
    asked = [word for s in article.sentences for word in s.asked]
    cuts = {0, len(text)}
    for a, b in article.skipped + tuple((q.start, q.end) for q in article.quoted) + \
            tuple((s.start, s.end) for s in flagged):
        cuts |= {a, b}
    points = sorted(cuts)
    by_start = sorted(article.quoted, key=lambda q: q.start)
    by_end = sorted(article.quoted, key=lambda q: q.end)
    active: dict[int, int] = {}  # card -> how many of its quoted spans cover the current segment
    started = ended = 0
    skips = list(article.skipped)
    skip_at = sentence_at = word_at = 0
    out = []
    for a, b in zip(points, points[1:]):
        while started < len(by_start) and by_start[started].start <= a:
            active[by_start[started].card] = active.get(by_start[started].card, 0) + 1
            started += 1
        while ended < len(by_end) and by_end[ended].end <= a:
            card = by_end[ended].card
            active[card] -= 1
            if not active[card]:
                del active[card]
            ended += 1
        while skip_at < len(skips) and skips[skip_at][1] <= a:
            skip_at += 1
        while sentence_at < len(flagged) and flagged[sentence_at].end <= a:
            sentence_at += 1
        while word_at < len(asked) and asked[word_at].end <= a:
            word_at += 1
        words, at = [], a
        while word_at + len(words) < len(asked) and asked[word_at + len(words)].start < b:
            words.append(asked[word_at + len(words)])
        pieces = []
        for word in words:  # each asked word in this segment (or its part here, when a quote ends inside it)
            start, end = max(word.start, a), min(word.end, b)
            pieces.append(esc(text[at:start]) + f'<b class="cv-ask" data-cards="{" ".join(map(str, word.cards))}" '
                          f'title="asked by {esc(who(cards, word.cards))}">{esc(text[start:end])}</b>')
            at = end
        piece = "".join(pieces) + esc(text[at:b])
        quoting = sorted(active)
        sentence = flagged[sentence_at] if sentence_at < len(flagged) and flagged[sentence_at].start <= a else None
        skipped = skip_at < len(skips) and skips[skip_at][0] <= a
        if quoting:
            names = "\n".join(f"{cards[i][0]} ({cards[i][1]})" for i in quoting)
            many = " cv-many" if len(quoting) > 1 else ""
            piece = (f'<mark class="cv-q{many}" tabindex="0" data-cards="{" ".join(map(str, quoting))}" '
                     f'title="{esc(names)}">{piece}</mark>')
        if sentence is not None and not sentence.covered:
            piece = (f'<span class="cv-uncovered" data-line="{sentence.line}" '
                     f'title="line {sentence.line}: no card quotes this sentence">{piece}</span>')
        elif sentence is not None:
            piece = (f'<span class="cv-unasked" data-line="{sentence.line}" '
                     f'title="line {sentence.line}: quoted, but no card asks for a word of it">{piece}</span>')
        if skipped:
            piece = f'<span class="cv-skip" title="skipped: not counted">{piece}</span>'
        out.append(piece)
    return "".join(out)


def page(coverage: Coverage, *, title: str) -> str:
    """The whole coverage page: each article with its quoted spans, asked words, and the sentences no card quotes
    or asks about; no network needed."""
    esc = html.escape
    body = []
    for n, article in enumerate(coverage.articles):
        source, total = article.source, len(article.sentences)
        body.append(
            f'<section class="cv-article" id="cv-{esc(source.key)}" data-source="{esc(source.key)}">'
            f"<h2>{esc(source.title or source.key)}</h2>"
            f'<p class="cv-meta">{esc(source.key)} · {esc(source.text.as_posix())} · '  # type: ignore[union-attr]
            f"{article.covered} of {total} sentences quoted ({percent(article.covered, total)}) · "
            f'<span class="cv-asked">{asked_line(article.asked, article.covered)}</span></p>'
            f'<div class="cv-text">{_segments(article, coverage.cards)}</div></section>')
    cards = json.dumps(coverage.cards, ensure_ascii=True).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n{COVERAGE_MARK}\n'
        f"<title>{esc(title)}</title>\n<style>\n{PAGE_CSS}</style></head>\n<body>\n"
        f'<div class="cv-bar"><b>{esc(title)}</b> · <span id="cv-total">{coverage.covered} of {coverage.total} '
        f"sentences quoted ({percent(coverage.covered, coverage.total)})</span> · "
        f'<span id="cv-asked">{asked_line(coverage.asked, coverage.covered)}</span>'
        f'<div class="cv-key"><mark class="cv-legend">quoted</mark> (hover or click: which cards) · '
        f'<span class="cv-legend-ask">asked</span>: a word some card asks for (its answer or a cloze deletion) · '
        f'<span class="cv-legend-unasked">quoted, never asked</span> · '
        f'<span class="cv-legend-uncovered">no card quotes it</span> · '
        f'<span class="cv-skip">skipped</span></div></div>\n'
        + "\n".join(body)
        + '\n<aside id="cv-panel" hidden><b>Quoted by</b><ul></ul></aside>\n'
        f'<script type="application/json" id="cv-cards">{cards}</script>\n'
        f"<script>\n{PAGE_SCRIPT}</script>\n</body></html>\n"
    )


def write_coverage(*, cards_dir: Path, output: Path, force: bool = False) -> Coverage:
    """Measure coverage and write the page atomically; nothing is written on errors.

    An existing file is replaced only if it is a page this command wrote (or with `force`).
    """
    check_output(output, cards_dir=cards_dir, ours=marked_by(COVERAGE_MARK), what="a coverage page deckbuild wrote",
                 force=force)
    coverage = measure(cards_dir=cards_dir)
    with environment(output, "write"):
        write_atomic(output, page(coverage, title=f"deckbuild coverage: {cards_dir.as_posix()}").encode("utf-8"))
    return coverage
