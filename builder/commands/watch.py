"""`deckbuild watch`: rebuild the deck on every save of a card, image or source text."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from pathlib import Path

import watchfiles

from ..pipeline.build import Summary, build
from ..pipeline.cache import Cache
from ..pipeline.package import remember_chunks
from ..errors import DeckbuildError, UsageError, as_deckbuild_error
from ..pipeline.lock import Busy
from ..pipeline.output import check_output
from ..pipeline.state import FILENAME

# What a build reads: deck files and sources.yaml, images the cards show, and sources' article texts.
# Everything else, above all the state file and the .apkg a build writes, never starts a build.
WATCHED = frozenset({".yaml", ".yml", ".txt", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif",
                     ".bmp", ".tif", ".tiff", ".ico", ".mp3", ".ogg", ".oga", ".wav", ".m4a", ".flac", ".opus",
                     ".aac", ".webm", ".mp4"})
# How often, in ms, the watcher wakes with nothing to report; the first wake runs the first build.
_IDLE_MS = 200


def watched(*, cards_dir: Path, path: Path) -> bool:
    """Whether a change to this file can change the build (hidden files and folders never do)."""
    try:
        parts = path.relative_to(cards_dir).parts
    except ValueError:
        return False
    return (path.suffix.lower() in WATCHED and path.name != FILENAME
            and not any(part.startswith(".") for part in parts))


def build_once(*, cards_dir: Path, output: Path | None, cache: Cache | None = None,
               force: bool = False) -> Summary | DeckbuildError:
    """One build's outcome: its Summary, or the error that stopped it (which wrote nothing).

    Every error is returned, internal ones too, so that no save can end the watch.
    """
    try:
        return build(cards_dir=cards_dir, output=output, cache=cache, force=force)
    except Exception as err:  # noqa: BLE001 - reported by the caller, then the watch goes on
        return as_deckbuild_error(err)


def watch(*, cards_dir: Path, output: Path | None, on_build: Callable[[Summary | DeckbuildError], None],
          stop_event: threading.Event | None = None, debounce_ms: int = 1600, cache: Cache | None = None,
          force: bool = False) -> None:
    """Build once, then again after every burst of saves, until stop_event is set or Ctrl-C.

    A save recompiles only the files it changed, and only the items it changed in them. An output
    deckbuild must not write is refused before watching starts.
    """
    if not cards_dir.is_dir():
        raise UsageError(f"cards folder '{cards_dir}' not found")
    if output is not None:
        check_output(output, cards_dir=cards_dir, force=force)
    root = cards_dir.resolve()
    # The compiled tree stays in memory between builds: a save recompiles only the files it changed.
    cache = Cache(cache.folder if cache else None, memory=True)
    remember_chunks()  # and so do the package's deflated chunks: only those a save changed are deflated again
    built = False
    # The first build waits for the watcher's first wake, so no save made after it can be missed.
    for changes in watchfiles.watch(
        root,
        watch_filter=lambda change, path: watched(cards_dir=root, path=Path(path)),
        debounce=debounce_ms,
        stop_event=stop_event,
        rust_timeout=_IDLE_MS,
        yield_on_timeout=True,
    ):
        if changes or not built:
            built = True
            outcome = build_once(cards_dir=cards_dir, output=output, cache=cache, force=force)
            gc.freeze()  # what the build keeps for the next one is never garbage: the collector can skip it
            on_build(outcome)
            if isinstance(outcome, Busy):  # another deckbuild had the tree: build again once it is free
                built = False
