"""Values Anki can't take are errors at their line; markup the sanitizer drops is a warning; work is bounded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import DECK
from faults import ROOT, run_cli, snapshot

ITEM = """\
deck: Test::Basics
cards:
  - id: only
{body}    source: dellwo-2022
"""


def one_item(body: str, *, deck: str = "Test::Basics") -> str:
    """A deck file whose one item has these keys (besides id and source)."""
    return ITEM.format(body=textwrap.indent(body, "    ")).replace("Test::Basics", deck)


@pytest.fixture
def refused(write_tree, tmp_path):
    """Build a good tree to dist/, then make its deck file `text`: the refusal's (cards, stderr).

    Checks the refusal: exit 1, no traceback, and the cards folder, state file and .apkg untouched.
    """
    def run(text: str) -> tuple[Path, str]:
        cards = write_tree()
        assert run_cli("build", cards, cwd=tmp_path).returncode == 0
        (cards / "deck.yaml").write_text(text)
        before = snapshot(cards, tmp_path / "dist")
        result = run_cli("build", cards, cwd=tmp_path)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert snapshot(cards, tmp_path / "dist") == before
        return cards, result.stderr
    return run


@pytest.mark.parametrize("number", ["65537", "2147483648", "99999999999999999999", "9" * 5000])
def test_a_cloze_number_anki_cannot_import_is_an_error_at_its_line(refused, number):
    cards, stderr = refused(one_item(f'cloze: "x {{{{c{number}::y}}}}"\n'))
    assert f"{cards}/deck.yaml:4: " in stderr
    assert "is over c65536, the highest cloze number Anki imports" in stderr


def test_the_highest_cloze_number_allowed_is_one_anki_imports(write_tree, tmp_path, anki):
    cards = write_tree({"deck.yaml": one_item('cloze: "x {{c65536::y}}"\n')})
    assert run_cli("build", cards, "-o", tmp_path / "out.apkg").returncode == 0
    assert len(anki.import_apkg(tmp_path / "out.apkg").new) == 1
    assert [card.ord for card in anki.cards()] == [65535]


def test_a_deck_name_too_long_for_a_file_name_is_an_error_at_its_line(refused):
    cards, stderr = refused(one_item("question: q?\nanswer: a\n", deck="D" * 300))
    assert "File name too long" not in stderr
    assert f"{cards}/deck.yaml:1: a part of deck name 'DDDD" in stderr
    assert "too long to name the .apkg file after" in stderr


def test_an_id_too_long_to_be_sensible_is_an_error(refused):
    cards, stderr = refused(DECK.replace("glia-means-glue", "glia-" * 30 + "glue"))
    assert f"{cards}/deck.yaml:10: id is 154 characters long, over the limit of 100" in stderr


@pytest.mark.parametrize("question", ["<!-- only a comment -->", "<math><mi>x</mi></math>",
                                      "<script>alert(1)</script>", "<span onclick='x'></span>", "&nbsp;"])
def test_a_card_side_that_renders_to_nothing_visible_is_an_error_at_its_line(refused, question):
    cards, stderr = refused(one_item(f'question: "{question}"\nanswer: a\n'))
    assert f"{cards}/deck.yaml:4: 'question' renders to nothing visible" in stderr


def test_an_answer_that_shows_nothing_is_an_error_too(refused):
    cards, stderr = refused(DECK.replace("They are its **first line of defense**.", "<!-- todo -->"))
    assert f"{cards}/deck.yaml:6: 'answer' renders to nothing visible" in stderr


def test_check_warns_at_the_field_for_markup_the_sanitizer_removes(write_tree):
    cards = write_tree({"deck.yaml": DECK.replace(
        "They are its **first line of defense**.", "They are its <span onclick='x'>first</span> line <math><mi>x</mi></math>.")
        .replace("    quote: \"they're", "    extra: \"<!-- note --> more\"\n    quote: \"they're")})
    result = run_cli("check", cards)
    assert result.returncode == 0
    assert (f"{cards}/deck.yaml:6: warning [removed-markup] 'answer' loses the onclick attribute of <span>, <math>, "
            "<mi> (not allowed on a card, so it never reaches Anki); write maths as \\( … \\) for MathJax") in result.stderr
    assert f"{cards}/deck.yaml:8: warning [removed-markup] 'extra' loses an HTML comment" in result.stderr
    allowed = DECK.replace("They are its", "<b onmouseover='x'>They</b> are its").replace(
        "    tags: [immune]", "    tags: [immune]\n    allow: [removed-markup]")
    write_tree({"deck.yaml": allowed})
    assert "removed-markup" not in run_cli("check", cards).stderr


def test_a_field_over_the_limit_is_an_error_at_its_line(refused, tmp_path):
    cards, stderr = refused(one_item('question: "' + "word " * 20_001 + '"\nanswer: a\n'))
    assert f"{cards}/deck.yaml:4: 'question' is 100,005 bytes, over the limit of 100,000 (100 kB) for one field" in stderr
    # 17.5 MB in one field: refused without the gigabytes rendering it would take.
    (cards / "deck.yaml").write_text(one_item('question: "' + "word " * 3_500_000 + '"\nanswer: a\n'))
    peak = _peak([sys.executable, "-m", "builder", "build", str(cards), "-o", str(tmp_path / "out.apkg")], code=1)
    assert peak - _peak([sys.executable, "-m", "builder", "--version"]) < 10 * 17.5e6


PEAK = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], capture_output=True).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)  # Linux reports kB
"""


def _peak(command: list[str], *, code: int = 0) -> int:
    """The peak resident memory of a command, in bytes, checking its exit code."""
    result = subprocess.run([sys.executable, "-c", PEAK, *command], capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    exit_code, peak = map(int, result.stdout.split())
    assert exit_code == code
    return peak


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in kB is Linux's")
def test_peak_memory_stays_within_a_small_multiple_of_the_input(write_tree, tmp_path):
    big = "some *words* and `code` " * 4_000  # fields just under the limit, dense with Markdown
    bigs = "".join(f'  - id: big-{i}\n    question: "{big}"\n    answer: b\n    source: dellwo-2022\n'
                   for i in range(30))
    items = "".join(f"  - id: item-{i}\n    question: What is **thing** {i}?\n    answer: It is {i}.\n"
                    f"    source: dellwo-2022\n" for i in range(5_000))
    cards = write_tree({"deck.yaml": f"deck: D\ncards:\n{bigs}{items}"})
    size = (cards / "deck.yaml").stat().st_size
    peak = _peak([sys.executable, "-m", "builder", "build", str(cards), "-o", str(tmp_path / "out.apkg"), "--no-cache"])
    start = _peak([sys.executable, "-m", "builder", "--version"])  # the interpreter and libraries
    assert peak - start < 20 * size, f"{(peak - start) / 1e6:.0f} MB of work for {size / 1e6:.1f} MB of YAML"
