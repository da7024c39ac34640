"""The one exception family the command line maps to exit codes."""

from __future__ import annotations

import errno
import sys
import traceback
from collections.abc import Iterable

from .model import Problem


class DeckbuildError(Exception):
    """Base class for every error deckbuild reports to a user."""

    exit_code = 1


class ContentError(DeckbuildError):
    """The cards tree has problems; nothing was written.

    Its exit code is 3 rather than 1 when a problem is the machine's (a file or folder that can't be read).
    """

    exit_code = 1

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=Problem.sort_key))
        if any(problem.environment for problem in self.problems):
            self.exit_code = EnvironmentFault.exit_code
        super().__init__("\n".join(map(str, self.problems)))


class UsageError(DeckbuildError):
    """The command was called wrongly (missing folder, ambiguous output)."""

    exit_code = 2


class EnvironmentFault(DeckbuildError):
    """The machine stopped the work: a permission, a full disk, a collection open in Anki."""

    exit_code = 3


class InternalError(DeckbuildError):
    """A bug in deckbuild: anything else that stopped the work, kept with its traceback."""

    exit_code = 4

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.traceback = "".join(traceback.format_exception(error))
        super().__init__(f"{type(error).__name__}: {error}".splitlines()[0])


# The OSErrors the machine, not the input or deckbuild, is to blame for.
ENVIRONMENT_ERRNOS = frozenset({
    errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EROFS, errno.ENAMETOOLONG, errno.EDQUOT, errno.EIO,
    errno.EMFILE, errno.ENFILE, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENOENT, errno.ELOOP,
    errno.EBUSY, errno.ETXTBSY, errno.EXDEV, errno.EFBIG,
})


# What SQLite says when the disk, not the data, is at fault (it raises these rather than OSError).
_SQLITE_ENVIRONMENT = ("disk is full", "disk I/O error", "readonly database", "unable to open database")


def environment_reason(error: BaseException) -> str | None:
    """Why the machine stopped the work, in a few words, if `error` is its fault; else None."""
    if isinstance(error, OSError) and error.errno in ENVIRONMENT_ERRNOS:
        return error.strerror or str(error)
    sqlite3 = sys.modules.get("sqlite3")  # only a module that was imported can have raised (`--help` imports none)
    if sqlite3 is not None and isinstance(error, sqlite3.OperationalError) and any(
            words in str(error) for words in _SQLITE_ENVIRONMENT):
        return str(error)
    return None


def as_deckbuild_error(error: Exception) -> DeckbuildError:
    """Any exception as the error to report: itself, an EnvironmentFault for the machine's faults, or internal."""
    if isinstance(error, DeckbuildError):
        return error
    if (reason := environment_reason(error)) is not None:
        filename = getattr(error, "filename", None)
        fault = EnvironmentFault(f"{reason} ({filename})" if filename else reason)
        fault.__cause__ = error
        return fault
    return InternalError(error)
