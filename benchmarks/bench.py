"""Benchmark deckbuild against a plain PyYAML + genanki floor on seeded trees of several shapes; prints Markdown tables.

Usage (from the repository root, with the project's virtual environment):

    python benchmarks/bench.py                       # every shape, each figure the median of 3 runs
    python benchmarks/bench.py --shape plain,one-file  # a subset of the shapes
    python benchmarks/bench.py --quick               # every shape at 1/25 of its size, 1 run: seconds
    python benchmarks/bench.py --floor TREE OUT      # only the floor: parse TREE, write OUT with genanki
    python benchmarks/bench.py --shape lived-in --baseline REV  # diff/pull/push in a lived-in collection,
                                                     # against REV's builder too (its figures, same output)

The `lived-in` shape is not a tree shape: `benchmarks/livedin.py` builds a 5,000-item deck into seeded
Anki collections of 10,000 and 100,000 other notes and times the collection commands against Anki's
own import of the same package (`collection_benchmark`).

A shape is a `Shape` (`shapes.py`): the generator's knobs (items, files, how much Markdown, how long the
texts are). To add one, add an entry to `SHAPES`. The parts: `shapes.py` and `trees.py` (the seeded trees),
`floor.py`, `timing.py` (the launcher; wall, CPU, peak RSS), `runs.py` (what is timed) and `report.py`.

Every figure is one whole process, started the way a user starts it (`python -m builder ...`), so it
includes interpreter start-up and imports. Wall time is `time.perf_counter` around the child; peak
memory is the child's own `ru_maxrss`, read from `os.wait4` when it is reaped (exact per run, no
wrapper process, no dependency on /usr/bin/time).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from floor import floor
from report import fingerprint, machine, mb, table
from runs import benchmark, collection_benchmark
from shapes import LIVED_IN, QUICK_SCALE, SHAPES
from timing import launcher, start_launcher, stop_launcher
from trees import generate


def main(argv: list[str] | None = None) -> None:
    """Parse options; run the floor alone, or generate each shape's tree and benchmark it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", default=",".join([*SHAPES, LIVED_IN]),
                        help=f"comma-separated shapes to run [default: all: {', '.join([*SHAPES, LIVED_IN])}]")
    parser.add_argument("--repeat", type=int, help="runs of each measurement; the median is reported "
                                                   "[default 3, or 1 with --quick]")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated trees [default 1]")
    parser.add_argument("--quick", action="store_true",
                        help=f"a smoke run: every shape at 1/{QUICK_SCALE} of its size, 1 run")
    parser.add_argument("--workdir", type=Path, help="where to put the trees and outputs [default: a temp dir]")
    parser.add_argument("--keep", action="store_true", help="keep the trees and outputs afterwards")
    parser.add_argument("--floor", nargs=2, type=Path, metavar=("TREE", "OUT"),
                        help="only run the floor: parse TREE with PyYAML, write OUT with genanki")
    parser.add_argument("--baseline", metavar="REV",
                        help=f"{LIVED_IN}: also run each command with this git revision's builder, show its figures, "
                             "and check that every command's output is the same")
    parser.add_argument("--anki-floor", nargs=2, type=Path, metavar=("COLLECTION", "APKG"),
                        help="only run the collection floor: open COLLECTION with anki, import APKG")
    parser.add_argument("--launcher", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.launcher:
        launcher()
        return
    if args.floor:
        floor(*args.floor)
        return
    if args.anki_floor:
        import livedin

        livedin.floor(*args.anki_floor)
        return
    start_launcher()
    names = [name.strip() for name in args.shape.split(",") if name.strip()]
    unknown = [name for name in names if name not in SHAPES and name != LIVED_IN]
    if unknown or not names:
        parser.error(f"unknown shape {', '.join(unknown) or '(none)'}; choose from {', '.join([*SHAPES, LIVED_IN])}")
    shapes = [SHAPES[name].scaled(QUICK_SCALE) if args.quick else SHAPES[name] for name in names if name in SHAPES]
    repeat = args.repeat or (1 if args.quick else 3)
    if repeat < 1:
        parser.error("--repeat must be positive")
    started = time.perf_counter()
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    load, source = os.getloadavg()[0], fingerprint()
    sections, runs, notes, failed = [], [], [], []
    for shape in shapes:
        work = Path(tempfile.mkdtemp(prefix=f"deckbuild-bench-{shape.name}-", dir=args.workdir))
        try:
            print(f"{shape.name}: generating {shape.items:,} items in {shape.files:,} files under {work} ...",
                  file=sys.stderr, flush=True)
            tree = generate(root=work / "cards", shape=shape, seed=args.seed)
            series, sizes, found = benchmark(tree=tree, work=work, repeat=repeat)
        finally:
            if args.keep:
                print(f"kept {work}", file=sys.stderr)
            else:
                shutil.rmtree(work, ignore_errors=True)
        lines, passed = table(shape=shape, series=series, sizes=sizes, repeat=repeat)
        if not passed:
            failed.append(shape.name)
        runs += [run for one in series.values() for run in one.runs]
        notes += [f"{shape.name}: {note}" for note in found]
        sections += [
            f"### {shape.name}: {shape.about}", "",
            f"{tree.items:,} items ({tree.qa:,} question/answer, {tree.reversed:,} of them reversed; "
            f"{tree.clozes:,} clozes) → {tree.cards:,} cards, in {tree.files:,} files, {mb(tree.size)} of YAML "
            f"(seed {args.seed})", "", *lines, ""]
    if LIVED_IN in names:
        work = Path(tempfile.mkdtemp(prefix=f"deckbuild-bench-{LIVED_IN}-", dir=args.workdir))
        try:
            lines, passed, found, more = collection_benchmark(work=work, repeat=repeat, seed=args.seed,
                                                              quick=args.quick, baseline=args.baseline)
        finally:
            if args.keep:
                print(f"kept {work}", file=sys.stderr)
            else:
                shutil.rmtree(work, ignore_errors=True)
        if not passed:
            failed.append(LIVED_IN)
        runs += more
        notes += found
        sections += [f"### {LIVED_IN}: a deck inside a collection with years of other notes and reviews", "", *lines,
                     "", "The floor is a fresh process that opens the collection with the `anki` library and "
                     "imports the same, unchanged `.apkg` (Anki's defaults). Each command starts from fresh copies "
                     "of the tree (built, cache warm) and of the collection.", ""]
    load = (load, os.getloadavg()[0])
    if fingerprint() != source:
        notes.append("builder/ changed while the benchmark ran, so its runs measured different code; rerun")
    elapsed = time.perf_counter() - started
    busy = sum(run.cpu for run in runs if run.cpu) / sum(run.seconds for run in runs)
    loaded = busy < 0.8 or load[1] > 1.5 or load[0] > 1.5
    command = "python benchmarks/bench.py" + (" --quick" if args.quick else "") + (
        f" --shape {args.shape}" if names != [*SHAPES, LIVED_IN] else "") + (
        f" --baseline {args.baseline}" if args.baseline else "") + (
        f" --repeat {args.repeat}" if args.repeat else "") + (f" --seed {args.seed}" if args.seed != 1 else "")
    out = [
        f"Measured with `{command}` on {time.strftime('%Y-%m-%d %H:%M %Z')}:",
        "",
        *machine(),
        f"- Load average (1 min) {load[0]:.2f} before the runs, {load[1]:.2f} after; "
        f"the measured processes were on a CPU for {busy:.0%} of their wall time",
        "",
    ]
    if loaded:
        out += [f"**Warning: the machine was loaded** (load average {max(load):.2f} on "
                f"{os.cpu_count()} cores), so wall times are inflated and ratios are noisy; compare the CPU "
                "seconds, or rerun on a quiet machine.", ""]
    out += [
        *sections,
        "Each figure is a whole process (`python -m builder ...`, or the floor script), interpreter start-up "
        "included, except watch: the time from saving the edit to the watcher's summary line, printed once the "
        "new .apkg is in place, and the CPU the watcher spent on it. Peak RSS is the process's own maximum "
        "resident set (MB = 10⁶ bytes); every command is started from a small launcher process, so that the "
        "benchmark's own memory is not counted in it (the kernel counts a parent's resident memory at the fork "
        "in a child's peak). The floor parses every file with `yaml.CSafeLoader` and writes the same "
        "notes with genanki's `Package.write_to_file`.",
        "",
        f"Budgets: {'every budget passed' if not failed else 'FAILED on ' + ', '.join(failed)}. "
        f"This benchmark run took {int(elapsed // 60)} min {elapsed % 60:.0f} s in all.",
    ]
    if notes:
        out += ["", "Noticed while checking the runs' output:", *(f"- {note}" for note in notes)]
    stop_launcher()
    print("\n".join(out))


if __name__ == "__main__":
    main()
