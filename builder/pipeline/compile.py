"""The compile stage: every deck file loaded, validated and rendered, from the cache or afresh."""

from __future__ import annotations

import errno
import marshal
import multiprocessing
import os
import stat
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .cache import Cache, key_for, pack, unpack
from .hooks import die_with, pause
from ..errors import UsageError
from .load import Map, load_file
from ..model import Item, Note, Problem, Source, Tree
from .render import MediaStore, render_item
from .validate import unique_ids, validate_deck, validate_sources

SOURCES = "sources.yaml"
SOURCES_NAMES = (SOURCES, "sources.yml")  # the bibliography's names; .yml as deck files may be
Progress = Callable[[int, int], None]  # called with (files compiled, files to compile)
# Below this much uncached YAML, starting worker processes costs more than it saves.
PARALLEL_BYTES = 2_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Compiled:
    """A cards tree compiled in memory: its items, rendered notes and findings."""

    tree: Tree
    notes: tuple[Note, ...]
    problems: tuple[Problem, ...]



@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One deck file to compile afresh, with everything its output depends on."""

    path: Path
    shown: str
    raw: bytes
    key: str
    root: Path
    sources: dict[str, Source]
    check_sources: bool
    cache_dir: Path | None


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
    bibliography = bibliographies(cards_dir)
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


def compile_tree(cards_dir: Path, *, cache: Cache | None = None, progress: Progress | None = None) -> Compiled:
    """Load, validate and render a whole tree, collecting every problem on the way.

    Each deck file's items and notes are cached, keyed on its bytes and everything else its
    output depends on; a file with problems is never cached.
    """
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
    media = MediaStore(cards_dir)
    context = key_for(str(cards_dir.resolve()), str(cards_dir), sources_raw or b"")
    cache = cache or Cache(None)
    results: list[tuple[list[Item], list[Note]] | Job] = []
    for path in files:
        raw = read_input(cards_dir, path, problems)
        if raw is None:
            continue
        key = key_for(context, path.relative_to(cards_dir).as_posix(), raw)
        results.append(_cached(cache, key, media) or Job(
            path=path, shown=shown(cards_dir, path), raw=raw, key=key, root=cards_dir, sources=sources,
            check_sources=bibliography, cache_dir=cache.folder))
    jobs = [job for job in results if isinstance(job, Job)]
    fresh = _compile_all(jobs)
    done = 0
    items: list[Item] = []
    notes: list[Note] = []
    for result in results:
        if isinstance(result, Job):
            found, packed = next(fresh)
            done += 1
            if progress:
                progress(done, len(jobs))
            problems += found
            result = unpack(marshal.loads(packed))
        items += result[0]
        notes += result[1]
    unique_ids(items, problems)
    tree = Tree(root=cards_dir, sources=sources, items=tuple(items))
    return Compiled(tree=tree, notes=tuple(notes), problems=tuple(problems))


def _cached(cache: Cache, key: str, media: MediaStore) -> tuple[list[Item], list[Note]] | None:
    """A file's cached items and notes, if present, well-formed, and its images unchanged."""
    value = cache.get(key)
    if value is None:
        return None
    try:
        items, notes = unpack(value)
    except (TypeError, ValueError):
        return None
    for note in notes:
        for image in note.media:
            if media.name_for(image.path) != image.name:
                return None
    return items, notes




def compile_file(job: Job) -> tuple[list[Problem], bytes]:
    """Load, validate and render one deck file; cache it if it has no problems.

    Returns the problems and the items and notes packed with marshal, so that a worker process
    hands back plain bytes.
    """
    problems: list[Problem] = []
    doc, found = load_file(job.path, shown=job.shown, raw=job.raw)
    problems += found
    known = job.sources if job.check_sources else None
    items = validate_deck(doc, sources=known, problems=problems) if doc else []
    media = MediaStore(job.root)
    notes = [render_item(item, sources=job.sources, media=media, problems=problems) for item in items]
    packed = pack(job.path.parent, items, notes)
    if not problems:
        Cache(job.cache_dir).put(job.key, packed)
    return problems, marshal.dumps(packed)


def _compile_all(jobs: list[Job]) -> Iterator[tuple[list[Problem], bytes]]:
    """Compile files, yielding in order: on all cores when there is enough work and forking is safe.

    The workers die with this process, even when it is killed with SIGKILL.
    """
    workers = min(len(jobs), os.cpu_count() or 1)
    big = sum(len(job.raw) for job in jobs) >= PARALLEL_BYTES
    if workers < 2 or not big or threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield from map(compile_file, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=die_with, initargs=(os.getpid(),)) as pool:
        for done, result in enumerate(pool.map(compile_file, jobs)):
            if not done:
                pause("compile")
            yield result
