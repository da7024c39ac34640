"""notetypes.yaml: a tree's own note types, built, imported into a real collection, and refused at their lines."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import io
from pathlib import Path

import pytest

from builder.pipeline.notetypes import user_notetype_id
from conftest import log_counts, visible_text
from test_bad_input import assert_problems, rebuild  # noqa: F401 - the fixture

REPO = Path(__file__).resolve().parent.parent
NOTETYPES = """\
Vocab:
  fields:
    - Word
    - Meaning
    - {name: Audio, format: sound}
    - {name: Notes, format: html}
    - {name: Mnemonic, private: true}
  templates:
    - name: Recognise
      front: "<div class=word>{{Word}}</div>{{#Audio}}{{Audio}}{{/Audio}}"
      back: "{{FrontSide}}<hr id=answer>{{Meaning}}{{#Notes}}<p>{{Notes}}</p>{{/Notes}}"
    - name: Recall
      front: "{{#Meaning}}{{Meaning}}{{/Meaning}}"
      back: "{{FrontSide}}<hr id=answer>{{Word}}"
  css: ".word { font-size: 2em; }"
Gap:
  id: 1600000000123
  cloze: true
  fields: [Text, Source, Back]
  templates:
    - name: Gap
      front: "{{cloze:Text}}"
      back: "{{cloze:Text}}<br>{{Back}}<footer>{{Source}}</footer>"
"""
VOCAB = """\
deck: Spanish::Words
tags: [lang::es]
cards:
  - id: hola
    type: Vocab
    fields:
      Word: "**hola** ![](audio/hola.mp3)"
      Meaning: hello
      Audio: audio/hola.mp3
      Notes: "<i>informal</i><script>alert(1)</script>"
    source: dellwo-2022
    quote: hello
  - id: dormir
    type: Gap
    fields:
      Text: "{{c1::dormir}} means {{c2::to sleep}}"
"""


@pytest.fixture
def typed(write_tree):
    """A tree with the sample deck, notetypes.yaml and an audio file."""
    cards = write_tree({"notetypes.yaml": NOTETYPES, "vocab.yaml": VOCAB})
    (cards / "audio").mkdir()
    (cards / "audio" / "hola.mp3").write_bytes(b"ID3" + bytes(range(200)))
    return cards


def test_the_shipped_deck_builds_byte_identically_to_main(tmp_path):
    """The shipped deck, built by this code and by the `main` branch's code, gives the same bytes."""
    if shutil.which("git") is None or subprocess.run(["git", "-C", REPO, "rev-parse", "--verify", "main"],
                                                     capture_output=True).returncode:
        pytest.skip("no git checkout with a main branch")
    archive = subprocess.run(["git", "-C", REPO, "archive", "main", "builder"], capture_output=True, check=True)
    old = tmp_path / "main"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(old, filter="data")
    outputs = []
    for code in (old, REPO):
        cards = shutil.copytree(REPO / "cards", tmp_path / f"cards-{len(outputs)}")
        out = tmp_path / f"out-{len(outputs)}.apkg"
        env = {**os.environ, "PYTHONPATH": str(code), "SOURCE_DATE_EPOCH": "1800000000",
               "XDG_CACHE_HOME": str(tmp_path / f"cache-{len(outputs)}")}
        done = subprocess.run([sys.executable, "-m", "builder", "build", cards, "-o", out], env=env, cwd=tmp_path,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        outputs.append((out.read_bytes(), (cards / "deckbuild-state.json").read_bytes()))
    assert outputs[0] == outputs[1]


def test_a_typed_tree_imports_with_its_fields_templates_sound_and_citation(typed, deckbuild, anki, tmp_path):
    out = tmp_path / "out.apkg"
    result = deckbuild("build", typed, "-o", out)
    assert result.exit_code == 0, result.output
    assert log_counts(anki.import_apkg(out)) == {"new": 2, "updated": 0, "duplicate": 0, "conflicting": 0}
    anki.reopen()
    vocab = anki.col.models.by_name("Vocab")
    assert vocab["id"] == user_notetype_id("Vocab")
    assert [f["name"] for f in vocab["flds"]] == ["Word", "Meaning", "Audio", "Notes", "Mnemonic", "Source", "Quote"]
    assert "{{Source}}" in vocab["tmpls"][0]["afmt"] and ".word" in vocab["css"]
    gap = anki.col.models.get(1600000000123)
    assert [f["name"] for f in gap["flds"]] == ["Text", "Source", "Back", "Quote"]
    assert gap["tmpls"][0]["afmt"].count("{{Source}}") == 1  # placed by the type itself: nothing added
    nid = anki.col.find_notes("Word:*hola*")[0]
    note = anki.col.get_note(nid)
    digest = hashlib.sha256(b"ID3" + bytes(range(200))).hexdigest()[:16]
    assert note["Audio"] == f"[sound:hola-{digest}.mp3]"
    assert note["Word"] == f"<strong>hola</strong> [sound:hola-{digest}.mp3]"
    assert note["Notes"] == "<i>informal</i>"  # raw HTML, still through the allowlist
    assert (anki.path.parent / "collection.media" / f"hola-{digest}.mp3").is_file()
    assert note.tags == ["lang::es"]
    assert len(note.cards()) == 2
    assert "Microglia in Fibromyalgia" in visible_text(note.cards()[0].answer())
    cloze = anki.col.get_note(anki.col.find_notes("Text:*dormir*")[0])
    assert sorted(c.ord for c in cloze.cards()) == [0, 1]
    assert anki.col.decks.name(cloze.cards()[0].did) == "Spanish::Words"
    again = deckbuild("build", typed, "-o", out)
    assert "0 new, 0 changed, 2 unchanged" in again.output
    assert log_counts(anki.import_apkg(out)) == {"new": 0, "updated": 0, "duplicate": 2, "conflicting": 0}


def test_a_changed_template_reaches_anki_on_reimport(typed, deckbuild, anki, tmp_path):
    out = tmp_path / "out.apkg"
    assert deckbuild("build", typed, "-o", out).exit_code == 0
    anki.import_apkg(out)
    (typed / "notetypes.yaml").write_text(NOTETYPES.replace("font-size: 2em", "font-size: 3em")
                                          .replace("<hr id=answer>{{Meaning}}", "<hr id=answer><b>{{Meaning}}</b>"))
    assert deckbuild("build", typed, "-o", out).exit_code == 0
    assert log_counts(anki.import_apkg(out))["conflicting"] == 0
    anki.reopen()
    vocab = anki.col.models.by_name("Vocab")
    assert "3em" in vocab["css"] and "<b>{{Meaning}}</b>" in vocab["tmpls"][0]["afmt"]
    assert len(anki.col.models.all_names_and_ids()) == len({m.name for m in anki.col.models.all_names_and_ids()})


def test_check_warns_about_a_user_type_card_without_source(typed, deckbuild):
    result = deckbuild("check", typed)
    assert result.exit_code == 0, result.output
    assert "vocab.yaml:13: warning [no-source]" in result.output
    assert "vocab.yaml:4: warning [no-source]" not in result.output


def test_the_type_id_comes_from_its_name():
    assert user_notetype_id("Vocab") == user_notetype_id("Vocab") != user_notetype_id("Vocab2")
    assert 0 < user_notetype_id("Vocab") < 2**53


BAD_TYPES = """\
Vocab:
  fields: [Word, Meaning, {name: Audio, format: sond}]
  templates:
    - name: Recognise
      front: "{{Word}}"
      back: "{{FrontSide}}{{Meanig}}"
Gap:
  cloze: true
  fields: [Text]
  tempaltes: []
"""


def test_bad_note_types_are_reported_at_their_lines(rebuild):
    result = rebuild({"notetypes.yaml": BAD_TYPES})
    assert_problems(
        result,
        ("cards/notetypes.yaml:2:", "must be one of markdown, html, sound"),
        ("cards/notetypes.yaml:4:", "names field 'Meanig' on its back, which the type lacks; did you mean 'Meaning'?"),
        ("cards/notetypes.yaml:10:", "unknown key 'tempaltes' in note type 'Gap'; did you mean 'templates'?"),
        ("cards/notetypes.yaml:7:", "note type 'Gap' needs 'templates:'"),
    )


BAD_ITEMS = """\
deck: T
cards:
  - id: one
    type: Vocb
    fields: {Word: uno}
  - id: two
    type: Vocab
    fields: {Wrod: dos, Mnemonic: secret}
  - id: three
    type: Gap
    fields: {Text: no deletion here}
"""


def test_bad_typed_items_are_reported_at_their_lines(rebuild):
    result = rebuild({"notetypes.yaml": NOTETYPES, "bad.yaml": BAD_ITEMS})
    assert_problems(
        result,
        ("cards/bad.yaml:4:", "unknown note type 'Vocb'; did you mean 'Vocab'?"),
        ("cards/bad.yaml:8:", "note type 'Vocab' has no field 'Wrod'; did you mean 'Word'?"),
        ("cards/bad.yaml:8:", "field 'Mnemonic' is private"),
        ("cards/bad.yaml:8:", "a field a template needs is missing, so this item makes no card of note type 'Vocab': "
                              "template 'Recognise' shows Word"),
        ("cards/bad.yaml:11:", "field 'Text' has no cloze deletion"),
    )


def test_a_missing_sound_file_is_an_error_at_its_field(rebuild):
    deck = "deck: T\ncards:\n  - id: one\n    type: Vocab\n    fields:\n      Word: uno\n      Audio: audio/none.mp3\n"
    result = rebuild({"notetypes.yaml": NOTETYPES, "bad.yaml": deck})
    assert_problems(result, ("cards/bad.yaml:7:", "sound 'audio/none.mp3' not found"))


def test_preview_shows_a_user_type_and_plays_its_sound(typed, deckbuild, tmp_path):
    out = tmp_path / "preview.html"
    result = deckbuild("preview", typed, "-o", out)
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    data = base64.b64encode(b"ID3" + bytes(range(200))).decode()
    front = page.split('id="hola-1"')[1].split('class="pv-side pv-back"')[0]
    assert front.count(f'<audio controls src="data:audio/mpeg;base64,{data}"') == 2  # the Word's and the Audio's
    assert "[sound:" not in page
    assert "Recall" in page and "<strong>hola</strong>" in front
    gap = page.split('id="dormir-2"')[1].split("</article>")[0]
    assert "[...]" in gap and "dormir" in gap


TYPE = "T:\n  fields: [A, B]\n  templates:\n    - {name: One, front: '{{A}}', back: '{{B}}'}\n"


@pytest.mark.parametrize(("files", "expected"), [
    ({"notetypes.yaml": TYPE.replace("fields: [A, B]", "id: abc\n  fields: [A, B]")},
     ("cards/notetypes.yaml:2:", "'id' of note type 'T' must be a whole number")),
    ({"notetypes.yaml": TYPE.replace("[A, B]", "[A, B, A]")}, ("cards/notetypes.yaml:2:", "has field 'A' twice")),
    ({"notetypes.yaml": TYPE.replace("[A, B]", "[A, B, {name: C, private: maybe}]")},
     ("cards/notetypes.yaml:2:", "'private' of a field of note type 'T' must be true or false")),
    ({"notetypes.yaml": TYPE.replace("[A, B]", "[A, B, {name: C, was: ''}]")},
     ("cards/notetypes.yaml:2:", "'was' of a field of note type 'T' must be the field's old name")),
    ({"notetypes.yaml": TYPE.replace("[A, B]", "[A, B, 'C:x']")},
     ("cards/notetypes.yaml:2:", "each field of note type 'T' needs a name without ':'")),
    ({"notetypes.yaml": TYPE.replace("T:", "qa:")}, ("cards/notetypes.yaml:1:", "note type name 'qa'")),
    ({"notetypes.yaml": TYPE + "U:\n  cloze: true\n" + TYPE.split("\n", 1)[1]},
     ("cards/notetypes.yaml:9:", "cloze note type 'U' needs '{{cloze:Field}}'")),
    ({"notetypes.yaml": TYPE + "U:\n  id: 5\n" + TYPE.split("\n", 1)[1].replace("fields", "id: 5\n  fields", 0)
      + "V:\n  id: 5\n" + TYPE.split("\n", 1)[1]},
     ("cards/notetypes.yaml:10:", "note type 'V' has the id of 'U'")),
    ({"notetypes.yaml": "- just a list\n"}, ("cards/notetypes.yaml:1:", "must map note type names to definitions")),
    ({"notetypes.yaml": TYPE, "t.yaml": "deck: X\ncards:\n  - id: a\n    type: T\n    fields: {A: x}\n    guid: 'two words'\n"},
     ("cards/t.yaml:6:", "'guid' must be the note's Anki GUID")),
    ({"notetypes.yaml": TYPE, "t.yaml": "deck: X\ncards:\n  - id: a\n    type: T\n    fields: {A: yes}\n"},
     ("cards/t.yaml:5:", "field 'A' must be non-empty text; put the words in quotes")),
    ({"notetypes.yaml": TYPE, "t.yaml": "deck: X\ncards:\n  - id: a\n    type: T\n    fields: {A: x, Source: y}\n"},
     ("cards/t.yaml:5:", "'Source' is filled from the item's 'source:'")),
    ({"notetypes.yaml": TYPE, "t.yaml": "deck: X\ncards:\n  - id: a\n    type: T\n    fields: {A: x}\n    answer: y\n"},
     ("cards/t.yaml:6:", "unknown key 'answer' in card of a note type from notetypes.yaml")),
    ({"t.yaml": "deck: X\ncards:\n  - id: a\n    fields: {A: x}\n"},
     ("cards/t.yaml:3:", "card has 'fields' but no 'type'")),
    ({"sources.yaml": "dellwo-2022:\n  title: D\ns:\n  title: S\n  placeholder: perhaps\n"},
     ("cards/sources.yaml:5:", "'placeholder' of source 's' must be true or false")),
])
def test_each_new_input_is_refused_at_its_line(rebuild, files, expected):
    assert_problems(rebuild(files), expected)


def test_a_renamed_template_keeps_its_cards_reviews_through_push(typed, deckbuild, anki, tmp_path):
    out = tmp_path / "out.apkg"
    anki.close()
    assert deckbuild("push", typed, "--collection", anki.path, "-o", out).exit_code == 0
    anki.reopen()
    recall = next(c for c in anki.col.get_note(anki.col.find_notes("Word:*hola*")[0]).cards() if c.ord == 1)
    anki.answer(recall.id)
    (typed / "notetypes.yaml").write_text(NOTETYPES.replace("    - name: Recall\n",
                                                            "    - name: Meaning first\n      was: Recall\n"))
    build = deckbuild("build", typed, "-o", out)
    assert "note type Vocab: template names changed (Recognise, Recall → Recognise, Meaning first)" in build.output
    anki.close()
    result = deckbuild("push", typed, "--collection", anki.path, "-o", out)
    anki.reopen()
    assert result.exit_code == 0 and "note type changed: Vocab" in result.output, result.output
    assert [t["name"] for t in anki.col.models.by_name("Vocab")["tmpls"]] == ["Recognise", "Meaning first"]
    assert anki.col.db.scalar("select count() from revlog where cid = ?", recall.id) == 1
    assert anki.col.get_card(recall.id).ord == 1


def test_an_item_switched_to_an_own_type_is_converted_with_its_reviews(typed, deckbuild, anki, tmp_path):
    deck = typed / "qa.yaml"
    deck.write_text("deck: Spanish::Words\ncards:\n  - id: gato\n    question: gato?\n    answer: cat\n"
                    "    source: dellwo-2022\n")
    out = tmp_path / "out.apkg"
    anki.close()
    assert deckbuild("push", typed, "--collection", anki.path, "-o", out).exit_code == 0
    anki.reopen()
    note = anki.col.get_note(anki.col.find_notes('"Id:gato"')[0])
    card = note.cards()[0].id
    anki.answer(card)
    deck.write_text("deck: Spanish::Words\ncards:\n  - id: gato\n    type: Vocab\n"
                    "    fields: {Word: gato, Meaning: cat}\n    source: dellwo-2022\n")
    anki.close()
    result = deckbuild("push", typed, "--collection", anki.path, "-o", out)
    anki.reopen()
    assert result.exit_code == 0, result.output
    assert "converted: gato from deckbuild Q/A to Vocab (reviews kept)" in result.output
    after = anki.col.get_note(note.id)
    assert after.note_type()["name"] == "Vocab" and after["Word"] == "gato" and after["Meaning"] == "cat"
    assert anki.col.db.scalar("select count() from revlog where cid = ?", card) == 1
    assert card in [c.id for c in after.cards()]


def test_diff_predicts_a_field_change_as_push_applies_it(typed, deckbuild, anki, tmp_path):
    anki.close()
    assert deckbuild("push", typed, "--collection", anki.path, "-o", tmp_path / "out.apkg").exit_code == 0
    (typed / "notetypes.yaml").write_text(NOTETYPES.replace("    - Meaning\n", "    - Meaning\n    - Plural\n", 1))
    vocab = typed / "vocab.yaml"
    vocab.write_text(vocab.read_text().replace("      Meaning: hello\n", "      Meaning: hello\n      Plural: holas\n"))
    result = deckbuild("diff", typed, "--collection", anki.path)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("would add 0, update 1, leave 1 unchanged, 0 conflicting, 0 removed")
    anki.reopen()
    assert "Plural" not in [f["name"] for f in anki.col.models.by_name("Vocab")["flds"]]  # only the copy changed


def test_a_renamed_type_takes_its_notes_and_their_reviews_along(typed, deckbuild, anki, tmp_path):
    out = tmp_path / "out.apkg"
    anki.close()
    assert deckbuild("push", typed, "--collection", anki.path, "-o", out).exit_code == 0
    anki.reopen()
    note = anki.col.get_note(anki.col.find_notes("Word:*hola*")[0])
    cards = [c.id for c in note.cards()]
    anki.answer(cards[1])
    (typed / "notetypes.yaml").write_text(NOTETYPES.replace("Vocab:", "Words:"))
    (typed / "vocab.yaml").write_text(VOCAB.replace("type: Vocab", "type: Words"))
    anki.close()
    result = deckbuild("push", typed, "--collection", anki.path, "-o", out)
    anki.reopen()
    assert result.exit_code == 0 and "converted: hola from Vocab to Words (reviews kept)" in result.output, result.output
    after = anki.col.get_note(note.id)
    assert after.note_type()["name"] == "Words" and after["Meaning"] == "hello"
    assert [c.id for c in after.cards()] == cards
    assert anki.col.db.scalar("select count() from revlog where cid = ?", cards[1]) == 1
