"""Turn validated items into notes: Markdown to safe HTML, citations, media."""

from __future__ import annotations

import hashlib
import html
import re
import sys
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from urllib.parse import unquote

import nh3
import pyromark

from ..model import Item, Media, Note, Problem, Source
from .notetypes import NOTETYPES, NoteType
from .validate import LOCAL, WEB, cloze_numbers

_MD = pyromark.Markdown(options=pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH)
# What the Markdown engine writes for Markdown alone (no raw HTML), as the sanitizer would write it:
# only these attribute-free tags (and an ordered list's start) pass without the sanitizer.
_UNVETTED = re.compile(r'<(?!/?(?:p|em|strong|del|code|pre|ul|li|blockquote|h[1-6]|table|thead|tbody|tr|th|td|ol)>'
                       r'|ol start="\d+">|hr />|br />)|[\x00\r]')
# Text with none of these can't mean anything to Markdown or HTML, so it skips the parser.
_SYNTAX = re.compile(r"[\\`*_\[\]<>&#!~|\n\r\t\x00\u00a0]|^[\s+=-]|^\d+[.)]|\s\Z")
# `_SYNTAX` in three parts (`_has_syntax`): a search for one character class is several times quicker on long text.
_SYNTAX_CHAR = re.compile(r"[\\`*_\[\]<>&#!~|\n\r\t\x00\u00a0]")
_SYNTAX_START = re.compile(r"[\s+=-]|\d+[.)]")
_MATH = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]|[\ue000\ue001]", re.DOTALL)
_HOLD = re.compile("\ue000(\\d+)\ue001")
_TAG = re.compile(r"<[^>]*>")  # sanitized HTML escapes < and > everywhere but in its tags
_PARAGRAPH = re.compile(r"<p>((?:(?!</?p>).)*)</p>\n?\Z", re.DOTALL)

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "mark", "ol", "p", "pre", "rp", "rt",
    "ruby", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
    "tr", "u", "ul",
}
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align"},
    "abbr": {"title"},
}
# Markup in the HTML the sanitizer is given: a comment, or a start tag with its attributes.
_MARKUP = re.compile(r"<!--|<([A-Za-z][^\s/>]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_ATTRIBUTE = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?""")
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.-]*):")
# Where sanitize() reports what it removes, while render_item() listens.
_REMOVED: ContextVar[list[str] | None] = ContextVar("deckbuild_removed", default=None)
# What Anki shows nothing for: whitespace, including no-break and zero-width spaces.
_INVISIBLE = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]*")
_BASE91 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"


def guid_for(item_id: str) -> str:
    """The note's Anki GUID: a hash of its id alone, so text edits never duplicate it."""
    number = int.from_bytes(hashlib.sha256(f"deckbuild:{item_id}".encode()).digest()[:8], "big")
    digits = []
    while number:
        number, digit = divmod(number, len(_BASE91))
        digits.append(_BASE91[digit])
    return "".join(reversed(digits)) or _BASE91[0]


class MediaStore:
    """Finds images inside the cards folder and names them by content."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.named: dict[Path, str] = {}

    def add(self, src: str, *, folder: Path, what: str = "image") -> Media | str | OSError:
        """The Media for a local image (or sound) path, or why it can't be used (an OSError: the file can't be read)."""
        path = (folder / unquote(src)).resolve()
        if not path.is_relative_to(self.root):
            return f"{what} '{src}' is outside the cards folder; move it inside and link it relative to this file"
        name = self.name_for(path)
        if name is None and path.is_file():
            try:
                path.open("rb").close()
            except OSError as err:
                return err
        return Media(name=name, path=path) if name else (
            f"{what} '{src}' not found; {what} paths are relative to the YAML file that uses them")

    def name_for(self, path: Path) -> str | None:
        """An image's packaged name, `<stem>-<content hash><suffix>`, or None if it can't be read."""
        if path not in self.named:
            if not path.is_file():
                return None
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            except OSError:
                return None
            self.named[path] = f"{path.stem}-{digest}{path.suffix.lower()}"
        return self.named[path]


def markdown(text: str, *, on_image: Callable[[str], str | None] | None = None) -> str:
    """Markdown (with raw HTML) as sanitized HTML; MathJax delimiters pass through untouched."""
    if not _has_syntax(text):
        return text
    return _parse(text, on_image=on_image)


def _has_syntax(text: str) -> bool:
    """Whether `_SYNTAX` finds anything in the text: a syntax character, a list or rule's start, or a space at the end."""
    return bool(_SYNTAX_CHAR.search(text) or _SYNTAX_START.match(text) or text[-1:].isspace())


def _single_paragraph(rendered: str) -> str | None:
    """What `_PARAGRAPH` finds: the inside of output that is one paragraph, without looking at each character."""
    end = -5 if rendered.endswith("</p>\n") else -4 if rendered.endswith("</p>") else 0
    inside = rendered[3:end] if end and rendered.startswith("<p>") and len(rendered) >= 3 - end else None
    return inside if inside is not None and "<p>" not in inside and "</p>" not in inside else None


def _parse(text: str, *, on_image: Callable[[str], str | None] | None = None) -> str:
    """`markdown` without the plain-text shortcut: always through the parser and the sanitizer."""
    maths: list[str] = []

    def hold(match: re.Match) -> str:
        maths.append(match.group(0))
        return f"\ue000{len(maths) - 1}\ue001"

    # The placeholders' own characters are held too, so text that happens to contain them stays as written.
    source = _MATH.sub(hold, text) if "\\" in text or "\ue000" in text or "\ue001" in text else text
    rendered = _MD.html(source)
    single = _single_paragraph(rendered)
    if single is not None:
        rendered = single
    clean = _generated(rendered) if "<" not in source else None
    if clean is None:
        clean = sanitize(rendered, on_image=on_image)
    if maths:
        # quote=True: a placeholder may sit in an attribute (a title, an alt); its math must not end it.
        clean = _HOLD.sub(lambda m: html.escape(maths[int(m.group(1))]), clean)
    if "{" in clean or "}" in clean or "::" in clean:
        # Anki's cloze syntax must never be found inside a tag: there it is written as references.
        clean = _TAG.sub(lambda m: m.group(0).replace("{", "&#123;").replace("}", "&#125;").replace("::", ":&#58;"),
                         clean)
    return clean.strip()


def _generated(rendered: str) -> str | None:
    """Markdown-only output written as the sanitizer would, or None if it has anything to vet.

    Without a `<` in the source there is no raw HTML; links and images still go to the sanitizer
    (their schemes and the image hook), and so does anything else with attributes.
    """
    if _UNVETTED.search(rendered):
        return None
    return rendered.replace("<hr />", "<hr>").replace("<br />", "<br>").replace("\xa0", "&nbsp;")


def sanitize(fragment: str, *, on_image: Callable[[str], str | None] | None = None) -> str:
    """HTML through an allowlist: no scripts, handlers, frames or javascript: URLs."""
    def attribute(tag: str, name: str, value: str) -> str | None:
        if tag == "img" and name == "src":
            if WEB.match(value):
                return value
            if not LOCAL.match(value) or on_image is None:
                return None
            return on_image(value)
        return value

    if (removed := _REMOVED.get()) is not None and "<" in fragment:
        removed += removed_markup(fragment)
    return nh3.clean(
        fragment,
        tags=TAGS,
        attributes=ATTRIBUTES,
        attribute_filter=attribute,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def removed_markup(fragment: str) -> list[str]:
    """What the sanitizer drops from an HTML fragment, in words: tags, attributes, comments, links' schemes.

    An image's `src` is left out: one that can't be used is an error, reported where it is resolved.
    """
    found = []
    for match in _MARKUP.finditer(fragment):
        if match.group(0) == "<!--":
            found.append("an HTML comment")
            continue
        tag = match.group(1).lower()
        if tag not in TAGS:
            found.append(f"<{tag}>")
            continue
        for name, value in _ATTRIBUTE.findall(match.group(2)):
            name, value = name.lower(), html.unescape(value.strip("\"'"))
            if tag == "code" and name == "class" and value.startswith("language-"):
                continue  # a fenced block's language: Markdown's own, and nothing a card shows
            if name not in ATTRIBUTES.get(tag, ()):
                found.append(f"the {name} attribute of <{tag}>")
            elif tag == "a" and name == "href" and (scheme := _SCHEME.match(value)) \
                    and scheme.group(1).lower() not in ("http", "https", "mailto"):
                found.append(f"a {scheme.group(1).lower()}: link")
    return found


def visible(fragment: str) -> bool:
    """Whether rendered HTML shows anything: text other than spaces, an image, a rule or a list marker.

    ("2014." alone is a Markdown list that starts at 2014: Anki shows its number.)
    """
    if "<" in fragment or "&" in fragment:
        if any(tag in fragment for tag in ("<img", "<li", "<hr")):
            return True
        fragment = html.unescape(_TAG.sub("", fragment))
    return not _INVISIBLE.fullmatch(fragment)


def citation(source: Source) -> str:
    """One bibliography entry as a line of HTML."""
    parts = []
    if source.author:
        parts.append(html.escape(", ".join(source.author)))
    if source.date:
        parts.append(f"({html.escape(source.date)})")
    head = " ".join(parts)
    body = f"<i>{html.escape(source.title)}</i>."
    if source.publisher:
        body += f" {html.escape(source.publisher)}."
    if source.url:
        url = html.escape(source.url)
        body += f' <a href="{url}">{url}</a>'
    return f'<div class="citation">{head + ". " if head else ""}{body}</div>'


def note_digest(*, kind: str, fields: tuple[str, ...], tags: tuple[str, ...]) -> str:
    """The content hash the state file keeps per note: note type, fields and sorted tags."""
    text = "\x1e".join((str(NOTETYPES[kind].id) if kind in NOTETYPES else kind, *fields, " ".join(tags)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def render_item(item: Item, *, sources: dict[str, Source], media: MediaStore,
                problems: list[Problem], notetypes: dict[str, NoteType] | None = None) -> Note:
    """One item as a note: its fields, tags, cards and media."""
    used: dict[str, Media] = {}
    removed: list[tuple[str, str]] = []

    def field(key: str, fmt: str = "markdown") -> str:
        text = getattr(item, key) if item.notetype is None else dict(item.values).get(key)

        def at() -> int:  # the field's line, looked up only for a problem
            return item.line_of(key if item.notetype is None else f"fields.{key}")

        if not text:
            return ""

        def on_image(src: str) -> str | None:
            found = media.add(src, folder=item.folder)
            if isinstance(found, OSError):
                problems.append(Problem(path=item.path, line=at(), environment=True, message=(
                    f"image '{src}' cannot be read ({found.strerror or found}); check its permissions")))
                return None
            if isinstance(found, str):
                problems.append(Problem(path=item.path, line=at(), message=found))
                return None
            used[found.name] = found
            return found.name

        if fmt == "sound" or "[sound:" in text or (fmt == "markdown" and "](" in text and SOUND_LINK.search(text)):
            text, sounds = _hold_sounds(text, fmt=fmt, add=lambda src: _sound(src, at))
        else:
            sounds = []
        found: list[str] = []
        token = _REMOVED.set(found)
        try:
            rendered = markdown(text, on_image=on_image) if fmt == "markdown" else \
                sanitize(text, on_image=on_image).strip() if fmt == "html" else text
        finally:
            _REMOVED.reset(token)
        if sounds:
            rendered = _SOUND_HELD.sub(lambda m: f"[sound:{sounds[int(m.group(1))]}]", rendered)
        removed.extend((key, what) for what in dict.fromkeys(found))
        if item.notetype is None and key != "extra" and not visible(rendered):
            problems.append(Problem(path=item.path, line=item.line_of(key), message=(
                f"'{key}' renders to nothing visible, so Anki would show an empty card side (comments, scripts "
                "and markup deckbuild removes, such as MathML, show nothing); write its text, with maths as "
                "\\( … \\)")))
        return rendered

    def _sound(src: str, at: Callable[[], int]) -> str | None:
        found = media.add(src, folder=item.folder, what="sound")
        if not isinstance(found, Media):
            problems.append(Problem(path=item.path, line=at(), environment=isinstance(found, OSError),
                                    message=found if isinstance(found, str) else f"sound '{src}' cannot be read"))
            return None
        used[found.name] = found
        return found.name

    # Interned: the notes citing the same sources share one string, in memory and in the cache.
    source = sys.intern("".join(citation(sources[key]) for key in item.sources if key in sources))
    quote = html.escape(item.quote.strip(), quote=False) if item.quote else ""
    if item.notetype is not None:
        notetype = (notetypes or {})[item.notetype]
        fields, ords = _typed_fields(item, notetype, field=field, source=source, quote=quote, problems=problems)
    elif item.kind == "cloze":
        fields = (field("cloze"), field("extra"), "", source, quote, item.id)
        ords = tuple(sorted(n - 1 for n in cloze_numbers(item.cloze or "")[0]))
        # Anki finds deletions in the rendered text: one left unclosed, or dropped with a comment, a
        # script, a tag's attribute or a link's address, would leave a blank card.
        for number in sorted({o + 1 for o in ords} - cloze_numbers(fields[0])[0]):
            problems.append(Problem(path=item.path, line=item.line_of("cloze"), message=(
                f"cloze deletion c{number} never reaches Anki: close it with '}}}}' and keep it out of "
                "comments, scripts, tags and links")))
    else:
        fields = (field("question"), field("answer"), field("extra"), "", source, quote,
                  "y" if item.reverse else "", item.id)
        ords = (0, 1) if item.reverse else (0,)
    # \x1f separates fields inside an .apkg: one left in a field would split it and Anki refuses the file.
    fields = tuple(f.replace("\x1f", "") for f in fields)
    tags = tuple(sorted(item.tags))
    digest = note_digest(kind=item.kind, fields=fields, tags=tags)
    return Note(
        id=item.id,
        guid=item.guid or guid_for(item.id),
        kind=item.kind,
        deck=item.deck,
        fields=fields,
        tags=tags,
        ords=ords,
        media=tuple(used[name] for name in sorted(used)),
        digest=digest,
        removed=tuple(removed),
    )


_ITEM_FIELDS = frozenset({"question", "answer", "cloze", "extra"})
AUDIO = (".mp3", ".ogg", ".oga", ".wav", ".m4a", ".flac", ".opus", ".aac", ".webm", ".mp4")
# `![](audio/word.mp3)` in Markdown: a sound, not an image. `[sound:path]` written out, in any field.
SOUND_LINK = re.compile(r"!\[[^\]]*\]\(\s*<?([^\s)>]+\.(?:mp3|ogg|oga|wav|m4a|flac|opus|aac|webm|mp4))>?\s*\)", re.I)
SOUND_TAG = re.compile(r"\[sound:([^\]\s][^\]]*)\]")
_SOUND_HELD = re.compile("\ue002(\\d+)\ue003")


def _hold_sounds(text: str, *, fmt: str, add: Callable[[str], str | None]) -> tuple[str, list[str]]:
    """The text with each local sound held by a placeholder, and the packaged names the placeholders stand for.

    A sound field holds one path; Markdown and HTML fields may hold `[sound:path]`, Markdown also `![](x.mp3)`.
    A sound that can't be used is reported by `add` and dropped.
    """
    names: list[str] = []

    def hold(src: str) -> str:
        if WEB.match(src) or not LOCAL.match(src):
            return ""
        name = add(src)
        if name is None:
            return ""
        names.append(name)
        return f"\ue002{len(names) - 1}\ue003"

    if fmt == "sound":
        return hold(text.strip()), names
    text = SOUND_TAG.sub(lambda m: hold(m.group(1).strip()), text)
    if fmt == "markdown":
        text = SOUND_LINK.sub(lambda m: hold(m.group(1)), text)
    return text, names


def _typed_fields(item: Item, notetype: NoteType, *, field: Callable[..., str], source: str, quote: str,
                  problems: list[Problem]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The fields and card numbers of an item of one of the tree's own note types."""
    from .usertypes import card_ords, cloze_field

    values = []
    for name, fmt in zip(notetype.fields, notetype.formats):
        if name == "Source" and name not in dict(item.values):
            values.append(source)
        elif name == "Quote" and name not in dict(item.values):
            values.append(quote)
        elif name in notetype.private:
            values.append("")
        else:
            values.append(field(name, fmt))
    if notetype.cloze:
        target = cloze_field(notetype)
        text = values[notetype.fields.index(target)] if target in notetype.fields else ""
        ords = tuple(sorted(n - 1 for n in cloze_numbers(text)[0]))
        if not ords:
            problems.append(Problem(path=item.path, line=item.line_of(f"fields.{target}"), message=(
                f"the cloze deletions of '{target}' never reach Anki: close them with '}}}}' and keep them out of "
                "comments, scripts, tags and links")))
    else:
        ords = card_ords(notetype, {n for n, v in zip(notetype.fields, values) if v} | set(notetype.private))
    return tuple(values), ords
