"""The .apkg itself: reproducible bytes, deflated, media under content-hashed names."""

from __future__ import annotations

import re
import shutil
import zipfile

import genanki

from builder.pipeline.render import guid_for
from conftest import visible_text

IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def test_same_tree_builds_byte_identical(write_tree, deckbuild, tmp_path):
    cards = write_tree()
    deckbuild("build", cards, "-o", tmp_path / "a.apkg")
    deckbuild("build", cards, "-o", tmp_path / "b.apkg")
    assert (tmp_path / "a.apkg").read_bytes() == (tmp_path / "b.apkg").read_bytes()


def test_a_copy_in_another_folder_builds_byte_identical(write_tree, deckbuild, tmp_path):
    cards = write_tree()
    deckbuild("build", cards, "-o", tmp_path / "a.apkg")
    copy = shutil.copytree(cards, tmp_path / "elsewhere" / "cards")
    deckbuild("build", copy, "-o", tmp_path / "b.apkg")
    assert (tmp_path / "a.apkg").read_bytes() == (tmp_path / "b.apkg").read_bytes()


def test_source_date_epoch_makes_first_builds_identical(write_tree, deckbuild, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    deckbuild("build", write_tree(root="one"), "-o", tmp_path / "a.apkg")
    deckbuild("build", write_tree(root="two"), "-o", tmp_path / "b.apkg")
    assert (tmp_path / "a.apkg").read_bytes() == (tmp_path / "b.apkg").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.apkg") as z:
        assert {info.date_time for info in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_package_is_deflated_to_a_third_of_genankis(write_tree, deckbuild, tmp_path):
    items = "".join(
        f"  - id: item-{i}\n    question: What is fact number {i} about microglia?\n"
        f"    answer: It is the answer numbered {i}.\n    source: dellwo-2022\n" for i in range(300))
    cards = write_tree({"deck.yaml": "deck: Big\ncards:\n" + items})
    ours = tmp_path / "ours.apkg"
    assert deckbuild("build", cards, "-o", ours).exit_code == 0
    model = genanki.Model(1, "Basic", fields=[{"name": "Q"}, {"name": "A"}],
                          templates=[{"name": "C", "qfmt": "{{Q}}", "afmt": "{{A}}"}])
    deck = genanki.Deck(2, "Big")
    for i in range(300):
        deck.add_note(genanki.Note(model=model, fields=[f"What is fact number {i} about microglia?",
                                                        f"It is the answer numbered {i}."], guid=guid_for(f"item-{i}")))
    theirs = tmp_path / "genanki.apkg"
    genanki.Package(deck).write_to_file(str(theirs))
    with zipfile.ZipFile(ours) as z:
        assert {info.compress_type for info in z.infolist()} == {zipfile.ZIP_DEFLATED}
    assert ours.stat().st_size * 3 <= theirs.stat().st_size


def test_images_get_content_hashed_names_and_never_collide(build_into_anki, write_tree, anki, tmp_path):
    cards = write_tree({
        "a/deck.yaml": "deck: T\ncards:\n  - {id: a, question: '![cell](img/cell.png)', answer: A, source: dellwo-2022}\n",
        "b/deck.yaml": "deck: T\ncards:\n  - {id: b, question: '![cell](img/cell.png)', answer: B, source: dellwo-2022}\n",
        "a/img/cell.png": IMAGE,
        "b/img/cell.png": IMAGE[::-1],
    })
    build_into_anki(cards)
    notes = anki.notes()
    names = {key: note["Question"].split('src="')[1].split('"')[0] for key, note in notes.items()}
    assert names["a"] != names["b"]
    assert all(name.startswith("cell-") and name.endswith(".png") for name in names.values())
    media = anki.col.media.dir()
    assert (tmp_path / "anki" / "collection.media" / names["a"]).read_bytes() == IMAGE
    assert (tmp_path / "anki" / "collection.media" / names["b"]).read_bytes() == IMAGE[::-1]
    assert media.endswith("collection.media")


def test_unsafe_html_never_reaches_a_note(build_into_anki, write_tree, anki):
    cards = write_tree({"d.yaml": """\
        deck: T
        cards:
          - id: xss
            question: '<script>alert(1)</script><b onclick="alert(2)">bold</b><iframe src="https://x"></iframe>'
            answer: '<a href="javascript:alert(3)">link</a> [md](javascript:alert(4)) <img src=https://example.org/a.png onerror=alert(5)>'
            extra: '<svg onload=alert(6)><style>body{}</style>ok</svg>'
            source: dellwo-2022
        """})
    build_into_anki(cards)
    note = anki.notes()["xss"]
    fields = " ".join(note.fields).lower()
    for bad in ("<script", "onclick", "onerror", "onload", "<iframe", "<svg", "<style"):
        assert bad not in fields
    assert not re.search(r"""=\s*["']?\s*javascript:""", fields)
    assert '<a rel="noopener noreferrer">md</a>' in note["Answer"]  # the link's text, without its address
    assert visible_text(note["Question"]) == "bold"


def test_outputs_keep_ordinary_file_permissions(write_tree, deckbuild, tmp_path):
    cards = write_tree()
    out = tmp_path / "out.apkg"
    deckbuild("build", cards, "-o", out)
    state = cards / "deckbuild-state.json"
    assert out.stat().st_mode & 0o777 == state.stat().st_mode & 0o777 == (cards / "deck.yaml").stat().st_mode & 0o777
    state.chmod(0o640)
    (cards / "deck.yaml").write_text((cards / "deck.yaml").read_text().replace("glue", "paste"))
    deckbuild("build", cards, "-o", out)
    assert state.stat().st_mode & 0o777 == 0o640


def test_chunked_deflate_is_plain_deflate(write_tree):
    import zlib

    from builder.pipeline.package import deflate

    data = b"".join(f"note {i} about microglia and pain {i * i}\n".encode() for i in range(20000))
    for chunk in (1 << 12, 1 << 16, 1 << 30):
        assert zlib.decompress(deflate(data, chunk=chunk), -15) == data
    assert deflate(b"") and zlib.decompress(deflate(b""), -15) == b""


def test_remembered_chunks_give_the_same_bytes_as_deflating_afresh(monkeypatch):
    from builder.pipeline import package

    data = b"".join(f"note {i} about microglia and pain {i * i}\n".encode() for i in range(20000))
    edited = data[:200_000] + b"an edit in the middle" + data[200_000:]
    afresh = [package.deflate(one, chunk=1 << 14) for one in (data, edited, data)]
    monkeypatch.setattr(package, "_DEFLATED", {})
    assert [package.deflate(one, chunk=1 << 14) for one in (data, edited, data)] == afresh
    assert len(package._DEFLATED) == len(range(0, len(data), 1 << 14))  # only the last package's chunks


def test_a_package_deflated_in_many_chunks_imports_in_anki(write_tree, deckbuild, anki, tmp_path, monkeypatch):
    from builder.pipeline import package

    monkeypatch.setattr(package, "_CHUNK", 4096)
    items = "".join(f"  - {{id: n{i}, question: 'Question {i}?', answer: 'Answer {i}', source: dellwo-2022}}\n"
                    for i in range(400))
    cards = write_tree({"deck.yaml": "deck: T\ncards:\n" + items})
    out = tmp_path / "out.apkg"
    assert deckbuild("build", cards, "-o", out).exit_code == 0
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
        assert z.getinfo("collection.anki2").file_size > 20 * 4096
    assert len(anki.import_apkg(out).new) == 400


def test_web_images_pass_through_whatever_the_case_of_their_scheme(build_into_anki, write_tree, anki):
    cards = write_tree({"d.yaml": "deck: T\ncards:\n  - {id: web, question: '![a](HTTPS://example.org/a.png)', "
                                  "answer: A, source: dellwo-2022}\n"})
    build_into_anki(cards)
    assert 'src="HTTPS://example.org/a.png"' in anki.notes()["web"]["Question"]
