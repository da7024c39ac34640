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


def examples(output: str) -> list[str]:
    """The lines of a help text's closing `Examples:` block, as printed."""
    block = output.split("\n  Examples:\n", 1)[1]
    return [line.strip() for line in block.splitlines() if line.strip()]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_ends_with_examples_of_itself(deckbuild, command):
    result = deckbuild(command, "--help")
    assert result.exit_code == 0
    assert any(line == f"deckbuild {command}" or line.startswith(f"deckbuild {command} ")
               for line in examples(result.output))


@pytest.mark.parametrize("command", COMMANDS)
def test_a_pasted_example_is_one_whole_line_even_in_a_narrow_terminal(runner, command):
    wide = runner.invoke(cli, [command, "--help"], terminal_width=200).output
    narrow = runner.invoke(cli, [command, "--help"], terminal_width=40).output
    assert examples(narrow) == examples(wide)
    for line in examples(wide):
        assert not line.endswith("\\") and "\\ " not in line, line  # a path with a space is quoted, not escaped


def test_deckbuild_alone_points_to_the_tutorial(runner):
    from pathlib import Path

    output = runner.invoke(cli, []).output
    assert "docs/tutorial.md" in output
    assert (Path(__file__).resolve().parent.parent / "docs" / "tutorial.md").is_file()


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
