"""In-place YAML edits: the least re-quoting that reads back, only the changed bytes moved, or no edit at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.collection.yamledit import Change, edit
from builder.pipeline.load import load_file


def edited(tmp_path: Path, text: str, *changes: Change) -> str | None:
    """The file's text after the changes, or None when they can't be made in place."""
    path = tmp_path / "deck.yaml"
    path.write_bytes(text.encode())
    doc, problems = load_file(path, shown="deck.yaml")
    assert doc is not None and not problems
    result = edit(doc, changes)
    return None if result is None else result.data.decode()


HEAD = "deck: A  # the deck\ncards:\n  - id: x   # the id\n"


@pytest.mark.parametrize(("before", "value", "after"), [
    ("    answer: Plain.\n", "Still plain.", "    answer: Still plain.\n"),
    ("    answer: Plain.\n", "Now: a colon", '    answer: "Now: a colon"\n'),
    ("    answer: Plain.\n", 'Say "hi": now', "    answer: 'Say \"hi\": now'\n"),
    ("    answer: Plain.\n", "yes", '    answer: "yes"\n'),
    ("    answer: Plain.\n", "Two\n\nparagraphs", "    answer: |-\n      Two\n\n      paragraphs\n"),
    ("    answer: 'It''s'\n", "It's still", "    answer: 'It''s still'\n"),
    ('    answer: "Tab\\there"\n', "No tab", '    answer: "No tab"\n'),
    ("    answer: |\n      Old\n      text\n\n    source: s\n", "New\ntext\n",
     "    answer: |\n      New\n      text\n\n    source: s\n"),
    ("    answer: |  # kept comment\n      Old\n", "New\n", "    answer: |  # kept comment\n      New\n"),
    ("    answer: >-\n      Old folded\n      text\n", "New folded text",
     "    answer: >-\n      New folded text\n"),
    ("    answer: >-\n      Old\n", "Now\ntwo lines", "    answer: |-\n      Now\n      two lines\n"),
])
def test_a_scalar_keeps_its_style_or_takes_the_least_quoting(tmp_path, before, value, after):
    assert edited(tmp_path, HEAD + before, Change(item=0, key="answer", value=value)) == HEAD + after


def test_flow_lists_and_block_lists_gain_and_lose_entries_in_place(tmp_path):
    text = HEAD + "    tags: [a, b,   c]  # tags\n  - id: y\n    tags:\n      - a\n      - b\n    source: s\n"
    result = edited(tmp_path, text, Change(item=0, key="tags", value=("a", "c", "d")),
                    Change(item=1, key="tags", value=("b", "e")))
    assert result == (HEAD + "    tags: [a,   c, d]  # tags\n  - id: y\n    tags:\n      - b\n      - e\n"
                      "    source: s\n")


def test_a_missing_key_goes_after_the_named_one_in_block_and_flow_items(tmp_path):
    text = HEAD + "    answer: A\n  - {id: y, answer: B}\n"
    result = edited(tmp_path, text, Change(item=0, key="extra", value="More: here", after="id"),
                    Change(item=1, key="tags", value=("t",), after="id"))
    assert result == ("deck: A  # the deck\ncards:\n  - id: x   # the id\n    extra: \"More: here\"\n"
                      "    answer: A\n  - {id: y, tags: [t], answer: B}\n")


def test_a_key_is_removed_with_its_lines(tmp_path):
    text = HEAD + "    extra: |\n      Gone\n      too\n    answer: A\n"
    assert edited(tmp_path, text, Change(item=0, key="extra", value=None)) == HEAD + "    answer: A\n"


def test_crlf_line_endings_and_a_byte_order_mark_stay(tmp_path):
    path = tmp_path / "deck.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (HEAD + "    answer: A\n").replace("\n", "\r\n").encode())
    doc, _ = load_file(path, shown="deck.yaml")
    result = edit(doc, [Change(item=0, key="answer", value="Two\nlines")])
    assert result.data == b"\xef\xbb\xbf" + (HEAD + "    answer: |-\n      Two\n      lines\n").replace(
        "\n", "\r\n").encode()


def test_an_edit_that_would_change_more_than_asked_is_refused(tmp_path):
    # `? key` complex keys can't take a new first key without moving the `?`.
    assert edited(tmp_path, "deck: A\ncards:\n  - ? question\n    : Q\n", Change(item=0, key="id", value="q")) is None
