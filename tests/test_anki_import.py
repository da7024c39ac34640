"""A built .apkg imported into a fresh, real Anki collection: cards, decks, tags, sources."""

from __future__ import annotations

from conftest import log_counts, visible_text


def test_question_answer_and_cloze_make_one_note_each(build_into_anki, write_tree, anki):
    cards = write_tree()
    log = build_into_anki(cards)
    assert log_counts(log) == {"new": 2, "updated": 0, "duplicate": 0, "conflicting": 0}
    notes = anki.notes()
    assert set(notes) == {"microglia-first-line", "glia-means-glue"}
    assert len(anki.cards()) == 2


def test_reverse_adds_a_second_card(build_into_anki, write_tree, anki):
    cards = write_tree({"d.yaml": """\
        deck: T
        cards:
          - id: term
            question: Allodynia
            answer: Pain from a stimulus that is not normally painful
            source: dellwo-2022
            reverse: true
        """})
    build_into_anki(cards)
    fronts = sorted(visible_text(card.question()) for card in anki.cards())
    assert fronts == ["Allodynia", "Pain from a stimulus that is not normally painful"]


def test_cloze_gives_one_card_per_deletion_number(build_into_anki, write_tree, anki):
    cards = write_tree({"d.yaml": """\
        deck: T
        cards:
          - id: three-blanks
            cloze: "{{c1::Microglia}} live in the {{c2::brain}} and {{c3::spinal cord}}; {{c2::brain}} again."
            source: dellwo-2022
        """})
    build_into_anki(cards)
    cards_ = sorted(anki.cards(), key=lambda c: c.ord)
    assert [c.ord for c in cards_] == [0, 1, 2]
    assert "[...]" in visible_text(cards_[1].question())
    assert "brain" not in visible_text(cards_[1].question())
    assert "brain" in visible_text(cards_[1].answer())


def test_decks_and_tags_are_as_written(build_into_anki, write_tree, anki):
    cards = write_tree({
        "a.yaml": "deck: Top::Left\ntags: [file-tag]\ncards:\n  - {id: a, question: Q a, answer: A a, "
                  "source: dellwo-2022, tags: ['evidence::imaging']}\n",
        "sub/b.yaml": "deck: Top::Right::Deep\ncards:\n  - {id: b, question: Q b, answer: A b, source: dellwo-2022}\n",
    })
    build_into_anki(cards)
    notes = anki.notes()
    assert sorted(notes["a"].tags) == ["evidence::imaging", "file-tag"]
    assert notes["b"].tags == []
    deck_of = {anki.col.get_note(c.nid)["Id"]: anki.col.decks.name(c.did) for c in anki.cards()}
    assert deck_of == {"a": "Top::Left", "b": "Top::Right::Deep"}


def test_every_back_shows_its_citation_and_quote(build_into_anki, write_tree, anki):
    cards = write_tree()
    build_into_anki(cards)
    for card in anki.cards():
        back = visible_text(card.answer())
        assert "Adrienne Dellwo (2022-08-03). Microglia in Fibromyalgia and Chronic Fatigue Syndrome." in back
        assert "Verywell Health" in back
        assert "first line" not in visible_text(card.question()) or card.ord == 0
    quoted = next(c for c in anki.cards() if anki.col.get_note(c.nid)["Id"] == "microglia-first-line")
    assert "they're the first line of defense" in visible_text(quoted.answer())


def test_several_sources_are_all_cited(build_into_anki, write_tree, anki):
    cards = write_tree({"d.yaml": """\
        deck: T
        cards:
          - id: two
            question: Q
            answer: A
            source: [dellwo-2022, other-2020]
        """})
    build_into_anki(cards)
    back = visible_text(anki.cards()[0].answer())
    assert "Microglia in Fibromyalgia" in back and "Another Article" in back


def test_markdown_renders_and_mathjax_survives(build_into_anki, write_tree, anki):
    cards = write_tree({"d.yaml": r"""
        deck: T
        cards:
          - id: math
            question: 'What is \(x_1 * y_1\) when *a* is \[a < b\]?'
            answer: "**bold**"
            source: dellwo-2022
        """})
    build_into_anki(cards)
    note = anki.notes()["math"]
    assert note["Question"] == r"What is \(x_1 * y_1\) when <em>a</em> is \[a &lt; b\]?"
    assert note["Answer"] == "<strong>bold</strong>"


def test_anki_fills_the_sort_field_and_checksum_the_package_leaves_empty(write_tree, deckbuild, anki, tmp_path):
    out = tmp_path / "out.apkg"
    deckbuild("build", write_tree(), "-o", out)
    anki.import_apkg(out)
    sort_fields = dict(anki.col.db.all("select sfld, csum != 0 from notes"))
    assert sort_fields == {"What role do microglia play in the CNS immune system?": 1,
                           "The word 'glia' literally means {{c1::glue}}.": 1}
    assert anki.col.find_notes('"microglia play"')
