"""The state file: what the last build emitted per id, committed beside the cards like a lock file.

The .apkg and the state file change together (see `commit`): a build writes the new state to a
pending file that names the package it belongs to by hash, moves the package into place, then
the state. A build killed at any moment leaves either the old pair, the new pair, or a pending
state whose package is on disk, which the next run reads as the state and finishes committing.
`Entry` (from statecheck, where the file is parsed) is one item's line of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as quoted
from pathlib import Path

from ..model import Problem
from .hooks import pause
from .statecheck import MAX_MOD, MAX_NID, VERSION, Entry, Shape, parse_state

__all__ = ["FILENAME", "PENDING", "VERSION", "MAX_MOD", "MAX_NID", "Entry", "Shape", "State", "read_state", "dumps",
           "save_state", "commit", "write_atomic", "temp_dir", "sweep"]

FILENAME = "deckbuild-state.json"
PENDING = ".deckbuild-state.pending"  # hidden: never a deck file, never a reason for `watch` to rebuild
# Every temporary file or folder deckbuild makes is named so: a later run removes those whose process is gone.
_TEMP_PREFIX = ".deckbuild-tmp-"
_TEMP = re.compile(re.escape(_TEMP_PREFIX) + r"(\d+)-[a-z0-9_]{8}(?:\.tmp)?\Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class State:
    """The whole state file: one Entry per item id (tombstones too), and each note type's hash and mod."""

    items: dict[str, Entry] = field(default_factory=dict)
    notetypes: dict[str, tuple[str, int]] = field(default_factory=dict)
    fields: dict[str, Shape] = field(default_factory=dict)  # a tree's own types' field and template names, last build

    @property
    def notetype_mods(self) -> dict[str, int]:
        """Each note type's mod time, as the package needs it."""
        return {kind: mod for kind, (_, mod) in self.notetypes.items()}


def read_state(root: Path, *, shown: str) -> tuple[State, list[Problem]]:
    """The state of the last build (an empty one before the first), or every problem that makes it unusable.

    A pending state whose package is on disk is the last build's state: that build was stopped
    after moving its package into place. Reading never writes; the next commit tidies up.
    """
    pending = _pending(root)
    if pending is not None:
        return _parse(pending[0], shown=str(Path(shown).with_name(PENDING)), first_line=2)
    path = root / FILENAME
    if not path.exists():
        return State(), []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:  # the machine's fault: exit 3, like any file under the cards folder
        return State(), [Problem(path=shown, line=1, environment=True, message=(
            f"cannot read the state file ({err.strerror or err}); check its permissions"))]
    except ValueError as err:
        return State(), [Problem(path=shown, line=1, message=f"state file can't be read ({err})")]
    if _LAST[0] == text:  # what this process last wrote or read, unchanged: a `watch` rebuild skips parsing
        return _LAST[1], []
    state, problems = _parse(text, shown=shown, first_line=1)
    if not problems:
        _LAST[:] = [text, state]
    return state, problems


_LAST: list = [None, None]  # the state file text this process last read or wrote, and its State


def forget() -> None:
    """Let go of the state file this process last read or wrote (kept for `watch`'s next build)."""
    _LAST[:] = [None, None]


def _parse(text: str, *, shown: str, first_line: int) -> tuple[State, list[Problem]]:
    """A state file's text as a State, or its problems."""
    parsed = parse_state(text, shown=shown, first_line=first_line)
    if parsed.problems:
        return State(), parsed.problems
    return State(items=parsed.items, notetypes=parsed.notetypes, fields=parsed.fields), []


def dumps(state: State) -> str:
    """The state as JSON text with one item per line, so it diffs well in version control.

    A tombstone (an item no longer in the tree) carries `"removed": true`; no other entry has the key.
    """
    tomb = ', "removed": true'
    items = ",\n".join(
        f'  {quoted(key)}: {{"deck": {quoted(e.deck)}, "hash": {quoted(e.digest)}, "kind": {quoted(e.kind)}, '
        f'"mod": {e.mod:d}, "nid": {e.nid:d}{tomb if e.removed else ""}}}'
        for key, e in sorted(state.items.items())
    )
    notetypes = json.dumps({key: {**({"fields": list(state.fields[key].fields), "templates": list(
        state.fields[key].templates)} if key in state.fields else {}), "hash": h, "mod": m}
        for key, (h, m) in sorted(state.notetypes.items())}, ensure_ascii=False)
    text = f'{{"version": {VERSION},\n "notetypes": {notetypes},\n "items": {{\n{items}\n }}\n}}\n'
    _LAST[:] = [text, state]
    return text


# --- the transaction --------------------------------------------------------------------------------


def _pending(root: Path) -> tuple[str, Path] | None:
    """A pending state's text and its package, when that package is on disk with the recorded hash."""
    try:
        header, _, text = (root / PENDING).read_text(encoding="utf-8").partition("\n")
        record = json.loads(header)
        apkg = root / record["apkg"]  # relative to the cards folder, so a moved project still heals
        if not isinstance(record["sha256"], str) or _sha256(apkg) != record["sha256"]:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return text, apkg


def _sha256(path: Path) -> str:
    """A file's SHA-256, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _heal(root: Path) -> None:
    """Finish what a stopped build began: promote a pending state whose package is on disk, else drop it."""
    pending = _pending(root)
    if pending is not None:
        _write_if_changed(root / FILENAME, pending[0].encode())
    (root / PENDING).unlink(missing_ok=True)


def _write_if_changed(path: Path, data: bytes) -> None:
    """Write a file atomically, unless it already holds exactly these bytes."""
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    write_atomic(path, data)


def commit(*, cards_dir: Path, package: Path, output: Path, state: State) -> None:
    """Move a finished package (a temporary file beside `output`) into place together with its state.

    Order: finish any earlier stopped build; write the pending state naming the package's hash;
    move the package into place; write the state file; drop the pending file. Killed anywhere,
    the next run reads either the old pair or the new one (see read_state).
    """
    sweep(cards_dir)
    _heal(cards_dir)
    text = dumps(state)
    try:
        where = os.path.relpath(output.resolve(), cards_dir.resolve())
    except ValueError:  # another drive, on Windows
        where = str(output.resolve())
    record = json.dumps({"apkg": Path(where).as_posix(), "sha256": _sha256(package)})
    write_atomic(cards_dir / PENDING, f"{record}\n{text}".encode())
    pause("pending")
    os.replace(package, output)
    pause("commit")
    _write_if_changed(cards_dir / FILENAME, text.encode())
    (cards_dir / PENDING).unlink()


def save_state(cards_dir: Path, state: State) -> None:
    """Write a state that changes without a build (pull, push): after any stopped build is finished.

    `state` must come from read_state (and so already includes a pending build's state).
    """
    sweep(cards_dir)
    _heal(cards_dir)
    _write_if_changed(cards_dir / FILENAME, dumps(state).encode())


# --- temporary files ----------------------------------------------------------------------------------


def temp_prefix() -> str:
    """The prefix of this process's temporary names: a later run can tell when their process is gone."""
    return f"{_TEMP_PREFIX}{os.getpid()}-"


@contextmanager
def temp_dir(folder: Path) -> Iterator[Path]:
    """A temporary folder inside `folder`, removed afterwards (or by a later run, if this one is killed)."""
    folder.mkdir(parents=True, exist_ok=True)
    sweep(folder)
    work = Path(tempfile.mkdtemp(prefix=temp_prefix(), dir=folder))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sweep(folder: Path) -> None:
    """Remove deckbuild's temporary files and folders in `folder` whose process no longer runs."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        match = _TEMP.match(name)
        if not match or _running(int(match.group(1))):
            continue
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    """Whether a process with this id exists (ours counts: a live build's files are never touched)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True
    return True


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to a temporary file beside `path`, then move it into place.

    The file keeps the mode of the one it replaces (a new one gets the umask's default), not
    mkstemp's owner-only 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    handle, temp = tempfile.mkstemp(prefix=temp_prefix(), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
