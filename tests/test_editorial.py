"""`deckbuild check`'s editorial rules: each fires on a planted defect and stays quiet on a good card."""

from __future__ import annotations

import re
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ART = ("Microglia are tiny cells in the brain.\n"
       "Some researchers hypothesize that certain molecules may get microglia stirred up.\n"
       "A 2014 study suggests that spinal microglia may be responsible, at least in part, for pain.\n"
       "Brain scans show neuroinflammation.\n"
       "Christie and colleagues found that glia hold neurons together.\n"
       "Further reading: Glue of the brain.\n")
OTHER = "People with fibromyalgia have a bigger-than-normal reaction to painful sensations.\n"
SOURCES = """\
art:
  title: The article
  text: art.txt
other:
  title: The other article
  text: other.txt
paper:
  title: Spinal microglia and pain
  author: Yasui M, et al.
  date: 2014-09
  via: art
christie:
  title: Glia at work
  author: Graeber MB, Christie MJ
  via: art
titled:
  title: Glue of the Brain
  via: art
loose:
  title: A paper with no text
"""
WARNING = re.compile(r"^(.*?):(\d+): warning \[([a-z-]+)\] (.*)$", re.M)


def deck(*items: str, name: str = "T") -> str:
    """A deck file with items given as YAML blocks (`id` first); every source key is cited somewhere."""
    body = "".join("  - " + textwrap.indent(textwrap.dedent(item).strip(), "    ")[4:] + "\n" for item in items)
    return f"deck: {name}\ncards:\n{body}"


def findings(write_tree, deckbuild, *files: str) -> list[tuple[str, int, str, str]]:
    """(file, line, rule, message) of every warning `check` prints for these deck files."""
    tree = {f"d{n}.yaml": text for n, text in enumerate(files)}
    # One card citing every source, so unused-source stays out of the way.
    tree["zz.yaml"] = deck("""
        id: cites-all
        question: What are microglia?
        answer: Tiny cells in the brain.
        source: [art, loose, other]
        quote: "Microglia are tiny cells"
        allow: [citation-unsupported]
        """, name="Z")
    cards = write_tree(tree, sources=SOURCES)
    (cards / "art.txt").write_text(ART, encoding="utf-8")
    (cards / "other.txt").write_text(OTHER, encoding="utf-8")
    result = deckbuild("check", cards)
    assert result.exit_code == 0, result.output
    return [(m[1].removeprefix(f"{cards}/"), int(m[2]), m[3], m[4]) for m in WARNING.finditer(result.output)]


def rules(found) -> list[str]:
    return sorted(rule for _, _, rule, _ in found)


GOOD = """
    id: good
    question: What does a 2014 study suggest may be responsible, at least in part, for pain?
    answer: Spinal microglia.
    source: [art, paper]
    quote: "A 2014 study suggests that spinal microglia may be responsible, at least in part, for pain"
    """


def test_a_good_card_citing_an_article_and_a_paper_it_lists_is_clean(write_tree, deckbuild):
    assert findings(write_tree, deckbuild, deck(GOOD)) == []


# --- citation-unsupported / quote-not-found -----------------------------------------------------------


def test_every_cited_text_must_contain_the_quote(write_tree, deckbuild):
    found = findings(write_tree, deckbuild, deck("""
        id: wrong-article
        question: How do people with fibromyalgia react to painful sensations?
        answer: With a bigger-than-normal reaction.
        source: [other, art]
        quote: "a bigger-than-normal reaction to painful sensations"
        """))
    assert found == [("d0.yaml", 6, "citation-unsupported",
                      "cites 'art', but its text art.txt does not contain the quote; cite only the sources that say it")]


def test_a_paper_is_checked_against_the_article_that_lists_it(write_tree, deckbuild):
    found = findings(write_tree, deckbuild, deck("""
        id: paper-for-other-fact
        question: How do people with fibromyalgia react to painful sensations?
        answer: With a bigger-than-normal reaction.
        source: [other, paper]
        quote: "a bigger-than-normal reaction to painful sensations"
        """))
    assert rules(found) == ["citation-unsupported"]
    assert "cites 'paper', but its text art.txt (through 'via: art') does not contain the quote" in found[0][3]


def test_a_listed_paper_is_cited_only_where_the_sentence_names_it(write_tree, deckbuild):
    found = findings(write_tree, deckbuild, deck("""
        id: paper-not-named-here
        question: What do brain scans show?
        answer: Neuroinflammation.
        source: [art, paper]
        quote: "Brain scans show neuroinflammation."
        """))
    assert [(line, rule) for _, line, rule, _ in found] == [(6, "citation-unsupported")]
    assert found[0][3] == ("cites 'paper', but the sentence of art.txt this quote comes from names neither its authors, "
                           "its year nor its title; cite 'paper' only where 'art' ties the fact to it")


def test_a_sentence_naming_the_paper_by_author_or_title_supports_it(write_tree, deckbuild):
    assert findings(write_tree, deckbuild, deck("""
        id: by-author
        question: What do glia hold together?
        answer: Neurons.
        source: [art, christie]
        quote: "glia hold neurons together"
        """, """
        id: by-title
        question: What further reading does the article give?
        answer: Glue of the brain.
        source: titled
        quote: "Glue of the brain"
        """)) == []


def test_a_source_without_text_is_not_checked(write_tree, deckbuild):
    assert findings(write_tree, deckbuild, deck("""
        id: loose-paper
        question: What do brain scans show?
        answer: Neuroinflammation.
        source: [art, loose]
        quote: "Brain scans show neuroinflammation."
        """)) == []


def test_a_quote_in_none_of_the_texts_is_quote_not_found_only(write_tree, deckbuild):
    found = findings(write_tree, deckbuild, deck("""
        id: misquoted
        question: What do brain scans show?
        answer: Neuroinflammation.
        source: [art, other]
        quote: "Brain scans prove neuroinflammation."
        """))
    assert [(line, rule, message) for _, line, rule, message in found] == \
        [(7, "quote-not-found", "quote not found in art.txt, other.txt")]


def test_allow_silences_a_new_rule(write_tree, deckbuild):
    assert findings(write_tree, deckbuild, deck("""
        id: wrong-article
        question: How do people with fibromyalgia react to painful sensations?
        answer: With a bigger-than-normal reaction.
        source: [other, art]
        quote: "a bigger-than-normal reaction to painful sensations"
        allow: [citation-unsupported]
        """)) == []


# --- hedge-dropped ------------------------------------------------------------------------------------


@pytest.mark.parametrize("card, dropped", [
    ("""
     id: hedge-gone
     question: What do researchers hypothesize gets microglia stirred up?
     answer: Certain molecules.
     source: art
     quote: "Some researchers hypothesize that certain molecules may get microglia stirred up"
     """, "('some researchers', 'may')"),
    ("""
     id: study-shows
     question: What did Yasui et al. show is responsible for pain?
     answer: Spinal microglia.
     source: art
     quote: "A 2014 study suggests that spinal microglia may be responsible, at least in part, for pain"
     """, "('suggests', 'may', 'at least in part')"),
    ("""
     id: cloze-hedge-gone
     cloze: "A 2014 study suggests that {{c1::spinal microglia}} are responsible for pain."
     source: art
     quote: "A 2014 study suggests that spinal microglia may be responsible, at least in part, for pain"
     """, "('may', 'at least in part')"),
])
def test_a_dropped_hedge_is_named(write_tree, deckbuild, card, dropped):
    found = findings(write_tree, deckbuild, deck(card))
    assert [(line, rule) for _, line, rule, _ in found] == [(4, "hedge-dropped")]
    assert found[0][3].startswith(f"the quote hedges {dropped} but the card states it without that hedge")


def test_a_hedge_kept_in_other_words_or_in_the_extra_is_kept(write_tree, deckbuild):
    assert findings(write_tree, deckbuild, deck("""
        id: kept-in-extra
        question: What are spinal microglia responsible for, at least in part?
        answer: Pain.
        extra: A 2014 study suggests it; they might be.
        source: art
        quote: "A 2014 study suggests that spinal microglia may be responsible, at least in part, for pain"
        """, """
        id: no-hedge-to-keep
        question: How big are microglia?
        answer: Tiny.
        source: art
        quote: "Microglia are tiny cells in the brain."
        """)) == []


# --- answer-in-question -------------------------------------------------------------------------------


@pytest.mark.parametrize("card, line", [
    ("""
     id: given-away
     question: What do brain scans show about neuroinflammation?
     answer: "**Neuroinflammation**."
     source: art
     quote: "Brain scans show neuroinflammation."
     """, 5),
    ("""
     id: cloze-given-away
     cloze: "Brain {{c1::scans}} show neuroinflammation in scans of the brain."
     source: art
     quote: "Brain scans show neuroinflammation."
     """, 4),
    ("""
     id: hint-gives-it-away
     cloze: "Microglia are {{c1::tiny::tiny}} cells in the brain."
     source: art
     quote: "Microglia are tiny cells in the brain."
     """, 4),
    ("""
     id: reverse-given-away
     question: Tiny cells
     answer: Microglia, the tiny cells.
     reverse: true
     source: art
     quote: "Microglia are tiny cells in the brain."
     """, 5),
])
def test_an_answer_the_question_already_gives_is_flagged(write_tree, deckbuild, card, line):
    found = findings(write_tree, deckbuild, deck(card))
    assert [(place_line, rule) for _, place_line, rule, _ in found] == [(line, "answer-in-question")]


def test_an_answer_naming_only_the_subject_and_new_words_is_fine(write_tree, deckbuild):
    assert findings(write_tree, deckbuild, deck("""
        id: subject-in-answer
        question: What do brain scans show in microglia research?
        answer: Microglia neuroinflammation.
        source: art
        quote: "Brain scans show neuroinflammation."
        """, """
        id: long-answer-repeats
        question: What are microglia, the tiny cells in the brain that stir up?
        answer: Microglia are the tiny cells in the brain that stir up.
        source: art
        quote: "Microglia are tiny cells in the brain."
        """, GOOD, name="Microglia")) == []


# --- shared-answer ------------------------------------------------------------------------------------

SCANS = """
    id: {id}
    question: {question}
    answer: {answer}
    source: art
    quote: "Brain scans show neuroinflammation."
    """


def scans(n: int, answer: str = '"**Neuroinflammation**."') -> list[str]:
    questions = ["What do brain scans show?", "Which inflammation do scans find in the brain?",
                 "What is the likely suspect behind brain scan findings?"]
    return [SCANS.format(id=f"scan-{i}", question=questions[i], answer=answer) for i in range(n)]


def test_three_items_with_one_answer_are_named_at_the_first(write_tree, deckbuild):
    cloze = """
        id: scan-cloze
        cloze: "Brain scans show {{c1::neuroinflammation}}."
        source: art
        quote: "Brain scans show neuroinflammation."
        """
    found = findings(write_tree, deckbuild, deck(*scans(2), cloze))
    assert [(f, line, rule) for f, line, rule, _ in found] == [("d0.yaml", 5, "shared-answer")]
    assert found[0][3].startswith("3 items have the answer 'neuroinflammation': scan-0 (")
    assert all(f"{name} (" in found[0][3] for name in ("scan-1", "scan-cloze"))
    assert re.search(r"scan-cloze \(\S+/d0\.yaml:14\)", found[0][3])


def test_two_shared_answers_or_an_allowed_third_are_fine(write_tree, deckbuild):
    assert findings(write_tree, deckbuild, deck(*scans(2))) == []
    allowed = scans(3)
    allowed[2] += "allow: [shared-answer]\n"
    assert findings(write_tree, deckbuild, deck(*allowed)) == []


def test_shared_answers_in_different_top_level_decks_are_fine(write_tree, deckbuild):
    first, second, third = scans(3)
    assert findings(write_tree, deckbuild, deck(first, second, name="A::X"), deck(third, name="B")) == []


# --- binary-choice -----------------------------------------------------------------------------------


def test_an_either_or_question_answered_by_one_option_is_flagged(write_tree, deckbuild):
    found = findings(write_tree, deckbuild, deck("""
        id: smaller-or-larger
        question: Are microglia tiny or large cells?
        answer: Tiny cells.
        source: art
        quote: "Microglia are tiny cells in the brain."
        """))
    assert [(line, rule) for _, line, rule, _ in found] == [(4, "binary-choice")]
    assert "'tiny' or 'large'" in found[0][3]


def test_or_in_a_question_asking_for_something_else_is_fine(write_tree, deckbuild):
    assert findings(write_tree, deckbuild, deck("""
        id: open-or
        question: Which cells in the brain or spinal cord are tiny?
        answer: Microglia.
        source: art
        quote: "Microglia are tiny cells in the brain."
        """, """
        id: neither
        question: Are microglia large or huge?
        answer: Neither; they are tiny cells.
        source: art
        quote: "Microglia are tiny cells in the brain."
        """)) == []


# --- quote-unrelated ---------------------------------------------------------------------------------


def test_a_quote_from_the_wrong_place_is_flagged(write_tree, deckbuild):
    found = findings(write_tree, deckbuild, deck("""
        id: pasted-wrong
        question: How big are microglia?
        answer: Tiny.
        source: art
        quote: "Brain scans show neuroinflammation."
        """))
    assert [(line, rule) for _, line, rule, _ in found] == [(7, "quote-unrelated")]


def test_a_quote_sharing_a_word_in_another_form_is_related(write_tree, deckbuild):
    assert findings(write_tree, deckbuild, deck("""
        id: scanning
        question: What does scanning the head reveal?
        answer: Inflammation of nerve tissue.
        source: art
        quote: "Brain scans show neuroinflammation."
        """)) == []


@settings(max_examples=400, deadline=None)
@given(text=st.lists(st.sampled_from(["may", "might", "could", "suggests", "hypothesise", "possibly", "likely",
                                      "probably", "seems", "appeared", "believed", "some", "researchers", "at",
                                      "least", "in", "part", "models", "model", "mayor", "could've", " ", "-", "_",
                                      "x", "é", "1"]), max_size=12).map("".join))
def test_a_hedge_pattern_finds_only_text_with_one_of_its_quick_words(text):
    from builder.checking import editorial

    assert len(editorial._HEDGE_WORDS) == len(editorial.HEDGES)
    for (_, pattern), words in zip(editorial.HEDGES, editorial._HEDGE_WORDS):
        if pattern.search(text):
            assert any(word in text for word in words), (text, words)
