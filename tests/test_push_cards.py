"""`push` leaves no card the build doesn't make: conversions map only card 1, other cards go only with --yes.

Real Anki throughout: reviews are made with Anki's scheduler, and `diff` must list exactly what
`push` then removes.
"""

from __future__ import annotations

import re

from pathlib import Path

from conftest import SOURCES

QA = "  - id: {id}\n    question: What is {id}?\n    answer: It is {id}.\n    source: dellwo-2022\n"
QA_REV = QA + "    reverse: true\n"
CLOZE = "  - id: {id}\n    cloze: \"{id} has {{{{c1::one}}}} and {{{{c2::two}}}}.\"\n    source: dellwo-2022\n"
CLOZE1 = "  - id: {id}\n    cloze: \"{id} has {{{{c1::one}}}} only.\"\n    source: dellwo-2022\n"

BEFORE = {"qa-to-cloze": QA_REV, "cloze-to-qa": CLOZE, "reverse-off": QA_REV, "cloze-shrinks": CLOZE,
          "steady": QA_REV, "qa-to-cloze2": QA}
AFTER = {"qa-to-cloze": CLOZE1, "cloze-to-qa": QA, "reverse-off": QA, "cloze-shrinks": CLOZE1,
         "steady": QA_REV, "qa-to-cloze2": CLOZE}
GONE = {("qa-to-cloze", "reverse"), ("cloze-to-qa", "c2"), ("reverse-off", "reverse"), ("cloze-shrinks", "c2")}


def tree(items: dict[str, str]) -> str:
    return "deck: Gen\ncards:\n" + "".join(template.format(id=i) for i, template in items.items())


def push(deckbuild, cards: Path, anki, tmp_path: Path, *args: object):
    anki.close()
    result = deckbuild("push", cards, "--collection", anki.path, "-o", tmp_path / "out.apkg", *args)
    anki.reopen()
    assert result.exit_code == 0, result.output
    return result


def reviews(anki) -> dict[int, int]:
    """Each card's number of reviews, by card id."""
    return dict(anki.col.db.all("select cid, count() from revlog group by cid"))


def ours(anki) -> dict:
    """deckbuild's notes, by their Id field."""
    notes = [anki.col.get_note(nid) for nid in anki.col.find_notes("")]
    return {note["Id"]: note for note in notes if "Id" in note}


def foreign_note(anki) -> int:
    """A note of Anki's own 'Basic (optional reversed card)' type, with an empty reverse card: not deckbuild's."""
    notetype = anki.col.models.by_name("Basic (optional reversed card)")
    note = anki.col.new_note(notetype)
    note["Front"], note["Back"] = "mine", "not deckbuild's"
    anki.col.add_note(note, anki.col.decks.id("Mine"))
    note["Add Reverse"] = "y"
    anki.col.update_note(note)
    note["Add Reverse"] = ""
    anki.col.update_note(note)  # its reverse card is now empty
    return note.id


def test_conversions_and_dropped_cards_leave_no_empty_card_and_lose_no_review(write_tree, deckbuild, anki,
                                                                            tmp_path):
    cards = write_tree({"deck.yaml": tree(BEFORE), "sources.yaml": SOURCES})
    push(deckbuild, cards, anki, tmp_path)
    for card in anki.cards():
        anki.answer(card.id)
    mine = foreign_note(anki)
    empty_before = {c for entry in anki.col.get_empty_cards().notes for c in entry.card_ids}
    assert empty_before and all(anki.col.get_card(c).nid == mine for c in empty_before)
    names = {card.id: (card.note()["Id"] if "Id" in card.note() else "",
                       card.template()["name"], card.ord) for card in anki.cards()}
    history = reviews(anki)
    (cards / "deck.yaml").write_text(tree(AFTER))

    anki.close()
    predicted = deckbuild("diff", cards, "--collection", anki.path)
    anki.reopen()
    assert predicted.exit_code == 0, predicted.output
    listed = {tuple(line.split(" ")[2:4]) for line in predicted.output.splitlines() if line.startswith("remove card:")}
    assert listed == GONE
    assert {line.split()[1] for line in predicted.output.splitlines() if line.startswith("convert:")} == {
        "qa-to-cloze", "cloze-to-qa", "qa-to-cloze2"}

    timid = push(deckbuild, cards, anki, tmp_path)  # no --yes, no terminal: nothing with reviews goes
    assert reviews(anki) == history
    assert {tuple(line.split(" ")[3:5]) for line in timid.output.splitlines()
            if line.startswith("not removed:")} == GONE
    assert "qa-to-cloze2 from deckbuild Q/A to deckbuild Cloze" in timid.output  # nothing lost: converted

    result = push(deckbuild, cards, anki, tmp_path, "--yes")
    removed = {tuple(line.split(" ")[2:4]) for line in result.output.splitlines() if line.startswith("removed card:")}
    assert removed == GONE
    notes = ours(anki)
    assert {i: notes[i].note_type()["name"] for i in AFTER} == {
        i: "deckbuild Cloze" if "cloze:" in t else "deckbuild Q/A" for i, t in AFTER.items()}
    expected = {"qa-to-cloze": 1, "cloze-to-qa": 1, "reverse-off": 1, "cloze-shrinks": 1, "steady": 2,
                "qa-to-cloze2": 2}
    assert {i: len(notes[i].cards()) for i in AFTER} == expected
    empty = {c for entry in anki.col.get_empty_cards().notes for c in entry.card_ids}
    assert empty == empty_before  # none of deckbuild's; the user's own note's empty card untouched
    after = reviews(anki)
    surviving = {card.id for card in anki.cards()}
    assert {cid: n for cid, n in history.items() if cid in surviving} == {cid: after[cid] for cid in surviving
                                                                          if cid in history}
    gone = set(history) - surviving
    assert {(names[c][0], "reverse" if names[c][1].startswith("Answer") else f"c{names[c][2] + 1}")
            for c in gone} == GONE
    # Card 1 of every converted note is the same card, with its history.
    for item_id in ("qa-to-cloze", "cloze-to-qa"):
        first = [c for c, (i, _, o) in names.items() if i == item_id and o == 0][0]
        assert first in surviving and after[first] == history[first]
    assert notes["qa-to-cloze"]["Text"] == "qa-to-cloze has {{c1::one}} only."

    anki.close()
    quiet = deckbuild("diff", cards, "--collection", anki.path)
    anki.reopen()
    assert not [line for line in quiet.output.splitlines() if line.startswith(("remove card:", "convert:"))]
    again = push(deckbuild, cards, anki, tmp_path, "--yes")
    assert "0 converted, 0 moved, 0 deleted, 0 cards removed" in again.output


def test_the_shipped_deck_loop_cloze_to_qa_leaves_exactly_the_decks_cards(deckbuild, anki, tmp_path):
    import shutil

    cards = shutil.copytree(Path(__file__).resolve().parent.parent / "cards", tmp_path / "cards")
    deck = cards / "microglia.yaml"
    two = '    cloze: "The central nervous system (CNS) consists of the {{c1::brain}} and the {{c2::spinal cord}}."\n'
    # The loop starts from the item as the second edition had it: a cloze of two deletions, c1 and c2.
    deck.write_text(re.sub(r'(  - id: cns-components\n(?:    #.*\n)*)    cloze: .*\n', lambda m: m[1] + two,
                           deck.read_text(), count=1))
    assert two in deck.read_text()
    first = push(deckbuild, cards, anki, tmp_path)
    total = int(first.output.split(" cards ")[0].split()[-1])
    assert len(anki.cards()) == total
    component = ours(anki)["cns-components"]
    c1, c2 = sorted(component.cards(), key=lambda c: c.ord)
    anki.answer(c1.id), anki.answer(c2.id)
    deck.write_text(deck.read_text().replace(
        '    cloze: "The central nervous system (CNS) consists of the {{c1::brain}} and the {{c2::spinal cord}}."\n',
        "    question: What does the central nervous system (CNS) consist of?\n"
        "    answer: The brain and the spinal cord.\n"))

    anki.close()
    predicted = deckbuild("diff", cards, "--collection", anki.path)
    anki.reopen()
    assert "remove card: cns-components c2 (1 review; the build no longer makes it; push --yes removes it)" \
        in predicted.output
    result = push(deckbuild, cards, anki, tmp_path, "--yes")

    assert "converted: cns-components from deckbuild Cloze to deckbuild Q/A (reviews kept)" in result.output
    assert "removed card: cns-components c2 (1 review)" in result.output
    assert len(anki.cards()) == total - 1
    assert not anki.col.get_empty_cards().notes
    after = ours(anki)["cns-components"]
    assert [(c.id, c.reps) for c in after.cards()] == [(c1.id, 1)]
    assert after["Question"] == "What does the central nervous system (CNS) consist of?"
