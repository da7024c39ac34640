"""`deckbuild ids`: new `id:` lines made from questions, and not one other byte of the file changed."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from builder.commands.ids import slugify
from builder.pipeline.validate import ID

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> bytes:
    """A golden file with LF line endings, however the checkout wrote them."""
    return (GOLDEN / name).read_bytes().replace(b"\r\n", b"\n")


def test_ids_inserts_only_id_lines_matching_the_golden_file(write_tree, deckbuild):
    cards = write_tree({"deck.yaml": golden("ids-before.yaml")})
    result = deckbuild("ids", cards)
    assert result.exit_code == 0, result.output
    assert (cards / "deck.yaml").read_bytes() == golden("ids-after.yaml")
    place = f"{cards.as_posix()}/deck.yaml"
    assert f"{place}:12: id: role-microglia-play-cns-immune-system\n" in result.output
    assert f"{place}:22: id: role-microglia-play-cns-immune-system-3\n" in result.output
    assert f"{place}:32: id: word-glia-literally-means-glue-2\n" in result.output
    assert result.output.endswith("10 ids added.\n")


def test_ids_keeps_crlf_line_endings_and_a_byte_order_mark(write_tree, deckbuild):
    bom = b"\xef\xbb\xbf"
    cards = write_tree({"deck.yaml": bom + golden("ids-before.yaml").replace(b"\n", b"\r\n")})
    assert deckbuild("ids", cards).exit_code == 0
    assert (cards / "deck.yaml").read_bytes() == bom + golden("ids-after.yaml").replace(b"\n", b"\r\n")


def test_after_ids_check_passes_and_a_second_run_changes_nothing(write_tree, deckbuild):
    cards = write_tree({"deck.yaml": golden("ids-before.yaml")})
    assert deckbuild("check", cards).exit_code == 1
    deckbuild("ids", cards)
    check = deckbuild("check", cards)
    assert check.exit_code == 0, check.output
    again = deckbuild("ids", cards)
    assert again.exit_code == 0 and again.output == "0 ids added.\n"
    assert (cards / "deck.yaml").read_bytes() == golden("ids-after.yaml")


def test_new_ids_are_unique_across_the_tree(write_tree, deckbuild):
    cards = write_tree({
        "a.yaml": "deck: A\ncards:\n  - question: What are microglia?\n    answer: Cells.\n    source: other-2020\n",
        "b/b.yaml": "deck: A::B\ncards:\n  - id: microglia\n    question: Microglia?\n    answer: Cells.\n"
                    "    source: other-2020\n  - question: What are microglia?\n    answer: Glia.\n"
                    "    source: other-2020\n",
    })
    result = deckbuild("ids", cards)
    assert result.output.splitlines() == [
        f"{cards.as_posix()}/a.yaml:3: id: microglia-2",
        f"{cards.as_posix()}/b/b.yaml:7: id: microglia-3",
        "2 ids added.",
    ]
    assert deckbuild("check", cards).exit_code == 0


def test_a_slug_yaml_would_read_as_a_flag_is_quoted(write_tree, deckbuild):
    cards = write_tree({"deck.yaml": "deck: A\ncards:\n  - question: 'On?'\n    answer: Off.\n    source: other-2020\n"})
    assert deckbuild("ids", cards).exit_code == 0
    assert (cards / "deck.yaml").read_text().splitlines()[2] == '  - id: "on"'
    assert deckbuild("check", cards).exit_code == 0


@pytest.mark.parametrize(("text", "slug"), [
    ("What role do microglia play in the CNS's immune system?", "role-microglia-play-cns-immune-system"),
    ("The word 'glia' means {{c1::glue::a noun}} in {{c2::Greek}}.", "word-glia-means-glue-greek"),
    ("Qu'est-ce que la névroglie ? Straße", "quest-ce-que-la-nevroglie-strasse"),
    ("Why don't ![a diagram](img/cell.png) <b>neurons</b> divide?", "dont-diagram-neurons-divide"),
    ("What is it?", "what-is-it"),
    ("¿¡…!?", "card"),
])
def test_slugs_are_a_few_plain_words_of_the_question(text, slug):
    assert slugify(text) == slug
    assert ID.match(slug)


def test_a_yaml_error_is_reported_and_no_file_changes(write_tree, deckbuild):
    fine = "deck: A\ncards:\n  - question: Q?\n    answer: A.\n    source: other-2020\n"
    cards = write_tree({"a.yaml": fine, "b.yaml": "deck: B\ncards:\n  - question: [unclosed\n"})
    result = deckbuild("ids", cards)
    assert result.exit_code == 1
    assert f"{cards.as_posix()}/b.yaml:4: YAML syntax error" in result.output
    assert "nothing was written" in result.output
    assert (cards / "a.yaml").read_text() == fine


def test_an_item_inside_a_flow_list_gets_its_id_in_place(write_tree, deckbuild):
    cards = write_tree({"deck.yaml": "deck: A\ncards: [{question: Q?, answer: A., source: other-2020}]\n"})
    result = deckbuild("ids", cards)
    assert result.exit_code == 0, result.output
    assert (cards / "deck.yaml").read_text() == "deck: A\ncards: [{id: q, question: Q?, answer: A., source: other-2020}]\n"


def test_an_item_that_cannot_take_an_id_in_place_is_left_for_a_person(write_tree, deckbuild):
    text = "deck: A\ncards:\n  - ? question\n    : Q?\n    answer: A.\n    source: other-2020\n"
    cards = write_tree({"deck.yaml": text})
    result = deckbuild("ids", cards)
    assert result.exit_code == 1, result.output
    assert f"{cards.as_posix()}/deck.yaml:3: can't insert an id" in result.output
    assert "add `id: q` to it by hand" in result.output
    assert (cards / "deck.yaml").read_text() == text


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_ids_keeps_the_files_permissions(write_tree, deckbuild):
    cards = write_tree({"deck.yaml": golden("ids-before.yaml")})
    os.chmod(cards / "deck.yaml", 0o644)
    deckbuild("ids", cards)
    assert stat.S_IMODE((cards / "deck.yaml").stat().st_mode) == 0o644


def test_without_ids_a_missing_id_suggests_running_deckbuild_ids(write_tree, deckbuild):
    cards = write_tree({"deck.yaml": "deck: A\ncards:\n  - question: Q?\n    answer: A.\n    source: other-2020\n"})
    result = deckbuild("check", cards)
    assert result.exit_code == 1
    assert f"{cards.as_posix()}/deck.yaml:3: card has no 'id'; run `deckbuild ids` to add one" in result.output
