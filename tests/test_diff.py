"""`deckbuild diff`: predicting an import into a real Anki collection, which stays untouched."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from builder.collection.diff import Prediction, predict
from conftest import log_counts

OTHER = """\
deck: Test::Other
cards:
  - id: moved-item
    question: Where does this card live?
    answer: In another deck.
    source: other-2020
"""
ADDED = "  - id: brand-new\n    question: New?\n    answer: Added.\n    source: dellwo-2022\n"


def fingerprint(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under a folder: its modification time and content hash."""
    return {path.relative_to(folder).as_posix(): (path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
            for path in sorted(folder.rglob("*")) if path.is_file()}


def edit(path: Path, old: str, new: str) -> None:
    """Replace text that must be in the file."""
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture
def imported(write_tree, deckbuild, anki, tmp_path):
    """A cards tree built and imported into a collection, which is then closed as Anki would be."""
    cards = write_tree()
    (cards / "other.yaml").write_text(OTHER)
    result = deckbuild("build", cards, "-o", tmp_path / "out.apkg")
    assert result.exit_code == 0, result.output
    assert log_counts(anki.import_apkg(tmp_path / "out.apkg"))["new"] == 3
    anki.close()
    return cards


def test_diff_predicts_new_updated_unchanged_and_cards_left_in_the_old_deck(imported, deckbuild, anki, tmp_path):
    edit(imported / "deck.yaml", "literally means", "means")
    with (imported / "deck.yaml").open("a") as f:
        f.write(ADDED)
    edit(imported / "other.yaml", "deck: Test::Other", "deck: Test::Moved")
    collection_before, cards_before = fingerprint(anki.path.parent), fingerprint(imported)

    result = deckbuild("diff", imported, "--collection", anki.path)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "would add 1, update 1, leave 2 unchanged, 0 conflicting, 0 removed",
        "new: brand-new",
        "update: glia-means-glue",
        "stays in Test::Other: moved-item (wants Test::Moved; push moves it)",
    ]
    assert fingerprint(anki.path.parent) == collection_before
    assert fingerprint(imported) == cards_before  # the state file too: diff is not a build
    assert not (tmp_path / "dist").exists()


def test_the_prediction_matches_what_the_real_import_then_does(imported, deckbuild, anki, tmp_path):
    edit(imported / "deck.yaml", "first line of defense**", "very first line of defense**")
    with (imported / "deck.yaml").open("a") as f:
        f.write(ADDED)
    prediction = predict(cards_dir=imported, collection=anki.path)
    assert prediction == Prediction(new=("brand-new",), updated=("microglia-first-line",),
                                    unchanged=("glia-means-glue", "moved-item"), conflicting=(), moves=())
    deckbuild("build", imported, "-o", tmp_path / "out.apkg")
    anki.col.reopen()
    assert log_counts(anki.import_apkg(tmp_path / "out.apkg")) == {
        "new": 1, "updated": 1, "duplicate": 2, "conflicting": 0}


def test_a_changed_kind_is_predicted_as_a_conflict_with_what_to_do(imported, deckbuild, anki):
    edit(imported / "deck.yaml",
         "    question: What role do microglia play in the CNS immune system?\n"
         "    answer: They are its **first line of defense**.\n",
         "    cloze: Microglia are the CNS's {{c1::first line of defense}}.\n")
    prediction = predict(cards_dir=imported, collection=anki.path)

    assert prediction.conflicting == (("microglia-first-line", "deckbuild Q/A", "deckbuild Cloze"),)
    assert prediction.updated == () and prediction.new == ()
    lines = deckbuild("diff", imported, "--collection", anki.path).stdout.splitlines()
    assert lines[0] == "would add 0, update 0, leave 2 unchanged, 1 conflicting, 0 removed"
    assert lines[1].startswith("conflict: microglia-first-line (it is a 'deckbuild Q/A' note in Anki, "
                               "a 'deckbuild Cloze' note in the YAML")
    assert lines[1].endswith("push converts it, keeping its reviews)")
    assert "delete" not in lines[1]  # that would lose its reviews


def test_changes_still_in_the_write_ahead_log_are_seen(write_tree, deckbuild, anki, tmp_path):
    cards = write_tree()
    deckbuild("build", cards, "-o", tmp_path / "out.apkg")
    anki.import_apkg(tmp_path / "out.apkg")
    wal = Path(f"{anki.path}-wal")
    assert wal.is_file()  # still open, as if Anki were running
    before = fingerprint(anki.path.parent)

    prediction = predict(cards_dir=cards, collection=anki.path)

    assert prediction.unchanged == ("microglia-first-line", "glia-means-glue") and prediction.new == ()
    assert fingerprint(anki.path.parent) == before


def test_without_the_anki_package_diff_says_what_to_install(write_tree, deckbuild, monkeypatch, tmp_path):
    for name in {"anki", *(name for name in sys.modules if name.startswith("anki."))}:
        monkeypatch.setitem(sys.modules, name, None)  # importing anki or any part of it now raises ImportError
    cards = write_tree()
    collection = tmp_path / "collection.anki2"
    collection.write_bytes(b"")

    result = deckbuild("diff", cards, "--collection", collection)

    assert result.exit_code == 2
    # deckbuild is not on PyPI: the hint is an install from the clone, of an extra pyproject.toml declares.
    assert "pip install '.[anki]'" in result.output and "deckbuild[anki]" not in result.output
    assert '\nanki = ["anki' in (Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert "Traceback" not in result.output
    assert deckbuild("build", cards, "-o", tmp_path / "out.apkg").exit_code == 0  # nothing else needs anki


def test_a_file_that_is_not_a_collection_is_a_usage_error(write_tree, deckbuild, tmp_path):
    pytest.importorskip("anki")
    collection = tmp_path / "notes.anki2"
    collection.write_text("not a database")

    result = deckbuild("diff", write_tree(), "--collection", collection)

    assert result.exit_code == 2
    assert f"cannot open '{collection}' as an Anki collection" in result.output
    assert collection.read_text() == "not a database"


def test_bad_cards_are_reported_before_any_import(write_tree, deckbuild, anki):
    cards = write_tree({"deck.yaml": "deck: Test\ncards:\n  - id: x\n    question: Q?\n    source: nowhere\n"})
    anki.close()

    result = deckbuild("diff", cards, "--collection", anki.path)

    assert result.exit_code == 1
    assert "cards/deck.yaml:" in result.output and "nothing was written" in result.output


def test_cards_in_a_filtered_deck_count_as_in_their_home_deck(write_tree, deckbuild, anki, tmp_path):
    cards = write_tree()
    deckbuild("build", cards, "-o", tmp_path / "out.apkg")
    anki.import_apkg(tmp_path / "out.apkg")
    cram = anki.col.sched.get_or_create_filtered_deck(deck_id=0)
    cram.name = "Cram"
    cram.config.search_terms[0].search = "deck:Test::Basics"
    anki.col.sched.add_or_update_filtered_deck(cram)
    assert {anki.col.decks.name(c.did) for c in anki.cards()} == {"Cram"}
    anki.close()

    prediction = predict(cards_dir=cards, collection=anki.path)

    assert prediction.moves == ()
    assert prediction.unchanged == ("microglia-first-line", "glia-means-glue")


def test_a_note_type_edited_in_anki_is_predicted_as_a_conflict(write_tree, deckbuild, anki, tmp_path):
    cards = write_tree()
    deckbuild("build", cards, "-o", tmp_path / "out.apkg")
    anki.import_apkg(tmp_path / "out.apkg")
    qa = anki.col.models.by_name("deckbuild Q/A")
    anki.col.models.add_field(qa, anki.col.models.new_field("My notes"))
    anki.col.models.update_dict(qa)
    anki.close()

    prediction = predict(cards_dir=cards, collection=anki.path)

    assert prediction.conflicting == (("microglia-first-line", "deckbuild Q/A", "deckbuild Q/A"),)
    assert "note type 'deckbuild Q/A' was changed in Anki" in prediction.lines()[1]


def test_diff_compiles_through_the_build_cache_and_predicts_the_same_without_it(imported, deckbuild, anki, tmp_path):
    edit(imported / "deck.yaml", "literally means", "means")
    cached = deckbuild("diff", imported, "--collection", anki.path, "--cache-dir", tmp_path / "mine")
    assert cached.exit_code == 0, cached.output
    assert list((tmp_path / "mine").rglob("*.marshal"))
    again = deckbuild("diff", imported, "--collection", anki.path, "--cache-dir", tmp_path / "mine")
    uncached = deckbuild("diff", imported, "--collection", anki.path, "--no-cache")
    assert cached.output == again.output == uncached.output
    assert "update: glia-means-glue" in cached.output


def test_read_notes_finds_each_note_whatever_note_ids_the_state_suggests(imported, anki):
    from builder.collection.store import read_notes

    anki.reopen()
    ids = ["microglia-first-line", "glia-means-glue", "moved-item", "never-imported"]
    plain = read_notes(anki.col, ids)
    assert set(plain) == {"microglia-first-line", "glia-means-glue", "moved-item"}
    other = anki.col.new_note(anki.col.models.by_name("Basic"))
    other["Front"] = "not deckbuild's"
    anki.col.add_note(other, anki.col.decks.id("Default"))
    right = {item_id: note.nid for item_id, note in plain.items()}
    # Right ids; ids swapped between two items; an id of someone else's note; an id no note has.
    for nids in (right, {**right, "microglia-first-line": right["glia-means-glue"],
                         "glia-means-glue": right["microglia-first-line"]},
                 {**right, "moved-item": other.id, "never-imported": other.id}, {"glia-means-glue": 1}):
        assert read_notes(anki.col, ids, nids=nids) == plain
