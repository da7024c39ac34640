"""`deckbuild watch`: a build at start, a rebuild per save, and a bad save keeps the last good .apkg."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from builder.pipeline.build import Summary
from builder.pipeline.cache import Cache
from builder.errors import ContentError
from builder.pipeline.state import FILENAME
from builder.commands.watch import watch, watched
from conftest import visible_text
from faults import INTERNAL_FAULT, ROOT

WAIT = 30  # seconds; a bound on a hang, never reached when the watcher works


def save(path: Path, text: str) -> None:
    """Save a file the way editors do: write a copy elsewhere, then move it over the original."""
    temp = path.parent.parent / f"{path.name}.saving"
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


@pytest.fixture
def watching(write_tree, tmp_path, private_cache):
    """Start `watch` (with a cache, as the command runs it) on a fresh tree in a thread.

    Yields (cards, output, next outcome) and stops the watch after.
    """
    cards, output = write_tree(), tmp_path / "out.apkg"
    outcomes: queue.Queue = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=watch, kwargs=dict(
        cards_dir=cards, output=output, on_build=outcomes.put, stop_event=stop, debounce_ms=200,
        cache=Cache(private_cache)))
    thread.start()

    def next_outcome():
        return outcomes.get(timeout=WAIT)

    yield cards, output, next_outcome
    stop.set()
    thread.join(timeout=WAIT)
    assert not thread.is_alive(), "watch did not stop when stop_event was set"


def test_watch_builds_at_start_then_an_edit_reaches_anki(watching, anki):
    cards, output, next_outcome = watching
    first = next_outcome()
    assert isinstance(first, Summary) and first.output == output and first.notes == 2
    deck = cards / "deck.yaml"
    save(deck, deck.read_text().replace("its **first line of defense**", "the brain's **resident immune cells**"))
    second = next_outcome()
    assert isinstance(second, Summary) and second.changed == ("microglia-first-line",)
    anki.import_apkg(output)
    assert visible_text(anki.notes()["microglia-first-line"]["Answer"]) == "They are the brain's resident immune cells."


def test_watch_fills_and_reuses_the_cache(watching, private_cache):
    cards, output, next_outcome = watching
    assert isinstance(next_outcome(), Summary)
    first = {entry.read_bytes() for entry in private_cache.rglob("*.marshal")}
    assert len(first) == 1
    deck = cards / "deck.yaml"
    save(deck, deck.read_text().replace("glue}}.", "glue}} (Greek)."))
    assert isinstance(next_outcome(), Summary)
    assert b"(Greek)" in b"".join(entry.read_bytes() for entry in private_cache.rglob("*.marshal"))


def test_a_bad_save_keeps_the_last_good_apkg_and_a_fix_builds_again(watching):
    cards, output, next_outcome = watching
    assert isinstance(next_outcome(), Summary)
    good = output.read_bytes()
    deck = cards / "deck.yaml"
    text = deck.read_text()
    save(deck, text.replace("    source: dellwo-2022\n    quote:", "    source: nobody-1999\n    quote:"))
    broken = next_outcome()
    assert isinstance(broken, ContentError)
    assert [str(p) for p in broken.problems] == [
        f"{cards.as_posix()}/deck.yaml:7: unknown source 'nobody-1999'; add it to sources.yaml"]
    assert output.read_bytes() == good
    save(deck, text.replace("glue}}.", "glue}} (Greek)."))
    fixed = next_outcome()
    assert isinstance(fixed, Summary) and fixed.changed == ("glia-means-glue",)
    assert output.read_bytes() != good


def test_only_files_a_build_reads_start_a_build(tmp_path):
    cards = tmp_path / "cards"
    assert watched(cards_dir=cards, path=cards / "deck.yaml")
    assert watched(cards_dir=cards, path=cards / "sub" / "more.yml")
    assert watched(cards_dir=cards, path=cards / "img" / "Cell.PNG")
    assert watched(cards_dir=cards, path=cards / "sources" / "article.txt")
    assert not watched(cards_dir=cards, path=cards / FILENAME)
    assert not watched(cards_dir=cards, path=cards / f".{FILENAME}.x1y2.tmp")
    assert not watched(cards_dir=cards, path=cards / "deck.yaml~")
    assert not watched(cards_dir=cards, path=cards / ".deck.yaml.swp")
    assert not watched(cards_dir=cards, path=cards / ".git" / "deck.yaml")
    assert not watched(cards_dir=cards, path=cards / "Deck.apkg")
    assert not watched(cards_dir=cards, path=tmp_path / "elsewhere.yaml")


def test_watch_on_a_missing_folder_is_a_usage_error(deckbuild, tmp_path):
    result = deckbuild("watch", tmp_path / "nowhere")
    assert result.exit_code == 2
    assert f"Error: cards folder '{tmp_path / 'nowhere'}' not found" in result.output


@contextlib.contextmanager
def watch_process(*args: object, script: str | None = None):
    """A real `deckbuild watch ARGS` process (or `python -c SCRIPT watch ARGS`); yields `read_until(text)`.

    `read_until` returns the output lines up to the first one containing `text`. The watch is
    stopped with SIGINT, as Ctrl-C does, and must exit 0.
    """
    runner = ["-c", script] if script else ["-m", "builder"]
    process = subprocess.Popen(
        [sys.executable, *runner, "watch", *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)})
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [*map(lines.put, process.stdout), lines.put(None)], daemon=True).start()

    def read_until(text: str) -> list[str]:
        seen = []
        while not seen or text not in seen[-1]:
            seen.append(lines.get(timeout=WAIT))
            assert seen[-1] is not None, "deckbuild watch ended:\n" + "".join(seen[:-1])
        return seen

    try:
        yield read_until
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=WAIT) == 0


@pytest.mark.skipif(sys.platform == "win32", reason="stopped by SIGINT, as Ctrl-C does")
def test_the_watch_command_prints_each_build_and_stops_on_ctrl_c(write_tree, tmp_path):
    cards, output = write_tree(), tmp_path / "out.apkg"
    with watch_process(cards, "-o", output) as read_until:
        assert read_until("→")[-1].startswith("2 notes, 2 cards (2 new,")
        deck = cards / "deck.yaml"
        save(deck, deck.read_text().replace("dellwo-2022\n    quote:", "nobody-1999\n    quote:"))
        problem = read_until("nothing written; the last good .apkg, if any, is unchanged.")[-2]
        assert problem.endswith("deck.yaml:7: unknown source 'nobody-1999'; add it to sources.yaml\n")


@pytest.mark.skipif(sys.platform == "win32", reason="stopped by SIGINT, as Ctrl-C does")
def test_the_watch_command_survives_content_internal_and_environment_errors(write_tree, tmp_path):
    cards, folder = write_tree(), tmp_path / "out"
    output = folder / "out.apkg"
    deck = cards / "deck.yaml"
    text = deck.read_text()
    # A real `deckbuild watch`, with a fault injected: rendering an item whose id is 'boom' raises.
    with watch_process(cards, "-o", output, script=INTERNAL_FAULT) as read_until:
        assert read_until("→")[-1].startswith("2 notes, 2 cards (2 new,")
        good = output.read_bytes()

        save(deck, text.replace("dellwo-2022\n    quote:", "nobody-1999\n    quote:"))  # content
        assert "unknown source 'nobody-1999'" in read_until("the last good .apkg, if any, is unchanged.")[-2]

        save(deck, text.replace("glia-means-glue", "boom"))  # internal
        seen = read_until("still watching")
        assert seen[-2].startswith("internal error: ZeroDivisionError: injected fault. This is a bug in deckbuild; "
                                   "please report it")
        assert not any("Traceback" in line for line in seen)

        output.unlink()
        folder.rmdir()
        folder.write_text("a file where the output's folder was\n")  # environment
        save(deck, text.replace("glue}}.", "glue}} (Greek)."))
        seen = read_until("still watching")
        assert seen[-2].startswith(f"Error: cannot write '{output}': ")

        folder.unlink()
        save(deck, text)
        assert read_until("→")[-1].startswith("2 notes, 2 cards (")
        assert output.read_bytes() == good


def test_watch_builds_what_build_builds_with_and_without_the_cache(write_tree, deckbuild, tmp_path, private_cache,
                                                                  monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    edit = ("its **first line of defense**", "the brain's **resident immune cells**")
    trees = {name: write_tree(root=name) for name in ("watched", "cached", "uncached")}
    outcomes: queue.Queue = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=watch, kwargs=dict(
        cards_dir=trees["watched"], output=tmp_path / "watched.apkg", on_build=outcomes.put, stop_event=stop,
        debounce_ms=200, cache=Cache(private_cache)))
    thread.start()
    try:
        for step in ("start", "edit"):
            if step == "edit":
                for cards in trees.values():
                    save(cards / "deck.yaml", (cards / "deck.yaml").read_text().replace(*edit))
            assert isinstance(outcomes.get(timeout=WAIT), Summary)
            watched_bytes = (tmp_path / "watched.apkg").read_bytes()
            assert deckbuild("build", trees["cached"], "-o", tmp_path / "cached.apkg").exit_code == 0
            assert deckbuild("build", trees["uncached"], "-o", tmp_path / "uncached.apkg",
                             "--no-cache").exit_code == 0
            assert (tmp_path / "cached.apkg").read_bytes() == watched_bytes
            assert (tmp_path / "uncached.apkg").read_bytes() == watched_bytes
    finally:
        stop.set()
        thread.join(timeout=WAIT)
