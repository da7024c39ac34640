"""The deck deckbuild ships: builds cleanly, imports cleanly, and every card carries its source."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from builder.commands.lint import check
from conftest import log_counts, visible_text

CARDS = Path(__file__).resolve().parent.parent / "cards"
SUBDECKS = ("Fibromyalgia::Microglia", "Fibromyalgia::Pain types", "Fibromyalgia::Mechanisms")


@pytest.fixture(scope="module")
def items() -> list[dict]:
    """Every item of the shipped deck files, read with plain PyYAML (an oracle independent of deckbuild)."""
    found = []
    for path in sorted(CARDS.rglob("*.yaml")):
        if path.name != "sources.yaml":
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            found += [{**item, "deck": data["deck"]} for item in data["cards"]]
    return found


def test_every_item_has_a_source_and_a_quote_and_a_unique_id(items):
    assert all(item.get("source") and item.get("quote") for item in items)
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids))


def test_each_subdeck_has_cards(items):
    assert {item["deck"] for item in items} == set(SUBDECKS)


def test_it_imports_cleanly_and_every_back_shows_its_citation(items, deckbuild, anki, tmp_path):
    cards = shutil.copytree(CARDS, tmp_path / "cards")
    out = tmp_path / "deck.apkg"
    result = deckbuild("build", cards, "-o", out)
    assert result.exit_code == 0, result.output
    log = anki.import_apkg(out)
    assert log_counts(log) == {"new": len(items), "updated": 0, "duplicate": 0, "conflicting": 0}
    bibliography = yaml.safe_load((CARDS / "sources.yaml").read_text(encoding="utf-8"))
    by_id = {item["id"]: item for item in items}
    decks = set()
    for card in anki.cards():
        note = card.note()
        item = by_id[note["Id"]]
        back = visible_text(card.answer())
        keys = [item["source"]] if isinstance(item["source"], str) else item["source"]
        for key in keys:
            assert visible_text(bibliography[key]["title"]) in back
        assert " ".join(item["quote"].split()) in back
        decks.add(anki.col.decks.name(card.did))
    assert decks == set(SUBDECKS)


# The defects of /work/shared/reviews/deck-review-1.md that `check`'s editorial rules catch, as (rule, item id).
# The deck's revision removes them; until it lands, check may report these and nothing else.
REVIEWED_DEFECTS = {
    ("shared-answer", "fibromyalgia-likely-suspect"),
    ("hedge-dropped", "genetics-microglia-spine"),
    ("citation-unsupported", "fibromyalgia-bigger-pain-reaction"),
    ("citation-unsupported", "fibromyalgia-heat-cold-pain"),
}


def test_check_is_clean_including_quotes_against_the_articles():
    if not (CARDS.parent.parent / "shared" / "sources").is_dir():
        pytest.skip("the source articles (../shared/sources) are not beside this checkout")
    compiled = check(cards_dir=CARDS)
    at = {(item.path, item.line): item.id for item in compiled.tree.items}

    def item_of(problem) -> str | None:
        lines = [line for path, line in at if path == problem.path and line <= problem.line]
        return at[problem.path, max(lines)] if lines else None
    assert {(problem.rule, item_of(problem)) for problem in compiled.problems} <= REVIEWED_DEFECTS
