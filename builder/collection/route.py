"""Which way to reach a collection: the file when deckbuild can open it, else the running Anki on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

from ..errors import EnvironmentFault, UsageError
from .client import Client, Refused, Unreachable, addon_key, port
from .file import FileSession
from .live import LiveSession

ROUTES = ("file", "anki")
WAYS_OUT = ("close Anki first, or install deckbuild's add-on in it (`deckbuild addon`, then Tools → Add-ons → "
            "Install from file, and restart Anki)")


def client() -> Client:
    """A client for the Anki on this machine's port, with the companion add-on's key (or DECKBUILD_ANKI_KEY)."""
    return Client(port=port(), key=addon_key() or os.environ.get("DECKBUILD_ANKI_KEY") or None)


def same_file(a: Path | str, b: Path | str) -> bool:
    """Whether two paths name one file."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def connect(collection: Path, *, fallback: str = "", nids: Mapping[str, int] | None = None) -> LiveSession:
    """The running Anki, checked to have `collection` open; exit 3 with a one-line reason otherwise."""
    live = client()
    try:
        answer = live.call("deckbuildVersion")
    except Unreachable:
        where = f"nothing answers on 127.0.0.1:{live.port}"
        raise EnvironmentFault(f"{fallback}{where}: {WAYS_OUT}; nothing was changed") from None
    except Refused as err:
        if "unsupported action" in str(err).lower():  # AnkiConnect: its own key, if the user set one
            from .plain import PlainSession

            return PlainSession(client=Client(port=live.port, key=os.environ.get("DECKBUILD_ANKI_KEY") or None),
                                path=collection, nids=dict(nids or {}))
        raise EnvironmentFault(f"Anki on 127.0.0.1:{live.port} refused: {err}; nothing was changed") from None
    opened = str(answer.get("collection", ""))
    if not same_file(opened, collection):
        raise EnvironmentFault(f"the running Anki has '{opened}' open, not '{collection}' (another profile?); "
                               "switch profile in Anki or name that collection; nothing was changed")
    return LiveSession(client=live, path=collection)


def held_elsewhere(collection: Path) -> bool:
    """Whether another process has the collection file open (Linux: /proc; elsewhere unknown, so False).

    Anki's lock alone can't tell: Anki releases it after each backup it makes, and then a second open succeeds.
    """
    proc = Path("/proc")
    if not (proc / "self" / "fd").is_dir():
        return False
    try:
        target = os.stat(collection)
    except OSError:
        return False
    me = str(os.getpid())
    for pid in os.listdir(proc):
        if not pid.isdigit() or pid == me:
            continue
        try:
            fds = os.scandir(proc / pid / "fd")
        except OSError:
            continue
        with fds:
            for fd in fds:
                try:
                    found = os.stat(fd.path)
                except OSError:
                    continue
                if (found.st_dev, found.st_ino) == (target.st_dev, target.st_ino):
                    return True
    return False


def _answers_for(collection: Path) -> bool:
    """Whether deckbuild's add-on answers on loopback and has this collection open."""
    try:
        answer = client().call("deckbuildVersion")
    except (Unreachable, Refused):
        return False
    return isinstance(answer, dict) and same_file(str(answer.get("collection", "")), collection)


@contextmanager
def session(collection: Path, *, command: str, via: str | None = None, undo: str | None = None,
            nids: Mapping[str, int] | None = None) -> Iterator[FileSession | LiveSession]:
    """The collection for one command: the file if it opens (or --via file), else the running Anki (--via anki).

    `undo` names the one step a live change becomes on Anki's Edit → Undo; `nids` (item id -> note id, from the
    state file) is how plain AnkiConnect, whose notes carry no GUID, finds them.
    """
    from .store import opened

    if via not in (None, *ROUTES):
        raise UsageError(f"--via must be one of {', '.join(ROUTES)}")
    if via is None and _answers_for(collection):
        via = "anki"  # Anki has it open, even if its lock was released (Anki does that after each backup it makes)
    if via != "anki":
        with ExitStack() as stack:
            try:
                if held_elsewhere(collection):
                    raise EnvironmentFault(f"collection '{collection}' is open in Anki or another program; "
                                           "close Anki first (nothing was changed)")
                col = stack.enter_context(opened(collection, command=command))
            except EnvironmentFault:  # Anki has it open
                if via == "file":
                    raise
            else:
                yield FileSession(col=col, path=collection)
                return
    live = connect(collection, fallback=f"collection '{collection}' is open in Anki and " if via is None else "",
                   nids=nids)
    if undo is not None:
        live.begin(undo)
    yield live
    live.end()  # on failure there is no step to close: each change Anki made stays undoable on its own


def copy_of(collection: Path, folder: Path, *, via: str | None = None) -> tuple[Path, str]:
    """A copy of the collection (and its write-ahead log) to read or try things on, and how it was reached.

    With Anki running, it is a copy of what Anki has saved, which is everything but the edit being typed.
    """
    if via == "anki":
        live = connect(collection)
        description = live.describe()
    else:
        description = f"via the collection file {collection} (read from a copy)"
    from .store import copy_to

    return copy_to(collection, folder), description
