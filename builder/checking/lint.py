"""Card-quality lint: SuperMemo's minimum-information rules, plus quote verification."""

from __future__ import annotations

import gc
import hashlib
import html
import multiprocessing
import os
import re
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from ..model import Item, Note, Problem, Source, Tree
from ..pipeline.build import compile_clean
from ..pipeline.cache import Cache, key_for
from ..pipeline.compile import Compiled, Progress
from ..pipeline.hooks import die_with
from ..pipeline.state import forget
from ..pipeline.texts import fold
from ..pipeline.validate import CLOZE, CLOZE_ANSWER
from .citations import Texts, item_citations, source_texts
from .editorial import answer_keys, item_editorial, shared_answers

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
    compiled = compile_clean(cards_dir, cache=cache, progress=progress)[0]
    forget()  # the state file is only checked: its items needn't stay in memory while the lint runs
    found = lint(compiled.tree, compiled.notes, cache=cache, file_keys=compiled.file_keys)
    return replace(compiled, problems=tuple(sorted(found, key=Problem.sort_key)))


def lint(tree: Tree, notes: tuple[Note, ...], *, cache: Cache | None = None,
         file_keys: dict[str, str] | None = None) -> list[Problem]:
    """Every lint finding for a compiled tree, less what each item's `allow` silences.

    What a deck file's items find on their own is cached (see `_Findings`); the rules across the
    tree (duplicate-question, shared-answer, unused-source) run each time, on keys cached per item.
    """
    raw, unread = source_texts(tree.sources, unverified="its quotes were not verified")
    texts = Texts(raw)
    store = _Findings(cache, tree, raw, file_keys or {})
    items = tree.items
    kept: list[Problem] = []
    answers: list[tuple[Item, tuple[str, ...]]] = []
    questions: list[tuple[Item, str]] = []
    files = list(_files(items))
    missing = [(path, start, end) for path, start, end in files if store.get(path, notes[start:end]) is None]
    for (path, start, end), found in zip(missing, _compute(missing, items, notes, texts, tree.sources)):
        store.put(path, notes[start:end], found)
    for path, start, end in files:
        rows, file_answers, file_questions = store.fresh[path][1:] if path in store.fresh else store.found[path]
        kept += [Problem(path=p, line=line, message=m, severity=severity, rule=rule)
                 for p, line, m, severity, rule in rows]
        answers += [(items[start + i], keys) for i, keys in file_answers]
        questions += [(items[start + i], key) for i, key in file_questions]
    store.save()
    across = [*_duplicates(questions), *shared_answers(answers, _warn)]
    kept += [problem for problem, item in across if problem.rule not in item.allow]
    return kept + _unused_sources(tree) + _placeholders(tree) + unread


FileFindings = tuple[list[tuple], list[tuple[int, tuple[str, ...]]], list[tuple[int, str]]]


def _files(items: tuple[Item, ...]) -> Iterator[tuple[str, int, int]]:
    """Each deck file's run of items: its path, and the first and last-plus-one index."""
    start = 0
    for index in range(1, len(items) + 1):
        if index == len(items) or items[index].path != items[start].path:
            yield items[start].path, start, index
            start = index


# Below this many items to lint, starting worker processes costs more than it saves.
PARALLEL_ITEMS = 5_000
_PIECE = 2_000  # items linted in one go by a worker
_WORK: tuple = ()  # what the workers lint: set before they are forked, so they inherit it rather than receive it


def _compute(missing: list[tuple[str, int, int]], items: tuple[Item, ...], notes: tuple[Note, ...], texts: Texts,
             sources: dict[str, Source]) -> list[FileFindings]:
    """`_file_findings` for each (path, start, end) run of items: on all cores when there is enough work."""
    global _WORK
    total = sum(end - start for _, start, end in missing)
    workers = min(os.cpu_count() or 1, -(-total // _PIECE))
    if total < PARALLEL_ITEMS or workers < 2 or threading.active_count() > 1 \
            or "fork" not in multiprocessing.get_all_start_methods():
        return [_file_findings(items[start:end], notes[start:end], texts, sources) for _, start, end in missing]
    pieces = [(a, min(a + _PIECE, end)) for _, start, end in missing for a in range(start, end, _PIECE)]
    _WORK = (items, notes, texts, sources)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                                 initializer=die_with, initargs=(os.getpid(),)) as pool:
            done = dict(zip(pieces, pool.map(_piece, pieces)))
    finally:
        _WORK = ()
    out = []
    for _, start, end in missing:  # each file's pieces joined, their item numbers counted from the file's start
        rows: list[tuple] = []
        answers: list = []
        questions: list = []
        for a in range(start, end, _PIECE):
            found = done[(a, min(a + _PIECE, end))]
            rows += found[0]
            answers += [(i + a - start, keys) for i, keys in found[1]]
            questions += [(i + a - start, key) for i, key in found[2]]
        out.append((rows, answers, questions))
    return out


def _piece(bounds: tuple[int, int]) -> FileFindings:
    """In a worker: `_file_findings` of the items from `bounds[0]` to `bounds[1]` of the inherited `_WORK`."""
    gc.disable()  # the inherited heap has no cycles to find, and walking it would copy its pages
    items, notes, texts, sources = _WORK
    a, b = bounds
    return _file_findings(items[a:b], notes[a:b], texts, sources)


def _file_findings(items: tuple[Item, ...], notes: tuple[Note, ...], texts: Texts,
                   sources: dict[str, Source]) -> FileFindings:
    """One file's findings from its items alone (less what `allow` silences) as plain rows, and the keys the
    rules across the tree compare: each item's answers (`answer_keys`) and each question's folded text."""
    rows, answers, questions = [], [], []
    for i, (item, note) in enumerate(zip(items, notes)):
        for problem, _ in (*_item_findings(item, note, sources), *item_citations(item, texts, sources, _warn),
                           *item_editorial(item, _warn)):
            if problem.rule not in item.allow:
                rows.append((problem.path, problem.line, problem.message, problem.severity, problem.rule))
        if keys := answer_keys(item):  # straight after the rules, which left its texts' words in the caches
            answers.append((i, keys))
        if item.kind == "qa":
            questions.append((i, fold(plain(note.fields[0]))))
    return rows, answers, questions


class _Findings:
    """The lint findings of each deck file, cached in one entry per tree (marshal: plain values only).

    A file's findings are keyed on its `file_keys` entry (its bytes, the bibliography, the code),
    the bytes of every source's `text:` (hashed once a run) and the images its notes use.
    """

    def __init__(self, cache: Cache | None, tree: Tree, texts: dict[str, str], file_keys: dict[str, str]) -> None:
        self.cache = cache if cache is not None and cache.folder is not None else None
        self.file_keys = file_keys
        self.key = key_for("lint", str(tree.root.resolve()), str(tree.root))
        digest = hashlib.sha256()
        for name in sorted(texts):
            digest.update(f"{len(name)} {name} {len(texts[name])} ".encode())
            digest.update(texts[name].encode("utf-8", "surrogatepass"))
        self.texts = digest.digest()
        stored = self.cache.get(self.key) if self.cache is not None else None
        self.stored: dict = stored if isinstance(stored, dict) else {}
        self.fresh: dict[str, tuple] = {}  # each file's (key, *findings), to be stored
        self.found: dict[str, FileFindings] = {}  # findings worked out with no cache to keep them in
        self.changed = False

    def _key(self, path: str, notes: tuple[Note, ...]) -> str | None:
        """The key of a file's findings, or None when the compile gave none (nothing is cached then)."""
        if self.cache is None or path not in self.file_keys:
            return None
        images = "\n".join(f"{m.name} {m.path}" for note in notes for m in note.media)
        return key_for(self.file_keys[path], self.texts, images)

    def get(self, path: str, notes: tuple[Note, ...]) -> FileFindings | None:
        """A file's cached findings, if they are there and current."""
        key = self._key(path, notes)
        entry = self.stored.get(path) if key is not None else None
        try:
            if entry is not None and entry[0] == key:
                rows, answers, questions = entry[1:]
                size = len(notes)
                if all(len(row) == 5 for row in rows) and all(0 <= i < size for i, _ in answers) \
                        and all(0 <= i < size for i, _ in questions):
                    self.fresh[path] = entry
                    return rows, answers, questions
        except (TypeError, ValueError, IndexError):
            pass
        return None

    def put(self, path: str, notes: tuple[Note, ...], found: FileFindings) -> None:
        """Keep a file's findings, to be saved."""
        key = self._key(path, notes)
        if key is not None:
            self.fresh[path] = (key, *found)
            self.changed = True
        else:
            self.found[path] = found

    def save(self) -> None:
        """Store the tree's findings, if any file's changed or went."""
        if self.cache is not None and (self.changed or set(self.stored) != set(self.fresh)):
            self.cache.put(self.key, self.fresh)


def _warn(item: Item, key: str, rule: str, message: str) -> tuple[Problem, Item]:
    """One warning at the line of an item's field."""
    return Problem(path=item.path, line=item.line_of(key), message=message, severity="warning", rule=rule), item


def _item_findings(item: Item, note: Note, sources: dict[str, Source] | None = None) -> Iterator[tuple[Problem, Item]]:
    """The per-item rules."""
    if item.notetype is not None:
        yield from _typed_findings(item)
    elif item.kind == "cloze":
        words = len(plain(CLOZE_ANSWER.sub(_answer_of, note.fields[0])).split())
        if words > LONG_QUESTION:
            yield _warn(item, "cloze", "long-question", f"cloze text has {words} words (over {LONG_QUESTION})")
        numbers = CLOZE.findall(item.cloze or "")
        if len(numbers) > 1 and len(set(numbers)) < len(numbers):
            repeated = sorted(int(n) for n, count in Counter(numbers).items() if count > 1)
            yield _warn(item, "cloze", "multi-blank", f"c{repeated[0]} hides more than one blank at once; "
                        "give each blank its own number")
    else:
        question, answer = plain(note.fields[0]), plain(note.fields[1])
        asked, said = len(question.split()), len(answer.split())
        if asked > LONG_QUESTION:
            yield _warn(item, "question", "long-question", f"question has {asked} words (over {LONG_QUESTION})")
        if question.count("?") > 1:
            yield _warn(item, "question", "compound-question", "question asks two things (two '?'); split it")
        if said > LONG_ANSWER:
            yield _warn(item, "answer", "long-answer", f"answer has {said} words (over {LONG_ANSWER})")
        listed = len(_LIST_ITEM.findall(item.answer or "")) or len([p for p in _SEPARATED.split(answer) if p.strip()])
        if listed > MAX_ITEMS:
            yield _warn(item, "answer", "enumeration", f"answer lists {listed} items (over {MAX_ITEMS}); "
                        "make one card per item or an overlapping cloze")
        if _NOT_WORD.sub("", answer.lower()) in _YES_NO:
            yield _warn(item, "answer", "yes-no", "answer is just yes/no; ask for the fact itself")
    if note.removed:
        yield from _removed(item, note)
    placeholder = all(key in (sources or {}) and sources[key].placeholder for key in item.sources)
    if not item.quote and item.sources and not placeholder:  # a placeholder is listed as such (placeholder-source)
        yield _warn(item, "id", "no-quote", "no quote from the source supports this card")


_YES_NO = frozenset({"yes", "no", "true", "false"})


def _answer_of(deletion: re.Match[str]) -> str:
    """A cloze deletion's answer (CLOZE_ANSWER's group 1): quicker than the template r"\\1"."""
    return deletion[1]


def _typed_findings(item: Item) -> Iterator[tuple[Problem, Item]]:
    """The rules for an item of the tree's own note type: where its source is missing or a placeholder."""
    if not item.sources:
        yield _warn(item, "id", "no-source", "card cites no source; add 'source:' (its citation shows on the back)")


def _removed(item: Item, note: Note) -> Iterator[tuple[Problem, Item]]:
    """One warning per field the sanitizer took markup out of, naming what it took."""
    by_key: dict[str, list[str]] = {}
    for key, what in note.removed:
        by_key.setdefault(key, []).append(what)
    for key, found in by_key.items():
        hint = "; write maths as \\( … \\) for MathJax" if any(w in ("<math>", "<svg>") for w in found) else ""
        yield _warn(item, key, "removed-markup", f"'{key}' loses {', '.join(found)} (not allowed on a card, so it "
                    f"never reaches Anki){hint}")


def _duplicates(questions: list[tuple[Item, str]]) -> Iterator[tuple[Problem, Item]]:
    """Items asking the same question: `questions` is each question item with its text folded (see `plain`)."""
    seen: dict[str, Item] = {}
    for item, key in questions:
        if key in seen:
            first = seen[key]
            yield _warn(item, "question", "duplicate-question",
                        f"same question as {first.path}:{first.line_of('question')} ({first.id})")
        else:
            seen[key] = item


def _placeholders(tree: Tree) -> list[Problem]:
    """Each card citing a placeholder source (`placeholder: true` in sources.yaml), to be replaced by a real one."""
    marked = {key for key, source in tree.sources.items() if source.placeholder}
    return [Problem(path=item.path, line=item.line_of("source"), severity="warning", rule="placeholder-source",
                    message=f"card cites placeholder source '{key}', not a real citation; cite where the fact comes from")
            for item in tree.items if marked and "placeholder-source" not in item.allow
            for key in item.sources if key in marked]


def _unused_sources(tree: Tree) -> list[Problem]:
    """Bibliography entries that no card cites, at their line in sources.yaml."""
    cited = {key for item in tree.items for key in item.sources}
    return [Problem(path=s.path, line=s.line, message=f"source '{s.key}' is not cited by any card",
                    severity="warning", rule="unused-source")
            for key, s in tree.sources.items() if key not in cited and s.via is None]
