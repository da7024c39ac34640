"""Citation checks: every cited text must contain the quote, and a listed paper must be named where it is cited."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from ..model import Item, Problem, Source, Tree
from ..pipeline.texts import fold, fold_map, occurrences, read_text, sentence_spans
from .editorial import Finding, Warn
_NAME = re.compile(r"\b[A-Z][a-zA-Z'’-]{2,}\b")  # a capitalised word: a surname, in an author field


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


def text_source(key: str, sources: dict[str, Source]) -> Source | None:
    """The source whose `text:` checks a citation of `key`: itself, or the first along its `via:` chain."""
    seen = set()
    source = sources.get(key)
    while source is not None and source.text is None and source.via and source.key not in seen:
        seen.add(source.key)
        source = sources.get(source.via)
    return source if source is not None and source.text is not None else None


class Texts:
    """The readable source texts, folded for matching, with the sentences around a quote found on demand."""

    def __init__(self, raw: dict[str, str]) -> None:
        self.raw = raw
        self._folded: dict[str, str] | None = None
        self._maps: dict[str, tuple] = {}

    @property
    def folded(self) -> dict[str, str]:
        """Each text folded (see `fold`), made when first asked for: a check whose findings are cached needs none."""
        if self._folded is None:
            self._folded = {key: fold(text) for key, text in self.raw.items()}
        return self._folded

    def __contains__(self, key: str) -> bool:
        return key in self.raw

    def contexts(self, key: str, quote: str) -> list[str]:
        """For each place the folded `quote` stands in text `key`: the whole sentences it overlaps."""
        if key not in self._maps:
            text = self.raw[key]
            folded, origin = fold_map(text)
            spans = sentence_spans(text, [])
            self._maps[key] = (folded, origin, spans, [a for a, _ in spans])
        folded, origin, spans, starts = self._maps[key]
        text, found = self.raw[key], []
        for a, b in occurrences(folded, origin, quote):
            first, last = max(bisect.bisect_right(starts, a) - 1, 0), max(bisect.bisect_left(starts, b) - 1, 0)
            found.append(text[min(a, spans[first][0]):max(b, spans[last][1])] if spans else text[a:b])
        return found


def names(source: Source, context: str) -> bool:
    """Whether a passage names a source: an author's surname, its year, or its title."""
    year = (source.date or "")[:4]
    if year and re.search(rf"(?<!\d){year}(?!\d)", context):
        return True
    surnames = {name for author in source.author for name in _NAME.findall(author)}
    if any(re.search(rf"\b{re.escape(name)}\b", context) for name in surnames):
        return True
    return bool(source.title) and fold(source.title) in fold(context)


def citations(tree: Tree, texts: Texts, warn: Warn) -> list[Finding]:
    """quote-not-found and citation-unsupported for every item."""
    return [finding for item in tree.items for finding in item_citations(item, texts, tree.sources, warn)]


def item_citations(item: Item, texts: Texts, sources: dict[str, Source], warn: Warn) -> Iterator[Finding]:
    """quote-not-found (in no cited text) and citation-unsupported (missing from one, or a paper not named)."""
    if not item.quote:
        return
    checked = {key: found.key for key in item.sources
               if (found := text_source(key, sources)) is not None and found.key in texts}
    if not checked:
        return
    quote = fold(item.quote)
    missing = [key for key, text_key in checked.items() if quote not in texts.folded[text_key]]
    if len(missing) == len(checked):
        files = ", ".join(dict.fromkeys(sources[k].text.name for k in checked.values()))  # type: ignore[union-attr]
        yield warn(item, "quote", "quote-not-found", f"quote not found in {files}")
        return
    for key, text_key in checked.items():
        text = sources[text_key].text.name  # type: ignore[union-attr]
        if key in missing:
            via = f" (through 'via: {text_key}')" if text_key != key else ""
            yield warn(item, "source", "citation-unsupported",
                       f"cites '{key}', but its text {text}{via} does not contain the quote; "
                       "cite only the sources that say it")
        elif text_key != key and not any(names(sources[key], c) for c in texts.contexts(text_key, quote)):
            yield warn(item, "source", "citation-unsupported",
                       f"cites '{key}', but the sentence of {text} this quote comes from names neither its "
                       f"authors, its year nor its title; cite '{key}' only where '{text_key}' ties the fact to it")
