"""One deckbuild at a time per cards tree and per collection, with real processes (not threads).

A process that finds the lock taken waits a bounded time (DECKBUILD_LOCK_WAIT), then exits 3
with one line naming the holder. `benchmarks/race.py` runs the issue's 50 rounds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile
import sqlite3
from pathlib import Path

import pytest

from builder.pipeline.state import FILENAME, PENDING
from conftest import DECK

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses SIGSTOP and /proc/locks")
REPO = Path(__file__).resolve().parent.parent


def start(*args: object, pause: str | None = None, wait: float | None = None, log: Path) -> subprocess.Popen:
    """`python -m builder ARGS` in its own process; it stops itself at `pause` (DECKBUILD_TEST_PAUSE)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env.pop("DECKBUILD_TEST_PAUSE", None)
    if pause:
        env["DECKBUILD_TEST_PAUSE"] = pause
    if wait is not None:
        env["DECKBUILD_LOCK_WAIT"] = str(wait)
    return subprocess.Popen([sys.executable, "-m", "builder", *map(str, args)], env=env, text=True,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def stopped(process: subprocess.Popen, log: Path) -> None:
    """Wait until a process has stopped itself at its pause point."""
    _, status = os.waitpid(process.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), log.read_text()


def resume(process: subprocess.Popen) -> int:
    os.kill(process.pid, signal.SIGCONT)
    return process.wait(timeout=120)


def in_step(cards: Path, apkg: Path) -> bool:
    """Whether the state file describes exactly the package beside it (note ids and mods)."""
    state = json.loads((cards / FILENAME).read_text())["items"]
    with zipfile.ZipFile(apkg) as package:
        db = apkg.with_suffix(".read")
        db.write_bytes(package.read("collection.anki2"))
    with sqlite3.connect(db) as conn:
        rows = {flds.split("\x1f")[-1]: (nid, mod) for flds, nid, mod in conn.execute("select flds, id, mod from notes")}
    db.unlink()
    return not (cards / PENDING).exists() and rows == {k: (e["nid"], e["mod"]) for k, e in state.items()
                                                        if not e.get("removed")}


def test_a_second_build_waits_then_exits_3_naming_the_first(write_tree, tmp_path):
    cards = write_tree()
    out = tmp_path / "deck.apkg"
    first = start("build", cards, "-o", out, pause="pending", log=tmp_path / "first.log")
    stopped(first, tmp_path / "first.log")  # holds the tree's lock, its state half-committed
    second = start("build", cards, "-o", tmp_path / "other.apkg", wait=0.3, log=tmp_path / "second.log")
    assert second.wait(timeout=60) == 3
    lines = (tmp_path / "second.log").read_text().splitlines()
    assert len(lines) == 1 and f"pid {first.pid}" in lines[0] and "another deckbuild" in lines[0], lines
    assert not (tmp_path / "other.apkg").exists()
    assert resume(first) == 0
    assert in_step(cards, out)


def test_builds_started_together_both_finish_in_step(write_tree, tmp_path):
    cards = write_tree()
    for round_ in range(2):
        (cards / "deck.yaml").write_text(DECK.replace("means {{c1::glue}}", f"means {{{{c1::glue}}}} {round_}"))
        runs = [start("build", cards, "-o", tmp_path / "deck.apkg", log=tmp_path / f"{round_}-{n}.log")
                for n in range(2)]
        codes = [run.wait(timeout=120) for run in runs]
        assert codes == [0, 0], [(tmp_path / f"{round_}-{n}.log").read_text() for n in range(2)]
        assert in_step(cards, tmp_path / "deck.apkg")


def test_pull_waits_for_a_push_on_the_same_collection_and_never_blames_anki(write_tree, anki, tmp_path):
    cards = write_tree()
    anki.close()
    push = start("push", cards, "--collection", anki.path, "-o", tmp_path / "out.apkg", pause="push-build",
                 log=tmp_path / "push.log")
    stopped(push, tmp_path / "push.log")  # the collection is open in the push, the state just written
    other = tmp_path / "other"
    other.mkdir()
    (other / "deck.yaml").write_text(DECK)  # another tree: only the collection's lock is shared
    (other / "sources.yaml").write_text((cards / "sources.yaml").read_text())
    pull = start("pull", other, "--collection", anki.path, wait=0.3, log=tmp_path / "pull.log")
    assert pull.wait(timeout=60) == 3
    lines = (tmp_path / "pull.log").read_text().splitlines()
    assert len(lines) == 1 and f"pid {push.pid}" in lines[0] and "open in Anki" not in lines[0], lines
    assert resume(push) == 0, (tmp_path / "push.log").read_text()


def test_pull_and_push_started_together_both_do_their_work(write_tree, anki, tmp_path):
    cards = write_tree()
    anki.close()
    first = subprocess.run([sys.executable, "-m", "builder", "push", cards, "--collection", anki.path,
                            "-o", tmp_path / "out.apkg"], capture_output=True, text=True, cwd=REPO)
    assert first.returncode == 0, first.stderr
    for round_ in range(2):
        runs = [start("push", cards, "--collection", anki.path, "-o", tmp_path / "out.apkg",
                      log=tmp_path / f"push{round_}.log"),
                start("pull", cards, "--collection", anki.path, log=tmp_path / f"pull{round_}.log")]
        codes = [run.wait(timeout=120) for run in runs]
        assert codes == [0, 0], [(tmp_path / f"{n}{round_}.log").read_text() for n in ("push", "pull")]
        assert in_step(cards, tmp_path / "out.apkg")


def test_watch_takes_the_lock_for_each_rebuild_and_builds_once_it_is_free(write_tree, tmp_path, monkeypatch):
    import queue
    import threading

    from builder.commands.watch import watch
    from builder.pipeline.build import Summary
    from builder.pipeline.lock import Busy

    cards = write_tree()
    holder = start("build", cards, "-o", tmp_path / "a.apkg", pause="pending", log=tmp_path / "holder.log")
    stopped(holder, tmp_path / "holder.log")
    monkeypatch.setenv("DECKBUILD_LOCK_WAIT", "0.2")
    outcomes: queue.Queue = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=watch, kwargs=dict(cards_dir=cards, output=tmp_path / "b.apkg",
                                                        on_build=outcomes.put, stop_event=stop, debounce_ms=100))
    thread.start()
    try:
        busy = outcomes.get(timeout=30)
        assert isinstance(busy, Busy) and f"pid {holder.pid}" in str(busy)
        assert resume(holder) == 0
        while isinstance(outcome := outcomes.get(timeout=30), Busy):  # retried without a save
            pass
        assert isinstance(outcome, Summary) and (tmp_path / "b.apkg").is_file()
    finally:
        stop.set()
        thread.join(timeout=30)
        if holder.poll() is None:
            holder.kill()
