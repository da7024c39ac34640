"""Source texts (`text:` files): read within bounds, folded for matching quotes, split into sentences."""

from __future__ import annotations

import bisect
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from .validate import line_range

TEXT_LIMIT = 20_000_000  # bytes: a `text:` file larger than this is not read
FOLD_TABLE = str.maketrans({"‘": "'", "’": "'", "‚": "'", "′": "'", "“": '"', "”": '"', "„": '"', "″": '"',
                            "–": "-", "—": "-", "‑": "-", "−": "-", "\u00a0": " "})
_FOLD_PAIRS = tuple((chr(key), value) for key, value in FOLD_TABLE.items())
# Words whose trailing period doesn't end a sentence.
_ABBREVIATIONS = frozenset("dr mr mrs ms prof st vs al etc e.g i.e a.k.a fig no approx jr sr".split())
_END = re.compile(r"[.!?]+[\"”’')\]]*")  # a sentence's end: its punctuation and closing quotes or brackets
_OPENING = "\"“‘(["
_SPACE = re.compile(r"\s*")
_LAST_WORD = re.compile(r"[\w.]+\Z")
_RUN = re.compile(r"\s{2,}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Unread:
    """Why a `text:` file was not read; `missing` when it simply isn't there."""

    reason: str
    missing: bool = False


def read_text(path: Path, *, limit: int = TEXT_LIMIT) -> str | Unread:
    """A `text:` file's contents, if it is a regular UTF-8 file of at most `limit` bytes; else why not.

    Never blocks on a FIFO or device and never reads more than `limit` + 1 bytes.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return Unread(reason="not found", missing=True)
    except OSError as err:
        return Unread(reason=f"unreadable ({err.strerror or err})")
    if not stat.S_ISREG(info.st_mode):
        return Unread(reason="not a regular file")
    if info.st_size > limit:
        return Unread(reason=f"larger than the {_limit(limit)} limit")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as err:
        return Unread(reason=f"unreadable ({err.strerror or err})")
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between the stat and the open
            return Unread(reason="not a regular file")
        chunks, size = [], 0
        while size <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        return Unread(reason=f"unreadable ({err.strerror or err})")
    finally:
        os.close(fd)
    if size > limit:
        return Unread(reason=f"larger than the {_limit(limit)} limit")
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        return Unread(reason="not UTF-8 text")


def _limit(limit: int) -> str:
    """A size limit for people: '20 MB', or '100-byte' below a megabyte."""
    return f"{limit / 1_000_000:g} MB" if limit >= 1_000_000 else f"{limit}-byte"


def fold_case(text: str) -> str:
    """`fold` without the whitespace: for word matching, where spacing doesn't matter."""
    # The same as text.translate(FOLD_TABLE), several times quicker: ASCII text has nothing to translate (every
    # key is beyond ASCII), and other text has only the few characters it holds replaced.
    if not text.isascii():
        for char, plain in _FOLD_PAIRS:
            if char in text:
                text = text.replace(char, plain)
    return text.casefold()


def fold(text: str) -> str:
    """Text for matching quotes: case, whitespace and typographic quotes and dashes ignored."""
    return " ".join(fold_case(text).split())


class Origin:
    """For each character of a folded text, the index in the original it came from: stored as offset runs."""

    def __init__(self, starts: list[int], deltas: list[int], size: int) -> None:
        self.starts, self.deltas, self.size = starts, deltas, size  # from folded index starts[k], add deltas[k]

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> int:
        if not 0 <= index < self.size:
            raise IndexError(index)
        k = bisect.bisect_right(self.starts, index) - 1
        return index + self.deltas[k]


def fold_map(text: str) -> tuple[str, Origin]:
    """`fold(text)`, and for each of its characters the index in `text` it came from.

    Folding keeps every character's position except where whitespace collapses (or casefolding
    turns one character into several), so the map is a short list of offset runs, not one entry
    per character: a 20 MB text costs no more than a few copies of itself.
    """
    translated = text.translate(FOLD_TABLE)
    folded_case = translated.casefold()
    if len(folded_case) != len(translated):
        return _fold_map_slowly(translated)
    lead = len(folded_case) - len(folded_case.lstrip())
    starts, deltas, offset = [0], [lead], lead
    for run in _RUN.finditer(folded_case, lead):
        start, end = run.span()
        if end == len(folded_case):
            break  # trailing whitespace is dropped: nothing follows it
        starts.append(start - offset)  # the run's one space stands for its last character
        offset += end - start - 1
        deltas.append(offset)
    folded = " ".join(folded_case.split())
    return folded, Origin(starts, deltas, len(folded))


def _fold_map_slowly(translated: str) -> tuple[str, Origin]:
    """`fold_map` character by character, for the rare text where casefolding changes lengths."""
    out: list[str] = []
    starts: list[int] = []
    deltas: list[int] = []
    space = False
    for index, char in enumerate(translated):
        if char.isspace():
            space = bool(out)
            continue
        pieces = ([" "] if space else []) + list(char.casefold())
        origins = ([index - 1] if space else []) + [index] * (len(pieces) - space)
        space = False
        for piece, origin in zip(pieces, origins):
            if not deltas or origin - len(out) != deltas[-1]:
                starts.append(len(out))
                deltas.append(origin - len(out))
            out.append(piece)
    return "".join(out), Origin(starts or [0], deltas or [0], len(out))


def occurrences(folded: str, origin: Origin, quote: str) -> list[tuple[int, int]]:
    """Every span of the original text where a folded quote stands, given `fold_map` of that text."""
    spans = []
    at = folded.find(quote) if quote else -1
    while at >= 0:
        spans.append((origin[at], origin[at + len(quote) - 1] + 1))
        at = folded.find(quote, at + 1)
    return spans


def skipped_spans(text: str, skip: tuple[str, ...]) -> list[tuple[int, int]]:
    """The character spans of `text` that its source's `skip:` entries exclude, merged and sorted."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    spans = []
    for entry in skip:
        lines = line_range(entry)
        if lines is not None:
            first, last = lines
            if first <= len(starts):
                spans.append((starts[first - 1], starts[last] if last < len(starts) else len(text)))
        else:
            spans += [m.span() for m in re.finditer(entry, text, re.MULTILINE) if m.end() > m.start()]
    return merge_spans(spans)


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans sorted, with overlapping or touching ones joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def sentence_spans(text: str, skipped: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The sentences of `text` outside the skipped spans: split at line ends and at sentence punctuation."""
    kept, position = [], 0
    for start, end in skipped + [(len(text), len(text))]:
        if start > position:
            kept.append((position, start))
        position = max(position, end)
    spans = []
    for start, end in kept:
        for line in re.finditer(r"[^\n]+", text[start:end]):
            spans += _split_line(text, start + line.start(), start + line.end())
    return spans


def _split_line(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """One line's sentences: each ends at . ! or ? (and closing quotes) before a capital, digit or the line end."""
    spans, begin = [], start
    for match in _END.finditer(text, start, end):
        gap = _SPACE.match(text, match.end(), end).end()
        if gap < end and (gap == match.end() or not (text[gap].isupper() or text[gap].isdigit()
                                                     or text[gap] in _OPENING)):
            continue  # no space after ("a.k.a.", "3.5"), or a lower-case word follows
        word = _LAST_WORD.search(text, max(begin, match.start() - 12), match.start())
        if match.group().startswith(".") and word and word.group().lower() in _ABBREVIATIONS:
            continue
        spans.append((begin, match.end()))
        begin = match.end()
    spans.append((begin, end))
    out = []
    for a, b in spans:
        piece = text[a:b]
        a, b = a + len(piece) - len(piece.lstrip()), b - (len(piece) - len(piece.rstrip()))
        if re.search(r"\w", text[a:b]):
            out.append((a, b))
    return out
