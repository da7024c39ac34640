"""The per-file cache: any content change reaches the .apkg, and cached builds are byte-identical."""

from __future__ import annotations

import zipfile

import pytest

from conftest import DECK

IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(32))


def fields_in(apkg) -> str:
    """All note fields of a package, as one string."""
    import sqlite3
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder, zipfile.ZipFile(apkg) as z:
        z.extract("collection.anki2", folder)
        conn = sqlite3.connect(Path(folder) / "collection.anki2")
        try:
            return "\n".join(row[0] for row in conn.execute("select flds from notes"))
        finally:
            conn.close()


def test_cache_is_filled_and_used(write_tree, deckbuild, private_cache, tmp_path):
    cards = write_tree()
    deckbuild("build", cards, "-o", tmp_path / "a.apkg")
    entries = list(private_cache.rglob("*.marshal"))
    assert len(entries) == 1
    deckbuild("build", cards, "-o", tmp_path / "b.apkg")
    assert list(private_cache.rglob("*.marshal")) == entries


def test_any_content_change_reaches_the_package(write_tree, deckbuild, tmp_path):
    cards = write_tree()
    out = tmp_path / "out.apkg"
    deckbuild("build", cards, "-o", out)
    (cards / "deck.yaml").write_text(DECK.replace("first line of defense", "front line of defence"))
    assert deckbuild("build", cards, "-o", out).exit_code == 0
    assert "front line of defence" in fields_in(out)
    (cards / "sources.yaml").write_text((cards / "sources.yaml").read_text().replace("Verywell Health", "VWH"))
    assert deckbuild("build", cards, "-o", out).exit_code == 0
    assert "VWH" in fields_in(out)


def test_a_changed_image_is_not_served_from_the_cache(write_tree, deckbuild, tmp_path):
    cards = write_tree({"deck.yaml": "deck: T\ncards:\n  - {id: a, question: '![x](x.png)', answer: A, "
                                     "source: dellwo-2022}\n", "x.png": IMAGE})
    out = tmp_path / "out.apkg"
    deckbuild("build", cards, "-o", out)
    first = fields_in(out)
    (cards / "x.png").write_bytes(IMAGE[::-1])
    deckbuild("build", cards, "-o", out)
    assert fields_in(out) != first
    with zipfile.ZipFile(out) as z:
        assert z.read("0") == IMAGE[::-1]


def test_builds_with_and_without_cache_are_byte_identical(write_tree, deckbuild, tmp_path):
    cards = write_tree()
    deckbuild("build", cards, "-o", tmp_path / "cold.apkg")
    deckbuild("build", cards, "-o", tmp_path / "warm.apkg")
    deckbuild("build", cards, "-o", tmp_path / "none.apkg", "--no-cache")
    cold = (tmp_path / "cold.apkg").read_bytes()
    assert (tmp_path / "warm.apkg").read_bytes() == cold
    assert (tmp_path / "none.apkg").read_bytes() == cold


def test_a_corrupt_cache_is_ignored(write_tree, deckbuild, private_cache, tmp_path):
    cards = write_tree()
    deckbuild("build", cards, "-o", tmp_path / "a.apkg")
    for entry in private_cache.rglob("*.marshal"):
        entry.write_bytes(b"\x00garbage")
    assert deckbuild("build", cards, "-o", tmp_path / "b.apkg").exit_code == 0
    assert (tmp_path / "a.apkg").read_bytes() == (tmp_path / "b.apkg").read_bytes()


def test_a_cache_entry_for_other_content_is_not_trusted(write_tree, deckbuild, private_cache, tmp_path):
    cards = write_tree()
    deckbuild("build", cards, "-o", tmp_path / "a.apkg")
    [entry] = private_cache.rglob("*.marshal")
    stale = entry.read_bytes()
    (cards / "deck.yaml").write_text(DECK.replace("means {{c1::glue}}", "means {{c1::paste}}"))
    deckbuild("build", cards, "-o", tmp_path / "b.apkg")
    for fresh in private_cache.rglob("*.marshal"):
        fresh.write_bytes(stale)  # the entry for the file's old bytes, and under the delta's name too
    deckbuild("build", cards, "-o", tmp_path / "c.apkg")
    assert "paste" in fields_in(tmp_path / "c.apkg")


@pytest.mark.parametrize("memory", [False, True], ids=["on disk", "in memory, as watch keeps it"])
def test_an_edit_to_one_item_of_a_cached_file_renders_only_that_item(write_tree, tmp_path, monkeypatch, memory):
    from builder.pipeline import compile as compile_stage
    from builder.pipeline.cache import Cache

    cards = write_tree()
    cache = Cache(tmp_path / "c", memory=memory)
    compile_stage.compile_tree(cards, cache=cache)
    (cards / "deck.yaml").write_text(DECK.replace("means {{c1::glue}}", "means {{c1::paste}}"))
    rendered = []
    real = compile_stage.render_item
    monkeypatch.setattr(compile_stage, "render_item", lambda item, **kw: rendered.append(item.id) or real(item, **kw))
    compiled = compile_stage.compile_tree(cards, cache=cache if memory else Cache(tmp_path / "c"))
    assert rendered == ["glia-means-glue"]
    assert compiled.notes == compile_stage.compile_tree(cards).notes


def test_the_cache_lives_outside_the_cards_tree(write_tree, deckbuild, tmp_path):
    cards = write_tree()
    deckbuild("build", cards, "-o", tmp_path / "a.apkg", "--cache-dir", tmp_path / "elsewhere")
    assert list((tmp_path / "elsewhere").rglob("*.marshal"))
    assert sorted(p.name for p in cards.iterdir()) == ["deck.yaml", "deckbuild-state.json", "sources.yaml"]


def test_a_change_to_deckbuilds_code_changes_every_key(tmp_path, monkeypatch):
    import shutil

    from builder.pipeline import cache

    source = shutil.copytree(cache.SOURCE, tmp_path / "builder")
    monkeypatch.setattr(cache, "SOURCE", source)
    cache.fingerprint.cache_clear()
    before = cache.key_for("same", b"input")
    (source / "pipeline" / "render.py").write_text((source / "pipeline" / "render.py").read_text() + "\n# a fix\n")
    cache.fingerprint.cache_clear()
    assert cache.key_for("same", b"input") != before
    cache.fingerprint.cache_clear()


def _collection_rows(apkg) -> tuple[dict, dict]:
    """The notes (guid → whole row) and cards (id → whole row) of a package's collection."""
    import sqlite3
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder, zipfile.ZipFile(apkg) as z:
        z.extract("collection.anki2", folder)
        conn = sqlite3.connect(Path(folder) / "collection.anki2")
        try:
            notes = {row[1]: row for row in conn.execute("select * from notes")}
            cards = {row[0]: row for row in conn.execute("select * from cards")}
        finally:
            conn.close()
    return notes, cards


def test_an_edit_to_one_item_of_a_large_file_changes_exactly_that_note(write_tree, deckbuild, tmp_path, monkeypatch):
    from builder.pipeline.render import guid_for

    items = "".join(f"  - id: fact-{i}\n    question: What is fact number {i}?\n    answer: It is **{i}**.\n"
                    f"    source: dellwo-2022\n" for i in range(3000))
    cards = write_tree({"big.yaml": "deck: Big\ncards:\n" + items})
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert deckbuild("build", cards, "-o", tmp_path / "before.apkg").exit_code == 0
    (cards / "big.yaml").write_text((cards / "big.yaml").read_text().replace("It is **1234**.", "It is *1234*."))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000100")
    assert deckbuild("build", cards, "-o", tmp_path / "after.apkg").exit_code == 0
    (before, before_cards), (after, after_cards) = _collection_rows(tmp_path / "before.apkg"), _collection_rows(
        tmp_path / "after.apkg")
    assert before.keys() == after.keys() and len(after) == 3000
    changed = {guid for guid in after if after[guid] != before[guid]}
    assert changed == {guid_for("fact-1234")}
    old, new = before[guid_for("fact-1234")], after[guid_for("fact-1234")]
    # id, guid, mid | mod | usn, tags | flds | sfld, csum, flags, data
    assert old[:3] + old[4:6] + old[7:] == new[:3] + new[4:6] + new[7:]
    assert (old[3], new[3]) == (1700000000, 1700000100)
    assert "<em>1234</em>" in new[6] and "<strong>1234</strong>" in old[6]
    assert before_cards.keys() == after_cards.keys()
    changed_cards = {cid for cid in after_cards if after_cards[cid] != before_cards[cid]}
    assert {after_cards[cid][1] for cid in changed_cards} == {old[0]}  # only that note's card (its mod)


def test_a_package_made_with_the_last_packages_chunks_is_byte_identical(write_tree, deckbuild, private_cache,
                                                                        tmp_path, monkeypatch):
    from builder.pipeline import package

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setattr(package, "_CHUNK", 4096)  # many chunks, so that most are the last build's
    items = "".join(f"  - {{id: n{i}, question: 'Question {i}?', answer: 'Answer {i}', source: dellwo-2022}}\n"
                    for i in range(300))
    cards = write_tree({"deck.yaml": "deck: T\ncards:\n" + items})
    assert deckbuild("build", cards, "-o", tmp_path / "first.apkg").exit_code == 0
    [stored] = private_cache.rglob("*.deflated")
    state = (cards / "deckbuild-state.json").read_bytes()
    (cards / "deck.yaml").write_text("deck: T\ncards:\n" + items.replace("Answer 150'", "A new answer'"))
    deflated = []
    real = package._deflate_stream

    def counted(source, total, out, *, chunk, memo=None):
        before = set(memo or ())
        found = real(source, total, out, chunk=chunk, memo=memo)
        deflated.append((len(before & set(memo or ())), len(memo or ())))
        return found

    monkeypatch.setattr(package, "_deflate_stream", counted)
    assert deckbuild("build", cards, "-o", tmp_path / "warm.apkg").exit_code == 0
    [(reused, chunks)] = deflated
    assert 0 < reused < chunks and stored.exists()  # most chunks were the first build's; the edited one not
    (cards / "deckbuild-state.json").write_bytes(state)
    assert deckbuild("build", cards, "-o", tmp_path / "afresh.apkg", "--no-cache").exit_code == 0
    assert (tmp_path / "warm.apkg").read_bytes() == (tmp_path / "afresh.apkg").read_bytes()
    assert "A new answer" in fields_in(tmp_path / "warm.apkg")
    # A damaged store of chunks is ignored.
    stored.write_bytes(b"\x00garbage")
    (cards / "deckbuild-state.json").write_bytes(state)
    assert deckbuild("build", cards, "-o", tmp_path / "again.apkg").exit_code == 0
    assert (tmp_path / "again.apkg").read_bytes() == (tmp_path / "afresh.apkg").read_bytes()


def test_a_large_entry_is_written_in_parts_that_read_back_as_the_entry(tmp_path):
    import os

    from builder.pipeline.cache import _LARGE, _read_record, _write_record

    large = (os.urandom(32), "/cards/sub dir/é\udcff", os.urandom(_LARGE + 3), b"k" * 1600, os.urandom(_LARGE))
    values = [large, ("small", b"tuple"), large[:3], "text", None]
    with (tmp_path / "records").open("wb") as stream:
        for value in values:
            _write_record(stream, value)
    with (tmp_path / "records").open("rb") as stream:
        assert [_read_record(stream) for _ in values] == values
