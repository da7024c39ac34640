"""Re-reading one edited item of a large file gives exactly what reading the whole file gives."""

from __future__ import annotations

from pathlib import Path

from hypothesis import event, given, settings
from hypothesis import strategies as st

from builder.pipeline.load import load_file
from builder.pipeline.splice import splice
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
