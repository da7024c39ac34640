"""A per-file cache of validated, rendered items, keyed on content; corrupt or stale entries are ignored."""

from __future__ import annotations

import functools
import hashlib
import marshal
import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO

from .. import __version__
from ..model import Item, Media, Note
from .state import temp_prefix, write_atomic

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
    """Entries stored with marshal (plain values only: loading one can never run code).

    A tree's files live in one base entry plus one small delta entry of the files changed since,
    so a build reads the cache once and a one-file edit rewrites only the delta. `memory` keeps
    the last tree in this process (for `watch`), so a rebuild reads nothing at all.
    """

    def __init__(self, folder: Path | None, *, memory: bool = False) -> None:
        self.folder = folder
        self._memory: dict[str, dict] | None = {} if memory else None
        self._base: tuple[str, str, int, dict] | None = None  # the tree, base token and size, and delta last read
        self._decoded: dict[int, tuple] = {}  # id(entry) -> (entry, its items and notes), in memory mode

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

    def deflated(self, cards_dir: Path) -> dict[bytes, bytes] | None:
        """The deflated chunks of the tree's last package (see `package.pack_apkg`), {} if none or damaged;
        None when they can't be kept here (no folder; in memory, `package.remember_chunks` keeps them)."""
        if self.folder is None or self._memory is not None:
            return None
        try:
            stored = marshal.loads(self._deflated_path(cards_dir).read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return {}
        if not isinstance(stored, dict) or not all(type(key) is bytes and len(key) == 20 and type(value) is bytes
                                                   for key, value in stored.items()):
            return {}
        return stored

    def keep_deflated(self, cards_dir: Path, chunks: dict[bytes, bytes]) -> None:
        """Store a package's deflated chunks for the tree's next build (a cache that can't be written is skipped)."""
        if self.folder is None:
            return
        try:
            write_atomic(self._deflated_path(cards_dir), marshal.dumps(chunks))
        except (OSError, ValueError):
            pass

    def _deflated_path(self, cards_dir: Path) -> Path:
        key = key_for("deflated", str(cards_dir.resolve()), str(cards_dir))
        return self.folder / key[:2] / f"{key}.deflated"  # type: ignore[operator]

    def decode(self, entry: tuple) -> tuple[list[Item], list[Note]]:
        """A file entry's items and notes; kept between builds when the cache keeps its tree in memory."""
        if self._memory is None:
            return unpack(entry)
        found = self._decoded.get(id(entry))
        if found is None or found[0] is not entry:
            found = self._decoded[id(entry)] = (entry, unpack(entry))
        return found[1]

    @property
    def in_memory(self) -> bool:
        """Whether this cache keeps its tree in memory between builds."""
        return self._memory is not None

    def keep_decoded(self, entry: tuple, decoded: tuple[list[Item], list[Note]]) -> None:
        """Remember what a freshly compiled entry holds, in memory mode, so the next build needn't decode it."""
        if self._memory is not None:
            self._decoded[id(entry)] = (entry, decoded)

    def files(self, tree: str) -> _Stored:
        """Every file entry stored for a tree (keyed by its context), the delta's over the base's."""
        if self._memory is not None and tree in self._memory:
            return self._memory[tree]
        base, delta = self._read_files(tree), self._read_files(tree + "-delta")
        files = _Stored()
        self._base = None
        if base is not None:
            files = base[1]
            self._base = (tree, base[0], len(base[1]), {})
            if delta is not None and delta[0] == base[0]:
                ours = {rel: entry for rel in list(delta[1]) if (entry := delta[1].get(rel)) is not None}
                files.update(ours)
                self._base = (tree, base[0], len(base[1]), ours)
        if self._memory is not None:
            self._memory[tree] = files
        return files

    def saver(self, tree: str, *, changed: set[str], removed: bool) -> Saver:
        """Where a compile puts each file's entry as it goes: a small delta, or (when that would grow too
        large, or there is no base yet) a whole new base written record by record."""
        known = self._base if self._base is not None and self._base[0] == tree else None
        if self.folder is None or (not changed and not removed):
            mode = "none"
        elif known is not None and known[2] and len(set(known[3]) | changed) * 4 <= known[2]:
            mode = "delta"
        else:
            mode = "base"
        return Saver(self, tree, mode=mode)

    def _read_files(self, key: str) -> tuple[str, dict[str, tuple]] | None:
        """A files entry: its token and {path: entry}; None if absent or malformed.

        Only the paths are read at first: each entry is read when asked for (`_Stored`), so a
        build never holds the whole entry's bytes, unless the cache keeps its tree in memory.
        """
        if self.folder is None:
            return None
        path = self._path(key)
        try:
            with path.open("rb") as stream:
                stored_key, token = _read_record(stream)
                if stored_key != key or not isinstance(token, str):
                    return None
                files = _Stored(path)
                while (rel := _read_record(stream)) is not None:
                    digest = _read_record(stream)
                    if not isinstance(rel, str) or not isinstance(digest, bytes):
                        return None
                    size = int.from_bytes(stream.read(8), "big")
                    files.refs[rel] = (digest, stream.tell(), size)
                    dict.__setitem__(files, rel, files.refs[rel])
                    stream.seek(size, os.SEEK_CUR)
                if self._memory is not None:
                    loaded = _Stored()
                    loaded.update({rel: entry for rel in list(files) if (entry := files.get(rel)) is not None})
                    return token, loaded
                return token, files
        except (OSError, EOFError, ValueError, TypeError):
            return None


class _Stored(dict):
    """A files entry's {path: entry}, each entry read from its file when first asked for (None if damaged).

    `digest` tells whether a file's entry can serve without reading it.
    """

    def __init__(self, path: Path | None = None) -> None:
        super().__init__()
        self.path = path
        self.refs: dict[str, tuple[bytes, int, int]] = {}  # path -> (the file's hash, offset, size)

    def digest(self, rel: str) -> bytes | None:
        """The hash of the file bytes a path's entry was made from, without reading the entry."""
        if rel in self.refs:
            return self.refs[rel][0]
        entry = dict.get(self, rel)
        return entry[0] if isinstance(entry, tuple) and entry and isinstance(entry[0], bytes) else None

    def _entry(self, rel: str, value: Any) -> tuple | None:
        if self.refs.get(rel) is not value or self.path is None:
            return value
        try:
            with self.path.open("rb") as stream:
                stream.seek(value[1])
                data = stream.read(value[2])
            entry = marshal.loads(data)
        except (OSError, EOFError, ValueError, TypeError):
            return None
        return entry if isinstance(entry, tuple) else None

    def get(self, rel: str, default: Any = None) -> Any:  # type: ignore[override]
        return self._entry(rel, dict.get(self, rel)) if rel in self else default

    def pop(self, rel: str, default: Any = None) -> Any:  # type: ignore[override]
        found = self._entry(rel, dict.pop(self, rel)) if rel in self else default
        self.refs.pop(rel, None)
        return found

    def __setitem__(self, rel: str, entry: Any) -> None:
        self.refs.pop(rel, None)
        dict.__setitem__(self, rel, entry)

    def update(self, other: Any = (), **more: Any) -> None:  # type: ignore[override]
        for rel, entry in dict(other, **more).items():
            self[rel] = entry


class Saver:
    """One compile's cache writes: each file's entry as it is compiled or read, then `close`."""

    def __init__(self, cache: Cache, tree: str, *, mode: str) -> None:
        self.cache, self.tree, self.mode = cache, tree, mode
        self.files = _Stored()  # every entry, kept only when the cache keeps its tree in memory
        self.count = 0
        self.changed: dict[str, tuple] = {}
        self.token = os.urandom(8).hex()
        self.stream: BinaryIO | None = None
        self.temp = ""
        if mode == "base":
            path = cache._path(tree)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                handle, self.temp = tempfile.mkstemp(prefix=temp_prefix(), suffix=".tmp", dir=path.parent)
                self.stream = os.fdopen(handle, "wb")
                _write_record(self.stream, (tree, self.token))
            except (OSError, ValueError):
                self._abandon()

    def add(self, rel: str, entry: tuple, *, changed: bool) -> None:
        """One file's entry, in the tree's order; `changed` when it was compiled afresh."""
        self.count += 1
        if self.cache._memory is not None:
            self.files[rel] = entry
        if changed and self.mode != "base":
            self.changed[rel] = entry
        if self.stream is not None:
            try:
                if entry[2] is None:  # kept in memory without its blob: made again from its items and notes
                    items, notes = self.cache.decode(entry)
                    entry = pack(Path(entry[1]), entry[0], items, notes, keys=entry[3], raw=stored_bytes(entry))
                _write_record(self.stream, rel)
                _write_record(self.stream, entry[0])
                _write_record(self.stream, entry)
            except (OSError, ValueError):
                self._abandon()

    def close(self) -> None:
        """Finish: the new base or delta replaces the old one (a cache that can't be written is skipped)."""
        cache, tree = self.cache, self.tree
        self._write()
        if cache._memory is not None:
            # In memory, an entry keeps its items and notes decoded, and drops the marshalled copy of them.
            decoded = {}
            for rel, entry in list(self.files.items()):
                found = cache._decoded.get(id(entry))
                if found is not None and found[0] is entry and entry[2] is not None:
                    entry = self.files[rel] = (*entry[:2], None, *entry[3:])
                    decoded[id(entry)] = (entry, found[1])
                elif found is not None and found[0] is entry:
                    decoded[id(entry)] = found
            cache._memory[tree] = self.files
            cache._decoded = decoded

    def _write(self) -> None:
        """Write the delta, or finish the base, to disk."""
        cache, tree = self.cache, self.tree
        if self.mode == "none" and self.changed and cache.folder is not None and cache._base is not None \
                and cache._base[0] == tree:
            self.mode = "delta"  # a damaged entry, or one whose images changed, was compiled again
        if self.mode == "delta" and cache._base is not None:
            _, token, size, delta = cache._base
            ours = {**delta, **self.changed}
            _write_file(cache._path(tree + "-delta"),
                        [(tree + "-delta", token), *(part for rel, entry in ours.items() for part in (rel, entry[0], entry)),
                         None])
            cache._base = (tree, token, size, ours)
        elif self.stream is not None:
            try:
                _write_record(self.stream, None)
                self.stream.close()
                self.stream = None
                os.replace(self.temp, cache._path(tree))
                cache._path(tree + "-delta").unlink(missing_ok=True)
                cache._base = (tree, self.token, self.count, {})
            except (OSError, ValueError):
                self._abandon()

    def _abandon(self) -> None:
        """Give up writing the base: close and remove the temporary file."""
        if self.stream is not None:
            try:
                self.stream.close()
            except OSError:
                pass
            self.stream = None
        if self.temp:
            Path(self.temp).unlink(missing_ok=True)


def _write_file(path: Path, records: list) -> None:
    """Write records to a file atomically; a cache that can't be written is silently skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=temp_prefix(), suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                for record in records:
                    _write_record(stream, record)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except (OSError, ValueError):
        pass


def _write_record(stream: BinaryIO, value: Any) -> None:
    """One value, marshalled, after its length."""
    parts = _flat_tuple(value) if isinstance(value, tuple) else None
    if parts is None:
        parts = [marshal.dumps(value)]
    stream.write(sum(map(len, parts)).to_bytes(8, "big"))
    for part in parts:
        stream.write(part)


_LARGE = 1 << 20


def _flat_tuple(value: tuple) -> list[bytes] | None:
    """A tuple of bytes and text holding a large bytes value, marshalled in parts that `marshal.loads` reads back
    joined as the tuple: the large values written as they are, not copied into one more large bytes value.
    None for any other tuple."""
    if not (0 < len(value) < 256 and all(type(part) in (bytes, str) for part in value)
            and any(type(part) is bytes and len(part) >= _LARGE for part in value)):
        return None
    parts = [b")" + bytes([len(value)])]  # marshal's small tuple, then each value (neither refers to another)
    for part in value:
        if type(part) is bytes and len(part) >= _LARGE:
            parts += [b"s" + len(part).to_bytes(4, "little"), part]  # marshal's bytes: its length, then them
        else:
            parts.append(marshal.dumps(part))
    return parts


def _read_record(stream: BinaryIO) -> Any:
    """The next value `_write_record` wrote; raises EOFError or ValueError on a short or damaged record."""
    size = int.from_bytes(stream.read(8), "big")
    if size > os.fstat(stream.fileno()).st_size:
        raise ValueError("damaged cache record")
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("short cache record")
    return marshal.loads(data)


def pack(folder: Path, digest: bytes, items: list[Item], notes: list[Note], *, keys: bytes | None = None,
         raw: bytes | None = None) -> tuple:
    """One file's items and notes as plain values that marshal can store, with its content's hash.

    Items and notes are marshalled together into one bytes value (text they share is stored once,
    and stays shared when loaded), so an entry in memory is compact and saving it is a copy. Each
    item's key (`item_key`) is kept as a 16-byte hash, and a large file's bytes are kept too, so
    that its next edit can be read item by item.
    """
    rows = [tuple(i)[:-1] for i in items]
    return pack_rows(folder, digest, rows, list(map(note_row, notes)),
                     keys=b"".join(map(item_key, rows)) if keys is None else keys, raw=raw)


def pack_rows(folder: Path, digest: bytes, rows: list[tuple], note_rows: list[tuple], *, keys: bytes,
              raw: bytes | None = None) -> tuple:
    """`pack`, from the items' rows (each item less its folder) and the notes' rows (`note_row`)."""
    return (digest, str(folder), marshal.dumps((rows, note_rows)), keys) + ((raw,) if raw is not None else ())


def note_row(n: Note) -> tuple:
    """A note as the plain values `pack` stores (`note_from_row` makes it again)."""
    return (n.id, n.guid, n.kind, n.deck, n.fields, n.tags, n.ords, n.digest, n.removed,
            tuple((m.name, str(m.path)) for m in n.media))


def stored_bytes(entry: tuple | None) -> bytes | None:
    """The file's bytes, if its entry kept them."""
    return entry[4] if entry is not None and len(entry) > 4 and isinstance(entry[4], bytes) else None


def unpack(value: tuple) -> tuple[list[Item], list[Note]]:
    """The items and notes `pack` stored; raises on anything malformed."""
    folder = (Path(value[1]),)
    make_item = Item._make
    rows, notes = marshal.loads(value[2])
    return [make_item(row + folder) for row in rows], list(map(note_from_row, notes))


def unpack_items(value: tuple) -> list[Item]:
    """The items `pack` stored; raises on anything malformed."""
    return unpack(value)[0]


def note_from_row(row: tuple) -> Note:
    """One note from a row `pack` stored; raises on a malformed row."""
    return Note(*row[:7], media=tuple(Media(name=m, path=Path(p)) for m, p in row[9]) if row[9] else (),
                digest=row[7], removed=row[8])


def item_key(row: tuple) -> bytes:
    """A hash of what an item's note depends on within its file: all its values but its lines and lint exceptions."""
    return hashlib.blake2b(repr(row[:10] + row[11:12] + row[14:17]).encode(), digest_size=16).digest()
