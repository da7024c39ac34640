"""The guard every command runs before it writes a file: an output never destroys an input."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import EnvironmentFault, UsageError, environment_reason

# What `preview` puts in its page's <head>, so a later run knows the page is its own to replace.
PREVIEW_MARK = '<meta name="generator" content="deckbuild preview">'
_SNIFF = 4096  # the bytes of an existing page read to look for a mark


def is_apkg(path: Path) -> bool:
    """Whether a file is an Anki package: a zip holding `collection.anki2`."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "collection.anki2" in archive.namelist()
    except (zipfile.BadZipFile, EOFError, ValueError):
        return False


def marked_by(mark: str):
    """A test for pages whose first bytes carry `mark` (e.g. PREVIEW_MARK)."""
    def test(path: Path) -> bool:
        with path.open("rb") as page:
            return mark.encode() in page.read(_SNIFF)
    return test


def check_output(path: Path, *, cards_dir: Path, ours=is_apkg, what: str = "an Anki package (.apkg)",
                 force: bool = False) -> None:
    """Refuse (UsageError) to write `path` if that could destroy an input or a file deckbuild didn't write.

    A path inside the cards folder is always refused, whether named directly or through links. An
    existing file is replaced only if `ours(path)` recognises it (by default: an Anki package), it
    is empty, or `force` is given.
    """
    with environment(path, "check the output"):
        root = cards_dir.resolve()
        try:  # where os.replace would put the file, and, if it is a link, what it points to
            places = {path.parent.resolve() / path.name, path.resolve()}
        except RuntimeError:  # a loop of links
            raise UsageError(f"output '{path}' is a loop of symbolic links; name another file") from None
        if any(place == root or place.is_relative_to(root) for place in places):
            raise UsageError(f"output '{path}' is inside the cards folder '{cards_dir}', where it could "
                             "overwrite your cards; write it outside that folder")
        if not path.exists() and not path.is_symlink():
            return
        if path.is_dir():
            raise UsageError(f"output '{path}' is a folder; name a file, e.g. -o {path / 'deck.apkg'}")
        if not path.is_file():
            raise UsageError(f"output '{path}' exists and is not a regular file; name another file")
        if force or path.stat().st_size == 0 or ours(path):
            return
    raise UsageError(f"output '{path}' exists and is not {what}, so it was left alone; "
                     "name another file, or give --force to replace it")


@contextmanager
def environment(path: Path, doing: str) -> Iterator[None]:
    """Turn the machine's faults (an OSError, a full disk under SQLite) while touching `path` into an
    EnvironmentFault that names it (exit 3); anything else passes on."""
    try:
        yield
    except Exception as err:
        reason = environment_reason(err) or (err.strerror or str(err) if isinstance(err, OSError) else None)
        if reason is None:
            raise
        raise EnvironmentFault(f"cannot {doing} '{path}': {reason}") from err
