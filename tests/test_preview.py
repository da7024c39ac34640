"""`deckbuild preview`: every card's two sides on one page, as Anki renders them, with a working filter box."""

from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path

import pytest

from builder.checking.lint import check
from builder.commands.preview import render_cards, write_preview
from conftest import probe_in_chromium, visible_text

TREE = {
    "a.yaml": """\
        deck: Top::Terms
        cards:
          - id: allodynia
            question: What is *allodynia*?
            answer: Pain from a stimulus that is **not normally painful**.
            extra: Compare hyperalgesia.
            source: dellwo-2022
            quote: "pain from light touch"
            reverse: true
          - id: plain-qa
            question: Where do microglia live?
            answer: In the central nervous system.
            source: [dellwo-2022, other-2020]
        """,
    "sub/b.yaml": """\
        deck: Top::Clozes
        cards:
          - id: three-blanks
            cloze: "{{c1::Microglia::cell type}} live in the {{c2::brain {{c3::and spinal cord}}}}; {{c2::brain}} again."
            extra: Nested and hinted deletions.
            source: dellwo-2022
        """,
}
# (item id, card ordinal, file, line) of every card TREE should give, in page order (decks sorted by name).
EXPECTED = [
    ("three-blanks", 0, "sub/b.yaml", 3), ("three-blanks", 1, "sub/b.yaml", 3), ("three-blanks", 2, "sub/b.yaml", 3),
    ("allodynia", 0, "a.yaml", 3), ("allodynia", 1, "a.yaml", 3), ("plain-qa", 0, "a.yaml", 10),
]
ARTICLE = re.compile(r'<article class="pv-card" id="([^"]+)"[^>]*><div class="pv-meta">(.*?)</div>')


def one_pixel_png() -> bytes:
    """A valid 1×1 green PNG, so a browser can decode it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x00\xff\x00")) + chunk(b"IEND", b""))


def test_every_card_appears_once_with_its_id_and_place(write_tree, deckbuild, tmp_path):
    cards = write_tree(TREE)
    out = tmp_path / "preview.html"
    result = deckbuild("preview", cards, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.output == f"6 cards → {out}\n"
    found = ARTICLE.findall(out.read_text(encoding="utf-8"))
    assert [card_id for card_id, _ in found] == [f"{item}-{ord_ + 1}" for item, ord_, _, _ in EXPECTED]
    for (_, meta), (item, _, path, line) in zip(found, EXPECTED):
        assert f"<b>{item}</b>" in meta
        assert meta.endswith(f"{cards.as_posix()}/{path}:{line}")


def test_cards_are_grouped_by_deck(write_tree, tmp_path):
    out = tmp_path / "p.html"
    write_preview(cards_dir=write_tree(TREE), output=out)
    page = out.read_text(encoding="utf-8")
    clozes, terms = page.index("<h2>Top::Clozes</h2>"), page.index("<h2>Top::Terms</h2>")
    assert clozes < page.index('id="three-blanks-3"') < terms < page.index('id="allodynia-1"')


def test_cloze_front_shows_blank_and_back_fills_it(write_tree):
    cards = {(c.item_id, c.ord): c for c in render_cards(compiled=check(cards_dir=write_tree(TREE)))}
    second = cards["three-blanks", 1]
    assert visible_text(second.question) == "Microglia live in the [...]; [...] again."
    assert '<span class="cloze" data-ordinal="2">brain <span class="cloze-inactive"' in second.answer
    assert visible_text(cards["three-blanks", 0].question).startswith("[cell type] live in the brain and spinal cord")
    assert visible_text(cards["allodynia", 1].question) == "Pain from a stimulus that is not normally painful."


def test_preview_shows_what_anki_renders(write_tree, deckbuild, anki, tmp_path):
    cards = write_tree({**TREE, "dot.png": one_pixel_png(), "c.yaml": """\
        deck: Other
        cards:
          - id: with-image
            question: "What is this? ![a dot](dot.png)"
            answer: "A dot, `code` and \\\\(x^2\\\\)."
            source: other-2020
        """})
    out = tmp_path / "out.apkg"
    assert deckbuild("build", cards, "-o", out).exit_code == 0
    anki.import_apkg(out)
    shown = {(a.note()["Id"], a.ord): a for a in anki.cards()}
    previewed = {(c.item_id, c.ord): c for c in render_cards(compiled=check(cards_dir=cards))}
    assert set(previewed) == set(shown)
    for key, card in previewed.items():
        real = shown[key]
        assert visible_text(card.question) == visible_text(real.question()), key
        assert visible_text(card.answer) == visible_text(real.answer()), key
        assert card.deck == anki.col.decks.name(real.did)


def test_bad_input_exits_1_and_writes_no_page(write_tree, deckbuild, tmp_path):
    cards = write_tree({"d.yaml": """\
        deck: T
        cards:
          - id: half
            question: Where is the answer?
            source: dellwo-2022
        """})
    out = tmp_path / "preview.html"
    result = deckbuild("preview", cards, "-o", out)
    assert result.exit_code == 1
    assert f"{cards.as_posix()}/d.yaml:4: card has a 'question' but no 'answer'" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    assert list(tmp_path.glob(".preview.html.*")) == []


def test_images_are_inlined_as_data_uris(write_tree, deckbuild, tmp_path):
    cards = write_tree({"dot.png": one_pixel_png(), "d.yaml": """\
        deck: T
        cards:
          - id: dot
            question: "What is this? ![a dot](dot.png)"
            answer: A dot.
            source: dellwo-2022
        """})
    out = tmp_path / "elsewhere" / "preview.html"
    assert deckbuild("preview", cards, "-o", out).exit_code == 0
    page = out.read_text(encoding="utf-8")
    sources = re.findall(r'<img [^>]*src="([^"]*)"', page)
    assert len(sources) == 2  # the front, and the front again on the back
    assert all(src.startswith("data:image/png;base64,") for src in sources)


def test_script_in_card_content_never_reaches_the_page(write_tree, deckbuild, tmp_path):
    cards = write_tree({"d.yaml": """\
        deck: T
        cards:
          - id: sneaky
            question: "Hello <script>alert(1)</script> <a href='javascript:alert(2)'>link</a> world"
            answer: "<b onclick='alert(3)'>bold</b>"
            source: dellwo-2022
        """})
    out = tmp_path / "preview.html"
    assert deckbuild("preview", cards, "-o", out).exit_code == 0
    page = out.read_text(encoding="utf-8")
    assert page.count("<script") == 1  # the filter box's own
    assert "alert" not in page.split("<script>")[0]
    assert "Hello" in page and "<b>bold</b>" in page


# --- in a real browser -----------------------------------------------------------------------------

PROBE = """
<script>
const typed = %s;
if (typed !== null) {
  const box = document.getElementById("pv-filter");
  box.value = typed;
  box.dispatchEvent(new Event("input"));
}
const report = [...document.querySelectorAll(".pv-card")].map(card => ({
  id: card.id,
  shown: card.getClientRects().length > 0,
  front: card.querySelector(".pv-front .card").innerText,
  back: card.querySelector(".pv-back .card").innerText,
  images: [...card.querySelectorAll("img")].map(img => img.naturalWidth),
}));
const decks = [...document.querySelectorAll(".pv-deck")].filter(d => d.getClientRects().length > 0);
const out = document.createElement("pre");
out.id = "probe";
out.textContent = JSON.stringify({cards: report, decks: decks.length,
  count: document.getElementById("pv-count").textContent});
document.body.append(out);
</script>
"""


@pytest.fixture
def browse(tmp_path):
    """Open a page in headless Chromium, optionally typing into the filter; return what the page reports."""
    def run(page: Path, *, query: str = "", typed: str | None = None) -> dict:
        return probe_in_chromium(page, PROBE % json.dumps(typed), tmp_path=tmp_path, query=query)
    return run


def folded(text: str) -> str:
    return " ".join(text.split())


def test_browser_shows_every_card_front_and_back(write_tree, browse, tmp_path):
    cards = write_tree({**TREE, "dot.png": one_pixel_png(), "c.yaml": """\
        deck: Other
        cards:
          - id: with-image
            question: "What is this? ![a dot](dot.png)"
            answer: A dot.
            source: other-2020
        """})
    out = tmp_path / "preview.html"
    assert write_preview(cards_dir=cards, output=out) == 7
    report = browse(out)
    expected = {f"{c.item_id}-{c.ord + 1}": c for c in render_cards(compiled=check(cards_dir=cards))}
    assert sorted(card["id"] for card in report["cards"]) == sorted(expected)
    for card in report["cards"]:
        assert card["shown"], card["id"]
        assert folded(card["front"]) == visible_text(expected[card["id"]].question)
        assert folded(card["back"]) == visible_text(expected[card["id"]].answer)
        assert all(width == 1 for width in card["images"]), card  # decoded from the data: URI
    by_id = {card["id"]: card for card in report["cards"]}
    assert "[...]" in by_id["three-blanks-2"]["front"] and "brain" not in by_id["three-blanks-2"]["front"]
    assert "brain" in by_id["three-blanks-2"]["back"]
    assert by_id["with-image-1"]["images"] == [1, 1] and by_id["with-image-1"]["back"].startswith("What is this?")
    assert report["count"] == "7 of 7 cards"


def test_filter_box_hides_cards_that_do_not_match(write_tree, browse, tmp_path):
    out = tmp_path / "preview.html"
    write_preview(cards_dir=write_tree(TREE), output=out)

    prefilled = browse(out, query="?q=SPINAL")
    assert [c["id"] for c in prefilled["cards"] if c["shown"]] == ["three-blanks-1", "three-blanks-2", "three-blanks-3"]
    assert prefilled["decks"] == 1 and prefilled["count"] == "3 of 6 cards"

    typed = browse(out, typed="terms  pain")  # every word must match: deck name, then text
    assert [c["id"] for c in typed["cards"] if c["shown"]] == ["allodynia-1", "allodynia-2"]

    by_place = browse(out, typed="a.yaml:10")
    assert [c["id"] for c in by_place["cards"] if c["shown"]] == ["plain-qa-1"]

    nothing = browse(out, typed="no such words")
    assert not any(c["shown"] for c in nothing["cards"]) and nothing["decks"] == 0
    assert nothing["count"] == "0 of 6 cards"
