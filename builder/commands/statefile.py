"""The two places pull and push touch the state file's tombstones, so switching to state.py's own is one line each."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..pipeline.state import FILENAME, State, dumps, write_atomic


def save(cards_dir: Path, state: State) -> None:
    """Write a state alone (no .apkg with it): after a pull, a restore, or pruning deleted notes."""
    write_atomic(cards_dir / FILENAME, dumps(state).encode())


def removed(state: State, tree_ids: Iterable[str]) -> list[str]:
    """The ids the state knows and the tree no longer has: notes whose items were removed."""
    present = set(tree_ids)
    return sorted(key for key in state.items if key not in present)
