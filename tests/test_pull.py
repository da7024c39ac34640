"""`deckbuild pull`: edits made in a real Anki collection come back into the YAML, three-way, in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import file_hashes, log_counts

GOLDEN = Path(__file__).parent / "golden"
PAST = "1600000000"  # builds stamped in the past, so an edit made in Anki now is newer


def golden(name: str) -> bytes:
    """A golden file with LF line endings, however the checkout wrote them."""
    return (GOLDEN / name).read_bytes().replace(b"\r\n", b"\n")


@pytest.fixture
def imported(write_tree, deckbuild, anki, tmp_path, monkeypatch):
    """Build a tree (stamped in the past) and import it; returns a function taking the tree's files."""
    def run(files: dict[str, str | bytes] | None = None) -> Path:
        cards = write_tree(files)
        monkeypatch.setenv("SOURCE_DATE_EPOCH", PAST)
        result = deckbuild("build", cards, "-o", tmp_path / "out.apkg")
        assert result.exit_code == 0, result.output
        monkeypatch.delenv("SOURCE_DATE_EPOCH")
        assert log_counts(anki.import_apkg(tmp_path / "out.apkg"))["conflicting"] == 0
        return cards
    return run


def edit_in_anki(anki, item_id: str, **fields: str) -> None:
    """Change a note as a person would in Anki's editor: Anki stamps its mod with now."""
    note = anki.notes()[item_id]
    for name, value in fields.items():
        if name == "tags":
            note.tags = value.split()
        else:
            note[name] = value
    anki.col.update_note(note)


def rebuild_and_import(deckbuild, anki, cards: Path, tmp_path: Path):
    """Build now and re-import into the collection; the import log."""
    result = deckbuild("build", cards, "-o", tmp_path / "out.apkg")
    assert result.exit_code == 0, result.output
    anki.reopen()
    return anki.import_apkg(tmp_path / "out.apkg")


def test_edits_are_pulled_into_their_lines_and_every_other_byte_stays(imported, anki, deckbuild):
    cards = imported({"deck.yaml": golden("pull-before.yaml")})
    edit_in_anki(anki, "plain-question", Question="Where does 'glia' come from: which language?",
                 tags="golden origin words etymology")
    edit_in_anki(anki, "single-quoted", Answer="They are its <strong>very first</strong> line of defense.",
                 Extra="Added in Anki.")
    edit_in_anki(anki, "double-quoted", Question='Which cells are the "glue" of the CNS?')
    edit_in_anki(anki, "literal-block", Question="What role do microglia play in the brain's immune system?",
                 Answer="<p>The first line</p><p>of defense, in the CNS.</p>", tags="golden immune")
    edit_in_anki(anki, "flow-item", Text="Microglia make up about {{c1::10%::a share}} of the cells in the "
                                          "human brain.")
    edit_in_anki(anki, "flow-mapping", Answer="The brain, and the spinal cord.", tags="golden cns leech marked")
    anki.close()

    result = deckbuild("pull", cards, "--collection", anki.path)

    assert result.exit_code == 0, result.output
    assert (cards / "deck.yaml").read_bytes() == golden("pull-after.yaml")
    place = f"{cards.as_posix()}/deck.yaml"
    assert result.stdout.splitlines() == [
        f"{place}:7: pulled plain-question (question, tags)",
        f"{place}:13: pulled single-quoted (answer, extra)",
        f"{place}:19: pulled double-quoted (question)",
        f"{place}:25: pulled literal-block (question, answer, tags)",
        f"{place}:36: pulled flow-item (cloze)",
        f"{place}:40: pulled flow-mapping (answer, tags)",
        "6 pulled (0 approximate), 0 conflicting, 0 moved in Anki (not pulled), 0 removed from the tree.",
    ]


def test_a_tag_added_in_anki_comes_back_and_bookkeeping_tags_do_not(imported, anki, deckbuild):
    cards = imported()
    edit_in_anki(anki, "microglia-first-line", tags="sample immune glia leech marked")
    edit_in_anki(anki, "glia-means-glue", tags="sample words")
    anki.close()

    assert deckbuild("pull", cards, "--collection", anki.path).exit_code == 0

    text = (cards / "deck.yaml").read_text()
    assert "    tags: [immune, glia]\n" in text
    assert "    source: dellwo-2022\n    tags: [words]\n" in text
    assert "leech" not in text and "marked" not in text
    assert text.count("sample") == 1  # a file-level tag is not copied into the items


def test_a_tag_removed_in_anki_is_removed_from_the_item(imported, anki, deckbuild):
    cards = imported()
    edit_in_anki(anki, "microglia-first-line", tags="sample")
    anki.close()
    result = deckbuild("pull", cards, "--collection", anki.path)
    assert result.exit_code == 0, result.output
    assert "tags:" not in (cards / "deck.yaml").read_text().split("cards:")[1]


def test_edits_on_both_sides_conflict_until_prefer_settles_them(imported, anki, deckbuild, tmp_path):
    cards = imported()
    edit_in_anki(anki, "microglia-first-line", Answer="They are its <strong>front line</strong>.")
    anki.close()
    deck = cards / "deck.yaml"
    deck.write_text(deck.read_text().replace("first line of defense**.", "first defenders**."))
    before = file_hashes(cards)

    result = deckbuild("pull", cards, "--collection", anki.path)

    assert result.exit_code == 5, result.output  # scripts can tell: conflicts are left
    assert (f"{cards.as_posix()}/deck.yaml:4: conflict microglia-first-line (answer changed in Anki and in the "
            "YAML; --prefer anki or --prefer yaml settles it)") in result.output
    assert file_hashes(cards) == before  # nothing written for it, the state neither

    anki_wins = deckbuild("pull", cards, "--collection", anki.path, "--prefer", "anki")
    assert anki_wins.exit_code == 0, anki_wins.output
    assert "answer: They are its **front line**." in deck.read_text()


def test_prefer_yaml_keeps_the_yaml_and_the_next_push_replaces_the_anki_edit(imported, anki, deckbuild, tmp_path):
    cards = imported()
    edit_in_anki(anki, "microglia-first-line", Answer="Edited in Anki.")
    anki.close()
    deck = cards / "deck.yaml"
    deck.write_text(deck.read_text().replace("first line of defense**.", "first defenders**."))

    result = deckbuild("pull", cards, "--collection", anki.path, "--prefer", "yaml")

    assert result.exit_code == 0, result.output
    assert "kept microglia-first-line (the YAML wins; push it)" in result.output
    assert "first defenders" in deck.read_text()
    assert log_counts(rebuild_and_import(deckbuild, anki, cards, tmp_path))["updated"] == 1
    assert anki.notes()["microglia-first-line"]["Answer"] == "They are its <strong>first defenders</strong>."


def test_after_a_pull_the_next_build_and_import_touch_nothing_and_the_edit_survives(imported, anki, deckbuild,
                                                                                      tmp_path):
    cards = imported()
    edited = "They are its <strong>first</strong> line &amp; its last."
    edit_in_anki(anki, "microglia-first-line", Answer=edited)
    anki.close()
    assert deckbuild("pull", cards, "--collection", anki.path).exit_code == 0

    build = deckbuild("build", cards, "-o", tmp_path / "out.apkg")
    assert "(0 new, 0 changed, 2 unchanged, 0 removed)" in build.output
    anki.reopen()
    assert log_counts(anki.import_apkg(tmp_path / "out.apkg")) == {
        "new": 0, "updated": 0, "duplicate": 2, "conflicting": 0}
    assert anki.notes()["microglia-first-line"]["Answer"] == edited
    anki.close()
    again = deckbuild("pull", cards, "--collection", anki.path)
    assert again.stdout.startswith("0 pulled")


def test_html_markdown_cannot_say_is_written_and_reported_approximate(imported, anki, deckbuild):
    cards = imported()
    edit_in_anki(anki, "microglia-first-line", Answer="They are its <u>first</u> line.")
    anki.close()

    result = deckbuild("pull", cards, "--collection", anki.path)

    assert result.exit_code == 0, result.output
    assert (f"{cards.as_posix()}/deck.yaml:6: approximate: review microglia-first-line (answer: its Markdown "
            "renders differently from Anki's HTML; check it)") in result.output
    assert "1 pulled (1 approximate)" in result.output
    assert "    answer: They are its first line.\n" in (cards / "deck.yaml").read_text()


def test_dry_run_prints_the_same_and_writes_nothing(imported, anki, deckbuild):
    cards = imported()
    edit_in_anki(anki, "glia-means-glue", Text="The word 'glia' means {{c1::glue}}.")
    anki.close()
    before, collection = file_hashes(cards), file_hashes(anki.path.parent)

    result = deckbuild("pull", cards, "--collection", anki.path, "--dry-run")

    assert result.exit_code == 0, result.output
    assert f"{cards.as_posix()}/deck.yaml:10: pulled glia-means-glue (cloze)" in result.output
    assert result.output.endswith("dry run, nothing written.\n")
    assert file_hashes(cards) == before and file_hashes(anki.path.parent) == collection


def test_moved_cards_and_removed_items_are_reported_never_written(imported, anki, deckbuild):
    cards = imported()
    card = anki.cards()[0]
    anki.col.set_deck([card.id], anki.col.decks.id("Parked"))
    deck = cards / "deck.yaml"
    deck.write_text(deck.read_text().split("  - id: glia-means-glue")[0])
    anki.close()
    before = file_hashes(cards)

    result = deckbuild("pull", cards, "--collection", anki.path)

    assert result.exit_code == 0, result.output
    assert "removed glia-means-glue (in the collection, gone from the tree; never written back" in result.output
    assert "in Parked in Anki, Test::Basics in the YAML; decks are never written back" in result.output
    assert file_hashes(cards) == before


def test_a_locked_collection_exits_3_and_changes_nothing(imported, anki, deckbuild):
    cards = imported()
    edit_in_anki(anki, "microglia-first-line", Answer="Edited.")
    before, collection = file_hashes(cards), file_hashes(anki.path.parent)

    result = deckbuild("pull", cards, "--collection", anki.path)  # the fixture still holds it open, as Anki would

    assert result.exit_code == 3
    assert "close Anki first" in result.output
    assert file_hashes(cards) == before and file_hashes(anki.path.parent) == collection


def test_restore_state_rebuilds_a_lost_state_so_a_reimport_keeps_anki_edits(imported, anki, deckbuild, tmp_path):
    cards = imported()
    edited = "They are its <b>only</b> defense."
    edit_in_anki(anki, "microglia-first-line", Answer=edited)
    anki.close()
    (cards / "deckbuild-state.json").unlink()

    result = deckbuild("pull", cards, "--collection", anki.path, "--restore-state")

    assert result.exit_code == 0, result.output
    assert "restored 2 notes (ids and mods from the collection)" in result.output
    assert "differs microglia-first-line" in result.output
    log = rebuild_and_import(deckbuild, anki, cards, tmp_path)
    assert log_counts(log) == {"new": 0, "updated": 0, "duplicate": 2, "conflicting": 0}
    assert anki.notes()["microglia-first-line"]["Answer"] == edited


def test_restore_state_repairs_a_damaged_state(imported, anki, deckbuild, tmp_path):
    cards = imported()
    anki.close()
    (cards / "deckbuild-state.json").write_text("{ not json")
    assert deckbuild("build", cards, "-o", tmp_path / "out.apkg").exit_code == 1
    dry = deckbuild("pull", cards, "--collection", anki.path, "--restore-state", "--dry-run")
    assert dry.exit_code == 0 and "dry run, nothing written" in dry.output
    assert (cards / "deckbuild-state.json").read_text() == "{ not json"
    assert deckbuild("pull", cards, "--collection", anki.path, "--restore-state").exit_code == 0
    assert log_counts(rebuild_and_import(deckbuild, anki, cards, tmp_path))["updated"] == 0


def test_an_item_switched_to_cloze_and_edited_in_anki_is_a_conflict_prefer_anki_cannot_settle(
        imported, anki, deckbuild):
    cards = imported()
    edit_in_anki(anki, "microglia-first-line", Answer="Edited in Anki.")
    anki.close()
    deck = cards / "deck.yaml"
    deck.write_text(deck.read_text().replace(
        "    question: What role do microglia play in the CNS immune system?\n"
        "    answer: They are its **first line of defense**.\n",
        "    cloze: Microglia are the CNS's {{c1::first line of defense}}.\n"))
    before = file_hashes(cards)

    result = deckbuild("pull", cards, "--collection", anki.path, "--prefer", "anki")

    assert "conflict microglia-first-line (a qa note in Anki, a cloze item in the YAML" in result.output
    assert file_hashes(cards) == before


def test_an_edit_only_to_fields_pull_never_writes_is_reported_and_left(imported, anki, deckbuild):
    cards = imported()
    edit_in_anki(anki, "microglia-first-line", Quote="my own quote")
    anki.close()
    before = file_hashes(cards)
    result = deckbuild("pull", cards, "--collection", anki.path)
    assert "kept microglia-first-line (edited in Anki only in fields pull never writes back" in result.output
    assert file_hashes(cards) == before


def test_without_the_anki_package_pull_says_what_to_install(write_tree, deckbuild, monkeypatch, tmp_path):
    import sys

    for name in {"anki", *(name for name in sys.modules if name.startswith("anki."))}:
        monkeypatch.setitem(sys.modules, name, None)
    collection = tmp_path / "collection.anki2"
    collection.write_bytes(b"")
    result = deckbuild("pull", write_tree(), "--collection", collection)
    assert result.exit_code == 2
    assert "pip install '.[anki]'" in result.output and "Traceback" not in result.output


def test_an_anki_edit_that_would_make_the_item_invalid_is_reported_and_nothing_written(imported, anki, deckbuild):
    cards = imported()
    edit_in_anki(anki, "glia-means-glue", Text="The word 'glia' literally means glue.")  # the deletion is gone
    edit_in_anki(anki, "microglia-first-line", Answer="Fine.")
    anki.close()
    before = file_hashes(cards)

    result = deckbuild("pull", cards, "--collection", anki.path)

    assert result.exit_code == 1
    assert f"{cards.as_posix()}/deck.yaml:11: after pulling from Anki:" in result.output
    assert "nothing was written" in result.output
    assert file_hashes(cards) == before


def test_an_image_comes_back_as_the_path_the_yaml_uses(imported, anki, deckbuild):
    cards = imported({
        "deck.yaml": "deck: Test\ncards:\n  - id: cell\n    question: What is this?\n"
                     "    answer: '![](images/cell.png)'\n    source: other-2020\n",
        "images/cell.png": b"\x89PNG\r\n\x1a\n not really a picture",
    })
    html = anki.notes()["cell"]["Answer"]
    assert html.startswith('<img src="cell-')
    edit_in_anki(anki, "cell", Answer=f"A cell: {html}")
    anki.close()

    result = deckbuild("pull", cards, "--collection", anki.path)

    assert result.exit_code == 0, result.output
    assert "approximate: review" not in result.output and "1 pulled (0 approximate)" in result.output
    assert "    answer: 'A cell: ![](images/cell.png)'\n" in (cards / "deck.yaml").read_text()


def test_pull_compiles_through_the_build_cache(imported, anki, deckbuild, tmp_path):
    cards = imported()
    edit_in_anki(anki, "glia-means-glue", Text="The word 'glia' means {{c1::glue}} in Greek.")
    anki.close()
    result = deckbuild("pull", cards, "--collection", anki.path, "--cache-dir", tmp_path / "mine")
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "mine").rglob("*.marshal"))
    assert "pulled glia-means-glue (cloze)" in result.output
    assert "in Greek" in (cards / "deck.yaml").read_text()
