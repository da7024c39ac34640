"""`deckbuild addon`: the companion add-on's files (shipped as package data), as a .ankiaddon or installed."""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import UsageError

FOLDER = "deckbuild_live"  # the add-on's folder in addons21/ (the manifest's package name)
FILES = ("__init__.py", "server.py", "actions.py", "config.json", "config.md", "manifest.json")


@dataclass(frozen=True, slots=True, kw_only=True)
class Written:
    """Where the add-on went, and how many files."""

    path: Path
    files: int


def addon_files() -> dict[str, bytes]:
    """The add-on's files, by name, exactly as the wheel ships them."""
    package = resources.files("builder.addon")
    return {name: package.joinpath(name).read_bytes() for name in FILES}


def write_ankiaddon(*, output: Path, force: bool = False) -> Written:
    """The add-on as a zip Anki installs (Tools → Add-ons → Install from file); a fixed timestamp, so reproducible."""
    if output.exists() and not force and output.suffix != ".ankiaddon":
        raise UsageError(f"'{output}' exists and isn't a .ankiaddon; use --force to replace it")
    output.parent.mkdir(parents=True, exist_ok=True)
    files = addon_files()
    temp = output.with_name(f".deckbuild-tmp-{output.name}")
    with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    temp.replace(output)
    return Written(path=output, files=len(files))


def install(*, base: Path) -> Written:
    """Copy the add-on into an Anki base folder's addons21/, keeping the key an earlier install generated."""
    if not base.is_dir():
        raise UsageError(f"Anki base folder '{base}' not found")
    target = base / "addons21" / FOLDER
    target.mkdir(parents=True, exist_ok=True)
    files = addon_files()
    for name, data in files.items():
        temp = target / f".deckbuild-tmp-{name}"
        temp.write_bytes(data)
        temp.replace(target / name)
    shutil.rmtree(target / "__pycache__", ignore_errors=True)
    return Written(path=target, files=len(files))
