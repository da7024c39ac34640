"""Anki's field HTML back to the Markdown deckbuild renders, with the round trip checked by deckbuild's renderer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from ..errors import UsageError
from ..pipeline.render import markdown
from .store import INSTALL

_AROUND_TAGS = re.compile(r"\s*(<[^>]*>)\s*")
_SPACES = re.compile(r"\s+")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_EMPTY_ALT = re.compile(r'(<img\b[^>]*?) alt=""', re.IGNORECASE)  # Markdown's ![](x) says alt="", Anki omits it
_SYNONYMS = {"b": "strong", "i": "em", "div": "p"}
_SYNONYM = re.compile(r"(</?)(b|i|div)(?=[\s>])", re.IGNORECASE)
_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]*)(")', re.IGNORECASE)


@cache
def _converter() -> type:
    """markdownify set to write what deckbuild's renderer reads back: CommonMark with `**`, `*`, `-` and `\\` breaks."""
    try:
        from markdownify import MarkdownConverter
    except ImportError:
        raise UsageError(f"deckbuild pull needs markdownify, part of the anki extra: {INSTALL}") from None

    class Converter(MarkdownConverter):
        class Options(MarkdownConverter.DefaultOptions):
            heading_style = "ATX"
            bullets = "-"
            strong_em_symbol = "*"
            newline_style = "backslash"
            escape_underscores = True
            escape_asterisks = True

    return Converter


def to_markdown(html: str, *, images: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """The field as Markdown, and whether rendering that Markdown gives the field back (whitespace aside).

    `images` maps a packaged media name to the path the YAML uses for it, so images come back as written.
    """
    images = images or {}
    back = {path: name for name, path in images.items()}
    source = _SRC.sub(lambda m: m.group(1) + images.get(m.group(2), m.group(2)) + m.group(3), html)
    candidates = [_converter()(escape_misc=misc).convert(source).strip() for misc in (False, True)]
    rendered = [markdown(text, on_image=back.get) for text in candidates]
    for text, result in zip(candidates, rendered):
        if same_html(result, html):
            return text, True
    # No exact one: the least escaped whose rendering differs only in tags of the same meaning (<b> for <strong>).
    for text, result in zip(candidates, rendered):
        if _loose(result) == _loose(html):
            return text, False
    return candidates[-1], False


def same_html(a: str, b: str) -> bool:
    """Whether two fields' HTML are the same, whitespace aside."""
    return _normal(a) == _normal(b)


def _loose(html: str) -> str:
    """Normalised HTML with Anki's editor tags read as the renderer's: <b> as <strong>, <i> as <em>, <div> as <p>."""
    return _SYNONYM.sub(lambda m: m.group(1) + _SYNONYMS[m.group(2).lower()], _normal(html))


def _normal(html: str) -> str:
    """HTML with whitespace around tags dropped and other runs of it folded to one space."""
    html = _EMPTY_ALT.sub(r"\1", _BR.sub("<br>", html))
    return _SPACES.sub(" ", _AROUND_TAGS.sub(r"\1", html)).strip()
