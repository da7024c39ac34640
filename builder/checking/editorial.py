"""Editorial lint: what a careful medical editor catches (hedges, guessable answers, misplaced quotes)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import Callable

from ..model import Item, Problem, Tree
from ..pipeline.texts import fold, fold_case

Finding = tuple[Problem, Item]
Warn = Callable[[Item, str, str, str], Finding]

SHORT_ANSWER = 6  # words: a longer answer is not checked by answer-in-question
SHARED = 3  # items with the same answer before it becomes the default guess

# Words that carry no content of their own.
STOP = frozenset("""
a about above after again against all also am an and any are as at be because been before being below
between both but by can cannot could did do does doing down during each either else even ever every few for
from further had has have having he her here hers him his how however i if in into is it its itself just
least less like made make many me more most much must my neither no nor not now of off often on once only or
other others our ours out over own per rather same she should since so some such than that the their theirs
them then there these they this those though through thus to too under until up upon us very was we were what
when where whether which while who whom whose why will with within without would yet you your yours
according called known kind way ways one ones another something thing things besides usually typically
""".split())
_SUFFIXES = ("ations", "ation", "ings", "ing", "ions", "ion", "ed", "es", "s")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__", re.S)
_TAG = re.compile(r"<[^>]*>")
_MARKUP = re.compile(r"<[^>]*>|[*_`#>\[\]()!]")
_ARTICLE = re.compile(r"^(?:the|a|an) ")
_DELETION = re.compile(r"\{\{c(\d+)::(.*?)(?:::([^{}]*))?\}\}", re.S)

# Each kind of hedge; a card keeps a kind when it has any word of that kind.
HEDGES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("modal", re.compile(r"\b(?:may|might|could)\b")),
    ("evidence", re.compile(r"\b(?:suggest\w*|hypothes\w*|possib\w*|likely|probabl\w*|seem\w*|appear\w*|"
                            r"believed?)\b")),
    ("some researchers", re.compile(r"\bsome (?:researchers|scientists|studies|experts)\b")),
    ("at least in part", re.compile(r"\bat least in part\b")),
    ("model", re.compile(r"\bmodels?\b")),
)
_ANY_HEDGE = re.compile("|".join(pattern.pattern for _, pattern in HEDGES))
# Each kind's pattern finds only text holding one of these (its words, or their stems): a quick test, in the order
# of HEDGES, before the pattern's slower search of long text.
_HEDGE_WORDS = (("may", "might", "could"),
                ("suggest", "hypothes", "possib", "likely", "probabl", "seem", "appear", "believe"),
                ("some ",), ("at least in part",), ("model",))
_ANY_HEDGE_WORD = tuple(word for words in _HEDGE_WORDS for word in words)


@functools.lru_cache(maxsize=4096)  # each rule reads the same few texts of an item
def words(text: str) -> tuple[str, ...]:
    """The words of Markdown/plain text, folded, possessives dropped."""
    if "<" in text:
        text = _TAG.sub(" ", text)
    folded = fold_case(text)
    found = _WORD.findall(folded)
    return tuple(w[:-2] if w.endswith("'s") else w for w in found) if "'s" in folded else tuple(found)


@functools.lru_cache(maxsize=4096)
def spaced(text: str) -> str:
    """A text folded to its words between spaces, for fast 'has a word starting with' tests."""
    return " " + " ".join(words(text)) + " "


def shows(text: str, stem_: str) -> bool:
    """Whether some word of `text` starts with `stem_` (so has that stem, or a longer one)."""
    return f" {stem_}" in spaced(text)


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A crude stem, so that 'inflamed' meets 'inflammation' and 'scanning' meets 'scans'."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[:-len(suffix)]
            if suffix in ("ing", "ed") and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
                word = word[:-1]  # scanning -> scan
            break
    return word[:6]


def content(text: str) -> list[str]:
    """The content words of a text: its words less the stop words."""
    return [w for w in words(text) if w not in STOP]


def stems(text: str) -> set[str]:
    """The stems of a text's content words."""
    return {stem(w) for w in content(text)}


def card_text(item: Item) -> str:
    """Everything a card shows of its own: question, answer or cloze, and extra."""
    return " ".join(part for part in (item.question, item.answer, item.cloze, item.extra, *dict(item.values).values())
                    if part)


@functools.lru_cache(maxsize=65536)  # read again by shared-answer, after every item
def deletions(cloze: str) -> dict[int, tuple[str, str]]:
    """Per cloze number: the hidden text, and the text shown on its front (its hint in place of the blank)."""
    found = [(int(m[1]), m[2], m[3] or " ", m.start(), m.end()) for m in _DELETION.finditer(cloze)]
    out = {}
    for number in sorted({n for n, *_ in found}):
        hidden = " ".join(text for n, text, *_ in found if n == number)
        parts, at = [], 0  # the cloze with this number's deletions as their hints, the others as their text
        for n, text, hint, start, end in found:
            parts += (cloze[at:start], hint if n == number else text)
            at = end
        parts.append(cloze[at:])
        out[number] = (hidden, "".join(parts))
    return out


def editorial(tree: Tree, warn: Warn) -> Iterator[Finding]:
    """Every editorial finding except citation checks (which need the source texts)."""
    for item in tree.items:
        yield from item_editorial(item, warn)
    yield from shared_answers(((item, answer_keys(item)) for item in tree.items), warn)


def item_editorial(item: Item, warn: Warn) -> Iterator[Finding]:
    """The editorial findings that depend on one item alone."""
    yield from _hedges(item, warn)
    yield from _answer_in_question(item, warn)
    yield from _binary_choice(item, warn)
    yield from _quote_unrelated(item, warn)


def _hedges(item: Item, warn: Warn) -> Iterator[Finding]:
    """hedge-dropped: a kind of hedge in the quote that the card no longer has."""
    if not item.quote:
        return
    lowered = item.quote.lower()
    if not any(word in lowered for word in _ANY_HEDGE_WORD) or not _ANY_HEDGE.search(lowered):
        return
    quote, card = fold(item.quote), fold(card_text(item))
    dropped = sorted((found.start(), found[0]) for (_, pattern), kind in zip(HEDGES, _HEDGE_WORDS)
                     if any(word in quote for word in kind) and (found := pattern.search(quote))
                     and not (any(word in card for word in kind) and pattern.search(card)))
    if dropped:
        listed = ", ".join(f"'{hedge}'" for _, hedge in dropped)
        yield warn(item, "cloze" if item.kind == "cloze" else "question", "hedge-dropped",
                   f"the quote hedges ({listed}) but the card states it without that hedge; keep it")


def _answer_in_question(item: Item, warn: Warn) -> Iterator[Finding]:
    """answer-in-question: a short answer whose every content word the question already shows."""
    subject = _subject(item.deck)
    if item.kind == "cloze":
        pairs = [(f"c{n}", hidden, front) for n, (hidden, front) in deletions(item.cloze or "").items()]
        key = "cloze"
    else:
        pairs = [] if _choice(item) else [("answer", item.answer or "", item.question or "")]  # binary-choice says it
        if item.reverse:
            pairs.append(("reverse card's answer", item.question or "", item.answer or ""))
        key = "answer"
    for what, answer, question in pairs:
        if len(answer.split()) > SHORT_ANSWER or len(words(answer)) > SHORT_ANSWER:
            continue
        found = content(answer)
        found = [w for w in found if w not in subject] or found
        if not found:
            continue
        raw = question.casefold()  # a quick test first: every stem must at least stand in it somewhere
        if all(stem(w) in raw for w in found) and all(shows(question, stem(w)) for w in found):
            yield warn(item, key, "answer-in-question",
                       f"the {what}'s words ({', '.join(dict.fromkeys(found))}) already stand in the question; "
                       "ask for something the question does not give away")


@functools.lru_cache(maxsize=1024)  # decks repeat
def _subject(deck: str) -> frozenset[str]:
    """The words of a deck's name: an answer may share them with the question."""
    return frozenset(words(deck.replace("::", " ")))


_CHOICE = re.compile(r"([a-z0-9'-]+),?\s+or\s+(?:(?:the|a|an)\s+)?([a-z0-9'-]+)[^?.!]*\?")


def _choice(item: Item) -> tuple[str, str] | None:
    """The two options of an 'X or Y?' question whose answer picks one and adds nothing, else None."""
    if item.kind != "qa" or " or " not in (item.question or "").lower():
        return None
    matches = list(_CHOICE.finditer(fold(_MARKUP.sub(" ", item.question or ""))))
    if not matches:
        return None
    match = matches[-1]
    answer = {stem(w) for w in content(item.answer or "")}
    chosen = [option for option in (stem(match[1]), stem(match[2])) if option in answer]
    return (match[1], match[2]) if len(chosen) == 1 and answer <= stems(item.question or "") else None


def _binary_choice(item: Item, warn: Warn) -> Iterator[Finding]:
    """binary-choice: 'X or Y?' answered by one of the two (a yes/no question in disguise)."""
    if options := _choice(item):
        yield warn(item, "question", "binary-choice",
                   f"the question offers two options ('{options[0]}' or '{options[1]}') and the answer picks one; "
                   "a coin toss gets it half the time: ask for the fact itself")


def _quote_unrelated(item: Item, warn: Warn) -> Iterator[Finding]:
    """quote-unrelated: a quote that shares no content word with its card."""
    if not item.quote:
        return
    card = card_text(item).casefold()
    quoted = set(map(stem, set(words(item.quote)) - STOP))
    if quoted and not any(stemmed in card for stemmed in quoted):  # anywhere in the card, even inside a word
        yield warn(item, "quote", "quote-unrelated",
                   "the quote shares no word with the card; was it pasted from the wrong place?")


def answer_key(text: str) -> str:
    """An answer normalised for comparison: its bold part if it has one, without case, punctuation or articles."""
    bold = [a or b for a, b in _BOLD.findall(text)]
    key = " ".join(words(" ".join(bold) if bold else text))
    return _ARTICLE.sub("", key)


def answer_keys(item: Item) -> tuple[str, ...]:
    """What shared-answer groups an item by: each of its answers (a cloze's deletions) normalised, once each."""
    if "shared-answer" in item.allow:
        return ()  # an item allowed to share its answer doesn't count towards a group
    answers = [hidden for hidden, _ in deletions(item.cloze).values()] if item.cloze else [item.answer or ""]
    return tuple(key for key in dict.fromkeys(map(answer_key, answers)) if key)


def shared_answers(keyed: Iterable[tuple[Item, tuple[str, ...]]], warn: Warn) -> Iterator[Finding]:
    """shared-answer: three or more items of one top-level deck with the same answer, named at the first.

    `keyed` is each item, in the tree's order, with its `answer_keys`.
    """
    groups: dict[tuple[str, str], dict[str, Item]] = {}  # by (top-level deck, answer): items by id
    for item, keys in keyed:
        top = item.deck.split("::")[0]
        for key in keys:
            groups.setdefault((top, key), {})[item.id] = item
    for (_, key), members in groups.items():
        if len(members) >= SHARED:
            group = list(members.values())
            first = group[0]
            names = ", ".join(f"{i.id} ({i.path}:{i.line_of('cloze' if i.cloze else 'answer')})" for i in group)
            yield warn(first, "cloze" if first.cloze else "answer", "shared-answer",
                       f"{len(group)} items have the answer '{key}': {names}; "
                       "it becomes the default guess: make the answers distinct")
