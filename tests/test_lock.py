"""The install CI tests is the one the README tells a new user to run, from the lock."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start() -> list[str]:
    """The README quick start's two commands, without their comments."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines() if line.strip()]


def test_ci_runs_exactly_the_readme_test_command():
    build, test = quick_start()
    assert test.endswith("&& pytest")
    assert test in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_both_quick_start_commands_install_from_the_lock():
    for command in quick_start():
        assert command.startswith("pip install -r requirements.lock && pip install --no-deps "), command


def test_the_lock_pins_every_dependency_with_hashes():
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==\S+", lock, flags=re.M)
    assert {"anki", "aqt", "click", "genanki", "pyromark", "nh3", "pyyaml", "pytest", "markdownify"} <= set(pins)
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n", 2)[2])
    assert all("--hash=sha256:" in entry for entry in entries if "==" in entry)
