"""The state file: what the last build emitted per id, committed beside the cards like a lock file."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as quoted
from pathlib import Path
from typing import NamedTuple

from ..model import Problem

FILENAME = "deckbuild-state.json"
VERSION = 1
_RESTORE = "restore it from version control, or delete it to start afresh (every note is then re-stamped)"


class Entry(NamedTuple):
    """What one note was last built as: content hash, mod time, deck, note id and kind.

    A NamedTuple rather than a dataclass: a large deck has tens of thousands, built on every run.
    """

    digest: str
    mod: int
    deck: str
    nid: int
    kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class State:
    """The whole state file: one Entry per item id, and each note type's hash and mod."""

    items: dict[str, Entry] = field(default_factory=dict)
    notetypes: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def notetype_mods(self) -> dict[str, int]:
        """Each note type's mod time, as the package needs it."""
        return {kind: mod for kind, (_, mod) in self.notetypes.items()}


def read_state(root: Path, *, shown: str) -> tuple[State, list[Problem]]:
    """The state of the last build, an empty one before the first, or a problem if it's corrupt."""
    path = root / FILENAME
    if not path.exists():
        return State(), []
    try:
        raw = path.read_bytes()
        if _LAST[0] == raw:  # the state this process last read or wrote, unchanged: `watch` rebuilds skip parsing
            return _LAST[1], []
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, OSError) as err:
        line = getattr(err, "lineno", 1)
        return State(), [Problem(path=shown, line=line, message=(
            f"state file is not valid JSON ({getattr(err, 'msg', err)}); {_RESTORE}"))]
    try:
        if data.get("version") != VERSION:
            raise ValueError(f"unknown version {data.get('version')!r}")
        items = {key: Entry(e["hash"], int(e["mod"]), e["deck"], int(e["nid"]), e["kind"])
                 for key, e in data["items"].items()}
        notetypes = {key: (e["hash"], int(e["mod"])) for key, e in data["notetypes"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return State(), [Problem(path=shown, line=1, message=(
            f"state file does not have the layout deckbuild {VERSION} writes; {_RESTORE}"))]
    state = State(items=items, notetypes=notetypes)
    remember(raw, state)
    return state, []


_LAST: list = [None, None]  # the bytes and State of the state file this process last read or wrote


def remember(raw: bytes, state: State) -> None:
    """Note the state file's bytes and what they mean, so reading them back needs no parsing."""
    _LAST[:] = [raw, state]


def dumps(state: State) -> str:
    """The state as JSON text with one item per line, so it diffs well in version control."""
    items = ",\n".join(
        f'  {quoted(key)}: {{"deck": {quoted(e.deck)}, "hash": {quoted(e.digest)}, "kind": {quoted(e.kind)}, '
        f'"mod": {e.mod:d}, "nid": {e.nid:d}}}'
        for key, e in sorted(state.items.items())
    )
    notetypes = json.dumps({key: {"hash": h, "mod": m} for key, (h, m) in sorted(state.notetypes.items())})
    return f'{{"version": {VERSION},\n "notetypes": {notetypes},\n "items": {{\n{items}\n }}\n}}\n'


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
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
