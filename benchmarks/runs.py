"""The runs: each tree shape's floor, cold, warm, check and watch, and the lived-in collection's commands."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from report import collection_table, mb
from shapes import QUICK_SCALE, SHAPES
from timing import REPO, SCRIPT, SUMMARY, Run, Series, measure, measure_watch
from trees import Tree, edit_answer, generate

STATE = "deckbuild-state.json"
_CHECKED = re.compile(r"(\d+) notes checked, (\d+) warnings?")


def verify(run: Run, *, what: str, tree: Tree, notes: list[str], new: int | None = None,
           changed: int | None = None) -> None:
    """Note anything in a run's output that says it did not do the work being timed."""
    if what == "check":
        found = _CHECKED.search(run.stdout)
        if not found:
            notes.append("check: could not read its summary line; its work was not verified")
        elif int(found.group(1)) != tree.items:
            notes.append(f"check: checked {found.group(1)} notes, expected {tree.items}")
        elif int(found.group(2)):
            notes.append(f"check: {found.group(2)} lint warnings on the generated tree (printing them is timed)")
        return
    found = SUMMARY.search(run.stdout) if what == "build" else re.search(r"(\d+) notes, (\d+) cards", run.stdout)
    if not found:
        notes.append(f"{what}: could not read its summary line; its work was not verified")
        return
    if (int(found.group(1)), int(found.group(2))) != (tree.items, tree.cards):
        notes.append(f"{what}: wrote {found.group(1)} notes / {found.group(2)} cards, "
                     f"expected {tree.items} / {tree.cards}")
    if what == "build" and (int(found.group(3)), int(found.group(4))) != (new, changed):
        notes.append(f"build: reported {found.group(3)} new / {found.group(4)} changed, expected {new} / {changed}")


def _note_once(notes: list[str], message: str) -> None:
    """Add a message to the notes unless an earlier run already added it."""
    if message not in notes:
        notes.append(message)


def same_bytes(deckbuild: list[str], *, tree: Tree, state: bytes, built: Path, env: dict[str, str],
               notes: list[str]) -> None:
    """Note it unless the warm build's .apkg is byte for byte what a build without the cache makes (untimed)."""
    after = (tree.root / STATE).read_bytes()
    (tree.root / STATE).write_bytes(state)  # the state the warm build started from
    afresh = built.with_name("afresh.apkg")
    measure(deckbuild + ["build", str(tree.root), "-o", str(afresh), "--no-cache"], env=env)
    if afresh.read_bytes() != built.read_bytes() or (tree.root / STATE).read_bytes() != after:
        notes.append("build: the warm build's .apkg or state differs from a build without the cache")
    (tree.root / STATE).write_bytes(after)
    afresh.unlink()


def benchmark(*, tree: Tree, work: Path, repeat: int) -> tuple[dict[str, Series], dict[str, int], list[str]]:
    """Run floor, cold, warm, check and watch `repeat` times each, interleaved; the series, .apkg sizes and notes."""
    # genanki leaves its temporary database in TMPDIR: keep it inside the work folder, which is removed.
    # A fixed build time: the warm build's .apkg is compared with one built afresh (`same_bytes`).
    base = dict(os.environ, TMPDIR=str(work / "tmp"), SOURCE_DATE_EPOCH="1700000000")
    base.pop("PYTHONDONTWRITEBYTECODE", None)  # every run would recompile the builder otherwise
    (work / "tmp").mkdir(exist_ok=True)
    deckbuild = [sys.executable, "-m", "builder"]
    floor_apkg, deck_apkg = work / "floor.apkg", work / "deckbuild.apkg"
    series = {key: Series(label=key) for key in ("floor", "cold", "warm", "check", "watch")}
    notes: list[str] = []
    # Unmeasured warm-up: byte-compile and page in the interpreter, the builder and genanki.
    measure(deckbuild + ["--version"], env=base)
    measure([sys.executable, "-c", "import genanki, yaml, builder.cli"], env=base)

    def record(key: str, run: Run, revision: int) -> None:
        series[key].runs.append(run)
        print(f"  {key:<12} run {revision}/{repeat}: {run.seconds:7.2f} s wall {run.cpu:7.2f} s CPU "
              f"{run.peak_rss / 1e6:7.1f} MB",
              file=sys.stderr, flush=True)

    for revision in range(1, repeat + 1):
        floor_apkg.unlink(missing_ok=True)
        run = measure([sys.executable, str(SCRIPT), "--floor", str(tree.root), str(floor_apkg)],
                      env=base)
        found: list[str] = []
        verify(run, what="floor", tree=tree, notes=found)
        record("floor", run, revision)

        cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
        env = dict(base, XDG_CACHE_HOME=str(cache))
        (tree.root / STATE).unlink(missing_ok=True)
        deck_apkg.unlink(missing_ok=True)
        run = measure(deckbuild + ["build", str(tree.root), "-o", str(deck_apkg)], env=env)
        verify(run, what="build", tree=tree, notes=found, new=tree.items, changed=0)
        record("cold", run, revision)

        edit_answer(tree, revision=revision)
        state = (tree.root / STATE).read_bytes()
        run = measure(deckbuild + ["build", str(tree.root), "-o", str(deck_apkg)], env=env)
        verify(run, what="build", tree=tree, notes=found, new=0, changed=1)
        record("warm", run, revision)
        if revision == 1:
            same_bytes(deckbuild, tree=tree, state=state, built=deck_apkg, env=env, notes=found)

        run = measure(deckbuild + ["check", str(tree.root)], env=env)
        verify(run, what="check", tree=tree, notes=found)
        record("check", run, revision)

        run = measure_watch(deckbuild + ["watch", str(tree.root), "-o", str(deck_apkg)], env=env, tree=tree,
                            output=deck_apkg, revision=1000 + revision)
        verify(run, what="build", tree=tree, notes=found, new=0, changed=1)
        if "not replaced" in run.stdout:
            found.append("watch: the .apkg was not replaced after the edit")
        record("watch", run, revision)
        shutil.rmtree(cache)
        for message in found:
            _note_once(notes, message)
    sizes = {"floor": floor_apkg.stat().st_size, "deckbuild": deck_apkg.stat().st_size}
    return series, sizes, notes


def collection_benchmark(*, work: Path, repeat: int, seed: int, quick: bool,
                         baseline: str | None) -> tuple[list[str], bool, list[str], list[Run]]:
    """Time diff, pull and push on a deck inside lived-in collections of two sizes; the table, verdict, notes, runs.

    With `baseline` (a git revision), the same commands also run with that revision's builder, to show
    the figures before and to check that each command's output is the same.
    """
    import livedin

    divisor = QUICK_SCALE if quick else 1
    sizes = tuple(size // divisor for size in livedin.SIZES)
    shape = replace(SHAPES["plain"], items=livedin.DECK_ITEMS // divisor, files=livedin.DECK_FILES)
    tree = generate(root=work / "cards", shape=shape, seed=seed)
    epoch = int(time.time()) - 3600  # every build stamps this time: runs of both versions give the same bytes
    base = dict(os.environ, TMPDIR=str(work / "tmp"), SOURCE_DATE_EPOCH=str(epoch))
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    (work / "tmp").mkdir(exist_ok=True)
    versions = {"after": ([sys.executable, "-m", "builder"], dict(base, XDG_CACHE_HOME=str(work / "cache")))}
    if baseline:
        export = work / "baseline"
        export.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", baseline, "builder"], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(export)], input=archive, check=True)
        versions["before"] = ([sys.executable, "-P", "-m", "builder"],
                              dict(base, XDG_CACHE_HOME=str(work / "cache-before"), PYTHONPATH=str(export)))
    for prefix, env in versions.values():  # unmeasured warm-up
        measure(prefix + ["--version"], env=env)

    def build(apkg: Path) -> None:
        for prefix, env in versions.values():  # each version's cache warm, as after the user's last build
            measure(prefix + ["build", str(tree.root), "-o", str(apkg)], env=env)

    print(f"lived-in: building collections of {', '.join(f'{n:,}' for n in sizes)} other notes ...", file=sys.stderr,
          flush=True)
    setup = livedin.prepare(work=work, tree=tree, build=build, sizes=sizes, seed=seed, epoch=epoch)
    series: dict[tuple[str, int, str], Series] = {}
    outputs: dict[tuple[str, int, str], str] = {}
    run_dir = work / "run"
    for revision in range(1, repeat + 1):
        for size in sizes:
            cards, collection = livedin.fresh(setup, size=size, key="floor", run=run_dir)
            run = measure([sys.executable, str(SCRIPT), "--anki-floor", str(collection),
                           str(setup.apkg)], env=base)
            series.setdefault(("floor", size, "floor"), Series(label="floor")).runs.append(run)
            print(f"  {size:>7,} floor        run {revision}: {run.seconds:6.2f} s {run.cpu:6.2f} s CPU", file=sys.stderr,
                  flush=True)
            for key in livedin.COMMANDS:
                for version, (prefix, env) in versions.items():
                    cards, collection = livedin.fresh(setup, size=size, key=key, run=run_dir)
                    argv = prefix + [key.split("-")[0], str(cards), "--collection", str(collection)]
                    if key.startswith("push"):
                        edit_answer(replace(tree, root=cards, edit_path=cards / tree.edit_path.relative_to(tree.root)),
                                    revision=revision)
                        argv += ["-o", str(run_dir / "out.apkg")]
                    run = measure(argv, env=env)
                    series.setdefault((version, size, key), Series(label=key)).runs.append(run)
                    outputs[(version, size, key)] = livedin.outcome(key, stdout=run.stdout, cards=cards,
                                                                    collection=collection, run=run_dir)
                    print(f"  {size:>7,} {key:<12} {version:<6} run {revision}: {run.seconds:6.2f} s "
                          f"{run.cpu:6.2f} s CPU {run.peak_rss / 1e6:6.1f} MB", file=sys.stderr, flush=True)
    shutil.rmtree(run_dir, ignore_errors=True)
    notes = []
    if baseline:
        for (version, size, key), text in sorted(outputs.items()):
            if version == "after" and outputs.get(("before", size, key)) != text:
                notes.append(f"lived-in: {key} at {size:,} other notes: the output differs from {baseline}'s:\n"
                             f"    before: {outputs.get(('before', size, key))!r}\n    after:  {text!r}")
        if not notes:
            notes.append(f"lived-in: every command's output (its lines but the backup line, the tree's files, and "
                         f"after a push the deck's notes, cards and reviews in Anki) is the same as {baseline}'s")
    lines, passed = collection_table(series=series, sizes=sizes, baseline=baseline, repeat=repeat)
    counts = ", ".join(f"{c['notes']:,} notes / {c['cards']:,} cards / {c['revlog']:,} reviews / {mb(c['bytes'])}"
                       for c in setup.counts.values())
    about = [f"{tree.items:,} items ({tree.qa:,} question/answer, {tree.clozes:,} clozes; {tree.cards:,} cards) in "
             f"{tree.files} files, imported and studied, inside collections of {counts} (seed {seed})", ""]
    runs = [run for one in series.values() for run in one.runs]
    return about + lines, passed, notes, runs
