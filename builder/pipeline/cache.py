"""A per-file cache of validated, rendered items, keyed on content; corrupt or stale entries are ignored."""

from __future__ import annotations

import functools
import hashlib
import marshal
import os
from dataclasses import fields
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import __version__
from ..model import Item, Media, Note
from .state import write_atomic

_FORMAT = 2
SOURCE = Path(__file__).parent.parent  # the whole builder package


def default_dir() -> Path:
    """`$XDG_CACHE_HOME/deckbuild`, or `~/.cache/deckbuild`: never inside the cards tree."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "deckbuild"


@functools.cache
def fingerprint() -> bytes:
    """A hash of the code that makes an entry: deckbuild's own source and its renderers' versions."""
    versions = " ".join(metadata.version(name) for name in ("pyromark", "nh3"))
    digest = hashlib.sha256(f"{__version__} {_FORMAT} {versions}".encode())
    for path in sorted(SOURCE.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.digest()


def key_for(*parts: bytes | str) -> str:
    """A cache key: the hash of everything an entry's content depends on, the code included."""
    digest = hashlib.sha256(fingerprint())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


class Cache:
    """Entries stored with marshal (plain values only: loading one can never run code)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.marshal"  # type: ignore[operator]

    def get(self, key: str) -> Any | None:
        """The entry under `key`, or None when it is absent, corrupt or from another format."""
        if self.folder is None:
            return None
        try:
            stored_key, value = marshal.loads(self._path(key).read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return None
        return value if stored_key == key else None

    def put(self, key: str, value: Any) -> None:
        """Store an entry; a cache that can't be written is silently skipped."""
        if self.folder is None:
            return
        try:
            write_atomic(self._path(key), marshal.dumps((key, value)))
        except (OSError, ValueError):
            pass


def pack(folder: Path, items: list[Item], notes: list[Note]) -> tuple:
    """One file's items and notes as plain values that marshal can store."""
    return (
        str(folder),
        tuple(tuple(getattr(i, f) for f in _ITEM) for i in items),
        tuple((*(getattr(n, f) for f in _NOTE), tuple((m.name, str(m.path)) for m in n.media)) for n in notes),
    )


def unpack(value: tuple) -> tuple[list[Item], list[Note]]:
    """The items and notes `pack` stored; raises on anything malformed."""
    folder, items, notes = value
    folder = Path(folder)
    return (
        [Item(**dict(zip(_ITEM, row)), folder=folder) for row in items],
        [Note(**dict(zip(_NOTE, row[:-1])), media=tuple(Media(name=m, path=Path(p)) for m, p in row[-1]))
         for row in notes],
    )


_ITEM = tuple(f.name for f in fields(Item) if f.name != "folder")
_NOTE = tuple(f.name for f in fields(Note) if f.name != "media")
