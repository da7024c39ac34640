"""`check`'s cached lint findings: the same lines with and without the cache, and stale ones never reused."""

from __future__ import annotations

import pytest

from builder.checking import lint

ARTICLE = "Microglia are tiny cells. Some researchers suggest they may prune synapses.\n"
SOURCES = """\
src:
  title: S
  text: article.txt
book:
  title: A book
unused:
  title: Never cited
"""
FIRST = """\
deck: Brain
cards:
  - id: long
    question: What are microglia?
    answer: one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen
    source: src
    quote: "Microglia are tiny cells"
  - id: yes-no
    question: Are microglia small?
    answer: "Yes"
    source: src
    quote: "Microglia are tiny cells"
  - id: hedge
    question: What do microglia do to synapses?
    answer: They prune them
    source: src
    quote: "Some researchers suggest they may prune synapses"
  - id: missing
    question: Where do microglia live?
    answer: In the brain
    source: src
    quote: "Microglia live in the brain"
  - id: given
    question: Which cells are the microglia?
    answer: Microglia
    source: book
  - id: same1
    question: What prunes synapses?
    answer: "**Microglia**"
    source: book
  - id: allowed
    question: What are microglia?
    answer: Tiny cells
    allow: [duplicate-question]
    source: book
"""
SECOND = """\
deck: Brain::More
cards:
  - id: same2
    question: What clears debris?
    answer: "**microglia**"
    source: book
  - id: same3
    cloze: "Debris is cleared by {{c1::microglia}}."
    source: book
  - id: twice
    question: What prunes synapses?
    answer: Microglia again
    source: book
"""


def write(write_tree, first: str = FIRST):
    cards = write_tree({"a.yaml": first, "b.yaml": SECOND}, sources=SOURCES)
    (cards / "article.txt").write_text(ARTICLE, encoding="utf-8")
    return cards


def lines(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_a_warm_check_prints_what_check_without_the_cache_prints(write_tree, deckbuild, tmp_path, monkeypatch):
    cards = write(write_tree)
    cache = tmp_path / "cache"
    plain = lines(deckbuild("check", cards, "--no-cache"))
    rules = {rule for rule in ("long-answer", "yes-no", "hedge-dropped", "quote-not-found", "answer-in-question",
                               "shared-answer", "duplicate-question", "unused-source") if f"[{rule}]" in "\n".join(plain)}
    assert len(rules) == 8  # per-item, editorial and tree-wide findings are all planted
    assert lines(deckbuild("check", cards, "--cache-dir", cache)) == plain  # cold: computed, then stored
    monkeypatch.setattr(lint, "_file_findings", lambda *args: pytest.fail("a file's findings were computed again"))
    assert lines(deckbuild("check", cards, "--cache-dir", cache)) == plain  # warm: every file's findings read


def test_only_an_edited_file_is_linted_again(write_tree, deckbuild, tmp_path, monkeypatch):
    cards = write(write_tree)
    cache = tmp_path / "cache"
    deckbuild("check", cards, "--cache-dir", cache)
    linted = []
    compute = lint._file_findings
    monkeypatch.setattr(lint, "_file_findings", lambda items, *rest: linted.append(items[0].path) or compute(items, *rest))
    (cards / "b.yaml").write_text(SECOND.replace("What clears debris?", "What is microglia's job?"), encoding="utf-8")
    warm = lines(deckbuild("check", cards, "--cache-dir", cache))
    assert linted == [f"{cards}/b.yaml"]
    assert warm == lines(deckbuild("check", cards, "--no-cache"))
    assert any("[answer-in-question] the answer's words (microglia)" in line and "b.yaml:5:" in line for line in warm)


def test_a_changed_source_text_invalidates_the_cached_findings(write_tree, deckbuild, tmp_path):
    cards = write(write_tree)
    cache = tmp_path / "cache"
    first = lines(deckbuild("check", cards, "--cache-dir", cache))
    assert sum("[quote-not-found]" in line for line in first) == 1  # the quote of 'missing', not yet in the text
    (cards / "article.txt").write_text(ARTICLE + "Microglia live in the brain.\n", encoding="utf-8")
    assert not any("[quote-not-found]" in line for line in lines(deckbuild("check", cards, "--cache-dir", cache)))
    (cards / "article.txt").write_text("Nothing of the sort.\n", encoding="utf-8")
    warm = lines(deckbuild("check", cards, "--cache-dir", cache))
    assert warm == lines(deckbuild("check", cards, "--no-cache"))
    assert sum("[quote-not-found]" in line for line in warm) == 4


def test_linting_on_all_cores_finds_what_one_process_finds(write_tree, tmp_path, monkeypatch):
    from builder.checking.lint import check

    cards = write(write_tree)
    alone = check(cards_dir=cards).problems
    monkeypatch.setattr(lint, "PARALLEL_ITEMS", 1)
    monkeypatch.setattr(lint, "_PIECE", 2)  # files split in pieces across the workers, joined again
    monkeypatch.setattr(lint.threading, "active_count", lambda: 1)  # the test runner's own threads don't matter
    monkeypatch.setattr(lint.os, "cpu_count", lambda: 2)
    pools = []

    class Pool(lint.ProcessPoolExecutor):
        def __init__(self, **options):
            pools.append(options["max_workers"])
            super().__init__(**options)

    monkeypatch.setattr(lint, "ProcessPoolExecutor", Pool)
    assert check(cards_dir=cards).problems == alone
    assert pools == [2]  # the pieces were linted by two worker processes


def test_a_damaged_findings_entry_is_ignored(write_tree, deckbuild, tmp_path):
    from builder.pipeline.cache import key_for

    cards = write(write_tree)
    cache = tmp_path / "cache"
    plain = lines(deckbuild("check", cards, "--no-cache"))
    deckbuild("check", cards, "--cache-dir", cache)
    key = key_for("lint", str(cards.resolve()), str(cards))
    entry = cache / key[:2] / f"{key}.marshal"
    entry.write_bytes(entry.read_bytes()[:-40])
    assert lines(deckbuild("check", cards, "--cache-dir", cache)) == plain
    entry.write_bytes(b"\x00" * 100)
    assert lines(deckbuild("check", cards, "--cache-dir", cache)) == plain
