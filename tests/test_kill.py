"""A build killed with SIGKILL at any moment costs nothing: the next build heals, and Anki sees no change.

Each test runs a real `python -m builder build` that stops itself (SIGSTOP) at a named point
(DECKBUILD_TEST_PAUSE), kills it there with SIGKILL, and checks that no worker outlives it, that the
next build leaves no temporary file and a consistent .apkg and state file, and, through real Anki,
that notes the killed build didn't change are not updated by the next import.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from builder.pipeline.state import FILENAME, PENDING
from conftest import log_counts
from test_bad_input import deck, snapshot

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses SIGSTOP, /proc and prctl")
REPO = Path(__file__).resolve().parent.parent
T0, T1, T2 = 1_700_000_000, 1_700_000_100, 1_700_000_200  # each build's time, in the past (Anki keeps past ids)


def big_tree(write_tree, *, edited: bool = False) -> Path:
    """Over 2 MB of YAML in four files, so the build compiles on worker processes; 'edited' changes one answer."""
    answer = "word " * 700
    files = {}
    for f in range(4):
        cards = "".join(f"  - id: f{f}-n{n}\n    question: Q {f} {n}?\n    answer: {answer}{n}\n"
                        f"    source: dellwo-2022\n" for n in range(150))
        files[f"deck{f}.yaml"] = f"deck: Big\ncards:\n{cards}"
    if edited:
        files["deck0.yaml"] = files["deck0.yaml"].replace(f"{answer}0\n", "edited\n", 1)
        files["deck3.yaml"] += "  - id: added\n    question: New?\n    answer: Yes, new.\n    source: dellwo-2022\n"
    cards = write_tree(files)
    assert sum(p.stat().st_size for p in cards.glob("*.yaml")) > 2_000_000
    return cards


def small_tree(write_tree, *, edited: bool = False) -> Path:
    """A few notes; 'edited' changes f0-n0's answer and adds 'added'."""
    text = deck("f0-n0", "f0-n1", "f0-n2", name="Big")
    if edited:
        text = text.replace("A f0-n0.", "edited") + deck("added", name="Big").split("cards:\n", 1)[1]
    return write_tree({"deck.yaml": text})


def run(cards: Path, out: Path, *, stamp: int, pause: str | None = None, cache: bool = True) -> subprocess.Popen:
    """A real build in its own process, its output to a file (a pipe would stay open in orphaned workers)."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(stamp),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env.pop("DECKBUILD_TEST_PAUSE", None)
    if pause:
        env["DECKBUILD_TEST_PAUSE"] = pause
    command = [sys.executable, "-m", "builder", "build", str(cards), "-o", str(out)] + ([] if cache else ["--no-cache"])
    with (out.parent.parent / "build.log").open("a") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def gone(pid: int) -> bool:
    """Whether a process has ended (a zombie waiting for its reaper counts)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0] in ("Z", "X")
    except OSError:
        return True


def kill_at(cards: Path, out: Path, stage: str, *, stamp: int, cache: bool) -> list[int]:
    """Run a build until it stops itself at `stage`, SIGKILL it there; return the pids its workers had."""
    process = run(cards, out, stamp=stamp, pause=stage, cache=cache)
    _, status = os.waitpid(process.pid, os.WUNTRACED)  # returns once the build has stopped itself
    assert os.WIFSTOPPED(status), (out.parent.parent / "build.log").read_text()
    workers = children(process.pid)
    process.kill()
    process.wait()
    # The kernel kills the workers with their parent; give it a moment to finish (no timing is asserted).
    deadline = time.monotonic() + 10
    while not all(map(gone, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = [w for w in workers if not gone(w)]
    for pid in alive:  # so a failure leaves nothing running
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"workers outlived the killed build: {alive}"
    return workers


def package_notes(apkg: Path, tmp_path: Path) -> dict[str, tuple[int, int]]:
    """Each note in a package by its Id field: (note id, mod)."""
    db = tmp_path / "read.anki2"
    with zipfile.ZipFile(apkg) as package:
        db.write_bytes(package.read("collection.anki2"))
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select flds, id, mod from notes").fetchall()
    db.unlink()
    return {flds.split("\x1f")[-1]: (nid, mod) for flds, nid, mod in rows}


def leftovers(*folders: Path) -> list[str]:
    """deckbuild's temporary and pending files in these folders."""
    return sorted(p.name for folder in folders for p in folder.iterdir()
                  if p.name.startswith(".deckbuild-tmp-") or p.name == PENDING)


@pytest.mark.parametrize("stage", ["compile", "package", "pending", "commit"])
def test_a_killed_build_heals_without_restamping(stage, write_tree, deckbuild, anki, tmp_path, monkeypatch):
    if stage == "compile" and (os.cpu_count() or 1) < 2:
        pytest.skip("one core: the build compiles without worker processes")
    tree = big_tree if stage == "compile" else small_tree
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "dist" / "deck.apkg"
    cards = tree(write_tree)
    first = run(cards, out, stamp=T0)
    assert first.wait() == 0, (tmp_path / "build.log").read_text()
    assert log_counts(anki.import_apkg(out))["new"] == len(package_notes(out, tmp_path))
    built = json.loads((cards / FILENAME).read_text())["items"]

    tree(write_tree, edited=True)
    old_package = out.read_bytes()
    workers = kill_at(cards, out, stage, stamp=T1, cache=stage != "compile")
    if stage == "compile":
        assert workers, "the build should have compiled on worker processes"
    package_replaced = out.read_bytes() != old_package
    # Killed while writing, a build leaves its temporary folder (and from "pending" on, its pending state).
    assert bool(leftovers(cards, out.parent)) == (stage != "compile")
    assert package_replaced == (stage == "commit")

    if stage == "commit":  # a new package with the old state file: `check` reads the pair, writes nothing
        before = snapshot(tmp_path, skip=tmp_path / "xdg-cache")
        assert deckbuild("check", "cards").exit_code == 0
        assert snapshot(tmp_path, skip=tmp_path / "xdg-cache") == before
    killed_log = anki.import_apkg(out)  # the user imports whatever package the killed build left

    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(T2))
    result = deckbuild("build", "cards", "-o", out)
    assert result.exit_code == 0, result.output
    assert leftovers(cards, out.parent) == []

    state = json.loads((cards / FILENAME).read_text())["items"]
    in_package = package_notes(out, tmp_path)
    assert in_package == {key: (e["nid"], e["mod"]) for key, e in state.items()}
    unchanged = set(built) - {"f0-n0"}
    assert {key: state[key] for key in unchanged} == {key: built[key] for key in unchanged}

    log = log_counts(anki.import_apkg(out))
    if package_replaced:  # the killed build's package was imported: its notes are already in Anki, as built
        assert log_counts(killed_log) == {"new": 1, "updated": 1, "duplicate": len(built) - 1, "conflicting": 0}
        assert log == {"new": 0, "updated": 0, "duplicate": len(built) + 1, "conflicting": 0}
        assert state["f0-n0"]["mod"] == T1 and "(0 new, 0 changed, 4 unchanged, 0 removed)" in result.stdout
    else:
        assert log == {"new": 1, "updated": 1, "duplicate": len(built) - 1, "conflicting": 0}
        assert state["f0-n0"]["mod"] == T2
    assert {key: note.id for key, note in anki.notes().items()} == {key: e["nid"] for key, e in state.items()}


def test_stale_temporary_files_of_dead_builds_are_swept(write_tree, deckbuild, tmp_path):
    cards = write_tree()
    out = tmp_path / "dist" / "deck.apkg"
    out.parent.mkdir()
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead, alive = int(ended.stdout), os.getpid()
    stale = [f".deckbuild-tmp-{dead}-abcd_123", f".deckbuild-tmp-{dead}-zz99yy88.tmp"]
    kept = [f".deckbuild-tmp-{alive}-abcd_123", ".deckbuild-tmp-x-abcd_123", ".deckbuild-abcd_123", "notes.tmp"]
    for folder in (cards, out.parent):
        (folder / stale[0]).mkdir()
        (folder / stale[0] / "collection.anki2").write_bytes(b"x")
        for name in stale[1:] + kept:
            (folder / name).write_bytes(b"x")
    assert deckbuild("build", cards, "-o", out).exit_code == 0
    for folder in (cards, out.parent):
        assert sorted(p.name for p in folder.iterdir() if p.name not in ("deck.yaml", "sources.yaml", FILENAME,
                                                                          "deck.apkg")) == sorted(kept)
