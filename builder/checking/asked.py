"""Which words of a source sentence a card asks the learner to recall: its answer's, or its cloze deletions'."""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass

from ..model import Item
from ..pipeline.texts import fold_case
from .editorial import STOP, deletions, stem


@dataclass(frozen=True, slots=True, kw_only=True)
class Asked:
    """One word of a source text that some card asks for: its span and the cards that ask it."""

    start: int
    end: int
    cards: tuple[int, ...]  # indices into Coverage.cards


_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")  # a word: letters and digits, with inner apostrophes
_NOT_WORDS = re.compile(r"<[^>]*>|\]\([^)]*\)")  # HTML tags, and a Markdown link's target


def word_key(token: str) -> str | None:
    """What a word is matched by: the editorial lint's stem of it folded, or None for a stop word."""
    word = fold_case(token)
    word = word[:-2] if word.endswith("'s") else word
    return None if word in STOP else stem(word)


def keyed_words(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int, str]]:
    """The content words of text[start:end], each with its span in `text` and its key."""
    end = len(text) if end is None else end
    found = ((m.start(), m.end(), word_key(m.group())) for m in _TOKEN.finditer(text, start, end))
    return [(a, b, key) for a, b, key in found if key is not None]


@functools.lru_cache(maxsize=4096)
def word_keys(markdown: str) -> frozenset[str]:
    """The keys of the content words a person reads in a card's Markdown (tags, link targets and entities aside)."""
    return frozenset(key for _, _, key in keyed_words(html.unescape(_NOT_WORDS.sub(" ", markdown))))


def asks(item: Item) -> frozenset[str]:
    """The keys of the words a card asks the learner to recall.

    That is each content word of what the card hides (a Q/A card's answer, and with `reverse` its question
    too; each cloze deletion, less its hint) that the same card's front doesn't already show: "Neuroinflammation"
    answering "What did PET scans find in the brain?" asks for neuroinflammation, not for the brain.
    """
    if item.cloze is not None:
        pairs = list(deletions(item.cloze).values())
    else:
        pairs = [(item.answer or "", item.question or "")]
        if item.reverse:
            pairs.append((item.question or "", item.answer or ""))
    return frozenset().union(*(word_keys(hidden) - word_keys(front) for hidden, front in pairs))


def asked_words(text: str, start: int, end: int, cards: dict[int, frozenset[str]]) -> tuple[Asked, ...]:
    """The words of text[start:end] that some of `cards` (card index: what it asks, see `asks`) ask for.

    Words are matched one by one, not as a run: each content word of the sentence (stop words never count) is
    asked when its key is one a card asks for. So an answer may reword the sentence ("PET scan" for "PET scans",
    "inflamed" for "inflammation"), and an answer of several words marks each of them where it stands.
    """
    out = []
    for a, b, key in keyed_words(text, start, end):
        askers = tuple(card for card, keys in cards.items() if key in keys)
        if askers:
            out.append(Asked(start=a, end=b, cards=askers))
    return tuple(out)
