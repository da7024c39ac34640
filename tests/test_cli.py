"""The command line itself: entry points, help texts, exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from builder.cli import cli

COMMANDS = sorted(cli.commands)


def test_python_dash_m_builder_is_the_deckbuild_command():
    result = subprocess.run([sys.executable, "-m", "builder", "--help"], capture_output=True, text=True, check=True)
    assert "deckbuild" in result.stdout.splitlines()[0]  # the program's name, not click's wording around it
    assert all(command in result.stdout for command in COMMANDS)


@pytest.mark.parametrize("args", [["--help"], ["build", "--help"], ["--version"]])
def test_help_imports_neither_genanki_nor_sqlite_nor_the_renderer(args):
    script = ("import sys\nfrom builder.cli import cli\ntry:\n    cli(%r)\nexcept SystemExit:\n    pass\n"
              "print(' '.join(sorted(sys.modules)))" % (args,))
    loaded = set(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                check=True).stdout.split("\n")[-2].split())
    assert "click" in loaded  # the check sees what the command imported
    assert not loaded & {"genanki", "sqlite3", "_sqlite3", "nh3", "pyromark", "yaml", "builder.pipeline.render"}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(deckbuild, command):
    result = deckbuild(command, "--help")
    assert result.exit_code == 0
    assert f"Example: deckbuild {command} " in result.output


def test_usage_errors_exit_2(deckbuild, tmp_path):
    assert deckbuild("build", tmp_path / "missing").exit_code == 2
    assert deckbuild("build", "--no-such-option").exit_code == 2
