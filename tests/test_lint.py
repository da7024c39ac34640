"""`deckbuild check`: card-quality lint on top of validation, and quote verification."""

from __future__ import annotations

import pytest

ARTICLE = "Microglia are tiny cells. They’re the “first line” of defense — in the CNS.\n"


def card(body: str, *, cid: str = "c1") -> str:
    """A deck file with one item whose keys are `body` (indented YAML lines)."""
    lines = "".join(f"    {line}\n" for line in body.strip().splitlines())
    return f"deck: T\ncards:\n  - id: {cid}\n{lines}"


def line_of(text: str, start: str) -> int:
    """The 1-based line of `text` whose stripped form starts with `start`."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.strip().startswith(start))


SOURCES = "src:\n  title: S\n  text: article.txt\n"


def run_check(write_tree, deckbuild, deck: str, *extra: str, sources: str = SOURCES):
    cards = write_tree({"deck.yaml": deck}, sources=sources)
    (cards / "article.txt").write_text(ARTICLE, encoding="utf-8")
    return cards, deckbuild("check", cards, *extra)


QUOTED = 'source: src\nquote: "Microglia are tiny cells"\n'


@pytest.mark.parametrize("rule, body, key", [
    ("long-answer", "question: Q?\nanswer: " + " ".join(["word"] * 16), "answer"),
    ("long-question", "question: " + " ".join(["word"] * 31) + "?\nanswer: A", "question"),
    ("long-question", "cloze: '{{c1::" + " ".join(["word"] * 31) + "}}'", "cloze"),
    ("enumeration", "question: Q?\nanswer: 'a, b; c, d'", "answer"),
    ("enumeration", "question: Q?\nanswer: \"- a\\n- b\\n- c\\n- d\"", "answer"),
    ("yes-no", "question: Are they small?\nanswer: Yes.", "answer"),
    ("yes-no", "question: Is it so?\nanswer: 'False'", "answer"),
    ("compound-question", "question: What are they? Where are they?\nanswer: A", "question"),
    ("multi-blank", "cloze: '{{c1::a}} and {{c1::b}}'", "cloze"),
])
def test_each_rule_warns_at_the_line_of_the_field(write_tree, deckbuild, rule, body, key):
    deck = card(body + "\n" + QUOTED)
    cards, result = run_check(write_tree, deckbuild, deck)
    line = line_of(deck, f"{key}:")
    assert f"{cards}/deck.yaml:{line}: warning [{rule}] " in result.output
    assert result.exit_code == 0


def test_a_clean_card_has_no_warnings(write_tree, deckbuild):
    _, result = run_check(write_tree, deckbuild, card("question: What are microglia?\nanswer: Tiny cells.\n" + QUOTED))
    assert "warning [" not in result.output
    assert result.exit_code == 0


def test_three_items_are_not_an_enumeration(write_tree, deckbuild):
    _, result = run_check(write_tree, deckbuild, card("question: Q?\nanswer: a, b and c\n" + QUOTED))
    assert "[enumeration]" not in result.output


def test_allow_silences_a_rule_for_that_item_only(write_tree, deckbuild):
    deck = card("question: Is it?\nanswer: 'Yes'\nallow: [yes-no]\n" + QUOTED) + \
        "  - id: c2\n    question: Was it?\n    answer: 'No'\n    " + QUOTED.replace("\n", "\n    ")
    _, result = run_check(write_tree, deckbuild, deck)
    assert result.output.count("[yes-no]") == 1
    no_line = line_of(deck, "answer: 'No'")
    assert f":{no_line}: warning [yes-no]" in result.output


def test_strict_turns_warnings_into_failure(write_tree, deckbuild):
    deck = card("question: Q?\nanswer: 'yes'\n" + QUOTED)
    assert run_check(write_tree, deckbuild, deck)[1].exit_code == 0
    assert run_check(write_tree, deckbuild, deck, "--strict")[1].exit_code == 1


def test_errors_always_fail(write_tree, deckbuild):
    _, result = run_check(write_tree, deckbuild, card("question: Q?\n" + QUOTED))
    assert result.exit_code == 1


def test_duplicate_questions_name_both_places(write_tree, deckbuild):
    deck = card("question: What are **microglia**?\nanswer: A\n" + QUOTED) + \
        "  - id: c2\n    question: '  what are   microglia?'\n    answer: B\n    " + QUOTED.replace("\n", "\n    ")
    cards, result = run_check(write_tree, deckbuild, deck)
    second, first = line_of(deck, "question: '  what"), line_of(deck, "question: What")
    assert f"{cards}/deck.yaml:{second}: warning [duplicate-question] same question as {cards}/deck.yaml:{first} (c1)" \
        in result.output


def test_missing_quote_and_unused_source(write_tree, deckbuild):
    sources = SOURCES + "unused:\n  title: Nobody cites me\n"
    cards, result = run_check(write_tree, deckbuild, card("question: Q?\nanswer: A\nsource: src"), sources=sources)
    assert f"{cards}/deck.yaml:3: warning [no-quote]" in result.output
    assert f"{cards}/sources.yaml:4: warning [unused-source] source 'unused' is not cited" in result.output


@pytest.mark.parametrize("quote, found", [
    ("Microglia are tiny cells", True),
    ("MICROGLIA   are\ntiny cells", True),
    ("They're the \"first line\" of defense - in the CNS", True),
    ("Microglia are huge cells", False),
])
def test_quotes_are_verified_against_the_source_text(write_tree, deckbuild, quote, found):
    deck = card("question: Q?\nanswer: A\nsource: src\nquote: " + repr(quote).replace("\\n", "\n"))
    _, result = run_check(write_tree, deckbuild, deck)
    assert ("[quote-not-found]" in result.output) is not found


def test_a_missing_text_file_is_one_note_and_strict_still_passes(write_tree, deckbuild):
    sources = "src:\n  title: S\n  text: nowhere.txt\n"
    deck = card("question: What are microglia?\nanswer: Tiny cells.\n" + QUOTED) + \
        "  - id: c2\n    question: How big are microglia?\n    answer: Tiny.\n    " + QUOTED.replace("\n", "\n    ")
    cards, result = run_check(write_tree, deckbuild, deck, "--strict", sources=sources)
    assert f"{cards}/sources.yaml:1: note: text file '{cards}/nowhere.txt' of source 'src' is not found; " \
        "its quotes were not verified" in result.output
    assert result.output.count("nowhere.txt") == 1 and "warning [" not in result.output
    assert result.exit_code == 0, result.output
    summary = result.output.splitlines()[-1]  # says what the text is and where it comes from
    assert summary.startswith("2 notes checked, 0 warnings. 1 source text not found")
    assert "`url` in sources.yaml" in summary and "`text:` path" in summary


def test_check_writes_nothing(write_tree, deckbuild, tmp_path):
    cards, result = run_check(write_tree, deckbuild, card("question: Q?\nanswer: A\n" + QUOTED))
    assert result.exit_code == 0
    assert sorted(p.name for p in cards.iterdir()) == ["article.txt", "deck.yaml", "sources.yaml"]
