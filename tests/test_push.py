"""`deckbuild push`: a build applied to a real Anki collection completely (import, delete, move, convert)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DECK, file_hashes, log_counts

THIRD = "  - id: third-item\n    question: A third?\n    answer: Yes, a third.\n    source: other-2020\n"


@pytest.fixture
def imported(write_tree, build_into_anki, anki):
    """The sample tree plus a third item, built and imported; the collection then closed, as Anki would be."""
    cards = write_tree({"deck.yaml": DECK + THIRD})
    assert log_counts(build_into_anki(cards))["new"] == 3
    return cards


def push(deckbuild, cards: Path, anki, tmp_path: Path, *args: object):
    """Run `deckbuild push` into the fixture's collection, closed first; then reopen it to look."""
    anki.close()
    result = deckbuild("push", cards, "--collection", anki.path, "-o", tmp_path / "out.apkg", *args)
    anki.reopen()
    return result


def test_push_imports_and_names_its_backup(write_tree, deckbuild, anki, tmp_path):
    cards = write_tree()
    result = push(deckbuild, cards, anki, tmp_path)
    assert result.exit_code == 0, result.output
    backups = list((anki.path.parent / "backups").glob("*.colpkg"))
    assert len(backups) == 1 and backups[0].stat().st_size > 0
    assert f"backup: {backups[0]}" in result.output
    assert "2 added, 0 updated, 0 unchanged, 0 converted, 0 moved, 0 deleted" in result.output
    assert set(anki.notes()) == {"microglia-first-line", "glia-means-glue"}
    again = push(deckbuild, cards, anki, tmp_path)
    assert "0 added, 0 updated, 2 unchanged" in again.output


def test_removal_with_yes_deletes_exactly_those_notes(imported, deckbuild, anki, tmp_path):
    deck = imported / "deck.yaml"
    deck.write_text(deck.read_text().replace(THIRD, ""))
    kept = {nid for item_id, nid in ((k, n.id) for k, n in anki.notes().items()) if item_id != "third-item"}

    result = push(deckbuild, imported, anki, tmp_path, "--yes")

    assert result.exit_code == 0, result.output
    assert "deleted: third-item" in result.output
    assert {note.id for note in anki.notes().values()} == kept
    assert "third-item" not in (imported / "deckbuild-state.json").read_text()


def test_without_yes_and_no_terminal_removed_notes_are_listed_and_kept(imported, deckbuild, anki, tmp_path):
    deck = imported / "deck.yaml"
    deck.write_text(deck.read_text().replace(THIRD, ""))

    result = push(deckbuild, imported, anki, tmp_path)

    assert result.exit_code == 0, result.output
    assert "not deleted: third-item (its item is gone from the tree; push --yes deletes it)" in result.output
    assert "third-item" in anki.notes()


def test_a_deck_move_moves_the_cards_but_not_one_the_user_parked_elsewhere(imported, deckbuild, anki, tmp_path):
    parked = anki.notes()["third-item"].cards()[0]
    anki.col.set_deck([parked.id], anki.col.decks.id("Personal"))
    deck = imported / "deck.yaml"
    deck.write_text(deck.read_text().replace("deck: Test::Basics", "deck: Test::Moved"))

    result = push(deckbuild, imported, anki, tmp_path)

    assert result.exit_code == 0, result.output
    decks = {item_id: {anki.col.decks.name(c.did) for c in note.cards()} for item_id, note in anki.notes().items()}
    assert decks == {"microglia-first-line": {"Test::Moved"}, "glia-means-glue": {"Test::Moved"},
                     "third-item": {"Personal"}}
    assert "moved: microglia-first-line from Test::Basics to Test::Moved" in result.output
    assert "left in Personal: third-item (moved there by hand" in result.output


def test_a_switch_from_qa_to_cloze_converts_the_note_and_keeps_its_reviews(imported, deckbuild, anki, tmp_path):
    note = anki.notes()["microglia-first-line"]
    card = note.cards()[0]
    anki.answer(card.id)
    assert anki.col.get_card(card.id).reps == 1
    deck = imported / "deck.yaml"
    deck.write_text(deck.read_text().replace(
        "    question: What role do microglia play in the CNS immune system?\n"
        "    answer: They are its **first line of defense**.\n",
        "    cloze: Microglia are the CNS's {{c1::first line of defense}}.\n"))

    result = push(deckbuild, imported, anki, tmp_path)

    assert result.exit_code == 0, result.output
    assert "converted: microglia-first-line from deckbuild Q/A to deckbuild Cloze (reviews kept)" in result.output
    after = anki.notes()["microglia-first-line"]
    assert after.id == note.id and after.note_type()["name"] == "deckbuild Cloze"
    assert after["Text"] == "Microglia are the CNS's {{c1::first line of defense}}."
    assert after["Id"] == "microglia-first-line" and "Verywell Health" in after["Source"]
    assert [(c.id, c.reps) for c in after.cards()] == [(card.id, 1)]
    assert log_counts(anki.import_apkg(tmp_path / "out.apkg"))["updated"] == 0  # the state matches Anki now


def test_a_locked_collection_exits_3_and_nothing_changes(write_tree, deckbuild, anki, tmp_path):
    cards = write_tree()
    before, collection = file_hashes(cards), file_hashes(anki.path.parent)

    result = deckbuild("push", cards, "--collection", anki.path, "-o", tmp_path / "out.apkg")  # still open

    assert result.exit_code == 3, result.output
    assert "close Anki first" in result.output and "Traceback" not in result.output
    assert file_hashes(cards) == before and file_hashes(anki.path.parent) == collection
    assert not (tmp_path / "out.apkg").exists()


def test_push_dry_run_is_diff_and_reports_removed_notes(imported, deckbuild, anki, tmp_path):
    deck = imported / "deck.yaml"
    deck.write_text(deck.read_text().replace(THIRD, ""))
    anki.close()
    before, collection = file_hashes(imported), file_hashes(anki.path.parent)

    dry = deckbuild("push", imported, "--collection", anki.path, "--dry-run")
    diff = deckbuild("diff", imported, "--collection", anki.path)

    assert dry.exit_code == 0, dry.output
    assert dry.output == diff.output
    assert dry.stdout.splitlines() == [
        "would add 0, update 0, leave 2 unchanged, 0 conflicting, 1 removed",
        "removed: third-item (its item is gone from the tree; push --yes deletes the note)",
    ]
    assert file_hashes(imported) == before and file_hashes(anki.path.parent) == collection


@pytest.mark.parametrize("answer", [True, False])
def test_without_yes_push_asks_with_the_list_and_deletes_only_on_yes(imported, anki, tmp_path, answer):
    from builder.commands.push import push as push_build

    deck = imported / "deck.yaml"
    deck.write_text(deck.read_text().replace(THIRD, ""))
    asked = []
    anki.close()

    report = push_build(cards_dir=imported, collection=anki.path, output=tmp_path / "out.apkg",
                        confirm=lambda ids: asked.append(list(ids)) or answer)

    anki.reopen()
    assert asked == [["third-item"]]
    assert ("third-item" in anki.notes()) is not answer
    assert report.deleted == (("third-item",) if answer else ())


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX terminal")
def test_on_a_terminal_push_lists_the_notes_and_asks_before_deleting(imported, anki, tmp_path):
    import pty

    deck = imported / "deck.yaml"
    deck.write_text(deck.read_text().replace(THIRD, ""))
    anki.close()
    main, terminal = pty.openpty()
    run = subprocess.Popen([sys.executable, "-m", "builder", "push", imported, "--collection", anki.path,
                            "-o", tmp_path / "out.apkg"], stdin=terminal, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    os.write(main, b"y\n")
    output, _ = run.communicate(timeout=120)
    os.close(main), os.close(terminal)

    assert run.returncode == 0, output
    assert "to delete: third-item" in output and "Delete 1 note from the collection?" in output
    assert "deleted: third-item" in output
    anki.reopen()
    assert "third-item" not in anki.notes()


def test_bad_cards_stop_push_before_the_collection_is_touched(write_tree, deckbuild, anki, tmp_path):
    cards = write_tree({"deck.yaml": "deck: Test\ncards:\n  - id: x\n    question: Q?\n    source: nowhere\n"})
    anki.close()
    before, collection = file_hashes(cards), file_hashes(anki.path.parent)
    result = deckbuild("push", cards, "--collection", anki.path, "-o", tmp_path / "out.apkg")
    assert result.exit_code == 1 and "cards/deck.yaml:" in result.output
    assert file_hashes(cards) == before and file_hashes(anki.path.parent) == collection


def test_a_removed_item_stays_a_tombstone_until_a_push_deletes_its_note(imported, deckbuild, anki, tmp_path):
    deck = imported / "deck.yaml"
    deck.write_text(deck.read_text().replace(THIRD, ""))
    anki.close()
    assert deckbuild("build", imported, "-o", tmp_path / "out.apkg").exit_code == 0  # the build tombstones it
    assert '"removed": true' in (imported / "deckbuild-state.json").read_text()

    listed = deckbuild("pull", imported, "--collection", anki.path)
    kept = push(deckbuild, imported, anki, tmp_path)
    deleted = push(deckbuild, imported, anki, tmp_path, "--yes")

    assert "removed third-item (in the collection, gone from the tree" in listed.output
    assert "not deleted: third-item" in kept.output
    assert "deleted: third-item" in deleted.output
    assert "third-item" not in anki.notes()
    assert "third-item" not in (imported / "deckbuild-state.json").read_text()  # pruned
