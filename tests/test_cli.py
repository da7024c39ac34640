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
def test_every_command_has_help_with_an_example_that_never_wraps(command):
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, [command, "--help"], terminal_width=40)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    example = lines[lines.index("  Example:") + 1].strip()
    assert example.startswith(f"deckbuild {command} ")
    if command in ("diff", "pull", "push"):  # a path with a space, on one line however narrow the terminal
        assert example.endswith("--collection ~/.local/share/Anki2/User\\ 1/collection.anki2")


def test_the_exit_code_footer_keeps_its_lines_however_wide_the_terminal():
    from click.testing import CliRunner

    wide, narrow = (CliRunner().invoke(cli, ["build", "--help"], terminal_width=w).output for w in (200, 50))
    footer = wide.split("Exit codes:", 1)[1]
    assert footer == narrow.split("Exit codes:", 1)[1]
    assert [line.split()[0] for line in footer.splitlines() if line[:6].strip().isdigit()] == [
        "0", "1", "2", "3", "4", "5", "130"]


def test_usage_errors_exit_2(deckbuild, tmp_path):
    assert deckbuild("build", tmp_path / "missing").exit_code == 2
    assert deckbuild("build", "--no-such-option").exit_code == 2
