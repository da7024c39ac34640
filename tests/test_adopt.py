"""`adopt`, then the round trip, on a realistic foreign deck built with genanki and studied in a real collection.

The deck: two note types of its own (one cloze), audio and images, subdecks, hierarchical tags and
about a thousand notes, imported into a real collection with reviews. It is built and adopted once
per module; each test works on its own copy of the collection and the adopted tree.
"""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path

import pytest

genanki = pytest.importorskip("genanki")
pytest.importorskip("anki")

from conftest import Anki  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
VOCAB_ID, GAP_ID = 1_500_000_000_001, 1_500_000_000_002
DECKS = ("Spanish", "Spanish::Verbs", "Spanish::Nouns::Food")


def _png(seed: int) -> bytes:
    """A tiny valid PNG, different per seed."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"\x00" + bytes([seed % 256, (seed * 7) % 256, 90])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def foreign_package(folder: Path, *, notes: int = 1000) -> Path:
    """A deck as another tool (genanki) makes it: the kind of deck people already study."""
    vocab = genanki.Model(
        VOCAB_ID, "Vocab (es)",
        fields=[{"name": n} for n in ("Word", "Meaning", "Audio", "Picture", "Notes", "Mnemonic")],
        templates=[
            {"name": "Recognise", "qfmt": "<div class=word>{{Word}}</div>{{Audio}}",
             "afmt": "{{FrontSide}}<hr id=answer>{{Meaning}}<br>{{Picture}}<div class=notes>{{Notes}}</div>"},
            {"name": "Recall", "qfmt": "{{#Meaning}}{{Meaning}}{{/Meaning}}",
             "afmt": "{{FrontSide}}<hr id=answer>{{Word}}{{Audio}}"},
        ],
        css=".card { font-family: serif; } .word { font-size: 2em; }")
    gap = genanki.Model(
        GAP_ID, "Gap (es)", model_type=genanki.Model.CLOZE,
        fields=[{"name": "Text"}, {"name": "Back Extra"}],
        templates=[{"name": "Cloze", "qfmt": "{{cloze:Text}}", "afmt": "{{cloze:Text}}<br>{{Back Extra}}"}],
        css=".card { font-family: serif; }")
    decks = {name: genanki.Deck(1_400_000_000_000 + i, name) for i, name in enumerate(DECKS)}
    media = []
    for n in range(notes):
        deck = decks[DECKS[n % 3]]
        tags = [f"lang::es::{['core', 'verbs', 'food'][n % 3]}", f"level-{n % 5}"]
        if n % 4 == 3:
            text = f"Yo {{{{c1::como}}}} la manzana número {n}." + (f" {{{{c2::ahora}}}}" if n % 8 == 3 else "")
            deck.add_note(genanki.Note(model=gap, fields=[text, f"<i>comer</i>, note {n}"], tags=tags))
            continue
        fields = [f"palabra{n}", f"<b>word</b> {n}" if n % 2 else f"word {n}", "", "",
                  f"<div>line one</div><div>line {n}</div>" if n % 5 == 0 else "", f"think of {n}" if n % 6 == 0 else ""]
        if n % 10 == 0:
            sound = folder / f"palabra{n}.mp3"
            sound.write_bytes(b"ID3" + n.to_bytes(4, "big") * 50)
            media.append(str(sound))
            fields[2] = f"[sound:{sound.name}]"
        if n % 25 == 0:
            picture = folder / f"pic{n}.png"
            picture.write_bytes(_png(n))
            media.append(str(picture))
            fields[3] = f'<img src="{picture.name}">'
        deck.add_note(genanki.Note(model=vocab, fields=fields, tags=tags))
    package = genanki.Package(list(decks.values()))
    package.media_files = media
    out = folder / "foreign.apkg"
    package.write_to_file(str(out))
    return out


def review(anki: Anki, count: int) -> dict[int, int]:
    """Answer `count` cards, as a learner would; each reviewed card's id and its number of reviews."""
    cards = sorted(anki.col.find_cards(""))[:: max(1, len(anki.col.find_cards("")) // count)][:count]
    for card_id in cards:
        anki.answer(card_id, 3)
    return reviews(anki, cards)


def reviews(anki: Anki, cards) -> dict[int, int]:
    """The number of reviews of each card."""
    return {c: anki.col.db.scalar("select count() from revlog where cid = ?", c) for c in cards}


@pytest.fixture(scope="module")
def adopted_base(tmp_path_factory):
    """The foreign deck imported and studied in a real collection, then adopted; with its reviews."""
    base = tmp_path_factory.mktemp("adopt")
    files = base / "files"
    files.mkdir()
    anki = Anki(base / "anki" / "collection.anki2")
    anki.import_apkg(foreign_package(files))
    studied = review(anki, 30)
    anki.close()
    from builder.collection.adopt import adopt

    adopt(collection=anki.path, deck="Spanish", cards_dir=base / "cards")
    return base, studied


@pytest.fixture
def adopted(adopted_base, tmp_path):
    """A copy of the adopted tree and its collection for one test: (cards, Anki, reviewed cards)."""
    base, studied = adopted_base
    shutil.copytree(base / "anki", tmp_path / "anki")
    cards = shutil.copytree(base / "cards", tmp_path / "cards")
    anki = Anki(tmp_path / "anki" / "collection.anki2")
    yield cards, anki, studied
    anki.close()


def push(deckbuild, cards: Path, anki: Anki, *args):
    """`deckbuild push` into the closed collection; reopened afterwards."""
    anki.close()
    result = deckbuild("push", cards, "--collection", anki.path, "-o", cards.parent / "out.apkg", *args)
    anki.reopen()
    assert result.exit_code == 0, result.output
    return result


def pull(deckbuild, cards: Path, anki: Anki, *args):
    """`deckbuild pull` from the closed collection."""
    anki.close()
    result = deckbuild("pull", cards, "--collection", anki.path, *args)
    anki.reopen()
    assert result.exit_code == 0, result.output
    return result


def edit_in_anki(anki: Anki, nid: int, **fields: str) -> None:
    """Edit a note as a learner would in Anki's editor (a later `mod` than any build)."""
    note = anki.col.get_note(nid)
    for name, value in fields.items():
        note[name] = value
    anki.col.update_note(note)
    anki.col.db.execute("update notes set mod = mod + 10 where id = ?", nid)


def item_lines(cards: Path, item_id: str) -> tuple[Path, list[str]]:
    """The deck file holding an item, and the item's lines."""
    for path in sorted(cards.rglob("*.yaml")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line == f"  - id: {item_id}":
                end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("  - ")), len(lines))
                return path, lines[i:end]
    raise AssertionError(item_id)


def test_adopt_writes_a_tree_of_the_whole_deck(adopted):
    cards, anki, _ = adopted
    assert sorted(p.relative_to(cards).as_posix() for p in cards.rglob("*.yaml")) == [
        "notetypes.yaml", "sources.yaml", "spanish.yaml", "spanish/nouns/food.yaml", "spanish/verbs.yaml"]
    state = json.loads((cards / "deckbuild-state.json").read_text())
    assert len(state["items"]) == len(anki.col.find_notes("")) == 1000
    assert {e["nid"] for e in state["items"].values()} == set(anki.col.find_notes(""))
    assert len(list((cards / "media").iterdir())) == 100 + 30  # sounds every 10th note, pictures every 25th vocab
    text = (cards / "notetypes.yaml").read_text()
    assert '"Gap (es)":' in text and "cloze: true" in text and f"id: {VOCAB_ID}" in text
    path, lines = item_lines(cards, "palabra0")
    assert path.name == "spanish.yaml"
    assert '      "Audio": "media/palabra0.mp3"' in lines and "    source: adopted-no-source" in lines
    assert any(line.startswith("    guid: ") for line in lines)
    assert '    tags: ["lang::es::core", "level-0"]' in lines
    assert "adopted-no-source:" in (cards / "sources.yaml").read_text()


def test_adopt_refuses_a_folder_with_files_and_writes_nothing(adopted, deckbuild, tmp_path):
    cards, anki, _ = adopted
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    anki.close()
    result = deckbuild("adopt", target, "--collection", anki.path, "--deck", "Spanish")
    assert result.exit_code == 2 and "never overwrites" in result.output
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    unknown = deckbuild("adopt", tmp_path / "new", "--collection", anki.path, "--deck", "Spanisch")
    assert unknown.exit_code == 2 and "no deck 'Spanisch'" in unknown.output and not (tmp_path / "new").exists()


def test_check_lists_every_placeholder_source(adopted, deckbuild):
    cards, _, _ = adopted
    result = deckbuild("check", cards)
    assert result.exit_code == 0, result.output
    assert result.output.count("warning [placeholder-source]") == 1000
    assert "warning [no-quote]" not in result.output  # a placeholder is listed once, as a placeholder


def test_1_push_right_after_adopt_changes_nothing(adopted, deckbuild):
    cards, anki, studied = adopted
    before = {nid: anki.col.get_note(nid).fields for nid in anki.col.find_notes("")}
    result = push(deckbuild, cards, anki)
    assert "0 added, 0 updated, 1000 unchanged, 0 converted, 0 moved, 0 deleted" in result.output
    assert "(0 new, 0 changed, 1000 unchanged, 0 removed)" in result.output
    assert {nid: anki.col.get_note(nid).fields for nid in anki.col.find_notes("")} == before
    assert reviews(anki, studied) == studied


def test_2_one_yaml_edit_changes_exactly_that_note_and_keeps_its_reviews(adopted, deckbuild):
    cards, anki, studied = adopted
    card = next(iter(studied))
    nid = anki.col.get_card(card).nid
    note = anki.col.get_note(nid)
    item = next(i for i, e in json.loads((cards / "deckbuild-state.json").read_text())["items"].items()
                if e["nid"] == nid)
    path, lines = item_lines(cards, item)
    first = next(line for line in lines if line.startswith('      "') and ": " in line)
    path.write_text(path.read_text().replace(first, first[:-1] + ' (edited)"', 1))
    others = {n: anki.col.get_note(n).fields for n in anki.col.find_notes("") if n != nid}

    result = push(deckbuild, cards, anki)

    assert "0 added, 1 updated, 999 unchanged" in result.output
    assert "(edited)" in " ".join(anki.col.get_note(nid).fields) and anki.col.get_note(nid).fields != note.fields
    assert {n: anki.col.get_note(n).fields for n in anki.col.find_notes("") if n != nid} == others
    assert reviews(anki, studied) == studied


def test_3_an_edit_in_anki_is_pulled_into_the_yaml(adopted, deckbuild):
    cards, anki, _ = adopted
    nid = anki.col.find_notes('"Word:palabra10"')[0]
    edit_in_anki(anki, nid, Word="palabra diez")
    result = pull(deckbuild, cards, anki)
    assert "1 pulled" in result.output
    _, lines = item_lines(cards, "palabra10")
    assert '      "Word": "palabra diez"' in lines
    again = push(deckbuild, cards, anki)
    assert "0 added, 0 updated, 1000 unchanged" in again.output


def test_4_a_field_added_to_a_type_keeps_every_review(adopted, deckbuild):
    cards, anki, studied = adopted
    types = cards / "notetypes.yaml"
    types.write_text(types.read_text().replace('    - "Word"\n', '    - "Word"\n    - "Plural"\n', 1))
    path, lines = item_lines(cards, "palabra1")
    path.write_text(path.read_text().replace("\n".join(lines), "\n".join(lines[:5] + ['      "Plural": palabras']
                                                                          + lines[5:]), 1))
    build = deckbuild("build", cards, "-o", cards.parent / "manual.apkg")
    assert "note type Vocab (es): fields changed" in build.output and "deckbuild push" in build.output

    result = push(deckbuild, cards, anki)

    assert "note type changed: Vocab (es)" in result.output
    assert "conflicting" not in result.output.split("pushed")[-1].replace("0 conflicting", "")
    model = anki.col.models.get(VOCAB_ID)
    assert [f["name"] for f in model["flds"]][:3] == ["Word", "Plural", "Meaning"]
    assert anki.col.get_note(anki.col.find_notes('"Word:palabra1"')[0])["Plural"] == "palabras"
    assert len(anki.col.find_notes("")) == 1000
    assert reviews(anki, studied) == studied
    assert "0 added, 0 updated, 1000 unchanged" in push(deckbuild, cards, anki).output


def test_5_a_private_fields_edit_in_anki_survives_push(adopted, deckbuild):
    cards, anki, _ = adopted
    types = cards / "notetypes.yaml"
    types.write_text(types.read_text().replace('    - "Mnemonic"\n', "    - {name: Mnemonic, private: true}\n"))
    for path in cards.rglob("*.yaml"):
        text = path.read_text()
        path.write_text("\n".join(line for line in text.split("\n") if not line.startswith('      "Mnemonic"')))
    built = deckbuild("build", cards, "-o", cards.parent / "manual.apkg")
    assert built.output.count("private fields") == 1
    first = push(deckbuild, cards, anki)  # the field becomes private: every note keeps what it holds
    assert "kept the private fields of 167 notes" in first.output
    nid = anki.col.find_notes('"Word:palabra6"')[0]
    edit_in_anki(anki, nid, Mnemonic="my own trick")
    path, lines = item_lines(cards, "palabra6")
    path.write_text(path.read_text().replace('"Word": "palabra6"\n', '"Word": "palabra seis"\n'))

    push(deckbuild, cards, anki)

    note = anki.col.get_note(nid)
    assert note["Word"] == "palabra seis" and note["Mnemonic"] == "my own trick"
    kept = anki.col.get_note(anki.col.find_notes('"Word:palabra12"')[0])
    assert kept["Mnemonic"] == "think of 12"  # every note's private field stays, though the type changed
    pulled = pull(deckbuild, cards, anki)
    assert "Mnemonic" not in pulled.output and "my own trick" not in path.read_text()


def test_6_a_lost_state_file_is_restored_from_the_collection(adopted, deckbuild):
    cards, anki, studied = adopted
    state = cards / "deckbuild-state.json"
    original = json.loads(state.read_text())
    state.unlink()
    anki.close()
    result = deckbuild("pull", cards, "--collection", anki.path, "--restore-state")
    anki.reopen()
    assert result.exit_code == 0, result.output
    restored = json.loads(state.read_text())
    assert {k: e["nid"] for k, e in restored["items"].items()} == {k: e["nid"] for k, e in original["items"].items()}
    assert "0 added, 0 updated, 1000 unchanged" in push(deckbuild, cards, anki).output
    assert reviews(anki, studied) == studied


@pytest.fixture(scope="module")
def first_edition(tmp_path_factory):
    """The shipped deck as deckbuild built it (its current edition), imported and studied, then adopted."""
    from click.testing import CliRunner

    from builder.cli import cli
    from builder.collection.adopt import adopt

    base = tmp_path_factory.mktemp("first")
    cards = shutil.copytree(REPO / "cards", base / "shipped")
    out = base / "first.apkg"
    assert CliRunner().invoke(cli, ["build", str(cards), "-o", str(out), "--no-cache"]).exit_code == 0
    anki = Anki(base / "anki" / "collection.anki2")
    anki.import_apkg(out)
    studied = review(anki, 10)
    anki.close()
    adopt(collection=anki.path, deck="Fibromyalgia", cards_dir=base / "cards")
    return base, studied


def test_7_a_deck_deckbuild_built_adopts_with_its_ids_citations_and_round_trip(first_edition, deckbuild, tmp_path):
    base, studied = first_edition
    shutil.copytree(base / "anki", tmp_path / "anki")
    cards = shutil.copytree(base / "cards", tmp_path / "cards")
    anki = Anki(tmp_path / "anki" / "collection.anki2")
    try:
        assert not (cards / "notetypes.yaml").exists()  # deckbuild's own types, recognised as such
        assert "placeholder-source" not in deckbuild("check", cards).output  # every citation read back exactly
        assert "microglia-first-line" in (cards / "fibromyalgia" / "microglia.yaml").read_text()
        # 1: zero changes; 2: one YAML edit; 3: one Anki edit pulled; 6: the state restored
        total = len(anki.col.find_notes(""))  # the shipped deck's notes, whatever its edition
        assert f"0 added, 0 updated, {total} unchanged" in push(deckbuild, cards, anki).output
        path = cards / "fibromyalgia" / "microglia.yaml"
        text = path.read_text()
        assert "first line of defense**" in text
        path.write_text(text.replace("first line of defense**", "first line of defence**", 1))
        assert f"0 added, 1 updated, {total - 1} unchanged" in push(deckbuild, cards, anki).output
        nid = anki.col.find_notes('"Id:glia-means-glue"')[0]
        edit_in_anki(anki, nid, Extra="Pulled from Anki.")
        assert "1 pulled" in pull(deckbuild, cards, anki).output
        assert "Pulled from Anki." in path.read_text()  # the extra, written back (quoted as its old value was)
        (cards / "deckbuild-state.json").unlink()
        anki.close()
        assert deckbuild("pull", cards, "--collection", anki.path, "--restore-state").exit_code == 0
        anki.reopen()
        assert f"0 added, 0 updated, {total} unchanged" in push(deckbuild, cards, anki).output
        assert reviews(anki, studied) == studied
    finally:
        anki.close()


def test_an_adopted_item_removed_from_the_tree_is_deleted_by_push_yes(adopted, deckbuild):
    cards, anki, _ = adopted
    path, lines = item_lines(cards, "palabra2")
    nid = anki.col.find_notes('"Word:palabra2"')[0]
    path.write_text(path.read_text().replace("\n".join(lines) + "\n", "", 1))
    result = push(deckbuild, cards, anki, "--yes")
    assert "deleted: palabra2" in result.output
    assert nid not in anki.col.find_notes("") and len(anki.col.find_notes("")) == 999


def test_adopt_while_anki_has_the_collection_open_exits_3_and_writes_nothing(adopted, deckbuild, tmp_path):
    _, anki, _ = adopted  # open, as Anki would hold it
    before = {p.name for p in tmp_path.iterdir()}
    result = deckbuild("adopt", tmp_path / "new", "--collection", anki.path, "--deck", "Spanish")
    assert result.exit_code == 3 and "close Anki first" in result.output, result.output
    assert {p.name for p in tmp_path.iterdir()} == before
