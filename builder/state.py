"""The state file: what the last build emitted per id, committed beside the cards like a lock file."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .model import Problem

FILENAME = "deckbuild-state.json"
VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """What one note was last built as: content hash, mod time, deck, note id and kind."""

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


def read_state(root: Path, *, shown: str) -> tuple[State, list[Problem]]:
    """The state of the last build, an empty one before the first, or a problem if it's corrupt."""
    path = root / FILENAME
    if not path.exists():
        return State(), []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            raise ValueError(f"unknown version {data.get('version')!r}")
        items = {key: Entry(digest=e["hash"], mod=int(e["mod"]), deck=e["deck"], nid=int(e["nid"]), kind=e["kind"])
                 for key, e in data["items"].items()}
        notetypes = {key: (e["hash"], int(e["mod"])) for key, e in data["notetypes"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        return State(), [Problem(path=shown, line=1, message=(
            f"state file is unreadable ({err}); restore it from version control, "
            "or delete it to start afresh (every note is then re-stamped)"))]
    return State(items=items, notetypes=notetypes), []


def dumps(state: State) -> str:
    """The state as JSON text with one item per line, so it diffs well in version control."""
    items = ",\n".join(
        f"  {json.dumps(key)}: " + json.dumps(
            {"deck": e.deck, "hash": e.digest, "kind": e.kind, "mod": e.mod, "nid": e.nid}, ensure_ascii=False)
        for key, e in sorted(state.items.items())
    )
    notetypes = json.dumps({key: {"hash": h, "mod": m} for key, (h, m) in sorted(state.notetypes.items())})
    return f'{{"version": {VERSION},\n "notetypes": {notetypes},\n "items": {{\n{items}\n }}\n}}\n'


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to a temporary file beside `path`, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
