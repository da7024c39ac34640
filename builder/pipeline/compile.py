"""The compile stage: every deck file loaded, validated and rendered, from the cache or afresh."""

from __future__ import annotations

import collections
import contextlib
import errno
import gc
import hashlib
import marshal
import multiprocessing
import os
import stat
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from .cache import Cache, item_key, key_for, note_from_row, note_row, pack, pack_rows, stored_bytes, unpack
from .hooks import die_with, pause
from ..errors import UsageError
from .load import Map, load_file
from ..model import Item, Note, Problem, Source, Tree
from .render import MediaStore, render_item
from .splice import Piece, cut, splice
from .usertypes import NOTETYPES_FILE, validate_notetypes
from .validate import unique_ids, validate_deck, validate_sources

SOURCES = "sources.yaml"
SOURCES_NAMES = (SOURCES, "sources.yml")  # the bibliography's names; .yml as deck files may be
Progress = Callable[[int, int], None]  # called with (files compiled, files to compile)
# Below this much uncached YAML, starting worker processes costs more than it saves.
PARALLEL_BYTES = 2_000_000
# A deck file this large keeps its bytes in the cache, so its next edit re-reads only the items it touched.
SPLICE_BYTES = 1_000_000
# A deck file this large, compiled with no earlier version to reuse, is read in pieces on all cores.
CUT_BYTES = 4_000_000
_PIECES_PER_WORKER = 4  # more pieces than cores, so that a core slowed by other work holds up less


@dataclass(frozen=True, slots=True, kw_only=True)
class Compiled:
    """A cards tree compiled in memory: its items, rendered notes and findings."""

    tree: Tree
    notes: tuple[Note, ...]
    problems: tuple[Problem, ...]
    # Per deck file (by its shown path): a hash of everything its items and notes come from (its bytes, the
    # bibliography, where the tree is, deckbuild's code), so that lint can cache what it found in the file.
    file_keys: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One deck file to compile afresh, with everything its output depends on."""

    path: Path
    shown: str
    raw: bytes
    digest: bytes
    root: Path
    sources: dict[str, Source]
    check_sources: bool
    notetypes: dict | None = None  # the tree's own note types (notetypes.yaml), by name
    previous: tuple | None  # the file's last cached entry: its unchanged items' notes are reused
    # A large file's items re-read where an edit inside one item changed it (`splice.splice`), and that item's index.
    spliced: tuple[list[Item], int] | None = None
    previous_notes: list[Note] | list[tuple] | None = None  # the last notes (or their stored rows), when read already


def shown(cards_dir: Path, path: Path) -> str:
    """A path as the user should see it: under the cards folder as they named it."""
    return (cards_dir / path.relative_to(cards_dir)).as_posix()


def deck_files(cards_dir: Path, problems: list[Problem]) -> list[Path]:
    """Every deck file under the folder, in a stable order, skipping hidden files and folders.

    A folder or deck file that can't be listed or read, or that a link takes outside the cards
    folder, is a problem, never skipped: its items would look removed. Links that stay inside are
    followed, each folder and file once (so a loop of links ends).
    """
    if not cards_dir.is_dir():
        raise UsageError(f"cards folder '{cards_dir}' not found")
    root = cards_dir.resolve()
    bibliography = bibliographies(cards_dir) + [cards_dir / NOTETYPES_FILE]
    top = cards_dir.stat()
    seen: set[tuple[int, int]] = {(top.st_dev, top.st_ino)}  # each folder and file by its identity, once
    found: list[Path] = []
    folders = [cards_dir]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as err:
            problems.append(unreadable(cards_dir, folder, err, what="folder"))
            continue
        for entry in entries:
            path = folder / entry.name
            if entry.name.startswith(".") or path in bibliography:
                continue
            deck = entry.name.endswith((".yaml", ".yml"))
            try:
                if not (deck or entry.is_dir()):
                    continue
                if entry.is_symlink() and (refused := _outside(root, path)):
                    problems.append(Problem(path=shown(cards_dir, path), line=1, message=refused))
                    continue
                info = entry.stat()
            except OSError as err:
                problems.append(unreadable(cards_dir, path, err, what="file" if deck else "folder"))
                continue
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            if stat.S_ISDIR(info.st_mode):
                folders.append(path)
            elif stat.S_ISREG(info.st_mode):
                found.append(path)
            else:
                problems.append(Problem(path=shown(cards_dir, path), line=1, message=(
                    "not a regular file (a pipe, socket or device); deck files must be plain files")))
    return sorted(found, key=lambda p: p.relative_to(cards_dir).as_posix())


def _outside(root: Path, link: Path) -> str | None:
    """Why a link can't be followed (it leaves the cards folder, or leads nowhere), or None."""
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        return "a symbolic link to nothing (its target is missing, or the links loop); fix or delete the link"
    if target != root and not target.is_relative_to(root):
        return (f"a symbolic link to '{target}', outside the cards folder; deck files and folders must be "
                "inside it, so move them in (a link may point the other way)")
    return None


def unreadable(cards_dir: Path, path: Path, err: OSError, *, what: str) -> Problem:
    """The problem for a file or folder under the cards folder that can't be read."""
    verb = "list the folder" if what == "folder" else "read the file"
    return Problem(path=shown(cards_dir, path), line=1, environment=True, message=(
        f"cannot {verb} ({err.strerror or err}); check its permissions, or move it out of the cards folder"))


def bibliographies(cards_dir: Path) -> list[Path]:
    """The bibliography files at the top of the tree: `sources.yaml`, or `sources.yml` (ideally one)."""
    return [cards_dir / name for name in SOURCES_NAMES if os.path.lexists(cards_dir / name)]


def read_input(cards_dir: Path, path: Path, problems: list[Problem]) -> bytes | None:
    """A file's bytes, or None with a problem when it can't be read or a link takes it out of the tree."""
    if path.is_symlink() and (refused := _outside(cards_dir.resolve(), path)):
        problems.append(Problem(path=shown(cards_dir, path), line=1, message=refused))
        return None
    try:
        if not path.is_file():
            raise IsADirectoryError(errno.EISDIR, "not a regular file")
        return path.read_bytes()
    except OSError as err:
        problems.append(unreadable(cards_dir, path, err, what="file"))
        return None


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Hold off Python's cycle collector: a compile makes millions of objects that live on, none in cycles,
    and each full collection would walk them all again (about a tenth of a large build's time).

    Afterwards they are frozen (`gc.freeze`), or the first collection once the collector is back on would
    walk every one of them anyway (about a fifth of a second on 50,000 items).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.enable()


def compile_tree(cards_dir: Path, *, cache: Cache | None = None, progress: Progress | None = None,
                 items: bool = True) -> Compiled:
    """Load, validate and render a whole tree, collecting every problem on the way (see `_compile_tree`)."""
    with _no_gc():
        return _compile_tree(cards_dir, cache=cache, progress=progress, items=items)


def _compile_tree(cards_dir: Path, *, cache: Cache | None, progress: Progress | None, items: bool) -> Compiled:
    """Load, validate and render a whole tree, collecting every problem on the way.

    Each deck file's items and notes are cached, keyed on its bytes and everything else its
    output depends on; a file with problems is never cached. With `items=False` (a build, which
    needs only the notes) the tree's items are dropped once checked, so their text is not held.
    """
    keep_items = items
    problems: list[Problem] = []
    files = deck_files(cards_dir, problems)
    if not files and not problems:
        raise UsageError(f"no deck files (*.yaml) in '{cards_dir}'")
    found_sources = bibliographies(cards_dir)
    sources_path = found_sources[0] if found_sources else cards_dir / SOURCES
    sources_raw = read_input(cards_dir, sources_path, problems) if found_sources else None
    sources_doc = None
    if len(found_sources) > 1:
        problems.append(Problem(path=shown(cards_dir, found_sources[1]), line=1, message=(
            f"a second bibliography beside {SOURCES}; merge its entries into {SOURCES} and delete it")))
    if not found_sources:
        problems.append(Problem(path=shown(cards_dir, sources_path), line=1, message=(
            "missing bibliography: create sources.yaml mapping source keys to citations")))
    elif sources_raw is not None:
        sources_doc, found = load_file(sources_path, shown=shown(cards_dir, sources_path), raw=sources_raw)
        problems += found
    sources = validate_sources(sources_doc, problems)
    bibliography = sources_doc is not None and isinstance(sources_doc.data, Map)  # else keys can't be checked
    notetypes, notetypes_raw = _notetypes(cards_dir, problems)
    media = MediaStore(cards_dir)
    context = key_for(str(cards_dir.resolve()), str(cards_dir), sources_raw or b"",
                      *((notetypes_raw,) if notetypes_raw is not None else ()))
    cache = cache or Cache(None)
    stored = cache.files(context)
    memory = cache.in_memory
    results: list[tuple[str, tuple, bytes] | Job] = []
    file_keys: dict[str, str] = {}
    for path in files:
        raw = read_input(cards_dir, path, problems)
        if raw is None:
            continue
        rel = path.relative_to(cards_dir).as_posix()
        digest = hashlib.sha256(raw).digest()
        file_keys[shown(cards_dir, path)] = key_for(context, rel, digest)
        if stored.digest(rel) == digest:
            results.append((rel, None, raw))  # read, decoded and its images checked in turn below
            continue
        entry = stored.get(rel) if memory else stored.pop(rel, None)
        job = Job(path=path, shown=shown(cards_dir, path), raw=raw, digest=digest, root=cards_dir, sources=sources,
                  check_sources=bibliography, previous=entry, notetypes=notetypes)
        old_raw = stored_bytes(entry)  # kept in the entry of a large file
        if old_raw is not None:  # a large file's last bytes and items are kept in its entry, to splice its edit
            old_items, old_notes = _decoded(cache, entry)  # read once: a large file's items and notes are many
            if old_notes is not None and not memory:  # the entry's marshalled copy of them is not needed again
                entry = (entry[0], entry[1], b"", entry[3])
                job = replace(job, previous=entry)
            spliced = splice(path=path, shown=job.shown, raw=raw, old_raw=old_raw, old_items=old_items,
                             sources=sources if bibliography else None,
                             notetypes=notetypes) if old_items is not None else None
            job = replace(job, spliced=spliced, previous_notes=old_notes)
            del old_items, old_notes, spliced  # held by the job alone, as the old bytes aren't
        elif memory and entry is not None:
            job = replace(job, previous_notes=_decoded_notes(cache, entry))
        results.append(job)
        entry = old_raw = None  # held by the job alone, which goes once compiled
    jobs = [job for job in results if isinstance(job, Job)]
    current = {job.path.relative_to(cards_dir).as_posix() if isinstance(job, Job) else job[0] for job in results}
    saver = cache.saver(context, changed={job.path.relative_to(cards_dir).as_posix() for job in jobs},
                        removed=any(rel not in current for rel in stored))
    total = len(jobs)
    fresh = _compile_all(jobs)
    done = 0
    items: list[Item] = []
    notes: list[Note] = []
    for index, result in enumerate(results):
        results[index] = None  # type: ignore[call-overload]  # each file's last entry is let go once used
        if not isinstance(result, Job):
            rel, _, raw = result
            entry = stored.get(rel) if memory else stored.pop(rel, None)  # popped: each entry goes once used
            found = _cached(cache, entry, media) if entry is not None else None
            if found is not None:
                saver.add(rel, entry, changed=False)
                items += found[0] if keep_items else map(_id_only, found[0])
                notes += found[1]
                continue
            result = Job(path=cards_dir / rel, shown=shown(cards_dir, cards_dir / rel), raw=raw,
                         digest=hashlib.sha256(raw).digest(), root=cards_dir, sources=sources,
                         check_sources=bibliography, previous=None, notetypes=notetypes)
            found_problems, value, compiled = compile_file(result)  # a damaged entry, or its images changed
        else:
            found_problems, value, compiled = next(fresh)
            done += 1
            if progress:
                progress(done, total)
        problems += found_problems
        if not found_problems:  # a file with problems is never cached
            rel = result.path.relative_to(cards_dir).as_posix()
            saver.add(rel, value, changed=True)
        result = compiled or unpack(value)
        if not found_problems:
            cache.keep_decoded(value, result)
        items += result[0] if keep_items else map(_id_only, result[0])
        notes += result[1]
    del results, jobs, fresh, stored
    saver.close()
    unique_ids(items, problems)
    tree = Tree(root=cards_dir, sources=sources, items=tuple(items) if keep_items else (), notetypes=notetypes)
    return Compiled(tree=tree, notes=tuple(notes), problems=tuple(problems), file_keys=file_keys)


def _notetypes(cards_dir: Path, problems: list[Problem]) -> tuple[dict, bytes | None]:
    """The tree's own note types from `notetypes.yaml` (none without it), and the file's bytes."""
    path = cards_dir / NOTETYPES_FILE
    if not os.path.lexists(path):
        return {}, None
    raw = read_input(cards_dir, path, problems)
    if raw is None:
        return {}, None
    doc, found = load_file(path, shown=shown(cards_dir, path), raw=raw)
    problems += found
    return validate_notetypes(doc, problems), raw


def _id_only(item: Item) -> Item:
    """An item reduced to what checking ids needs: its id and where it is."""
    lines = item.lines
    line = lines[1] if lines[:1] == ("id",) else item.line_of("id")
    return _make_item((item.id, "", (), None, None, None, None, None, (), False, (), item.path, item.line, ("id", line),
                       None, (), None, _NOWHERE))


_make_item = Item._make
_NOWHERE = Path()


def _cached(cache: Cache, entry: tuple, media: MediaStore) -> tuple[list[Item], list[Note]] | None:
    """A file's cached items and notes, if the entry is well-formed and the images it used are unchanged."""
    try:
        items, notes = cache.decode(entry)
    except (TypeError, ValueError, IndexError, EOFError):
        return None
    for note in notes:
        for image in note.media:
            if media.name_for(image.path) != image.name:
                return None
    return items, notes


def compile_file(job: Job) -> tuple[list[Problem], tuple, tuple[list[Item], list[Note]]]:
    """Load, validate and render one deck file, reusing the notes of items its last version had.

    Returns the problems, the items and notes packed as plain values (see `cache.pack`), and the
    items and notes themselves.
    """
    problems: list[Problem] = []
    known = job.sources if job.check_sources else None
    spliced = job.spliced
    if spliced is not None and job.previous is not None and len(job.previous[3]) == 16 * len(spliced[0]):
        items, edited = spliced
        keys = [job.previous[3][16 * i:16 * i + 16] for i in range(len(items))]
        keys[edited] = item_key(tuple(items[edited])[:-1])
    else:
        doc, found = load_file(job.path, shown=job.shown, raw=job.raw)
        problems += found
        items = validate_deck(doc, sources=known, problems=problems, notetypes=job.notetypes) if doc else []
        del doc
        keys = [item_key(tuple(item)[:-1]) for item in items]
    media = MediaStore(job.root)
    reusable = _reusable(job.previous, folder=job.path.parent, notes=job.previous_notes)
    notes = []
    for item, key in zip(items, keys):
        note = None
        row = reusable.get(key) if reusable else None
        if row is not None:
            try:
                note = row if isinstance(row, Note) else note_from_row(row)
            except (TypeError, ValueError, IndexError):
                note = None
            if note is not None and note.media and any(media.name_for(i.path) != i.name for i in note.media):
                note = None
        notes.append(note or render_item(item, sources=job.sources, media=media, problems=problems,
                                         notetypes=job.notetypes))
    del reusable
    return problems, pack(job.path.parent, job.digest, items, notes, keys=b"".join(keys),
                          raw=job.raw if len(job.raw) >= SPLICE_BYTES else None), (items, notes)


def _decoded(cache: Cache, entry: tuple) -> tuple[list[Item] | None, list[Note] | list[tuple] | None]:
    """A cache entry's items, and its notes (or, read from disk, their stored rows); (None, None) if malformed."""
    try:
        if cache.in_memory:
            return cache.decode(entry)
        rows, notes = marshal.loads(entry[2])
        folder = (Path(entry[1]),)
        return [_make_item(row + folder) for row in rows], notes
    except (TypeError, ValueError, IndexError, EOFError):
        return None, None


def _compile_marshalled(job: Job) -> tuple[list[Problem], bytes]:
    """`compile_file` for a worker process: the packed values as marshal bytes, plain to send back."""
    found, packed, _ = compile_file(job)
    return found, marshal.dumps(packed)


def _reusable(previous: tuple | None, *, folder: Path, notes: list | None = None) -> dict[bytes, tuple]:
    """The notes (or stored note rows) of a file's last cached version, by the hash of what each depends on."""
    try:
        if previous is None or previous[1] != str(folder):
            return {}
        keys, rows = previous[3], notes if notes is not None else marshal.loads(previous[2])[1]
        if len(keys) != 16 * len(rows):
            return {}
        return {keys[16 * i:16 * i + 16]: row for i, row in enumerate(rows)}
    except (TypeError, ValueError, IndexError, EOFError):
        return {}


def _decoded_notes(cache: Cache, entry: tuple) -> list[Note] | None:
    """A cache entry's notes, or None if it is malformed."""
    try:
        return cache.decode(entry)[1]
    except (TypeError, ValueError, IndexError, EOFError):
        return None


def _compile_all(jobs: list[Job]) -> Iterator[tuple[list[Problem], tuple, tuple | None]]:
    """Compile files, yielding in order: on all cores when there is enough work and forking is safe.

    A large file compiled afresh is cut into pieces (`splice.cut`) that compile on all cores too.
    The workers die with this process, even when it is killed with SIGKILL.
    """
    global _TASKS
    workers = os.cpu_count() or 1
    big = sum(len(job.raw) for job in jobs) >= PARALLEL_BYTES
    pieces = {}
    if workers >= 2 and big and threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        pieces = {index: found for index, job in enumerate(jobs)
                  if job.previous is None and len(job.raw) >= CUT_BYTES
                  and (found := cut(job.raw, pieces=workers * _PIECES_PER_WORKER))}
    workers = min(len(jobs) + sum(len(found) - 1 for found in pieces.values()), workers)
    if workers < 2 or not big or threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        queue = collections.deque(jobs)
        jobs.clear()  # so that each Job, and the bytes it holds, goes once compiled
        while queue:
            yield compile_file(queue.popleft())
        return
    tasks = [(index, piece) for index in range(len(jobs)) for piece in range(len(pieces.get(index, [None])))]
    _TASKS = (jobs, pieces)  # inherited by the forked workers rather than sent to them
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                                 initializer=die_with, initargs=(os.getpid(),)) as pool:
            done = pool.map(_compile_task, tasks)
            for index, job in enumerate(jobs):
                if index not in pieces:
                    found, packed = next(done)
                    if index == 0:
                        pause("compile")
                    yield found, marshal.loads(packed), None
                    continue
                parts = [marshal.loads(next(done)) for _ in pieces[index]]
                if index == 0:
                    pause("compile")
                if not all(part[0] for part in parts):  # a piece had a problem: read the whole file for them all
                    yield compile_file(job)
                    continue
                yield _joined(job, parts)
    finally:
        _TASKS = ()


_TASKS: tuple = ()  # the jobs and their pieces, set before the workers are forked


def _compile_task(task: tuple[int, int]) -> tuple[list[Problem], bytes] | bytes:
    """In a worker: compile one job (`_compile_marshalled`) or one piece of it (`_compile_piece`)."""
    jobs, pieces = _TASKS
    index, piece = task
    if index not in pieces:
        return _compile_marshalled(jobs[index])
    return _compile_piece(jobs[index], pieces[index][piece])


def _compile_piece(job: Job, piece: Piece) -> bytes:
    """One piece of a large file, as marshal bytes: (True, item rows, note rows, item keys), or (False,)
    when the piece has any problem at all (then the whole file is read again, for its problems' sake)."""
    known = job.sources if job.check_sources else None
    doc, problems = load_file(job.path, shown=job.shown, raw=piece.text(job.raw), shift=(piece.after, piece.by))
    items = validate_deck(doc, sources=known, problems=problems, notetypes=job.notetypes) if doc else []
    del doc
    if problems or len(items) != piece.count:
        return marshal.dumps((False,))
    media = MediaStore(job.root)
    notes = [render_item(item, sources=job.sources, media=media, problems=problems, notetypes=job.notetypes)
             for item in items]
    if problems:
        return marshal.dumps((False,))
    rows = [tuple(item)[:-1] for item in items]
    return marshal.dumps((True, rows, list(map(note_row, notes)), b"".join(map(item_key, rows))))


def _joined(job: Job, parts: list[tuple]) -> tuple[list[Problem], tuple, None]:
    """`compile_file`'s result for a file from its pieces' results (the packed values only: the caller unpacks
    them once the pieces' rows are gone, so that a large file's items are never held twice)."""
    rows = [row for part in parts for row in part[1]]
    note_rows = [row for part in parts for row in part[2]]
    keys = b"".join(part[3] for part in parts)
    parts.clear()
    return [], pack_rows(job.path.parent, job.digest, rows, note_rows, keys=keys,
                         raw=job.raw if len(job.raw) >= SPLICE_BYTES else None), None
