"""The one exception family the command line maps to exit codes."""

from __future__ import annotations

from collections.abc import Iterable

from .model import Problem


class DeckbuildError(Exception):
    """Base class for every error deckbuild reports to a user."""

    exit_code = 1


class ContentError(DeckbuildError):
    """The cards tree has problems; nothing was written."""

    exit_code = 1

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=Problem.sort_key))
        super().__init__("\n".join(map(str, self.problems)))


class UsageError(DeckbuildError):
    """The command was called wrongly (missing folder, ambiguous output)."""

    exit_code = 2


class EnvironmentFault(DeckbuildError):
    """The machine stopped the work: a permission, a full disk, a collection open in Anki."""

    exit_code = 3
