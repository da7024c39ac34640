"""A lived-in Anki collection for the benchmark: a deckbuild deck among many other notes, with years of reviews.

`make_collection` builds it with the `anki` library, seeded: other decks' notes, cards and review rows
go in by bulk inserts through `col.db` (for speed), the deck itself by a real import of its `.apkg`, and
the result must pass SQLite's `pragma integrity_check` and Anki's own Check Database (`fix_integrity`)
with nothing to fix. `edit_in_anki` edits notes the way Anki's editor does (`col.update_note`).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

OTHER_DECKS = 20
REVIEWS_PER_CARD = 10  # review rows per card, on average: 100,000 other notes → 1,000,000 rows


def make_collection(*, path: Path, apkg: Path, other_notes: int, seed: int) -> dict[str, int]:
    """Write a collection of `other_notes` notes in other decks plus the deck of `apkg`; its counts."""
    from anki.collection import Collection
    from anki.import_export_pb2 import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    rng = random.Random(seed)
    col = Collection(str(path))
    try:
        basic = col.models.by_name("Basic")["id"]
        decks = [col.decks.id(f"Languages::Deck {n:02d}", create=True) for n in range(OTHER_DECKS)]
        today = col.sched.today
    finally:
        col.close()
    base_id = 1_500_000_000_000  # note and card ids: milliseconds, as Anki makes them, years ago
    notes, cards = [], []
    for n in range(other_notes):
        front = f"word {n} {rng.getrandbits(40):x}"  # plain text: its checksum is Anki's field_checksum
        back = " ".join(f"{rng.getrandbits(24):x}" for _ in range(rng.randint(2, 12)))
        nid = base_id + n
        notes.append((nid, f"{rng.getrandbits(60):x}", basic, 1_600_000_000 + n, 0, " other ", f"{front}\x1f{back}",
                      front, int(hashlib.sha1(front.encode()).hexdigest()[:8], 16), 0, ""))
        reviewed = rng.random() < 0.8
        cards.append((nid, nid, rng.choice(decks), 0, 1_600_000_000 + n, 0, 2 if reviewed else 0,
                      2 if reviewed else 0, today + rng.randint(-30, 365) if reviewed else n,
                      rng.randint(1, 400) if reviewed else 0, 2500 if reviewed else 0,
                      REVIEWS_PER_CARD if reviewed else 0, rng.randint(0, 3), 0, 0, 0, 0, ""))
    with sqlite3.connect(path) as db:  # bulk inserts in one transaction: Anki's own checks run on it below
        db.executemany("insert into notes values (?,?,?,?,?,?,?,?,?,?,?)", notes)
        db.executemany("insert into cards values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", cards)
        _reviews(db, [card[0] for card in cards if card[6] == 2], count=other_notes * REVIEWS_PER_CARD, rng=rng,
                 start=1_550_000_000_000)
    db.close()
    del notes, cards
    col = Collection(str(path))
    try:
        request = ImportAnkiPackageRequest(package_path=str(apkg), options=ImportAnkiPackageOptions())
        col.import_anki_package(request)
    finally:
        col.close()
    with sqlite3.connect(path) as db:  # the deck has been studied too: most of its cards are in review
        deck_cards = [cid for (cid,) in db.execute("select id from cards where nid in "
                                                   "(select id from notes where mid != ?) order by id", (basic,))]
        studied = [cid for cid in deck_cards if rng.random() < 0.8]
        db.executemany("update cards set type = 2, queue = 2, ivl = ?, due = ?, factor = 2500, reps = ? where id = ?",
                       [(rng.randint(1, 200), today + rng.randint(-10, 200), REVIEWS_PER_CARD, cid)
                        for cid in studied])
        _reviews(db, studied, count=len(studied) * REVIEWS_PER_CARD, rng=rng, start=1_650_000_000_000)
    db.close()
    col = Collection(str(path))
    try:
        col.fix_integrity()  # Anki's Check Database: it adds what Anki keeps beside reviews (last review times)
        problems, ok = col.fix_integrity()  # and then must find nothing left to fix
        left = [line for line in problems.splitlines() if line.strip() and "rebuilt and optimized" not in line]
        if not ok or left:
            raise SystemExit(f"the generated collection failed Anki's Check Database: {problems}")
        verdict = col.db.scalar("pragma integrity_check")  # on Anki's connection: it knows Anki's collations
        if verdict != "ok":
            raise SystemExit(f"the generated collection failed SQLite's integrity check: {verdict}")
        counts = {"notes": col.note_count(), "cards": col.card_count(),
                  "revlog": col.db.scalar("select count() from revlog")}
    finally:
        col.close()
    counts["bytes"] = path.stat().st_size
    return counts


def _reviews(db: sqlite3.Connection, cards: list[int], *, count: int, rng: random.Random, start: int) -> None:
    """Insert `count` review rows spread over `cards`, with unique millisecond ids from `start` on."""
    if not cards:
        return
    rid = start
    rows = []
    for _ in range(count):
        rid += rng.randint(1, 50_000)
        ease = rng.choices((1, 2, 3, 4), weights=(1, 2, 12, 2))[0]
        rows.append((rid, rng.choice(cards), 0, ease, rng.randint(1, 300), rng.randint(0, 200), 2500,
                     rng.randint(1500, 30_000), 1))
    db.executemany("insert into revlog values (?,?,?,?,?,?,?,?,?)", rows)


def edit_in_anki(*, path: Path, count: int, seed: int) -> list[str]:
    """Edit the answer (or cloze text) of `count` of the deck's notes as Anki's editor would; their guids."""
    from anki.collection import Collection

    rng = random.Random(seed)
    col = Collection(str(path))
    try:
        nids = col.db.list("select id from notes where mid != ? order by id", col.models.by_name("Basic")["id"])
        edited = []
        for nid in sorted(rng.sample(nids, count)):
            note = col.get_note(nid)
            index = 1 if len(note.fields) > 6 else 0  # a Q/A note's answer; a cloze note's text
            note.fields[index] = note.fields[index] + " Edited in Anki."
            col.update_note(note)
            edited.append(note.guid)
    finally:
        col.close()
    return edited


def floor(collection: Path, apkg: Path) -> None:
    """The floor: open the collection with the anki library and import the .apkg with Anki's defaults."""
    from anki.collection import Collection
    from anki.import_export_pb2 import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    col = Collection(str(collection))
    try:
        log = col.import_anki_package(ImportAnkiPackageRequest(package_path=str(apkg),
                                                               options=ImportAnkiPackageOptions())).log
        print(f"{len(log.new)} new, {len(log.updated)} updated, {len(log.duplicate)} unchanged")
    finally:
        col.close()


# --- timing the collection commands against the floor -------------------------------------------------------

DECK_ITEMS, DECK_FILES, EDITED_IN_ANKI = 5_000, 10, 200
SIZES = (10_000, 100_000)
COMMANDS = {  # key: (label, budget as a multiple of the floor)
    "diff": ("`diff`", 1.5),
    "pull": ("`pull`, nothing edited", 1.5),
    "pull-200": (f"`pull`, {EDITED_IN_ANKI} notes edited in Anki", 2.0),
    "push": ("`push`, one answer edited (a backup < 30 min old beside it)", 2.0),
    "push-backup": ("`push`, one answer edited, backup due (Anki's own backup of the whole collection)", None),
}
SPREAD = 0.2  # each command's ratio at one size within 20 % of the other's


@dataclass(frozen=True, slots=True, kw_only=True)
class Setup:
    """The pristine tree, its warm cache and build, and a collection (plus one edited in Anki) per size."""

    work: Path
    tree: object  # bench.Tree
    apkg: Path
    collections: dict[int, Path]
    edited: dict[int, Path]
    counts: dict[int, dict[str, int]]
    epoch: int


def prepare(*, work: Path, tree, build: Callable[[Path], None], sizes: tuple[int, ...], seed: int,
            epoch: int) -> Setup:
    """Build the tree once (warming the cache), then make each size's collection and its Anki-edited twin."""
    apkg = work / "deck.apkg"
    build(apkg)
    collections, edited, counts = {}, {}, {}
    for size in sizes:
        path = work / f"collection-{size}" / "collection.anki2"
        path.parent.mkdir(parents=True)
        counts[size] = make_collection(path=path, apkg=apkg, other_notes=size, seed=seed + size)
        _recent_backup(path)
        twin = work / f"edited-{size}" / "collection.anki2"
        twin.parent.mkdir(parents=True)
        shutil.copyfile(path, twin)
        edit_in_anki(path=twin, count=EDITED_IN_ANKI, seed=seed)
        collections[size], edited[size] = path, twin
    return Setup(work=work, tree=tree, apkg=apkg, collections=collections, edited=edited, counts=counts, epoch=epoch)


def _recent_backup(path: Path) -> None:
    """Anki's own backup of the collection in the `backups` folder beside it, as Anki leaves one on closing."""
    from anki.collection import Collection

    (path.parent / "backups").mkdir(exist_ok=True)
    col = Collection(str(path))
    try:
        col.create_backup(backup_folder=str(path.parent / "backups"), force=True, wait_for_completion=True)
    finally:
        col.close()


def fresh(setup: Setup, *, size: int, key: str, run: Path) -> tuple[Path, Path]:
    """A fresh copy of the tree and of the collection a command starts from, in `run`; their paths."""
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    cards = Path(shutil.copytree(setup.tree.root, run / "cards"))
    source = setup.edited[size] if key == "pull-200" else setup.collections[size]
    collection = run / "anki" / "collection.anki2"
    collection.parent.mkdir()
    shutil.copyfile(source, collection)
    if key == "push":
        shutil.copytree(source.parent / "backups", collection.parent / "backups")
        for backup in (collection.parent / "backups").iterdir():
            os.utime(backup)  # made a moment ago
    return cards, collection


def outcome(key: str, *, stdout: str, cards: Path, collection: Path, run: Path) -> str:
    """What a command did, as text to compare between two versions: its output, the tree and the deck in Anki.

    The backup line is left out (the backup policy is meant to differ), and the run folder is shown as RUN.
    """
    lines = [line.replace(str(run), "RUN") for line in stdout.splitlines() if not line.startswith("backup:")]
    digest = hashlib.sha256()
    for path in sorted(cards.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(cards).as_posix().encode() + b"\0" + path.read_bytes())
    lines.append(f"tree {digest.hexdigest()[:16]}")
    if key.startswith("push"):
        with sqlite3.connect(f"file:{collection}?mode=ro", uri=True) as db:
            db.create_collation("unicase", lambda a, b: (a.casefold() > b.casefold()) - (a.casefold() < b.casefold()))
            basic = db.execute("select id from notetypes where name = 'Basic'").fetchone()[0]
            rows = db.execute("select n.guid, n.mid, n.mod, n.flds, n.tags, c.ord, d.name, c.type, c.ivl, "
                              "(select count() from revlog where cid = c.id) from notes n join cards c on c.nid = n.id "
                              "join decks d on d.id = c.did where n.mid != ? order by n.guid, c.ord", (basic,)).fetchall()
            others = db.execute("select count(), sum(mod) from notes where mid = ?", (basic,)).fetchone()
        db.close()
        lines.append(f"deck in Anki {hashlib.sha256(repr(rows).encode()).hexdigest()[:16]} ({len(rows)} cards); "
                     f"other notes {others}")
    return "\n".join(lines)
