"""The data that flows through the pipeline: problems, sources, items, notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple


USER_KIND = "type:"  # a note's kind for a tree's own note type: this, then the type's name


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One finding about the input, printed as `path:line: message`."""

    path: str
    line: int
    message: str
    severity: str = "error"  # "error", "warning", or "note" (information that never fails a run)
    rule: str | None = None
    environment: bool = False  # the machine's fault (a file that can't be read), not the content's

    @property
    def is_error(self) -> bool:
        """Whether this finding stops a build."""
        return self.severity == "error"

    def sort_key(self) -> tuple[str, int, str]:
        """Order findings by file, then line."""
        return (self.path, self.line, self.message)

    def __str__(self) -> str:
        if self.is_error:
            return f"{self.path}:{self.line}: {self.message}"
        if self.severity == "note":
            return f"{self.path}:{self.line}: note: {self.message}"
        return f"{self.path}:{self.line}: warning [{self.rule}] {self.message}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """One bibliography entry of `sources.yaml`."""

    key: str
    title: str
    author: tuple[str, ...] = ()
    publisher: str | None = None
    date: str | None = None
    url: str | None = None
    text: Path | None = None
    skip: tuple[str, ...] = ()  # parts of `text` that are not facts: line ranges `N-M` or regular expressions
    via: str | None = None  # the key of the source whose references list this one
    placeholder: bool = False  # stands in for a citation nobody has given yet (adopt writes one); check lists its cards
    path: str = ""
    line: int = 0


class Item(NamedTuple):
    """One validated card item: a question/answer pair or a cloze.

    A NamedTuple rather than a dataclass: a large tree has tens of thousands, made from the cache on every run.
    """

    id: str
    deck: str
    sources: tuple[str, ...]
    question: str | None = None
    answer: str | None = None
    cloze: str | None = None
    quote: str | None = None
    extra: str | None = None
    tags: tuple[str, ...] = ()
    reverse: bool = False
    allow: tuple[str, ...] = ()
    path: str = ""
    line: int = 0
    lines: tuple[str | int, ...] = ()  # each key's line, flat: ("question", 3, "answer", 4, ...)
    notetype: str | None = None  # a note type of notetypes.yaml, by name; None for deckbuild's own two
    values: tuple[tuple[str, str], ...] = ()  # that type's fields by name, as written (`fields:`)
    guid: str | None = None  # an adopted note's own GUID; None: derived from the id
    folder: Path = Path()

    @property
    def kind(self) -> str:
        """`cloze` or `qa`, or the name of the item's own note type."""
        if self.notetype is not None:
            return USER_KIND + self.notetype
        return "cloze" if self.cloze is not None else "qa"

    def line_of(self, key: str) -> int:
        """The line of one of the item's keys, or of the item itself."""
        lines = self.lines
        for i in range(0, len(lines), 2):
            if lines[i] == key:
                return lines[i + 1]  # type: ignore[return-value]
        return self.line


@dataclass(frozen=True, slots=True, kw_only=True)
class Tree:
    """A validated cards tree: its bibliography, its own note types (notetypes.yaml) and its items in file order."""

    root: Path
    sources: dict[str, Source]
    items: tuple[Item, ...]
    notetypes: dict = field(default_factory=dict)  # name -> notetypes.NoteType


@dataclass(frozen=True, slots=True, kw_only=True)
class Media:
    """A media file to package, under its content-hashed name."""

    name: str
    path: Path


class Note(NamedTuple):
    """One rendered note, ready to package (a NamedTuple, like Item, for speed)."""

    id: str
    guid: str
    kind: str
    deck: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    ords: tuple[int, ...]
    media: tuple[Media, ...] = ()
    digest: str = ""
    removed: tuple[tuple[str, str], ...] = ()  # (field key, what the sanitizer removed from it)
