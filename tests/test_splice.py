"""Re-reading one edited item of a large file gives exactly what reading the whole file gives."""

from __future__ import annotations

from pathlib import Path

from hypothesis import event, given, settings
from hypothesis import strategies as st

from builder.pipeline.load import load_file
from builder.pipeline.splice import cut, splice
from builder.pipeline.validate import validate_deck

ITEM = """\
  - id: fact-{n}
    question: What is fact number {n}?
    answer: It is **{n}**.
    extra: |
      A longer note
      over two lines.
    source: src
    tags: [t{n}]
"""
CLOZE = """\
  # a comment before item {n}
  - id: cloze-{n}
    cloze: "Fact {{{{c1::{n}}}}} is
      on two lines."
    source: [src]
"""
TEXT = ("deck: D\ncards:\n" + "".join((CLOZE if n % 3 == 0 else ITEM).format(n=n) for n in range(12))
        + "tags: [after]\n")
# Lines an editor might type, the harmless and the ones that change the file's structure.
LINES = st.sampled_from([
    "    answer: Changed.", "    extra: more", "    answer: 'quoted: yes'", "    answer: \"unclosed",
    "  - id: brand-new", "  - id: fact-1", "- id: left", "...", "---", "# a comment", "", "      indented more",
    "    question: [a, b", "    tags: [x, y]", "    answer: |", "      block text", "deck: E", "cards:",
    "    id: second-id", "    reverse: true", "    source: nowhere", "\tanswer: tab", "    answer: &a anchor",
])


def read_all(path: Path, raw: bytes):
    """The items and problems of reading the whole file."""
    doc, found = load_file(path, shown="d.yaml", raw=raw)
    problems = list(found)
    items = validate_deck(doc, sources=None, problems=problems) if doc else []
    return items, problems


@settings(max_examples=150, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["replace", "insert", "delete"]), LINES),
                      min_size=1, max_size=3))
def test_a_spliced_read_is_the_whole_read(tmp_path_factory, edits):
    path = tmp_path_factory.mktemp("splice") / "d.yaml"
    old_raw = TEXT.encode()
    old_items, problems = read_all(path, old_raw)
    assert not problems and len(old_items) == 12
    lines = TEXT.split("\n")
    for at, how, line in edits:
        at %= len(lines)
        if how == "replace":
            lines[at] = line
        elif how == "insert":
            lines.insert(at, line)
        elif len(lines) > 1:
            del lines[at]
    raw = "\n".join(lines).encode()
    spliced = splice(path=path, shown="d.yaml", raw=raw, old_raw=old_raw, old_items=old_items, sources=None)
    items, problems = read_all(path, raw)
    event("spliced" if spliced is not None else "read whole")
    if spliced is not None:
        assert not problems and spliced[0] == items
        assert [i for i, (a, b) in enumerate(zip(old_items, items)) if a[:12] != b[:12]] in ([], [spliced[1]])


def test_an_edit_inside_one_item_is_spliced(tmp_path):
    path = tmp_path / "d.yaml"
    old_items, _ = read_all(path, TEXT.encode())
    for old, new in [("It is **4**.", "It is *four*."), ("It is **4**.", "It is 4.\n    reverse: true"),
                     ("    tags: [t4]\n", ""), ("fact-4\n", "fact-four\n")]:
        raw = TEXT.replace(old, new, 1).encode()
        spliced = splice(path=path, shown="d.yaml", raw=raw, old_raw=TEXT.encode(), old_items=old_items, sources=None)
        assert spliced is not None and spliced == (read_all(path, raw)[0], 4)


def read_pieces(path: Path, raw: bytes, pieces: list):
    """The items of reading each piece alone, joined; None when any piece has a problem or loses an item."""
    items = []
    for piece in pieces:
        doc, found = load_file(path, shown="d.yaml", raw=piece.text(raw), shift=(piece.after, piece.by))
        problems = list(found)
        got = validate_deck(doc, sources=None, problems=problems) if doc else []
        if problems or len(got) != piece.count:
            return None
        items += got
    return items


BODY = "deck: D\ntags: [t]\ncards:\n" + "".join((CLOZE if n % 3 == 0 else ITEM).format(n=n) for n in range(12))


@settings(max_examples=200, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["replace", "insert", "delete"]), LINES),
                      max_size=3), pieces=st.integers(1, 5))
def test_a_file_read_in_pieces_is_the_whole_read(tmp_path_factory, edits, pieces):
    path = tmp_path_factory.mktemp("cut") / "d.yaml"
    lines = BODY.split("\n")
    for at, how, line in edits:
        at %= len(lines)
        if how == "replace":
            lines[at] = line
        elif how == "insert":
            lines.insert(at, line)
        elif len(lines) > 1:
            del lines[at]
    raw = "\n".join(lines).encode()
    found = cut(raw, pieces=pieces)
    joined = read_pieces(path, raw, found) if found is not None else None
    event("cut" if found is None else "read in pieces" if joined is not None else "a piece had a problem")
    if joined is not None:
        items, problems = read_all(path, raw)
        assert not problems and joined == items
        assert len(found) > 1 or pieces == 1


def test_a_plain_file_is_cut_where_its_items_start(tmp_path):
    path = tmp_path / "d.yaml"
    found = cut(BODY.encode(), pieces=3)
    assert found is not None and [piece.count for piece in found] == [4, 4, 4]
    assert read_pieces(path, BODY.encode(), found) == read_all(path, BODY.encode())[0]
    assert cut(TEXT.encode(), pieces=3) is None  # a key after the items: the pieces would miss it
    assert cut(BODY.replace("\n", "\r\n").encode(), pieces=3) is None


def test_a_large_file_compiles_in_pieces_to_what_one_process_compiles(tmp_path, monkeypatch):
    from builder.pipeline import compile as compile_stage

    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "sources.yaml").write_text("src:\n  title: A source\n", encoding="utf-8")
    deck = cards / "d.yaml"
    deck.write_text(BODY.replace("tags: [t]", "tags: [t]\n# the items"), encoding="utf-8")
    alone = compile_stage.compile_tree(cards)
    monkeypatch.setattr(compile_stage, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(compile_stage, "CUT_BYTES", 1)
    monkeypatch.setattr(compile_stage.threading, "active_count", lambda: 1)  # the runner's own threads don't matter
    monkeypatch.setattr(compile_stage.os, "cpu_count", lambda: 2)
    cuts = []
    monkeypatch.setattr(compile_stage, "cut", lambda raw, **kw: cuts.append(kw) or cut(raw, **kw))
    pieces = compile_stage.compile_tree(cards)
    assert cuts and pieces.notes == alone.notes and pieces.tree == alone.tree and not pieces.problems
    # A problem in one piece: the whole file is read, so the problems are exactly one process's.
    deck.write_text(BODY.replace("source: src\n    tags: [t7]", "source: nowhere\n    tags: [t7]\n    bad: 1"),
                    encoding="utf-8")
    broken = compile_stage.compile_tree(cards)
    monkeypatch.undo()
    assert broken.problems and broken.problems == compile_stage.compile_tree(cards).problems


@settings(max_examples=500, deadline=None)
@given(a=st.lists(st.sampled_from([b"a", b"b", b"\n", b"ab\n", b"\n\n"]), max_size=12).map(b"".join),
       b=st.lists(st.sampled_from([b"a", b"b", b"\n", b"ab\n", b"\n\n"]), max_size=12).map(b"".join))
def test_the_changed_lines_are_found_in_the_bytes_as_in_the_lines(a, b):
    from builder.pipeline import splice as splicing

    if a == b:
        return
    old, new = a.split(b"\n"), b.split(b"\n")
    same = min(len(old), len(new))
    head = next((i for i in range(same) if old[i] != new[i]), same)
    tail = next((i for i in range(same - head) if old[-1 - i] != new[-1 - i]), same - head)
    assert splicing._first_changed_line(a, b, splicing._common_prefix(a, b)) == head
    assert min(splicing._equal_last_lines(a, b), same - head) == tail
    for n in range(len(old)):
        assert splicing._Lines(a, 0, 0).line(n) == splicing._Lines.last(a).line(n) == old[n]
