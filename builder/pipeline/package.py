"""Write notes into a deterministic, deflated .apkg."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import sqlite3
import struct
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Sequence
from typing import BinaryIO, NamedTuple
from pathlib import Path

import genanki

from ..model import Media, Note
from .hooks import pause
from .notetypes import NOTETYPES, NoteType
from .state import temp_dir

NOTETYPES_IDS = {kind: notetype.id for kind, notetype in NOTETYPES.items()}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_LEVEL = 4  # as small as 6 within a few per cent, at under half the CPU
_CHUNK = 1 << 20
_COMPRESSED = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif")  # image formats that are compressed already
# genanki's schema, split so rows go in before the indexes are built: faster, and compact pages.
_TABLES, _, _INDEXES = genanki.apkg_schema.APKG_SCHEMA.partition("CREATE INDEX")
_INDEXES = "CREATE INDEX" + _INDEXES


class Row(NamedTuple):
    """A note with the ids and time the build gave it (a NamedTuple: one per note, on every build)."""

    note: Note
    nid: int
    mod: int


@functools.lru_cache(maxsize=None)
def deck_id(name: str) -> int:
    """A deck's id, derived from its full name (Anki matches decks by name on import)."""
    return int.from_bytes(hashlib.sha256(f"deckbuild-deck:{name}".encode()).digest()[:6], "big") + 1


def write_apkg(*, rows: Sequence[Row], notetype_mods: dict[str, int], output: Path,
               notetypes: dict[str, NoteType] | None = None) -> int:
    """Write the package to a temporary file beside `output`, then replace it; return its size."""
    with temp_dir(output.parent) as work:
        temp = pack_apkg(rows=rows, notetype_mods=notetype_mods, work=work, notetypes=notetypes)
        size = temp.stat().st_size
        temp.replace(output)
    return size


def pack_apkg(*, rows: Sequence[Row], notetype_mods: dict[str, int], work: Path,
              chunks: dict[bytes, bytes] | None = None, notetypes: dict[str, NoteType] | None = None) -> Path:
    """Write the package into the folder `work` (a temporary one); return its path there.

    `chunks` holds an earlier package's deflated chunks (see `_deflate_stream`): those this package
    shares are not deflated again, and it is left holding this package's chunks. `notetypes` are the
    tree's own note types (notetypes.yaml), packaged beside deckbuild's two.
    """
    decks = sorted({part for deck in {row.note.deck for row in rows} for part in _ancestors(deck)})
    deck_json = {str(deck_id(name)): genanki.Deck(deck_id(name), name).to_json() for name in decks}
    home = deck_id(decks[0]) if decks else 1
    every = [*NOTETYPES.values(), *(notetypes or {}).values()]
    models = {str(t.id): t.to_json(mod=notetype_mods[t.kind], deck_id=home) for t in every}
    media = sorted({m.name: m for row in rows for m in row.note.media}.values(), key=lambda m: m.name)
    db = work / "collection.anki2"
    _write_collection(db, rows=rows, models=models, decks=deck_json,
                      ids={**NOTETYPES_IDS, **{t.kind: t.id for t in (notetypes or {}).values()}})
    pause("package")
    temp = work / "out.apkg"
    _write_zip(temp, db=db, media=media, memo=chunks)
    return temp


def _ancestors(name: str) -> list[str]:
    """A deck and all its parents: `A::B` gives `A` and `A::B`."""
    parts = name.split("::")
    return ["::".join(parts[: i + 1]) for i in range(len(parts))]


def _write_collection(db: Path, *, rows: Sequence[Row], models: dict, decks: dict, ids: dict[str, int]) -> None:
    """The collection database: genanki's schema, then every note and card in one batch each.

    The sort field and checksum are left empty: Anki computes both when it imports a note.
    """
    # Generators, not lists: SQLite takes one row at a time, so the joined fields never all sit in memory.
    notes = ((row.nid, row.note.guid, ids[row.note.kind], row.mod, -1,
              f" {' '.join(row.note.tags)} " if row.note.tags else "", "\x1f".join(row.note.fields), "", 0, 0, "")
             for row in rows)

    def cards():
        card_id = min((row.nid for row in rows), default=1)
        for position, row in enumerate(rows, 1):
            did = deck_id(row.note.deck)
            for ord_ in row.note.ords:
                yield (card_id, row.nid, did, ord_, row.mod, -1, 0, 0, position, 0, 0, 0, 0, 0, 0, 0, 0, "")
                card_id += 1

    mod = max((row.mod for row in rows), default=0) * 1000
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.executescript(_TABLES)
        conn.executescript(genanki.apkg_col.APKG_COL)
        conn.execute("UPDATE col SET mod = ?, models = ?, decks = ?",
                     (mod, json.dumps(models, sort_keys=True), json.dumps(decks, sort_keys=True)))
        conn.executemany("INSERT INTO notes VALUES (?,?,?,?,?,?,?,?,?,?,?)", notes)
        conn.executemany("INSERT INTO cards VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", cards())
        conn.executescript(_INDEXES)
        conn.commit()
    finally:
        conn.close()


def _write_zip(path: Path, *, db: Path, media: Sequence[Media], memo: dict[bytes, bytes] | None = None) -> None:
    """The zip: deflated, with fixed entry times and a stable order."""
    _write_deflated_entry(path, "collection.anki2", db, memo=memo)
    with zipfile.ZipFile(path, "a") as out:
        for name, data in [("media", json.dumps({str(i): m.name for i, m in enumerate(media)}).encode())] + [
                (str(i), m.path.read_bytes()) for i, m in enumerate(media)]:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name != "media" and media[int(name)].name.lower().endswith(_COMPRESSED):
                info.compress_type = zipfile.ZIP_STORED  # deflating a PNG or JPEG costs time and saves nothing
            info.external_attr = 0o644 << 16
            out.writestr(info, data, compresslevel=_LEVEL)


def deflate(data: bytes, *, chunk: int | None = None) -> bytes:
    """Raw deflate on every core: fixed-size chunks, each primed with the 32 KiB before it.

    zlib releases the GIL, so threads run in parallel; the bytes depend only on the data and
    `chunk`, never on the number of cores.
    """
    out = io.BytesIO()
    _deflate_stream(io.BytesIO(data), len(data), out, chunk=chunk or _CHUNK)
    return out.getvalue()


def _deflate_stream(source: BinaryIO, total: int, out: BinaryIO, *, chunk: int,
                    memo: dict[bytes, bytes] | None = None) -> tuple[int, int]:
    """`deflate` from one file to another, a few chunks in memory at a time; the CRC-32 and bytes written.

    `memo` (by default `_DEFLATED`, when `remember_chunks` made it) maps a hash of each chunk, the 32 KiB
    before it and the settings to its deflated bytes: a chunk found there is not deflated again, and
    the memo is left holding this stream's chunks.
    """
    workers = os.cpu_count() or 1
    memo, kept = _DEFLATED if memo is None else memo, {}
    crc = written = position = 0
    tail = b""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while True:
            data = source.read(chunk * workers)
            crc = zlib.crc32(data, crc)
            window, base = memoryview(tail + data), len(tail)

            def one(start: int) -> bytes:
                primer = window[max(0, start - 32768):start]
                last = position + start - base + chunk >= total
                if memo is not None:
                    key = hashlib.blake2b(window[max(0, start - 32768):start + chunk], digest_size=20,
                                          person=b"%d %d %d" % (_LEVEL, last, chunk)).digest()
                    if key in memo:
                        kept[key] = memo[key]
                        return memo[key]
                compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, -15, **({"zdict": primer} if primer else {}))
                packed = compressor.compress(window[start:start + chunk]) + compressor.flush(
                    zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
                if memo is not None:
                    kept[key] = packed
                return packed

            for packed in pool.map(one, range(base, base + max(len(data), position == 0), chunk)):
                out.write(packed)
                written += len(packed)
            position += len(data)
            if position >= total or not data:
                break
            tail = bytes(window[-32768:])
    if memo is not None:
        memo.clear()
        memo.update(kept)
    return crc, written


_DEFLATED: dict[bytes, bytes] | None = None  # the last package's chunks, by hash of what made them (for watch)


def remember_chunks() -> None:
    """Keep each package's deflated chunks for the next, so a rebuild deflates only the chunks that changed."""
    global _DEFLATED
    if _DEFLATED is None:
        _DEFLATED = {}


def _write_deflated_entry(path: Path, name: str, source: Path, *, memo: dict[bytes, bytes] | None = None) -> None:
    """A zip holding one deflated entry (zipfile can't take data compressed elsewhere), streamed from a file."""
    size, encoded = source.stat().st_size, name.encode()
    dos_date = (1 << 5) | 1  # 1980-01-01, 00:00
    with source.open("rb") as data, path.open("wb") as out:
        out.write(bytes(30 + len(encoded)))  # the local header, written once the CRC and sizes are known
        crc, packed = _deflate_stream(data, size, out, chunk=_CHUNK, memo=memo)
        if max(packed, size) >= 0xFFFFFFFF:
            raise ValueError("the collection is too large for a zip without ZIP64")
        common = struct.pack("<HHHHHIIIH", 20, 0, zipfile.ZIP_DEFLATED, 0, dos_date, crc, packed, size, len(encoded))
        local = struct.pack("<I", 0x04034B50) + common + struct.pack("<H", 0) + encoded
        central = (struct.pack("<IH", 0x02014B50, 0x0314) + common
                   + struct.pack("<HHHHII", 0, 0, 0, 0, 0o644 << 16, 0) + encoded)
        end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + packed, 0)
        out.write(central + end)
        out.seek(0)
        out.write(local)
