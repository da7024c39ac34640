"""Source texts (`text:` files): read within bounds, and folded for matching quotes."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

TEXT_LIMIT = 20_000_000  # bytes: a `text:` file larger than this is not read
FOLD_TABLE = str.maketrans({"‘": "'", "’": "'", "‚": "'", "′": "'", "“": '"', "”": '"', "„": '"', "″": '"',
                       "–": "-", "—": "-", "‑": "-", "−": "-", "\u00a0": " "})


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
    return text.translate(FOLD_TABLE).casefold()


def fold(text: str) -> str:
    """Text for matching quotes: case, whitespace and typographic quotes and dashes ignored."""
    return " ".join(text.translate(FOLD_TABLE).casefold().split())


def fold_map(text: str) -> tuple[str, list[int]]:
    """`fold(text)`, and for each of its characters the index in `text` it came from."""
    out: list[str] = []
    origin: list[int] = []
    space = False
    for index, char in enumerate(text.translate(FOLD_TABLE)):
        if char.isspace():
            space = bool(out)
            continue
        if space:
            out.append(" ")
            origin.append(index - 1)
            space = False
        for folded in char.casefold():
            out.append(folded)
            origin.append(index)
    return "".join(out), origin
