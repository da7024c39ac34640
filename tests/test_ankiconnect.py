"""push, pull and diff through the real AnkiConnect add-on (optional: DECKBUILD_ANKICONNECT names its plugin folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import DECK, file_hashes

PAST = "1600000000"
THIRD = "  - id: third-item\n    question: A third?\n    answer: Yes, a third.\n    source: other-2020\n"


@pytest.fixture
def imported(ankiconnect, write_tree, deckbuild, tmp_path, monkeypatch):
    """A tree built in the past and imported through AnkiConnect's importPackage."""
    def run(files=None) -> Path:
        cards = write_tree(files)
        monkeypatch.setenv("SOURCE_DATE_EPOCH", PAST)
        result = deckbuild("build", cards, "-o", tmp_path / "out.apkg")
        assert result.exit_code == 0, result.output
        monkeypatch.delenv("SOURCE_DATE_EPOCH")
        assert ankiconnect.client(key=None).call("importPackage", path=str((tmp_path / "out.apkg").resolve()))
        return cards
    return run


def note_id(app, item_id: str) -> int:
    [nid] = app.client(key=None).call("findNotes", query=f'"Id:{item_id}"')
    return nid


def test_pull_through_ankiconnect_brings_an_edit_back(imported, ankiconnect, deckbuild):
    cards = imported()
    ankiconnect.client(key=None).call("updateNoteFields", note={
        "id": note_id(ankiconnect, "microglia-first-line"),
        "fields": {"Answer": "They are its <strong>front line</strong>."}})

    result = deckbuild("pull", cards, "--collection", ankiconnect.collection, "--via", "anki")

    assert result.exit_code == 0, result.output
    assert "AnkiConnect" in result.stderr and "was not checked" in result.stderr
    assert "pulled microglia-first-line (answer)" in result.stdout
    assert "    answer: They are its **front line**.\n" in (cards / "deck.yaml").read_text()


def test_a_conflict_through_ankiconnect_writes_nothing(imported, ankiconnect, deckbuild):
    cards = imported()
    ankiconnect.client(key=None).call("updateNoteFields", note={
        "id": note_id(ankiconnect, "microglia-first-line"), "fields": {"Answer": "Front line."}})
    deck = cards / "deck.yaml"
    deck.write_text(deck.read_text().replace("first line of defense**.", "first defenders**."))
    before = file_hashes(cards)

    result = deckbuild("pull", cards, "--collection", ankiconnect.collection, "--via", "anki")

    assert result.exit_code == 5, result.output  # conflicts left unsettled
    assert "conflict microglia-first-line (answer changed in Anki and in the YAML" in result.stdout
    assert file_hashes(cards) == before


def test_push_through_ankiconnect_leaves_the_switch_it_cant_make_and_applies_the_rest(imported, ankiconnect,
                                                                                      deckbuild, tmp_path):
    cards = imported({"deck.yaml": DECK + THIRD})
    client = ankiconnect.client(key=None)
    deck = cards / "deck.yaml"
    deck.write_text(deck.read_text().replace(THIRD, "").replace("deck: Test::Basics", "deck: Test::Moved")
                    .replace("They are its **first line of defense**.", "They defend first.").replace(
        "    cloze: \"The word 'glia' literally means {{c1::glue}}.\"",
        "    question: What does the word 'glia' literally mean?\n    answer: Glue."))
    glia = note_id(ankiconnect, "glia-means-glue")

    result = deckbuild("push", cards, "--collection", ankiconnect.collection, "-o", tmp_path / "p.apkg", "--yes",
                       "--via", "anki")

    assert result.exit_code == 0, result.output
    assert "not converted: glia-means-glue (AnkiConnect can't switch" in result.stdout
    assert "deleted: third-item" in result.stdout
    assert "conflicting: glia-means-glue" not in result.stdout
    backup = Path(result.stdout.split("backup: ")[1].splitlines()[0])
    assert backup.is_file() and backup.suffix == ".apkg"
    [info] = client.call("notesInfo", notes=[glia])
    assert info["modelName"] == "deckbuild Cloze"  # left as it was, not half-converted
    [first] = client.call("notesInfo", notes=[note_id(ankiconnect, "microglia-first-line")])
    assert "They defend first." in first["fields"]["Answer"]["value"]
    decks = {card["deckName"] for card in client.call("cardsInfo", cards=first["cards"] + info["cards"])}
    assert decks == {"Test::Moved"}
    assert client.call("findNotes", query='"Id:third-item"') == []


def test_diff_through_ankiconnect_prints_the_file_routes_lines(imported, ankiconnect, deckbuild):
    cards = imported()
    deck = cards / "deck.yaml"
    deck.write_text(deck.read_text().replace("literally means", "means"))

    result = deckbuild("diff", cards, "--collection", ankiconnect.collection, "--via", "anki")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["would add 0, update 1, leave 1 unchanged, 0 conflicting, 0 removed",
                                          "update: glia-means-glue"]


def test_an_edit_made_in_anki_survives_a_push_of_the_unchanged_yaml_through_ankiconnect(imported, ankiconnect,
                                                                                         deckbuild, tmp_path):
    cards = imported()
    client = ankiconnect.client(key=None)
    nid = note_id(ankiconnect, "microglia-first-line")
    client.call("updateNoteFields", note={"id": nid, "fields": {"Answer": "Edited in Anki."}})

    result = deckbuild("push", cards, "--collection", ankiconnect.collection, "-o", tmp_path / "p.apkg",
                       "--via", "anki")

    assert result.exit_code == 0, result.output
    [info] = client.call("notesInfo", notes=[nid])
    assert info["fields"]["Answer"]["value"] == "Edited in Anki."
