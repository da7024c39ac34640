"""Check loaded YAML against the card format and turn it into a Tree."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable
from typing import Any

from .load import Document, Map, Seq, one_line
from ..model import Item, Problem, Source
from .rules import RULES

ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
SOURCE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
CLOZE = re.compile(r"\{\{c(\d+)::")
CLOZE_TOKEN = re.compile(r"\{\{c(\d+)::|\}\}")
CLOZE_ANSWER = re.compile(r"\{\{c\d+::(.*?)(?:::[^{}]*)?\}\}", re.S)  # a deletion; group 1 is its answer
DATE = re.compile(r"\d{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?)?\Z")
TAG = re.compile(r"[^\s\"\x00-\x1f\x7f]+\Z")

# Limits, each documented in the README's "When things go wrong".
MAX_FIELD_BYTES = 100_000  # a text field, in bytes of UTF-8: a card is one fact, and Markdown costs ~100× memory
MAX_CLOZE = 65536  # Anki stores a card's number (cN - 1) in 16 bits and refuses a package with more
MAX_ID = 100  # characters: an id is a handle people type, search and read in paths
MAX_DECK_PART = 200  # bytes of UTF-8 per '::' part, so `dist/<top-level deck>.apkg` is a valid file name

FILE_KEYS = ("deck", "tags", "cards")
ITEM_KEYS = ("id", "question", "answer", "cloze", "source", "quote", "extra", "tags", "reverse", "allow")
SOURCE_FIELDS = ("title", "author", "publisher", "date", "url", "text", "skip", "via", "placeholder")
LINE_RANGE = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?\Z")  # a `skip:` entry `N-M` or `N`
TEXT_KEYS = ("question", "answer", "cloze", "quote", "extra")
MARKDOWN_KEYS = ("question", "answer", "cloze", "extra")
# Image sources in Markdown (`![alt](src)`) and in HTML (`<img src=...>`).
IMAGE = re.compile(r"""!\[(?:[^\]\\]|\\.)*\]\(\s*<?([^\s)>]+)|<img\b[^>]*?\bsrc\s*=\s*["']?([^"'\s>]+)""", re.I)
LOCAL = re.compile(r"(?![a-zA-Z][a-zA-Z0-9+.-]*:|[/\\])")  # a relative path: no scheme, not absolute
WEB = re.compile(r"https?://", re.I)


class _Report:
    """Collects the problems of one file."""

    def __init__(self, shown: str, problems: list[Problem]) -> None:
        self.shown = shown
        self.problems = problems

    def __call__(self, line: int, message: str) -> None:
        self.problems.append(Problem(path=self.shown, line=line, message=one_line(message)))

    def unknown_keys(self, data: Map, allowed: Iterable[str], what: str) -> set[str | None]:
        """Report each key not in `allowed`, suggesting the nearest one; return the keys suggested."""
        allowed = tuple(allowed)
        suggested = set()
        for key in data:
            if key not in allowed:
                close = _closest(key, allowed)
                hint = f"did you mean '{close}'?" if close else f"the keys are {', '.join(allowed)}"
                self(data.lines[key], f"unknown key '{key}' in {what}; {hint}")
                suggested.add(close)
        return suggested


def _closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to a misspelt word, if any is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _suggest(word: str, choices: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the closest choice, or nothing."""
    close = _closest(word, choices)
    return f"; did you mean '{close}'?" if close else ""


def _text(value: Any) -> bool:
    return isinstance(value, str)


def validate_sources(doc: Document | None, problems: list[Problem]) -> dict[str, Source]:
    """The bibliography, with a problem for each malformed entry."""
    if doc is None:
        return {}
    report = _Report(doc.shown, problems)
    data = doc.data
    if not isinstance(data, Map):
        report(getattr(data, "line", 1), "sources.yaml must map source keys to citations, "
                                         "like 'smith-2020:' followed by an indented 'title: ...'")
        return {}
    sources = {}
    for key, entry in data.items():
        line = data.lines[key]
        # A broken entry still counts as known, so the cards citing it aren't blamed too.
        sources[key] = Source(key=key, title="", path=doc.shown, line=line)
        if not SOURCE_KEY.match(key):
            report(line, f"source key '{key}' may use letters, digits, '.', '_' and '-' only; rename it")
        elif not isinstance(entry, Map):
            report(line, f"source '{key}' must be a mapping with at least a title, like 'title: ...' "
                         "indented below it")
        else:
            report.unknown_keys(entry, SOURCE_FIELDS, f"source '{key}'")
            sources[key] = _source(key, entry, line=line, doc=doc, report=report)
    for key, source in sources.items():
        if source.via is not None and (source.via not in sources or source.via == key):
            line = data[key].lines["via"]
            if source.via == key:
                report(line, f"'via' of source '{key}' names the source itself")
            else:
                hint = _suggest(source.via, sources).removeprefix("; ") or f"the sources are {', '.join(sources)}"
                report(line, f"'via' of source '{key}' names unknown source '{source.via}'; {hint}")
    return sources


def line_range(entry: str) -> tuple[int, int] | None:
    """A `skip:` entry read as a line range `N-M` (or one line `N`), or None when it is a pattern."""
    match = LINE_RANGE.match(entry)
    return (int(match[1]), int(match[2] or match[1])) if match else None


def _skip(key: str, entry: Map, report: _Report) -> tuple[str, ...]:
    """A source's `skip:` list: line ranges and regular expressions, each checked at its line."""
    value = entry.get("skip")
    if value is None:
        return ()
    if not isinstance(value, Seq):
        report(entry.lines["skip"], f"'skip' of source '{key}' must be a list of line ranges like '1-12' "
                                    "or regular expressions")
        return ()
    if "text" not in entry:
        report(entry.lines["skip"], f"'skip' of source '{key}' needs a 'text:' file to skip parts of")
    kept = []
    for part, line in zip(value, value.lines):
        part = str(part) if isinstance(part, int) and not isinstance(part, bool) else part
        if not _text(part) or not part.strip():
            report(line, f"each 'skip' entry of source '{key}' must be a line range like '1-12' "
                         "or a regular expression")
            continue
        lines = line_range(part)
        if lines is not None:
            if not 1 <= lines[0] <= lines[1]:
                report(line, f"line range '{part}' of source '{key}' must run from a line ≥ 1 forward, like '1-12'")
                continue
        else:
            try:
                re.compile(part)
            except re.error as err:
                report(line, f"'skip' pattern {part!r} of source '{key}' is not a valid regular expression: {err}")
                continue
        kept.append(part)
    return tuple(kept)


def _source(key: str, entry: Map, *, line: int, doc: Document, report: _Report) -> Source:
    """One citation, reporting wrong types and formats."""
    def text(name: str) -> str | None:
        value = entry.get(name)
        if value is None:
            return None
        if not _text(value) or not value.strip():
            report(entry.lines[name], f"'{name}' of source '{key}' must be text")
            return None
        return value.strip()

    title = text("title")
    if entry.get("title") is None:
        report(entry.lines.get("title", line), f"source '{key}' has no title; add 'title: ...' below it")
    author = entry.get("author")
    if isinstance(author, Seq) and all(_text(a) for a in author):
        authors = tuple(author)
    else:
        authors = () if author is None else (text("author") or "",)
    date = text("date")
    if date is not None and not DATE.match(date):
        report(entry.lines["date"], f"date of source '{key}' must be YYYY, YYYY-MM or YYYY-MM-DD")
    url = text("url")
    if url is not None and not re.match(r"https?://", url):
        report(entry.lines["url"], f"url of source '{key}' must start with http:// or https://")
    article = text("text")
    via = text("via")
    placeholder = entry.get("placeholder", False)
    if not isinstance(placeholder, bool):
        report(entry.lines["placeholder"], f"'placeholder' of source '{key}' must be true or false")
    return Source(
        key=key,
        title=title or "",
        author=tuple(a for a in authors if a),
        publisher=text("publisher"),
        date=date,
        url=url,
        text=(doc.path.parent / article) if article else None,
        skip=_skip(key, entry, report),
        via=via,
        placeholder=placeholder is True,
        path=doc.shown,
        line=line,
    )


def validate_deck(doc: Document, *, sources: dict[str, Source] | None, problems: list[Problem],
                  notetypes: dict | None = None) -> list[Item]:
    """The items of one deck file, with a problem for each thing wrong in it."""
    report = _Report(doc.shown, problems)
    data = doc.data
    if not isinstance(data, Map):
        report(getattr(data, "line", 1), "a deck file must be a mapping with 'deck' and 'cards'")
        return []
    suggested = report.unknown_keys(data, FILE_KEYS, "deck file")
    deck = data.get("deck")
    if "deck" not in data:
        if "deck" not in suggested:
            report(data.line, "missing 'deck'; add the deck name, e.g. 'deck: Biology::Cells'")
    elif not _text(deck) or (msg := _deck_problem(deck)):
        report(data.lines["deck"], msg if _text(deck) else "'deck' must be text")
        deck = None
    file_tags = _tags(data, report)
    cards = data.get("cards")
    if "cards" not in data:
        if "cards" not in suggested:
            report(data.line, "missing 'cards'; add the list of items under 'cards:'")
        return []
    if not isinstance(cards, Seq):
        report(data.lines["cards"], "'cards' must be a list of items, each starting with '- id: ...'")
        return []
    items = []
    for entry, line in zip(cards, cards.lines):
        if isinstance(entry, Map) and ("type" in entry or "fields" in entry):
            item = typed_item(entry, line=line, deck=deck, file_tags=file_tags, sources=sources, doc=doc,
                              report=report, notetypes=notetypes or {})
        else:
            item = _item(entry, line=line, deck=deck, file_tags=file_tags, sources=sources, doc=doc, report=report)
        if item is not None:
            items.append(item)
    return items if deck else []


@functools.lru_cache(maxsize=64)
def _folder(path: Path) -> Path:
    """A deck file's folder: one Path shared by all its items."""
    return path.parent


def _deck_problem(name: str) -> str | None:
    """Why a deck name is unusable, or None."""
    parts = name.split("::")
    if any(not part.strip() for part in parts):
        return f"deck name '{name}' has an empty part; write 'Parent::Child'"
    if any(part != part.strip() for part in parts):
        return f"deck name '{name}' has spaces around '::'; write '{'::'.join(p.strip() for p in parts)}'"
    if '"' in name:
        return f"deck name '{name}' may not contain '\"'"
    if re.search(r"[\x00-\x1f\x7f]", name):
        return f"deck name {name!r} contains a control character; Anki would drop it"
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_DECK_PART for part in parts):
        return (f"a part of deck name '{name[:40]}…' is over {MAX_DECK_PART} bytes, too long to name the "
                ".apkg file after; shorten it")
    return None


def _tags(data: Map, report: _Report) -> tuple[str, ...]:
    """The `tags` of a file or item, each checked."""
    value = data.get("tags")
    if value is None:
        return ()
    values = [value] if _text(value) else value
    if not isinstance(values, list) or not all(_text(tag) for tag in values):
        report(data.lines["tags"], "'tags' must be a list of words, like 'tags: [anatomy, cells]'")
        return ()
    tags = []
    for tag in values:
        if not TAG.match(tag) or tag.startswith("::") or tag.endswith("::"):
            report(data.lines["tags"], f"tag '{tag}' must be one word without spaces or quotes; "
                                       "join words with '-' ('::' nests)")
        else:
            tags.append(tag)
    return tuple(tags)


def _item(entry: Any, *, line: int, deck: str | None, file_tags: tuple[str, ...],
          sources: dict[str, Source] | None, doc: Document, report: _Report) -> Item | None:
    """One item, or None when it is too broken to use."""
    if not isinstance(entry, Map):
        report(line, "each card must be a mapping with 'id', 'source' and 'question'/'answer' or 'cloze'")
        return None
    before = len(report.problems)
    suggested = report.unknown_keys(entry, ITEM_KEYS, "card")
    item_id = entry.get("id")
    if "id" not in entry:
        if "id" not in suggested:
            report(line, "card has no 'id'; run `deckbuild ids` to add one")
    elif not _text(item_id):
        report(entry.lines["id"], "'id' must be text, like 'id: cell-membrane'")
    elif len(item_id) > MAX_ID:
        report(entry.lines["id"], f"id is {len(item_id)} characters long, over the limit of {MAX_ID}; "
                                  "use a few words, like 'microglia-first-line'")
    elif not ID.match(item_id):
        like = "-".join(re.findall(r"[a-z0-9]+", item_id.lower()))
        report(entry.lines["id"], f"id '{item_id}' must be lowercase letters, digits and single '-' between them"
                                  + (f", like '{like}'" if like else ""))
    for key in TEXT_KEYS:
        if key in entry and _text(entry[key]) and len(entry[key]) * 4 > MAX_FIELD_BYTES \
                and (size := len(entry[key].encode("utf-8", "surrogatepass"))) > MAX_FIELD_BYTES:
            report(entry.lines[key], f"'{key}' is {size:,} bytes, over the limit of {MAX_FIELD_BYTES:,} (100 kB) for "
                   "one field; shorten it or split the card")
        elif key in entry and (not _text(entry[key]) or not entry[key].strip()):
            report(entry.lines[key], f"'{key}' reads as the YAML flag {str(entry[key]).lower()} "
                   "(yes/no/on/off/true/false); put the words in quotes" if isinstance(entry[key], bool)
                   else f"'{key}' must be non-empty text")
        elif key in MARKDOWN_KEYS and key in entry:
            _images(entry[key], line=entry.lines[key], report=report)
    _shape(entry, line=line, report=report, suggested=suggested)
    cited = _cited(entry, line=line, sources=sources, report=report, suggested=suggested)
    reverse = entry.get("reverse", False)
    if not isinstance(reverse, bool):
        report(entry.lines["reverse"], "'reverse' must be true or false")
    allow = entry.get("allow") or []
    if not isinstance(allow, list) or not all(_text(rule) for rule in allow):
        report(entry.lines["allow"], "'allow' must be a list of lint rule names, like 'allow: [long-answer]'")
        allow = ()
    for rule in allow:
        if rule not in RULES:
            hint = _suggest(rule, RULES) or f"; the rules are {', '.join(RULES)}"
            report(entry.lines["allow"], f"unknown lint rule '{rule}'{hint}")
    tags = _tags(entry, report)
    if len(report.problems) > before or deck is None:
        return None
    return Item(
        id=item_id,
        deck=deck,
        sources=cited,
        question=entry.get("question"),
        answer=entry.get("answer"),
        cloze=entry.get("cloze"),
        quote=entry.get("quote"),
        extra=entry.get("extra"),
        tags=tuple(dict.fromkeys(file_tags + tags)),
        reverse=reverse,
        allow=tuple(allow),
        path=doc.shown,
        line=line,
        lines=tuple(part for pair in entry.lines.items() for part in pair),
        folder=_folder(doc.path),
    )


TYPED_KEYS = ("id", "type", "fields", "source", "quote", "tags", "allow", "guid")
GUID = re.compile(r"[!-~]{1,64}\Z")  # Anki's GUIDs: printable ASCII without spaces


def typed_item(entry: Map, *, line: int, deck: str | None, file_tags: tuple[str, ...],
               sources: dict[str, Source] | None, doc: Document, report: _Report, notetypes: dict) -> Item | None:
    """An item of one of the tree's own note types (`type:` and `fields:`), or None when it is too broken."""
    from .usertypes import CITED, card_ords, cloze_field, required_fields

    before = len(report.problems)
    suggested = report.unknown_keys(entry, TYPED_KEYS, "card of a note type from notetypes.yaml")
    item_id = entry.get("id")
    if not _text(item_id) or len(item_id) > MAX_ID or not ID.match(item_id):
        report(entry.lines.get("id", line), "card needs an 'id' of lowercase letters, digits and single '-' "
                                            f"(at most {MAX_ID} characters); run `deckbuild ids`")
    name = entry.get("type")
    notetype = notetypes.get(name) if _text(name) else None
    if notetype is None:
        where = entry.lines.get("type", line)
        if "type" not in entry:
            report(line, "card has 'fields' but no 'type'; name a note type of notetypes.yaml")
        else:
            hint = _suggest(str(name), notetypes) or (f"; the note types are {', '.join(notetypes)}" if notetypes
                                                      else "; define it in notetypes.yaml beside sources.yaml")
            report(where, f"unknown note type '{name}'{hint}")
    values = entry.get("fields")
    if not isinstance(values, Map):
        report(entry.lines.get("fields", line), "'fields' must map field names to their text, like "
                                                "'fields: {Word: ..., Meaning: ...}'")
        values = Map(line)
    kept: list[tuple[str, str]] = []
    if notetype is not None:
        own = [f for f in notetype.fields if f not in CITED]
        for key, value in values.items():
            fline = values.lines[key]
            if key not in own:
                hint = _suggest(key, own) or f"; its fields are {', '.join(own)}"
                what = f"'{key}' is filled from the item's '{key.lower()}:'" if key in CITED else \
                    f"note type '{name}' has no field '{key}'{hint}"
                report(fline, what)
            elif key in notetype.private:
                report(fline, f"field '{key}' is private: it belongs to the learner's collection, so the YAML never "
                              "sets it (push leaves it alone); remove it here")
            elif not _text(value) or not value.strip():
                report(fline, f"field '{key}' must be non-empty text" + (
                    "; put the words in quotes" if isinstance(value, bool) else ""))
            elif len(value) * 4 > MAX_FIELD_BYTES and len(value.encode("utf-8", "surrogatepass")) > MAX_FIELD_BYTES:
                report(fline, f"field '{key}' is over the limit of {MAX_FIELD_BYTES:,} bytes for one field; shorten it")
            else:
                fmt = notetype.formats[notetype.fields.index(key)]
                if fmt == "sound" and (not LOCAL.match(value.strip()) or "\n" in value.strip()):
                    report(fline, f"sound field '{key}' must be one path relative to this file, like 'audio/word.mp3'")
                elif fmt != "sound":
                    _images(value, line=fline, report=report)
                kept.append((key, value))
        filled = {k for k in values if k in own and k not in notetype.private}  # a bad value is reported already
        if notetype.cloze:
            target = cloze_field(notetype)
            text = dict(kept).get(target or "")
            if text is None:
                report(line, f"card of cloze type '{name}' needs field '{target}' with a deletion like {{{{c1::answer}}}}")
            elif not CLOZE.search(text):
                report(values.lines[target], f"field '{target}' has no cloze deletion; mark one like {{{{c1::answer}}}}")
            elif unclosed := cloze_numbers(text)[1]:
                report(values.lines[target], f"cloze deletion '{{{{c{unclosed[0]}::' is never closed; end it with '}}}}'")
        elif not card_ords(notetype, filled):
            wanted = "; ".join(f"template '{t}' shows {', '.join(sorted(f))}" for t, f in
                               required_fields(notetype).items() if f)
            report(entry.lines.get("fields", line), f"a field a template needs is missing, so this item makes no card "
                                                    f"of note type '{name}': {wanted or 'its fronts show no field'}")
    cited = _cited(entry, line=line, sources=sources, report=report, suggested=suggested) if "source" in entry else ()
    quote = entry.get("quote")
    if quote is not None and (not _text(quote) or not quote.strip()):
        report(entry.lines["quote"], "'quote' must be non-empty text")
    guid = entry.get("guid")
    if guid is not None and (not _text(guid) or not GUID.match(guid)):
        report(entry.lines["guid"], "'guid' must be the note's Anki GUID: printable characters without spaces")
    allow = entry.get("allow") or []
    if not isinstance(allow, list) or not all(_text(rule) and rule in RULES for rule in allow):
        report(entry.lines.get("allow", line), f"'allow' must list lint rules: {', '.join(RULES)}")
        allow = []
    tags = _tags(entry, report)
    if len(report.problems) > before or deck is None or notetype is None:
        return None
    return Item(
        id=item_id, deck=deck, sources=cited, quote=quote, tags=tuple(dict.fromkeys(file_tags + tags)),
        allow=tuple(allow), path=doc.shown, line=line, lines=tuple(part for pair in entry.lines.items() for part in pair)
        + tuple(part for pair in values.lines.items() for part in (f"fields.{pair[0]}", pair[1])),
        notetype=name, values=tuple(kept), guid=guid, folder=_folder(doc.path))


def _images(text: str, *, line: int, report: _Report) -> None:
    """Report each image that isn't a relative path (or a web address); the renderer would drop it."""
    if "![" not in text and "<img" not in text.lower():
        return
    for match in IMAGE.finditer(text):
        src = match.group(1) or match.group(2)
        if not LOCAL.match(src) and not WEB.match(src):
            report(line, f"image '{src}' must be a path relative to this file, inside the cards folder")


def _shape(entry: Map, *, line: int, report: _Report, suggested: set[str | None]) -> None:
    """Check that an item is exactly one of question/answer or cloze."""
    if "cloze" in entry:
        if "question" in entry or "answer" in entry:
            report(entry.lines["cloze"], "card has both 'cloze' and 'question'/'answer'; use one or the other")
        cloze = entry["cloze"]
        numbers = [_number(n) for n in CLOZE.findall(cloze)] if _text(cloze) else []
        if _text(cloze) and not numbers:
            report(entry.lines["cloze"], "cloze has no deletion; mark one like {{c1::answer}}")
        if 0 in numbers:
            report(entry.lines["cloze"], "cloze numbers start at c1")
        if (highest := max(numbers, default=0)) > MAX_CLOZE:
            shown = f"c{highest}" if highest <= 10 ** 9 else "a cloze number that long"
            report(entry.lines["cloze"], f"{shown} is over c{MAX_CLOZE}, the highest cloze number Anki imports; "
                                         "number the deletions c1, c2, …")
        if _text(cloze) and (unclosed := cloze_numbers(cloze)[1]):
            report(entry.lines["cloze"], f"cloze deletion '{{{{c{unclosed[0]}::' is never closed; end it with '}}}}'")
        if entry.get("reverse") is True:
            report(entry.lines["reverse"], "'reverse' applies to question/answer cards, not clozes; remove it")
        return
    if suggested & {"question", "answer", "cloze"}:
        return  # a misspelt key is already reported; a missing one would say the same thing again
    if "question" not in entry and "answer" not in entry:
        report(line, "card needs 'question' and 'answer', or 'cloze'")
    elif "answer" not in entry:
        report(entry.lines["question"], "card has a 'question' but no 'answer'; add one")
    elif "question" not in entry:
        report(entry.lines["answer"], "card has an 'answer' but no 'question'; add one")


def _number(digits: str) -> int:
    """A cloze number; one too long to matter is read as just over a billion (Python refuses huge int strings)."""
    return int(digits) if len(digits) <= 9 else 10 ** 9 + 1


def cloze_numbers(text: str) -> tuple[set[int], list[int]]:
    """The deletion numbers Anki finds in `text`, and those of deletions opened and never closed.

    Anki pairs each `}}` with the innermost open `{{cN::`; an unclosed one is plain text, and so
    is every deletion inside it.
    """
    found: set[int] = set()
    stack: list[tuple[int, set[int]]] = []  # per open deletion: its number, and those closed inside it
    for token in CLOZE_TOKEN.finditer(text):
        if token.group(1) is not None:
            stack.append((_number(token.group(1)), set()))
        elif stack:
            number, inside = stack.pop()
            (stack[-1][1] if stack else found).update(inside | {number})
    found.discard(0)
    return found, [number for number, _ in stack]


def _cited(entry: Map, *, line: int, sources: dict[str, Source] | None, report: _Report,
           suggested: set[str | None]) -> tuple[str, ...]:
    """The source keys an item cites, each checked against the bibliography (None: it didn't load)."""
    if "source" not in entry:
        if "source" not in suggested:
            report(line, "card has no 'source'; cite a key of sources.yaml")
        return ()
    value = entry["source"]
    keys = [value] if _text(value) else value
    if not isinstance(keys, list) or not keys or not all(_text(key) for key in keys):
        report(entry.lines["source"], "'source' must be a key of sources.yaml or a list of them")
        return ()
    for key in keys:
        if sources is not None and key not in sources:
            hint = _suggest(key, sources) or "; add it to sources.yaml"
            report(entry.lines["source"], f"unknown source '{key}'{hint}")
    return tuple(dict.fromkeys(keys))


def unique_ids(items: list[Item], problems: list[Problem]) -> None:
    """Report every id used twice in the tree, naming both places."""
    first: dict[str, Item] = {}
    for item in items:
        other = first.setdefault(item.id, item)
        if other is not item:
            problems.append(Problem(path=item.path, line=item.line_of("id"), message=(
                f"duplicate id '{item.id}' (also at {other.path}:{other.line_of('id')}); give one a new id")))
