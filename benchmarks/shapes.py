"""The benchmark's tree shapes: the generator's knobs for each seeded tree, and the `--quick` scale."""

from __future__ import annotations

from dataclasses import dataclass, replace

QUICK_SCALE = 25  # --quick divides every shape's items (and files, where that keeps files' sizes) by this


@dataclass(frozen=True, slots=True, kw_only=True)
class Shape:
    """The generator's knobs: one seeded tree's size, layout and text."""

    name: str
    about: str
    items: int = 50_000
    files: int = 100
    cloze: float = 0.3  # share of items that are clozes
    reverse: float = 0.2  # share of question/answer items with a reverse card
    extra: float = 0.6  # share of question/answer items with an extra (clozes: half this)
    markdown: bool = True  # emphasis, links and lists at the rates below; False: plain text only
    emphasis: float = 0.3  # share of answers with **bold**
    extra_emphasis: float = 0.7  # share of extras with *emphasis*
    link: float = 0.5  # share of extras with a Markdown link
    lists: float = 0.0  # share of extras that end with a short Markdown list
    extra_words: tuple[int, int] = (8, 24)
    quote_words: tuple[int, int] = (6, 20)
    answer_words: tuple[int, int] = (2, 11)

    def scaled(self, divisor: int) -> "Shape":
        """The same shape with 1/divisor of the items (files too, unless that would change their size)."""
        files = self.files if self.files == 1 else max(1, self.files // divisor)
        if self.items // self.files <= 50:  # many small files: keep each file's size
            files = max(1, self.files // divisor)
        return replace(self, items=max(self.items // divisor, files), files=files)


SHAPES = {shape.name: shape for shape in (
    Shape(name="plain", about="short plain-text question/answer items and clozes, no Markdown",
          markdown=False, extra=0.3, quote_words=(4, 10)),
    Shape(name="markdown-heavy", about="emphasis in most answers, links and lists in extras",
          emphasis=0.8, extra=0.8, extra_emphasis=0.9, link=0.6, lists=0.3),
    Shape(name="long", about="paragraph-length extras, long quotes",
          extra=0.9, extra_words=(60, 160), quote_words=(30, 80)),
    Shape(name="one-file", about="100,000 items in a single file", items=100_000, files=1),
    Shape(name="many-files", about="50,000 items in 2,000 files of 25", files=2_000),
)}

LIVED_IN = "lived-in"  # the collection commands' shape (benchmarks/livedin.py), not a tree shape
