"""What cog writes into docs/commands.md: every command's `--help`, exactly as `deckbuild` prints it."""

from __future__ import annotations

from click.testing import CliRunner

from builder.cli import cli


def help_text(*command: str) -> str:
    """`deckbuild [COMMAND] --help` as a person sees it in an 80-column terminal."""
    result = CliRunner().invoke(cli, [*command, "--help"], prog_name="deckbuild", terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.output


def reference() -> str:
    """The reference's body: the group's help, then one section per command, in alphabetical order."""
    parts = ["\n## `deckbuild`\n\n```text\n" + help_text() + "```\n"]
    for name in sorted(cli.commands):
        parts.append(f"\n## `deckbuild {name}`\n\n```text\n" + help_text(name) + "```\n")
    return "".join(parts)
