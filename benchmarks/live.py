"""Time `deckbuild push` of 1 and of 200 edited answers in a 5,000-note deck, with Anki open (the live route,
through deckbuild's add-on) and with Anki closed (the file route); prints a Markdown table.

Usage (from the repository root, with the project's virtual environment, which has aqt[qt]):

    python benchmarks/live.py                 # 5,000-note deck, 20,000 other notes in the collection
    python benchmarks/live.py --other 100000  # a larger collection (its first import takes a few minutes)

It starts the real Anki desktop app headless in a throwaway base folder (as the tests do), imports the deck and the
other notes, then for each edit count rewrites that many answers and runs `python -m builder push`, timing from the
command's start to the moment the add-on reports every edited note changed in Anki (polled every 10 ms), and to the
command's exit. The file-route rows run the same push with Anki closed (the change is in the file when it exits).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from builder.pipeline.render import guid_for  # noqa: E402
from desktop import Desktop, seed  # noqa: E402

FILES = 50


def write_tree(root: Path, *, deck: str, items: int, prefix: str) -> list[str]:
    """A cards tree of plain question/answer items in FILES files; the item ids."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "sources.yaml").write_text("src:\n  title: A Source\n", encoding="utf-8")
    ids = []
    per = max(1, items // FILES)
    for number in range(0, items, per):
        lines = [f"deck: {deck}", "cards:"]
        for i in range(number, min(items, number + per)):
            ids.append(f"{prefix}-{i}")
            lines += [f"  - id: {prefix}-{i}", f"    question: What is item {i} of {prefix}?",
                      f"    answer: It is answer {i}.", "    source: src"]
        (root / f"{prefix}-{number // per:03}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ids


def edit(root: Path, ids: list[str], *, revision: int) -> None:
    """Rewrite the answers of these items (whatever an earlier revision made of them)."""
    wanted = {int(i.rsplit("-", 1)[1]) for i in ids}

    def answer(found: re.Match) -> str:
        number = int(found.group(1))
        return f"    answer: It is answer {number}, edit {revision}.\n" if number in wanted else found.group(0)

    for path in sorted(root.glob("deck-*.yaml")):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"    answer: It is answer (\d+)(?:, edit \d+)?\.\n", answer, text), encoding="utf-8")


def deckbuild(*args: object, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "builder", *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def run(args: list[object], *, env: dict[str, str]) -> str:
    process = deckbuild(*args, env=env)
    out, err = process.communicate()
    if process.returncode:
        raise SystemExit(f"deckbuild {' '.join(map(str, args))} failed ({process.returncode}):\n{out}{err}")
    return out + err


def answers(client, ids: list[str], *, plain: bool, nids: list[int] | None = None) -> list[str]:
    """The Answer field of these items' notes in the running Anki: by GUID (the add-on), or by note id (AnkiConnect)."""
    if not plain:
        return [row[4][1] for row in client.call("notesByGuid", guids=[guid_for(i) for i in ids])]
    return [info["fields"]["Answer"]["value"] for info in client.call("notesInfo", notes=nids) if info]


def timed_push(cards: Path, collection: Path, *, env: dict[str, str], app: Desktop | None,
               ids: list[str], revision: int, plain: bool = False) -> tuple[float | None, float]:
    """Seconds from the push's start to every edited note changed in Anki (live only), and to its exit."""
    seen: list[float] = []
    nids = None
    if app is not None:
        client = app.client(key=None) if plain else app.client()
        if plain:  # AnkiConnect's notes of these items, found before the clock starts
            wanted = set(ids)
            nids = [info["noteId"] for info in client.call("notesInfo", notes=client.call(
                "findNotes", query="deck:Bench::Deck")) if info and info["fields"]["Id"]["value"] in wanted]
    start = time.perf_counter()
    process = deckbuild("push", cards, "--collection", collection, "-o", cards.parent / "out.apkg", env=env)
    if app is not None:

        def poll() -> None:
            deadline = time.monotonic() + 600
            while not seen and time.monotonic() < deadline:
                try:
                    found = answers(client, ids, plain=plain, nids=nids)
                except Exception:  # noqa: BLE001 - Anki busy with the push for a moment: ask again
                    time.sleep(0.01)
                    continue
                if len(found) == len(ids) and all(f", edit {revision}." in text for text in found):
                    seen.append(time.perf_counter() - start)
                    return
                time.sleep(0.01)

        watcher = threading.Thread(target=poll)
        watcher.start()
    out, err = process.communicate()
    done = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"push failed ({process.returncode}):\n{out}{err}")
    if app is not None:
        watcher.join(30)
        if not seen:
            found = answers(app.client(key=None) if plain else app.client(), ids, plain=plain, nids=nids)
            changed = sum(f", edit {revision}." in text for text in found)
            print(f"not seen: {changed} of {len(ids)} changed ({len(found)} found)\n{out}{err}", file=sys.stderr)
    return (seen[0] if seen else None), done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=5000, help="notes in the pushed deck")
    parser.add_argument("--other", type=int, default=20000, help="other notes in the collection")
    parser.add_argument("--edits", default="1,200", help="edit counts to time")
    parser.add_argument("--ankiconnect", type=Path, metavar="PLUGIN",
                        help="also time the pushes through AnkiConnect (its plugin folder) instead of the add-on")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deckbuild-live-bench-") as folder:
        work = Path(folder)
        base = work / "base"
        seed(base)
        app = Desktop(base)
        env = {**os.environ, **app.env(), "PYTHONPATH": str(REPO)}
        cards, other = work / "cards", work / "other"
        ids = write_tree(cards, deck="Bench::Deck", items=options.notes, prefix="deck")
        if options.other:
            write_tree(other, deck="Bench::Other", items=options.other, prefix="other")
        app.start()
        rows = []
        try:
            for tree in ([other] if options.other else []) + [cards]:
                run(["push", tree, "--collection", app.collection, "-o", tree.parent / f"{tree.name}.apkg"],
                    env=env)
            revision = 0
            for count in map(int, options.edits.split(",")):
                revision += 1
                time.sleep(1.1)  # a build stamps seconds: an edit must be in a later second than the last import
                edit(cards, ids[:count], revision=revision)
                changed, done = timed_push(cards, app.collection, env=env, app=app, ids=ids[:count],
                                           revision=revision)
                rows.append((f"live (add-on), {count} edited", changed, done))
            app.stop()
            for count in map(int, options.edits.split(",")):
                revision += 1
                time.sleep(1.1)
                edit(cards, ids[:count], revision=revision)
                _, done = timed_push(cards, app.collection, env=env, app=None, ids=ids[:count], revision=revision)
                rows.append((f"file (Anki closed), {count} edited", None, done))
            if options.ankiconnect:
                shutil.move(base / "addons21" / "deckbuild_live", work / "deckbuild_live")
                shutil.copytree(options.ankiconnect, base / "addons21" / "ankiconnect")
                (base / "addons21" / "ankiconnect" / "meta.json").write_text(
                    json.dumps({"config": {"webBindPort": app.port}}))
                app.key_from_addon = False
                app.start()
                for count in map(int, options.edits.split(",")):
                    revision += 1
                    time.sleep(1.1)
                    edit(cards, ids[:count], revision=revision)
                    changed, done = timed_push(cards, app.collection, env=env, app=app, ids=ids[:count],
                                               revision=revision, plain=True)
                    rows.append((f"live (AnkiConnect), {count} edited", changed, done))
        finally:
            app.stop()
    print(f"`deckbuild push`, a {options.notes:,}-note deck, {options.other:,} other notes in the collection\n")
    print("| route, notes edited | start → changed in Anki | start → command exits |")
    print("| --- | ---: | ---: |")
    for name, changed, done in rows:
        print(f"| {name} | {'' if changed is None else f'{changed:.2f} s'} | {done:.2f} s |")


if __name__ == "__main__":
    main()
