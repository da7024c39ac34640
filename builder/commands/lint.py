"""Card-quality lint: SuperMemo's minimum-information rules, plus quote verification."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from ..model import Item, Note, Problem, Tree
from ..pipeline.build import compile_clean
from ..pipeline.cache import Cache
from ..pipeline.compile import Compiled, Progress
from ..pipeline.texts import fold
from ..pipeline.validate import CLOZE, CLOZE_ANSWER
from .citations import Texts, citations, source_texts
from .editorial import editorial

LONG_ANSWER = 15
LONG_QUESTION = 30
MAX_ITEMS = 3

_TAG = re.compile(r"<[^>]*>")
_BLOCK = re.compile(r"(?i)</?(?:div|p|br|hr|li|ul|ol|blockquote|tr|td|th|table|h[1-6]|pre)\b[^>]*>")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.MULTILINE)
_SEPARATED = re.compile(r"[;,]")
_NOT_WORD = re.compile(r"[^\w]")


def plain(fragment: str) -> str:
    """Rendered HTML as the words a person reads."""
    if "<" not in fragment and "&" not in fragment:  # most fields: plain text already
        return " ".join(fragment.split())
    return " ".join(html.unescape(_TAG.sub("", _BLOCK.sub(" ", fragment))).split())


def check(*, cards_dir: Path, cache: Cache | None = None, progress: Progress | None = None) -> Compiled:
    """Every validation of `build` plus the card-quality lint, writing nothing; its problems are warnings."""
    compiled, _ = compile_clean(cards_dir, cache=cache, progress=progress)
    warnings = sorted(lint(compiled.tree, compiled.notes), key=Problem.sort_key)
    return replace(compiled, problems=tuple(warnings))


def lint(tree: Tree, notes: tuple[Note, ...]) -> list[Problem]:
    """Every lint finding for a compiled tree, less what each item's `allow` silences."""
    raw, unread = source_texts(tree.sources, unverified="its quotes were not verified")
    findings = [f for item, note in zip(tree.items, notes) for f in _item_findings(item, note)]
    findings += citations(tree, Texts(raw), _warn)
    findings += _duplicates(tree.items, notes)
    findings += editorial(tree, _warn)
    kept = [problem for problem, item in findings if problem.rule not in item.allow]
    return kept + _unused_sources(tree) + unread


def _warn(item: Item, key: str, rule: str, message: str) -> tuple[Problem, Item]:
    """One warning at the line of an item's field."""
    return Problem(path=item.path, line=item.line_of(key), message=message, severity="warning", rule=rule), item


def _item_findings(item: Item, note: Note) -> Iterator[tuple[Problem, Item]]:
    """The per-item rules."""
    if item.kind == "cloze":
        words = len(plain(CLOZE_ANSWER.sub(r"\1", note.fields[0])).split())
        if words > LONG_QUESTION:
            yield _warn(item, "cloze", "long-question", f"cloze text has {words} words (over {LONG_QUESTION})")
        repeated = sorted(int(n) for n, count in Counter(CLOZE.findall(item.cloze or "")).items() if count > 1)
        if repeated:
            yield _warn(item, "cloze", "multi-blank", f"c{repeated[0]} hides more than one blank at once; "
                        "give each blank its own number")
    else:
        question, answer = plain(note.fields[0]), plain(note.fields[1])
        if len(question.split()) > LONG_QUESTION:
            yield _warn(item, "question", "long-question",
                        f"question has {len(question.split())} words (over {LONG_QUESTION})")
        if question.count("?") > 1:
            yield _warn(item, "question", "compound-question", "question asks two things (two '?'); split it")
        if len(answer.split()) > LONG_ANSWER:
            yield _warn(item, "answer", "long-answer", f"answer has {len(answer.split())} words (over {LONG_ANSWER})")
        listed = len(_LIST_ITEM.findall(item.answer or "")) or len([p for p in _SEPARATED.split(answer) if p.strip()])
        if listed > MAX_ITEMS:
            yield _warn(item, "answer", "enumeration", f"answer lists {listed} items (over {MAX_ITEMS}); "
                        "make one card per item or an overlapping cloze")
        if _NOT_WORD.sub("", answer.lower()) in {"yes", "no", "true", "false"}:
            yield _warn(item, "answer", "yes-no", "answer is just yes/no; ask for the fact itself")
    yield from _removed(item, note)
    if not item.quote:
        yield _warn(item, "id", "no-quote", "no quote from the source supports this card")


def _removed(item: Item, note: Note) -> Iterator[tuple[Problem, Item]]:
    """One warning per field the sanitizer took markup out of, naming what it took."""
    by_key: dict[str, list[str]] = {}
    for key, what in note.removed:
        by_key.setdefault(key, []).append(what)
    for key, found in by_key.items():
        hint = "; write maths as \\( … \\) for MathJax" if any(w in ("<math>", "<svg>") for w in found) else ""
        yield _warn(item, key, "removed-markup", f"'{key}' loses {', '.join(found)} (not allowed on a card, so it "
                    f"never reaches Anki){hint}")


def _duplicates(items: tuple[Item, ...], notes: tuple[Note, ...]) -> Iterator[tuple[Problem, Item]]:
    """Items asking the same question, after case, whitespace and Markdown are normalised."""
    seen: dict[str, Item] = {}
    for item, note in zip(items, notes):
        if item.kind != "qa":
            continue
        key = fold(plain(note.fields[0]))
        if key in seen:
            first = seen[key]
            yield _warn(item, "question", "duplicate-question",
                        f"same question as {first.path}:{first.line_of('question')} ({first.id})")
        else:
            seen[key] = item


def _unused_sources(tree: Tree) -> list[Problem]:
    """Bibliography entries that no card cites, at their line in sources.yaml."""
    cited = {key for item in tree.items for key in item.sources}
    return [Problem(path=s.path, line=s.line, message=f"source '{s.key}' is not cited by any card",
                    severity="warning", rule="unused-source")
            for key, s in tree.sources.items() if key not in cited and s.via is None]
