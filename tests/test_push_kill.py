"""A push killed with SIGKILL at any point is finished by the next push: a short crash test.

The push is stopped (SIGSTOP) at each of its pause points (DECKBUILD_TEST_PAUSE), or at a random
moment, and killed there; then a normal `push --yes` runs. After it the collection must be exactly
what an unkilled push makes of the same start (types, fields, cards, decks, reviews), no tombstone
may be left for the deleted note, and every backup must be a readable package.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from builder.pipeline.state import FILENAME
from conftest import SOURCES

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses SIGSTOP")
REPO = Path(__file__).resolve().parent.parent
STAGES = ["push-backup", "pending", "commit", "push-build", "push-import", "push-convert", "push-remove",
          "push-move", "push-delete"]
RANDOM_KILLS = 2

ONE = """deck: Crash::One
cards:
  - id: edited
    question: What is edited?
    answer: The old answer.
    source: dellwo-2022
  - id: to-cloze
    question: What becomes a cloze?
    answer: This item.
    reverse: true
    source: dellwo-2022
  - id: shrinks
    cloze: "It has {{c1::one}} and {{c2::two}}."
    source: dellwo-2022
  - id: doomed
    question: What is deleted?
    answer: This item.
    source: dellwo-2022
"""
TWO = """deck: Crash::Old
cards:
  - id: renamed
    question: Which deck moves?
    answer: This one.
    source: dellwo-2022
"""


def edit(cards: Path) -> None:
    """Every kind of change a push applies: an edit, a conversion, a dropped card, a deletion, a deck rename."""
    one = ONE.replace("The old answer.", "The new answer.")
    one = one.replace("    question: What becomes a cloze?\n    answer: This item.\n    reverse: true\n",
                      "    cloze: \"A {{c1::cloze}} now.\"\n")
    one = one.replace("{{c1::one}} and {{c2::two}}", "{{c1::one}} only")
    one = one.split("  - id: doomed")[0]
    (cards / "one.yaml").write_text(one)
    (cards / "two.yaml").write_text(TWO.replace("Crash::Old", "Crash::New"))


@pytest.fixture(scope="module")
def start(tmp_path_factory) -> Path:
    """A tree pushed once into a fresh collection, every card reviewed once, then the YAML edited."""
    pytest.importorskip("anki")
    from anki.collection import Collection

    root = tmp_path_factory.mktemp("start")
    cards = root / "cards"
    cards.mkdir()
    (cards / "sources.yaml").write_text(SOURCES)
    (cards / "one.yaml").write_text(ONE)
    (cards / "two.yaml").write_text(TWO)
    collection = root / "anki" / "collection.anki2"
    collection.parent.mkdir()
    Collection(str(collection)).close()
    assert run(root, "push", "--yes").wait(timeout=120) == 0, (root / "push.log").read_text()
    col = Collection(str(collection))
    for cid in col.find_cards(""):
        card = col.get_card(cid)
        col.decks.select(card.did)
        card.start_timer()
        col.sched.answerCard(card, 3)
    col.close()
    edit(cards)
    shutil.rmtree(collection.parent / "backups")
    return root


def run(root: Path, *args: str, pause: str | None = None) -> subprocess.Popen:
    """`deckbuild push` on the root's tree and collection, in its own process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "XDG_CACHE_HOME": str(root / "cache")}
    env.pop("DECKBUILD_TEST_PAUSE", None)
    if pause:
        env["DECKBUILD_TEST_PAUSE"] = pause
    with (root / "push.log").open("a") as log:
        return subprocess.Popen([sys.executable, "-m", "builder", *args, str(root / "cards"), "--collection",
                                 str(root / "anki" / "collection.anki2"), "-o", str(root / "out.apkg")],
                                env=env, stdout=log, stderr=subprocess.STDOUT)


def picture(root: Path) -> dict:
    """The collection as a user sees it: each note's type, fields and cards (number, deck, reviews)."""
    from anki.collection import Collection

    col = Collection(str(root / "anki" / "collection.anki2"))
    try:
        notes = {}
        for nid in col.find_notes(""):
            note = col.get_note(nid)
            cards = sorted((c.ord, col.decks.name(c.did),
                            col.db.scalar("select count() from revlog where cid = ?", c.id)) for c in note.cards())
            notes[note["Id"]] = (note.note_type()["name"], tuple(note.fields), tuple(cards))
        empty = [c for entry in col.get_empty_cards().notes for c in entry.card_ids]
        return {"notes": notes, "empty": empty}
    finally:
        col.close()


@pytest.fixture(scope="module")
def expected(start, tmp_path_factory) -> dict:
    """What an unkilled push makes of the start."""
    root = tmp_path_factory.mktemp("clean")
    shutil.copytree(start, root, dirs_exist_ok=True)
    assert run(root, "push", "--yes").wait(timeout=120) == 0, (root / "push.log").read_text()
    return picture(root)


def killed(root: Path, *, pause: str | None, delay: float = 0.0) -> None:
    """Run a push until it stops itself at `pause` (or for `delay` seconds), then SIGKILL it."""
    process = run(root, "push", "--yes", pause=pause)
    if pause:
        _, status = os.waitpid(process.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status), (root / "push.log").read_text()
    else:
        time.sleep(delay)
    process.kill()
    process.wait()


def check(root: Path, expected: dict, deckbuild) -> None:
    """After a kill and a normal push: the collection as expected, no tombstone of the deleted note, backups sound."""
    result = deckbuild("push", root / "cards", "--collection", root / "anki" / "collection.anki2", "-o",
                       root / "out.apkg", "--yes")
    assert result.exit_code == 0, result.output
    got = picture(root)
    assert got == expected, result.output
    assert not got["empty"]
    assert "doomed" not in json.loads((root / "cards" / FILENAME).read_text())["items"]
    backups = [p for p in (root / "anki" / "backups").iterdir() if not p.name.startswith(".deckbuild-tmp-")]
    assert backups
    for backup in backups:
        with zipfile.ZipFile(backup) as package:
            assert package.testzip() is None and "meta" in package.namelist()


def test_the_expected_result_is_the_yaml(expected):
    notes = expected["notes"]
    assert set(notes) == {"edited", "to-cloze", "shrinks", "renamed"}
    assert notes["to-cloze"][0] == "deckbuild Cloze" and notes["to-cloze"][1][0] == "A {{c1::cloze}} now."
    assert notes["to-cloze"][2] == ((0, "Crash::One", 1),)  # card 1 kept its review; the reverse card is gone
    assert notes["shrinks"][2] == ((0, "Crash::One", 1),)
    assert notes["renamed"][2] == ((0, "Crash::New", 1),)
    assert notes["edited"][1][1] == "The new answer."


@pytest.mark.parametrize("stage", STAGES)
def test_a_push_killed_at_each_step_is_finished_by_the_next(stage, start, expected, tmp_path, deckbuild):
    root = tmp_path / "run"
    shutil.copytree(start, root)
    killed(root, pause=stage)
    check(root, expected, deckbuild)


@pytest.mark.parametrize("seed", range(RANDOM_KILLS))
def test_a_push_killed_at_a_random_moment_is_finished_by_the_next(seed, start, expected, tmp_path, deckbuild):
    root = tmp_path / "run"
    shutil.copytree(start, root)
    delay = random.Random(seed).uniform(0.3, 2.0)
    killed(root, pause=None, delay=delay)
    check(root, expected, deckbuild)
