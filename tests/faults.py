"""Helpers for the fault tests: running the real CLI, as an unprivileged user, and snapshotting files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A fault injected into a real `deckbuild` process: render_item raises for the item with id 'boom'.
INTERNAL_FAULT = """
import builder.pipeline.compile as compile_
original = compile_.render_item
def render_item(item, **kwargs):
    if item.id == "boom":
        raise ZeroDivisionError("injected fault")
    return original(item, **kwargs)
compile_.render_item = render_item
from builder.cli import cli
cli(prog_name="deckbuild")
"""


def run_cli(*args: object, cwd: Path | None = None, prefix: tuple[str, ...] = (), script: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m builder ARGS` in a real process (or `python -c SCRIPT ARGS`, to inject a fault)."""
    command = [*prefix, sys.executable, *(("-c", script) if script else ("-m", "builder")), *map(str, args)]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    environment.pop("DECKBUILD_DEBUG", None)
    environment.update(env or {})
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


def snapshot(*paths: Path) -> dict[str, bytes | None]:
    """Every file under the paths (a missing path too), with its bytes: to compare before and after."""
    found: dict[str, bytes | None] = {}
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file() and not file.is_symlink():
                    found[str(file)] = file.read_bytes()
                elif file.is_dir():
                    found[str(file)] = b"<folder>"
        else:
            found[str(path)] = path.read_bytes() if path.exists() else None
    return found


# Ways to run a command so that file permissions bind it, even when the tests run as root (as CI does).
_RUNNERS = (
    ("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"),
    # Root without the capabilities that bypass permissions: a root-owned file of mode 000 is then unreadable.
    ("setpriv", "--bounding-set=-dac_override,-dac_read_search"),
    ("su", "-p", "nobody", "-s", "/bin/sh", "-c", '"$0" "$@"'),
)


class Unprivileged:
    """A world-traversable folder and a way to run deckbuild in it that file permissions bind."""

    def __init__(self, folder: Path, prefix: tuple[str, ...]) -> None:
        self.folder = folder
        self.prefix = prefix

    def run(self, *args: object, **kwargs) -> subprocess.CompletedProcess:
        return run_cli(*args, prefix=self.prefix, **kwargs)

    def lock(self, path: Path) -> None:
        """Make a file or folder unreadable (and a folder unlistable)."""
        path.chmod(0)

    def share(self) -> None:
        """Make everything in the folder readable and writable to the runner."""
        for path in [self.folder, *self.folder.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o777 if path.is_dir() else 0o666)


def _binds(prefix: tuple[str, ...], folder: Path) -> bool:
    """Whether a runner starts Python and is then refused a file of mode 000."""
    locked = folder / "locked"
    locked.write_text("secret")
    locked.chmod(0)
    probe = f"import builder.cli; open({str(locked)!r}).read()"
    try:
        result = subprocess.run([*prefix, sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        locked.unlink()
    return "PermissionError" in result.stderr


@pytest.fixture
def unprivileged():
    """An Unprivileged runner, or a skip where no way to drop privileges works."""
    folder = Path(tempfile.mkdtemp(prefix="deckbuild-perm-"))
    folder.chmod(0o777)
    try:
        candidates = [()] if os.geteuid() != 0 else [r for r in _RUNNERS if shutil.which(r[0])]
        prefix = next((r for r in candidates if _binds(r, folder)), None)
        if prefix is None:
            pytest.skip("no way to run deckbuild so that file permissions bind (setpriv, su nobody)")
        yield Unprivileged(folder, prefix)
    finally:
        for path in [folder, *folder.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o777)
        shutil.rmtree(folder)
