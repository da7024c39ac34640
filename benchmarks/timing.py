"""Timing and memory: every measured command runs from a small launcher; wall, CPU and peak RSS per run."""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from trees import Tree, edit_answer

REPO = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().with_name("bench.py")  # the entry point; its --launcher, --floor, --anki-floor

SUMMARY = re.compile(r"(\d+) notes, (\d+) cards \((\d+) new, (\d+) changed")


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One finished child process: its wall time, CPU time, peak resident memory and output."""

    seconds: float
    cpu: float
    peak_rss: int
    stdout: str


class Launcher:
    """A small process, started before the benchmark's own memory grows, that starts every measured command.

    The peak RSS the kernel reports for a child includes its parent's resident memory at the fork, so
    no command is started from the benchmark itself, which holds the generated trees: each is started
    from this process, whose own few megabytes are all a figure can carry.
    """

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, str(SCRIPT), "--launcher"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def start(self, argv: list[str], *, env: dict[str, str], out: Path) -> int:
        """Start a command with its output to a file; its process id."""
        self.process.stdin.write(json.dumps({"argv": argv, "env": env, "cwd": str(REPO), "out": str(out)}) + "\n")
        return json.loads(self.process.stdout.readline())["pid"]

    def finish(self) -> dict:
        """Wait for the command started last: its exit code, wall and CPU seconds, and peak RSS in bytes."""
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        """Stop the launcher."""
        self.process.stdin.close()
        self.process.wait()


def launcher() -> None:
    """The launcher's side: start each requested command, report its pid, then how it ran."""
    for line in sys.stdin:
        request = json.loads(line)
        with open(request["out"], "wb") as out:
            start = time.perf_counter()
            child = subprocess.Popen(request["argv"], stdout=out, stderr=subprocess.STDOUT, env=request["env"],
                                     cwd=request["cwd"])
            print(json.dumps({"pid": child.pid}), flush=True)
            _, status, usage = os.wait4(child.pid, 0)
            seconds = time.perf_counter() - start
        # Linux reports kilobytes (KiB); macOS reports bytes.
        peak = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
        print(json.dumps({"code": os.waitstatus_to_exitcode(status), "seconds": seconds,
                          "cpu": usage.ru_utime + usage.ru_stime, "peak": peak}), flush=True)


_LAUNCHER: Launcher | None = None  # started by start_launcher() before any tree is generated


def start_launcher() -> None:
    """Start the launcher, before the benchmark's own memory grows."""
    global _LAUNCHER
    _LAUNCHER = Launcher()


def stop_launcher() -> None:
    """Stop the launcher."""
    assert _LAUNCHER is not None
    _LAUNCHER.close()


def measure(argv: list[str], *, env: dict[str, str]) -> Run:
    """Run one command to completion: its wall time, and its CPU time and peak RSS as the kernel reports them."""
    assert _LAUNCHER is not None
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out"
        _LAUNCHER.start(argv, env=env, out=out)
        done = _LAUNCHER.finish()
        output = out.read_bytes().decode(errors="replace")
    if done["code"] != 0:
        tail = "\n".join(output.strip().splitlines()[-20:])
        raise SystemExit(f"`{' '.join(argv)}` exited {done['code']}:\n{tail}")
    return Run(seconds=done["seconds"], cpu=done["cpu"], peak_rss=done["peak"], stdout=output)


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    """The runs of one measurement."""

    label: str
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        """The median wall time in seconds."""
        return statistics.median(run.seconds for run in self.runs)

    @property
    def cpu(self) -> float:
        """The median CPU time (user + system) in seconds."""
        return statistics.median(run.cpu for run in self.runs)

    @property
    def peak(self) -> int:
        """The largest peak RSS over the runs, in bytes."""
        return max(run.peak_rss for run in self.runs)

    def spread(self) -> str:
        """The fastest and slowest run, when there was more than one."""
        times = sorted(run.seconds for run in self.runs)
        return f"{times[0]:.2f}–{times[-1]:.2f}" if len(times) > 1 else "—"


def _cpu_of(pid: int) -> float:
    """A live process's CPU seconds so far (user + system, all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_watch(argv: list[str], *, env: dict[str, str], tree: Tree, output: Path, revision: int) -> Run:
    """Start `watch`, let it build, save a one-answer edit, and time until the new .apkg is in place."""
    assert _LAUNCHER is not None
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out"
        pid = _LAUNCHER.start(argv, env=env, out=out)
        seen = 0

        def next_summary() -> str:
            nonlocal seen
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                text = out.read_bytes().decode(errors="replace") if out.exists() else ""
                lines = text[seen:].splitlines(keepends=True)
                for i, line in enumerate(lines):
                    if line.endswith("\n") and (SUMMARY.search(line) or "nothing was written" in line):
                        found = "".join(lines[:i + 1])
                        seen += len(found)
                        return found
                time.sleep(0.005)
            os.kill(pid, signal.SIGKILL)
            raise SystemExit(f"`{' '.join(argv)}` printed no summary in 10 minutes:\n{text}")

        next_summary()  # the build at start
        time.sleep(0.5)  # let the watcher settle, as a person would before the next save
        inode, cpu = output.stat().st_ino, _cpu_of(pid)
        start = time.perf_counter()
        edit_answer(tree, revision=revision)
        text = next_summary()
        seconds = time.perf_counter() - start
        used = _cpu_of(pid) - cpu
        replaced = output.stat().st_ino != inode
        os.kill(pid, signal.SIGINT)
        done = _LAUNCHER.finish()
    if not replaced:
        text += "\n(the .apkg was not replaced)"
    return Run(seconds=seconds, cpu=used, peak_rss=done["peak"], stdout=text)
