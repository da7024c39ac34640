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
    assert "not deleted: third-item (0 reviews; its item is gone from the tree; push --yes deletes it)" in result.output
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
        "removed: third-item (0 reviews; its item is gone from the tree; push --yes deletes the note)",
    ]
    assert file_hashes(imported) == before and file_hashes(anki.path.parent) == collection


@pytest.mark.parametrize("answer", [True, False])
def test_without_yes_push_asks_with_the_list_and_deletes_only_on_yes(imported, anki, tmp_path, answer):
    from builder.collection.push import push as push_build

    deck = imported / "deck.yaml"
    deck.write_text(deck.read_text().replace(THIRD, ""))
    asked = []
    anki.close()

    report = push_build(cards_dir=imported, collection=anki.path, output=tmp_path / "out.apkg",
                        confirm=lambda ids: asked.append(list(ids)) or answer)

    anki.reopen()
    assert asked == [["note third-item (0 reviews)"]]
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
    assert "to remove: note third-item (0 reviews)" in output and "Remove these from the collection?" in output
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


def test_a_renamed_deck_built_before_the_push_is_still_moved(write_tree, deckbuild, anki, tmp_path):
    cards = write_tree()
    push(deckbuild, cards, anki, tmp_path)
    deck = cards / "deck.yaml"
    deck.write_text(deck.read_text().replace("deck: Test::Basics", "deck: Test::Renamed"))
    assert deckbuild("build", cards, "-o", tmp_path / "out.apkg").exit_code == 0  # out of habit

    result = push(deckbuild, cards, anki, tmp_path)

    assert result.exit_code == 0, result.output
    assert "moved: microglia-first-line from Test::Basics to Test::Renamed" in result.output
    assert "left in" not in result.output
    assert {anki.col.decks.name(c.did) for c in anki.cards()} == {"Test::Renamed"}


def test_a_card_moved_by_hand_into_another_of_the_trees_decks_stays(write_tree, deckbuild, anki, tmp_path):
    cards = write_tree()
    push(deckbuild, cards, anki, tmp_path)
    card = anki.notes()["glia-means-glue"].cards()[0]
    anki.col.set_deck([card.id], anki.col.decks.id("Test::Basics::Mine"))
    anki.close()
    predicted = deckbuild("diff", cards, "--collection", anki.path)
    anki.reopen()
    assert ("stays in Test::Basics::Mine: glia-means-glue (wants Test::Basics; moved there by hand, not where "
            "deckbuild put it, so push leaves it)") in predicted.output

    result = push(deckbuild, cards, anki, tmp_path)

    assert "left in Test::Basics::Mine: glia-means-glue" in result.output
    assert anki.col.decks.name(anki.col.get_card(card.id).did) == "Test::Basics::Mine"


def set_backup_interval(anki, minutes: int) -> None:
    """Set Anki's own minimum time between backups (Preferences → Backups) in the collection."""
    prefs = anki.col.get_preferences()
    prefs.backups.minimum_interval_mins = minutes
    anki.col.set_preferences(prefs)


def backups(anki) -> list[Path]:
    """The backup files beside the collection."""
    folder = anki.path.parent / "backups"
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else []


def test_backups_of_pushes_within_one_second_each_keep_their_own_name(write_tree, deckbuild, anki, tmp_path):
    cards = write_tree()
    set_backup_interval(anki, 0)  # Anki's interval is 0: every push backs up
    outputs = [push(deckbuild, cards, anki, tmp_path).output for _ in range(3)]
    named = [line.split("backup: ", 1)[1] for out in outputs for line in out.splitlines() if line.startswith("backup:")]
    assert len(set(named)) == 3 and all(Path(p).is_file() for p in named)
    assert sorted(p.name for p in (anki.path.parent / "backups").iterdir()) == sorted(Path(p).name for p in named)


def test_a_push_that_only_imports_makes_no_backup_within_ankis_interval(write_tree, deckbuild, anki, tmp_path):
    cards = write_tree()
    first = push(deckbuild, cards, anki, tmp_path)
    assert first.exit_code == 0 and len(backups(anki)) == 1  # no backup yet: the first push makes one
    (cards / "deck.yaml").write_text(DECK.replace("first line of defense", "first line of defence"))

    second = push(deckbuild, cards, anki, tmp_path)

    assert second.exit_code == 0, second.output
    assert "1 updated" in second.output and "defence" in anki.notes()["microglia-first-line"]["Answer"]
    assert len(backups(anki)) == 1
    assert (f"backup: none made (it only imports; the last backup, {backups(anki)[0]}, is 0 min old, within "
            "Anki's backup interval of 30 min)") in second.output


def test_a_push_backs_up_again_once_the_last_backup_is_older_than_ankis_interval(write_tree, deckbuild, anki,
                                                                                   tmp_path):
    cards = write_tree()
    set_backup_interval(anki, 5)
    push(deckbuild, cards, anki, tmp_path)
    old = backups(anki)[0]
    os.utime(old, (old.stat().st_atime, old.stat().st_mtime - 6 * 60))  # made six minutes ago

    result = push(deckbuild, cards, anki, tmp_path)

    assert result.exit_code == 0, result.output
    made = [p for p in backups(anki) if p != old]
    assert len(made) == 1 and f"backup: {made[0]}" in result.output


@pytest.mark.parametrize("change", ["delete", "move", "convert"])
def test_a_push_that_deletes_moves_or_converts_always_backs_up_first(imported, deckbuild, anki, tmp_path, change):
    push(deckbuild, imported, anki, tmp_path)  # a backup a moment ago
    before = backups(anki)
    deck = imported / "deck.yaml"
    text = deck.read_text()
    deck.write_text({"delete": text.replace(THIRD, ""),
                     "move": text.replace("deck: Test::Basics", "deck: Test::Moved"),
                     "convert": text.replace("question: A third?\n    answer: Yes, a third.",
                                             "cloze: \"A {{c1::third}}.\"")}[change])
    reviewed = anki.notes()["third-item"].cards()[0].id
    anki.answer(reviewed)

    result = push(deckbuild, imported, anki, tmp_path, "--yes")

    assert result.exit_code == 0, result.output
    made = [p for p in backups(anki) if p not in before]
    assert len(made) == 1 and f"backup: {made[0]}" in result.output
    # The backup holds the collection as it was before the push: the third note, its type and its review.
    col = restore_backup(made[0], tmp_path / "restored" / "collection.anki2")
    try:
        assert col.db.scalar("select count() from revlog where cid = ?", reviewed) == 1
        third = [n for n in map(col.get_note, col.find_notes("")) if n["Id"] == "third-item"]
        assert len(third) == 1 and third[0]["Question"] == "A third?"
        assert {col.decks.name(c.did) for c in third[0].cards()} == {"Test::Basics"}
    finally:
        col.close()


def restore_backup(colpkg: Path, target: Path):
    """An Anki backup (.colpkg) restored into a new collection, as Anki's Open Backup does; the open collection."""
    from anki._backend import RustBackend
    from anki.collection import Collection

    target.parent.mkdir(parents=True, exist_ok=True)
    RustBackend().import_collection_package(col_path=str(target), backup_path=str(colpkg),
                                            media_folder=str(target.parent / "collection.media"),
                                            media_db=str(target.parent / "collection.media.db2"))
    return Collection(str(target))


def test_a_backup_never_replaces_an_earlier_one_of_the_same_name(anki, tmp_path):
    from builder.collection.store import backup

    first = backup(anki.col, anki.path)
    kept = first.read_bytes()
    made = [backup(anki.col, anki.path) for _ in range(2)]  # within a second or so: Anki would reuse the name
    assert len({first, *made}) == 3 and first.read_bytes() == kept
    same = tmp_path / "elsewhere"
    same.mkdir()
    (same / first.name).write_bytes(b"a later backup under an earlier name")
    from builder.collection.store import _keep

    moved = _keep(same / first.name, first.parent)
    assert moved != first and first.read_bytes() == kept and moved.name.startswith(first.stem)
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".deckbuild-tmp-") and p.exists()
                and any(p.iterdir())]


def test_push_caches_like_build(write_tree, deckbuild, anki, tmp_path):
    cards = write_tree()
    assert push(deckbuild, cards, anki, tmp_path, "--cache-dir", tmp_path / "mine").exit_code == 0
    assert list((tmp_path / "mine").rglob("*.marshal"))
    assert push(deckbuild, cards, anki, tmp_path, "--no-cache").exit_code == 0


def test_builds_kind_switch_advice_points_to_push_which_keeps_reviews(write_tree, deckbuild, tmp_path):
    cards = write_tree()
    assert deckbuild("build", cards, "-o", tmp_path / "out.apkg").exit_code == 0
    deck = cards / "deck.yaml"
    deck.write_text(deck.read_text().replace(
        "    cloze: \"The word 'glia' literally means {{c1::glue}}.\"\n",
        "    question: What does 'glia' mean?\n    answer: Glue.\n"))
    result = deckbuild("build", cards, "-o", tmp_path / "out.apkg")
    line = next(line for line in result.output.splitlines() if line.startswith("changed kind: glia-means-glue"))
    assert "deckbuild push" in line and "keeps its reviews" in line and "delete" not in line


def test_a_deck_renamed_and_built_before_the_first_push_is_moved_too(write_tree, deckbuild, build_into_anki, anki,
                                                                     tmp_path):
    cards = write_tree()
    build_into_anki(cards)  # imported by hand: no push has placed these notes
    deck = cards / "deck.yaml"
    deck.write_text(deck.read_text().replace("deck: Test::Basics", "deck: Test::Renamed"))
    assert deckbuild("build", cards, "-o", tmp_path / "out.apkg").exit_code == 0

    result = push(deckbuild, cards, anki, tmp_path)

    assert "moved: glia-means-glue from Test::Basics to Test::Renamed" in result.output, result.output
    assert {anki.col.decks.name(c.did) for c in anki.cards()} == {"Test::Renamed"}
