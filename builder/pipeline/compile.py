"""The compile stage: every deck file loaded, validated and rendered, from the cache or afresh."""

from __future__ import annotations

import marshal
import multiprocessing
import os
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


def deck_files(cards_dir: Path) -> list[Path]:
    """Every deck file under the folder, in a stable order, skipping hidden folders."""
    if not cards_dir.is_dir():
        raise UsageError(f"cards folder '{cards_dir}' not found")
    found = [
        path for pattern in ("*.yaml", "*.yml") for path in cards_dir.rglob(pattern)
        if path.is_file() and path != cards_dir / SOURCES
        and not any(part.startswith(".") for part in path.relative_to(cards_dir).parts)
    ]
    return sorted(found, key=lambda p: p.relative_to(cards_dir).as_posix())


def compile_tree(cards_dir: Path, *, cache: Cache | None = None, progress: Progress | None = None) -> Compiled:
    """Load, validate and render a whole tree, collecting every problem on the way.

    Each deck file's items and notes are cached, keyed on its bytes and everything else its
    output depends on; a file with problems is never cached.
    """
    problems: list[Problem] = []
    files = deck_files(cards_dir)
    if not files:
        raise UsageError(f"no deck files (*.yaml) in '{cards_dir}'")
    sources_path = cards_dir / SOURCES
    sources_raw = sources_path.read_bytes() if sources_path.is_file() else None
    sources_doc = None
    if sources_raw is None:
        problems.append(Problem(path=shown(cards_dir, sources_path), line=1, message=(
            "missing bibliography: create sources.yaml mapping source keys to citations")))
    else:
        sources_doc, found = load_file(sources_path, shown=shown(cards_dir, sources_path), raw=sources_raw)
        problems += found
    sources = validate_sources(sources_doc, problems)
    bibliography = sources_doc is not None and isinstance(sources_doc.data, Map)  # else keys can't be checked
    media = MediaStore(cards_dir)
    context = key_for(str(cards_dir.resolve()), str(cards_dir), sources_raw or b"")
    cache = cache or Cache(None)
    results: list[tuple[list[Item], list[Note]] | Job] = []
    for path in files:
        raw = path.read_bytes()
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
