"""Card-quality lint: SuperMemo's minimum-information rules, plus quote verification."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from ..model import Item, Note, Problem, Source, Tree
from ..pipeline.build import compile_clean
from ..pipeline.cache import Cache
from ..pipeline.compile import Compiled, Progress
from ..pipeline.texts import fold, read_text
from ..pipeline.validate import CLOZE, CLOZE_ANSWER
from .editorial import editorial

LONG_ANSWER = 15
LONG_QUESTION = 30
MAX_ITEMS = 3

_TAG = re.compile(r"<[^>]*>")
_BLOCK = re.compile(r"(?i)</?(?:div|p|br|hr|li|ul|ol|blockquote|tr|td|th|table|h[1-6]|pre)\b[^>]*>")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.MULTILINE)


def plain(fragment: str) -> str:
    """Rendered HTML as the words a person reads."""
    return " ".join(html.unescape(_TAG.sub("", _BLOCK.sub(" ", fragment))).split())


def check(*, cards_dir: Path, cache: Cache | None = None, progress: Progress | None = None) -> Compiled:
    """Every validation of `build` plus the card-quality lint, writing nothing; its problems are warnings."""
    compiled, _ = compile_clean(cards_dir, cache=cache, progress=progress)
    warnings = sorted(lint(compiled.tree, compiled.notes), key=Problem.sort_key)
    return replace(compiled, problems=tuple(warnings))


def lint(tree: Tree, notes: tuple[Note, ...]) -> list[Problem]:
    """Every lint finding for a compiled tree, less what each item's `allow` silences."""
    raw, unread = source_texts(tree.sources, unverified="its quotes were not verified")
    texts = {key: fold(text) for key, text in raw.items()}
    findings = [f for item, note in zip(tree.items, notes) for f in _item_findings(item, note)]
    findings += [f for item in tree.items for f in _citations(item, texts, tree.sources)]
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
        listed = len(_LIST_ITEM.findall(item.answer or "")) or len([p for p in re.split(r"[;,]", answer) if p.strip()])
        if listed > MAX_ITEMS:
            yield _warn(item, "answer", "enumeration", f"answer lists {listed} items (over {MAX_ITEMS}); "
                        "make one card per item or an overlapping cloze")
        if re.sub(r"[^\w]", "", answer.lower()) in {"yes", "no", "true", "false"}:
            yield _warn(item, "answer", "yes-no", "answer is just yes/no; ask for the fact itself")
    if not item.quote:
        yield _warn(item, "id", "no-quote", "no quote from the source supports this card")


def text_source(key: str, sources: dict[str, Source]) -> Source | None:
    """The source whose `text:` checks a citation of `key`: itself, or the first along its `via:` chain."""
    seen = set()
    source = sources.get(key)
    while source is not None and source.text is None and source.via and source.key not in seen:
        seen.add(source.key)
        source = sources.get(source.via)
    return source if source is not None and source.text is not None else None


def _citations(item: Item, texts: dict[str, str], sources: dict[str, Source]) -> Iterator[tuple[Problem, Item]]:
    """quote-not-found (the quote is in none of the cited texts) and citation-unsupported (missing from some)."""
    if not item.quote:
        return
    quote = fold(item.quote)
    checked = {key: found.key for key in item.sources
               if (found := text_source(key, sources)) is not None and found.key in texts}
    if not checked:
        return
    missing = [key for key, text_key in checked.items() if quote not in texts[text_key]]
    if len(missing) == len(checked):
        names = ", ".join(dict.fromkeys(sources[k].text.name for k in checked.values()))  # type: ignore[union-attr]
        yield _warn(item, "quote", "quote-not-found", f"quote not found in {names}")
        return
    for key in missing:
        text = sources[checked[key]]
        via = f" (through 'via: {text.key}')" if text.key != key else ""
        yield _warn(item, "source", "citation-unsupported",
                    f"cites '{key}', but its text {text.text.name}{via} does not contain the quote; "  # type: ignore[union-attr]
                    "cite only the sources that say it")


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


def source_texts(sources: dict[str, Source], *, unverified: str) -> tuple[dict[str, str], list[Problem]]:
    """Each source's readable `text:`, and one finding per text that couldn't be used.

    A missing file is a note (a clone without the articles still passes `check --strict`); a file
    that exists but can't be used (not a regular file, too large, not UTF-8) is a warning.
    """
    texts: dict[str, str] = {}
    problems: list[Problem] = []
    for key, source in sources.items():
        if source.text is None:
            continue
        text = read_text(source.text)
        if isinstance(text, str):
            texts[key] = text
            continue
        problems.append(Problem(
            path=source.path, line=source.line, severity="note" if text.missing else "warning",
            rule=None if text.missing else "quote-not-found",
            message=f"text file '{source.text.as_posix()}' of source '{key}' is {text.reason}; {unverified}"))
    return texts, problems
