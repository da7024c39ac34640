"""Start two builds on one tree, or `pull` and `push` on one collection, together, many times; report every outcome.

Usage (from the repository root, with the project's virtual environment, which has `anki`):

    python benchmarks/race.py              # 50 rounds of each pair
    python benchmarks/race.py --rounds 10

Each run must either do its work (exit 0) or wait and exit 3 with one line naming the other
deckbuild; after every round the state file must describe exactly the package beside it. The
test suite runs the same check for a few rounds (tests/test_concurrency.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = "src:\n  title: A source\n"


def deck(round_: int) -> str:
    cards = "".join(f"  - id: item-{n}\n    question: Question {n}?\n    answer: Answer {n} {round_}.\n"
                    f"    source: src\n" for n in range(50))
    return f"deck: Race\ncards:\n{cards}"


def run_together(*commands: list[str]) -> list[tuple[int, str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": os.environ["RACE_CACHE"]}
    runs = [subprocess.Popen([sys.executable, "-m", "builder", *c], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for c in commands]
    return [(run.wait(), run.communicate()[0]) for run in runs]


def in_step(cards: Path, apkg: Path) -> bool:
    state = json.loads((cards / "deckbuild-state.json").read_text())["items"]
    with zipfile.ZipFile(apkg) as package, tempfile.TemporaryDirectory() as work:
        db = Path(work) / "c.anki2"
        db.write_bytes(package.read("collection.anki2"))
        with sqlite3.connect(db) as conn:
            rows = {f.split("\x1f")[-1]: (nid, mod) for f, nid, mod in conn.execute("select flds, id, mod from notes")}
    return rows == {k: (e["nid"], e["mod"]) for k, e in state.items() if not e.get("removed")}


def judge(name: str, outcomes: list[tuple[int, str]], tally: dict[str, int]) -> None:
    for code, output in outcomes:
        fine = code == 0 or (code == 3 and len(output.splitlines()) == 1 and "another deckbuild" in output)
        tally[f"{name} exit {code}"] = tally.get(f"{name} exit {code}", 0) + 1
        if not fine:
            tally[f"{name} WRONG"] = tally.get(f"{name} WRONG", 0) + 1
            print(f"{name}: exit {code}: {output.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    rounds = parser.parse_args().rounds
    tally: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        os.environ["RACE_CACHE"] = str(root / "cache")  # never the user's cache
        cards = root / "cards"
        cards.mkdir()
        (cards / "sources.yaml").write_text(SOURCES)
        from anki.collection import Collection

        collection = root / "profile" / "collection.anki2"
        collection.parent.mkdir()
        Collection(str(collection)).close()
        for round_ in range(rounds):
            (cards / "deck.yaml").write_text(deck(round_))
            judge("build+build", run_together(["build", str(cards), "-o", str(root / "deck.apkg")],
                                              ["build", str(cards), "-o", str(root / "deck.apkg")]), tally)
            if not in_step(cards, root / "deck.apkg"):
                tally["build+build OUT OF STEP"] = tally.get("build+build OUT OF STEP", 0) + 1
            judge("push+pull", run_together(
                ["push", str(cards), "--collection", str(collection), "-o", str(root / "deck.apkg")],
                ["pull", str(cards), "--collection", str(collection)]), tally)
            if not in_step(cards, root / "deck.apkg"):
                tally["push+pull OUT OF STEP"] = tally.get("push+pull OUT OF STEP", 0) + 1
    for key, count in sorted(tally.items()):
        print(f"{key}: {count}")
    sys.exit(1 if any("WRONG" in k or "OUT OF STEP" in k for k in tally) else 0)


if __name__ == "__main__":
    main()
