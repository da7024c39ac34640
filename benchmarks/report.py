"""The report: the tables with their budgets and PASS/FAIL, and the machine, versions and commit measured on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shapes import Shape
from timing import REPO, Series

# The budgets: times as a multiple of the floor's, memory in MB, size as a multiple of genanki's.
# A one-item edit in a tree of one huge file has its own budget: the file must be read again.
COLD, WARM, CHECK, WATCH, ONE_FILE_EDIT, MEMORY_MB, SIZE = 1.0, 0.35, 0.25, 0.2, 1.0, 300, 0.25
ONE_FILE_MEMORY_MB = 500  # the single 100,000-item file's own memory budget


def table(*, shape: Shape, series: dict[str, Series], sizes: dict[str, int], repeat: int) -> tuple[list[str], bool]:
    """One shape's results as a Markdown table, and whether every budget passed."""
    base = series["floor"].median
    passed = True

    def verdict(value: float, limit: float) -> str:
        nonlocal passed
        passed = passed and value <= limit
        return "PASS" if value <= limit else "FAIL"

    one_file = shape.files == 1
    rows = [
        ("floor: PyYAML (libyaml) + genanki", series["floor"], None),
        ("cold build (no state, empty cache)", series["cold"], COLD),
        (f"one-item edit in the {shape.items:,}-item file" if one_file else "warm build (one answer changed)",
         series["warm"], ONE_FILE_EDIT if one_file else WARM),
        ("check (unchanged tree, warm cache)", series["check"], CHECK),
        ("watch: one-answer save → new .apkg in place", series["watch"], WATCH),
    ]
    runs = "median" if repeat == 1 else f"median of {repeat}"
    lines = [f"| measurement | seconds ({runs}) | range | CPU s | × floor | budget | result | peak RSS |",
             "|---|---:|---:|---:|---:|---|---|---:|"]
    for label, one, limit in rows:
        ratio = one.median / base
        target = f"≤ {limit:g}× floor" if limit is not None else "—"
        result = verdict(ratio, limit) if limit is not None else "—"
        lines.append(f"| {label} | {one.median:.2f} | {one.spread()} | {one.cpu:.2f} | {ratio:.2f}× | {target} | "
                     f"{result} | {mb(one.peak)} |")
    peak = max(series[key].peak for key in ("cold", "warm", "check", "watch"))
    memory = ONE_FILE_MEMORY_MB if one_file else MEMORY_MB
    lines.append(f"| peak memory, largest deckbuild run | | | | | ≤ {memory} MB | "
                 f"{verdict(peak / 1e6, memory)} | {mb(peak)} |")
    ratio = sizes["deckbuild"] / sizes["floor"]
    lines.append(f"| .apkg size: {mb(sizes['deckbuild'])} vs genanki's {mb(sizes['floor'])} | | | | "
                 f"{ratio:.2f}× genanki | ≤ {SIZE:g}× genanki | {verdict(ratio, SIZE)} | |")
    return lines, passed


def collection_table(*, series: dict, sizes: tuple[int, ...], baseline: str | None,
                     repeat: int) -> tuple[list[str], bool]:
    """The lived-in collection's table: per command and size, wall and CPU against the floor's, and the budgets."""
    import livedin

    passed = True
    runs = "median" if repeat == 1 else f"median of {repeat}"
    lines = [f"| command | other notes | seconds ({runs}) | CPU s | × floor (wall) | × floor (CPU) | budget | result | "
             f"peak RSS |" + (" before: seconds | before: × floor (wall / CPU) |" if baseline else ""),
             "|---|---:|---:|---:|---:|---:|---|---|---:|" + ("---:|---:|" if baseline else "")]
    for size in sizes:
        floor = series[("floor", size, "floor")]
        lines.append(f"| floor: open + import the unchanged .apkg | {size:,} | {floor.median:.2f} | {floor.cpu:.2f} | "
                     f"1.00× | 1.00× | — | — | {mb(floor.peak)} |" + (" | |" if baseline else ""))
    for key, (label, limit) in livedin.COMMANDS.items():
        ratios = {}
        for size in sizes:
            floor, one = series[("floor", size, "floor")], series[("after", size, key)]
            wall, cpu = one.median / floor.median, one.cpu / floor.cpu
            ratios[size] = (wall, cpu)
            if limit is None:
                result = "—"
            else:
                result = "PASS" if wall <= limit else "PASS on CPU only" if cpu <= limit else "FAIL"
                passed = passed and result != "FAIL"
            memory = "PASS" if one.peak <= MEMORY_MB * 1e6 else "FAIL"
            passed = passed and memory == "PASS"
            row = (f"| {label} | {size:,} | {one.median:.2f} | {one.cpu:.2f} | {wall:.2f}× | {cpu:.2f}× | "
                   f"{f'≤ {limit:g}×' if limit else '—'} | {result} | {mb(one.peak)} ({memory}) |")
            if baseline:
                before = series[("before", size, key)]
                row += (f" {before.median:.2f} | {before.median / floor.median:.2f}× / "
                        f"{before.cpu / floor.cpu:.2f}× |")
            lines.append(row)
        if len(sizes) == 2 and limit is not None:
            (w1, c1), (w2, c2) = ratios.values()
            within = [abs(a - b) / min(a, b) <= livedin.SPREAD for a, b in ((w1, w2), (c1, c2))]
            verdict = "PASS" if within[0] else "PASS on CPU only" if within[1] else "FAIL"
            passed = passed and verdict != "FAIL"
            lines.append(f"| {label}: the two sizes within 20 % | | | | {abs(w1 - w2) / min(w1, w2):.0%} | "
                         f"{abs(c1 - c2) / min(c1, c2):.0%} | ≤ 20 % | {verdict} | |" + (" | |" if baseline else ""))
    return lines, passed


def _version(name: str) -> str:
    """An installed distribution's version, or 'not installed'."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _cpu() -> str:
    """The CPU model, as /proc/cpuinfo names it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Hardware", "Processor")) and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown"


def _memory() -> str:
    """Total memory, from /proc/meminfo."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) * 1024 / 1e9:.1f} GB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def fingerprint() -> str:
    """A hash of the builder's source, to tell whether it changed while the benchmark ran."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((REPO / "builder").rglob("*.py")):
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _commit() -> str:
    """The checkout's commit, and whether builder/ has uncommitted changes (read-only git calls)."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "--no-optional-locks", "-C", str(REPO), "status", "--porcelain", "--",
                                "builder"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}{' with uncommitted changes in builder/' if dirty else ''}"


def machine() -> list[str]:
    """The machine and software the figures were measured on, as Markdown list lines."""
    import platform

    import yaml

    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return [
        f"- CPU: {_cpu()}, {usable} usable of {cores} logical cores; memory {_memory()}; {platform.system()} "
        f"{platform.release()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), {sys.executable}",
        f"- PyYAML {yaml.__version__} {'with' if getattr(yaml, '__with_libyaml__', False) else 'WITHOUT'} libyaml; "
        f"genanki {_version('genanki')}; anki {_version('anki')}; pyromark {_version('pyromark')}; "
        f"nh3 {_version('nh3')}",
        f"- deckbuild {_version('deckbuild')} from {REPO} at {_commit()} (builder/ source hash {fingerprint()})",
    ]


def mb(size: int) -> str:
    """Bytes as MB (10⁶ bytes)."""
    return f"{size / 1e6:.1f} MB"
