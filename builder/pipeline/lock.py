"""One deckbuild at a time per cards tree and per collection: an advisory lock (flock) on each.

A command holds the lock from its first read of the state to its last write. A second process
waits up to DECKBUILD_LOCK_WAIT seconds (default 5), then stops with exit 3 and one line naming
the process that holds it. The lock is taken on a folder itself (the cards folder; the folder
that holds the collection), so no file is created: a refused or failed run still writes nothing.
Locking the collection file instead would be wrong: closing any handle of it drops SQLite's locks.
On Linux the holder is named from /proc/locks; elsewhere the line says only that one holds it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from ..errors import EnvironmentFault, UsageError

DEFAULT_WAIT = 5.0
_HELD: dict[str, int] = {}  # lock files this process holds, and how deeply: a push's build re-enters


class Busy(EnvironmentFault):
    """Another deckbuild holds the lock (exit 3, like any fault of the machine's)."""


def tree_lock(cards_dir: Path) -> Path:
    """What locks a cards tree: its folder."""
    return cards_dir


def collection_lock(collection: Path) -> Path:
    """What locks a collection: the folder that holds it (an Anki profile's folder)."""
    return collection.resolve().parent


def _wait() -> float:
    """How long to wait for another deckbuild: DECKBUILD_LOCK_WAIT seconds, or the default."""
    text = os.environ.get("DECKBUILD_LOCK_WAIT", "").strip()
    if not text:
        return DEFAULT_WAIT
    try:
        wait = float(text)
    except ValueError:
        wait = -1.0
    if not 0 <= wait <= 3600:
        raise UsageError(f"DECKBUILD_LOCK_WAIT must be a number of seconds from 0 to 3600, not '{text}'")
    return wait


@contextmanager
def locked(*paths: Path) -> Iterator[None]:
    """Hold the locks on `paths`, in order, for the block; exit 3 naming the holder after a bounded wait."""
    with ExitStack() as stack:
        for path in paths:
            stack.enter_context(_one(path))
        yield


@contextmanager
def _one(path: Path) -> Iterator[None]:
    """Hold one lock (re-entrant within this process); where flock doesn't exist (Windows), none."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    key = str(path.resolve())
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    folder = path.is_dir()
    try:
        fd = os.open(path, os.O_RDONLY) if folder else os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise EnvironmentFault(f"cannot create the lock file '{path}': {err.strerror or err}") from None
    try:
        deadline = time.monotonic() + _wait()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _holder(fd, folder=folder)
                    raise Busy(
                        f"'{path if folder else path.parent}' is in use by another deckbuild ({holder}); "
                        "nothing was changed: run again when it has finished") from None
                time.sleep(0.05)
        if not folder:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}: {_command()}\n".encode(), 0)
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]
            if not folder:
                try:
                    os.ftruncate(fd, 0)
                except OSError:
                    pass
    finally:
        os.close(fd)  # closing releases the lock


def _holder(fd: int, *, folder: bool) -> str:
    """Who holds the lock: as it wrote itself into the lock file, or as the system's lock table says."""
    text = ""
    try:
        if not folder:
            text = os.pread(fd, 500, 0).decode("utf-8", "replace").strip()
        if not text:
            pid = _flock_holder(os.fstat(fd))
            if pid:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
                text = f"pid {pid}: {command.strip()[:200]}"
    except OSError:
        pass
    return text.splitlines()[0] if text else "a process that has not said which"


def _flock_holder(stat: os.stat_result) -> int | None:
    """The pid holding a flock on this file, from Linux's /proc/locks; None elsewhere or when unknown."""
    inode = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == inode:
            return int(fields[4])
    return None


def _command() -> str:
    """This process's command line, shortened to one line."""
    args = [Path(sys.argv[0]).name if sys.argv else "deckbuild"] + sys.argv[1:]
    if args[0] in ("__main__.py", "-m", "-c"):
        args[0] = "deckbuild"
    return " ".join(args).replace("\n", " ")[:200]
