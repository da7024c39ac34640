"""Source texts: read only when safe and small; `skip:` and `via:` in sources.yaml; folding keeps positions."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings, strategies as st

from builder.pipeline.texts import FOLD_TABLE, _fold_map_slowly, fold, fold_map, read_text

DECK = """\
deck: T
cards:
  - id: c1
    question: What are microglia?
    answer: Tiny cells.
    source: src
    quote: "Microglia are tiny cells"
"""


def test_a_regular_utf8_file_within_the_limit_is_read(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("Microglia – tiny.\n".encode() + b"x" * 80)
    assert read_text(path, limit=100) == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("make, reason", [
    (lambda p: p.mkdir(), "not a regular file"),
    (lambda p: os.mkfifo(p), "not a regular file"),
    (lambda p: p.write_bytes(b"x" * 101), "larger than the 100-byte limit"),
    (lambda p: p.write_bytes(b"\xff\xfe bad"), "not UTF-8 text"),
    (lambda p: None, "not found"),
])
def test_anything_else_is_skipped_with_a_reason(tmp_path, make, reason):
    path = tmp_path / "t"
    make(path)
    unread = read_text(path, limit=100)
    assert unread.reason == reason and unread.missing == (reason == "not found")


def test_dev_zero_is_refused_without_reading_it():
    assert read_text("/dev/zero").reason == "not a regular file"


def test_a_file_that_grows_past_the_limit_after_the_stat_is_cut_off(tmp_path, monkeypatch):
    path = tmp_path / "grows.txt"
    path.write_bytes(b"x" * 10)
    real_open = os.open

    def open_then_grow(*args, **kwargs):
        fd = real_open(*args, **kwargs)
        path.write_bytes(b"x" * 500)  # it grew between the size check and the read
        return fd
    monkeypatch.setattr(os, "open", open_then_grow)
    assert read_text(path, limit=100).reason == "larger than the 100-byte limit"


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "huge"])
def test_check_skips_an_unsafe_text_with_one_warning_and_does_not_hang(write_tree, deckbuild, tmp_path, kind):
    target = tmp_path / "article"
    if kind == "dev-zero":
        target = "/dev/zero"
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        with open(target, "wb") as out:
            out.truncate(20_000_001)  # sparse: one byte over the 20 MB limit, costing no disk
    cards = write_tree({"deck.yaml": DECK}, sources=f"src:\n  title: S\n  text: {target}\n")
    result = deckbuild("check", cards)
    reason = "larger than the 20 MB limit" if kind == "huge" else "not a regular file"
    assert result.exit_code == 0, result.output
    assert f"{cards}/sources.yaml:1: warning [quote-not-found] text file '{target}' of source 'src' is {reason}; " \
        "its quotes were not verified" in result.output
    assert result.output.count("quote-not-found") == 1


# --- sources.yaml: skip and via -----------------------------------------------------------------------

SOURCES = """\
art:
  title: The article
  text: art.txt
  skip:
    - 1-2
    - "^Advertisement$"
paper:
  title: A paper the article lists
  via: art
"""


def test_skip_and_via_are_accepted_and_a_via_source_needs_no_citation(write_tree, deckbuild):
    cards = write_tree({"deck.yaml": DECK.replace("source: src", "source: art")}, sources=SOURCES)
    (cards / "art.txt").write_text("Title\nNav\nMicroglia are tiny cells.\n", encoding="utf-8")
    result = deckbuild("check", cards, "--strict")
    assert result.exit_code == 0, result.output
    assert "warning [" not in result.output


def test_an_uncited_source_without_via_is_still_unused(write_tree, deckbuild):
    sources = SOURCES.replace("  via: art\n", "")
    cards = write_tree({"deck.yaml": DECK.replace("source: src", "source: art")}, sources=sources)
    (cards / "art.txt").write_text("Microglia are tiny cells.\n", encoding="utf-8")
    assert f"{cards}/sources.yaml:7: warning [unused-source] source 'paper'" in deckbuild("check", cards).output


def test_bad_skip_entries_and_via_keys_are_errors_at_their_lines(write_tree, deckbuild):
    sources = """\
art:
  title: The article
  text: art.txt
  skip:
    - 12-3
    - "(unclosed"
    - 0-4
    - 5
    - [nested]
paper:
  title: P
  via: artt
self:
  title: S
  via: self
bare:
  title: B
  skip: [1-2]
"""
    cards = write_tree({"deck.yaml": DECK.replace("source: src", "source: art")}, sources=sources)
    result = deckbuild("check", cards)
    assert result.exit_code == 1
    shown = f"{cards}/sources.yaml"
    lines = [line for line in result.output.splitlines() if line.startswith(shown)]
    assert lines == [
        f"{shown}:5: line range '12-3' of source 'art' must run from a line ≥ 1 forward, like '1-12'",
        f"{shown}:6: 'skip' pattern '(unclosed' of source 'art' is not a valid regular expression: "
        "missing ), unterminated subpattern at position 0",
        f"{shown}:7: line range '0-4' of source 'art' must run from a line ≥ 1 forward, like '1-12'",
        f"{shown}:9: each 'skip' entry of source 'art' must be a line range like '1-12' or a regular expression",
        f"{shown}:12: 'via' of source 'paper' names unknown source 'artt'; did you mean 'art'?",
        f"{shown}:15: 'via' of source 'self' names the source itself",
        f"{shown}:18: 'skip' of source 'bare' needs a 'text:' file to skip parts of",
    ]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("aB ’\n\t–ßİ\u00a0x.“"), max_size=40) | st.text(alphabet=" \naB’.", max_size=40))
def test_fold_map_folds_like_fold_and_points_back_into_the_text(text):
    folded, origin = fold_map(text)
    origin = list(origin)
    slow_folded, slow_origin = _fold_map_slowly(text.translate(FOLD_TABLE))  # the character-by-character oracle
    assert (folded, origin) == (slow_folded, list(slow_origin))
    assert folded == fold(text)
    assert len(origin) == len(folded)
    assert origin == sorted(origin) and all(0 <= i < len(text) for i in origin)
    for char, index in zip(folded, origin):
        assert char == " " or char in fold(text[index])
