"""The edit → rebuild → re-import loop, checked through the real Anki importer."""

from __future__ import annotations

import json

import pytest

from builder.pipeline import notetypes
from conftest import DECK, log_counts, visible_text


@pytest.fixture
def loop(write_tree, deckbuild, anki, tmp_path):
    """Build a tree, import it, and give back helpers to edit, rebuild and re-import."""
    class Loop:
        cards = write_tree()
        out = tmp_path / "out.apkg"

        def edit(self, old: str, new: str, name: str = "deck.yaml") -> None:
            path = self.cards / name
            text = path.read_text()
            assert old in text
            path.write_text(text.replace(old, new))

        def rebuild(self):
            result = deckbuild("build", self.cards, "-o", self.out)
            assert result.exit_code == 0, result.output
            return result

        def reimport(self):
            self.rebuild()
            return log_counts(anki.import_apkg(self.out))

    loop = Loop()
    loop.rebuild()
    assert log_counts(anki.import_apkg(loop.out))["new"] == 2
    return loop


def test_editing_text_updates_in_place_and_keeps_review_history(loop, anki):
    first = next(c for c in anki.cards() if anki.col.get_note(c.nid)["Id"] == "microglia-first-line")
    anki.answer(first.id)
    assert anki.col.db.scalar("select count() from revlog where cid = ?", first.id) == 1
    loop.edit("first line of defense**", "very first line of defense**")
    loop.edit("tags: [immune]", "tags: [immune, edited]")
    assert loop.reimport() == {"new": 0, "updated": 1, "duplicate": 1, "conflicting": 0}
    note = anki.notes()["microglia-first-line"]
    assert "very first line" in note["Answer"]
    assert "edited" in note.tags
    assert len(anki.cards()) == 2
    assert anki.col.db.scalar("select count() from revlog where cid = ?", first.id) == 1
    assert anki.col.get_card(first.id).reps == 1


def test_new_items_are_added_and_nothing_duplicates(loop, anki):
    with (loop.cards / "deck.yaml").open("a") as f:
        f.write("  - id: brand-new\n    question: New?\n    answer: Added.\n    source: dellwo-2022\n")
    assert loop.reimport() == {"new": 1, "updated": 0, "duplicate": 2, "conflicting": 0}
    assert sorted(anki.notes()) == ["brand-new", "glia-means-glue", "microglia-first-line"]


def test_unchanged_rebuild_updates_nothing_so_edits_in_anki_survive(loop, anki):
    note = anki.notes()["glia-means-glue"]
    note["Extra"] = "my own note, typed in Anki"
    anki.col.update_note(note)
    assert loop.reimport() == {"new": 0, "updated": 0, "duplicate": 2, "conflicting": 0}
    assert anki.notes()["glia-means-glue"]["Extra"] == "my own note, typed in Anki"


def test_only_changed_items_get_a_newer_mod(loop):
    before = json.loads((loop.cards / "deckbuild-state.json").read_text())["items"]
    loop.edit("literally means", "means")
    loop.rebuild()
    after = json.loads((loop.cards / "deckbuild-state.json").read_text())["items"]
    assert after["microglia-first-line"] == before["microglia-first-line"]
    assert after["glia-means-glue"]["mod"] > before["glia-means-glue"]["mod"]
    assert after["glia-means-glue"]["nid"] == before["glia-means-glue"]["nid"]


@pytest.mark.parametrize("old, new", [
    ("    tags: [immune]", "    tags: [immune]\n    reverse: true"),
    ("    tags: [immune]", "    tags: [immune]\n    extra: Some *background*."),
])
def test_reverse_and_extra_keep_the_note_type(loop, anki, old, new):
    loop.edit(old, new)
    assert loop.reimport() == {"new": 0, "updated": 1, "duplicate": 1, "conflicting": 0}
    names = {m.name for m in anki.col.models.all_names_and_ids()}
    assert sum(name.startswith("deckbuild") for name in names) == 2
    loop.edit(new, old)
    assert loop.reimport() == {"new": 0, "updated": 1, "duplicate": 1, "conflicting": 0}


def test_turning_reverse_on_adds_a_card_to_the_same_note(loop, anki):
    note_before = anki.notes()["microglia-first-line"]
    loop.edit("    tags: [immune]", "    tags: [immune]\n    reverse: true")
    loop.reimport()
    note = anki.notes()["microglia-first-line"]
    assert note.id == note_before.id and note.mid == notetypes.QA_ID
    fronts = sorted(visible_text(c.question()) for c in note.cards())
    assert fronts == ["They are its first line of defense.", "What role do microglia play in the CNS immune system?"]


def test_template_changes_reach_users(loop, anki, monkeypatch):
    changed = notetypes.QA.__class__(**{
        **{f: getattr(notetypes.QA, f) for f in notetypes.QA.__dataclass_fields__},
        "css": notetypes.CSS + "\n.card { border: 1px solid red; }",
    })
    monkeypatch.setitem(notetypes.NOTETYPES, "qa", changed)
    loop.reimport()
    anki.reopen()
    assert "border: 1px solid red" in anki.col.models.get(notetypes.QA_ID)["css"]
    assert len([m for m in anki.col.models.all_names_and_ids() if m.name.startswith("deckbuild")]) == 2


def test_summary_reports_new_changed_removed_and_moved(loop, deckbuild):
    loop.edit("deck: Test::Basics", "deck: Test::Moved")
    text = (loop.cards / "deck.yaml").read_text()
    (loop.cards / "deck.yaml").write_text(text.split("  - id: glia-means-glue")[0] + (
        "  - id: added\n    question: Q?\n    answer: A.\n    source: dellwo-2022\n"))
    result = loop.rebuild()
    lines = result.output.splitlines()
    assert lines[0].startswith("2 notes, 2 cards (1 new, 0 changed, 1 unchanged, 1 removed) → ")
    assert any(line.startswith("removed: glia-means-glue") and "delete" in line for line in lines)
    assert any(line.startswith("moved: microglia-first-line from Test::Basics to Test::Moved")
               and "Change Deck" in line for line in lines)


def test_reimport_never_moves_cards_so_the_summary_says_how(loop, anki):
    loop.edit("deck: Test::Basics", "deck: Test::Elsewhere")
    loop.reimport()
    assert {anki.col.decks.name(c.did) for c in anki.cards()} == {"Test::Basics"}


def test_guid_depends_on_id_alone(write_tree, deckbuild, anki, tmp_path):
    first, second = tmp_path / "1.apkg", tmp_path / "2.apkg"
    deckbuild("build", write_tree(), "-o", first)
    deckbuild("build", write_tree({"deck.yaml": DECK.replace("Test::Basics", "Other").replace(
        "What role", "Which role").replace("tags: [immune]", "tags: [x]")}, root="copy"), "-o", second)
    anki.import_apkg(first)
    guids = {n["Id"]: n.guid for n in anki.notes().values()}
    anki.import_apkg(second)
    assert {n["Id"]: n.guid for n in anki.notes().values()} == guids
    assert len(anki.notes()) == 2
