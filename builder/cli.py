"""The `deckbuild` command: parses options, calls the core, prints, maps errors to exit codes."""

from __future__ import annotations

from pathlib import Path

import click

from . import __version__
from .build import Summary, build as build_deck, check as check_deck
from .errors import ContentError, DeckbuildError

CARDS = click.argument("cards_dir", default="cards", type=click.Path(file_okay=False, path_type=Path))


def _fail(err: DeckbuildError) -> None:
    """Print an error the way its kind asks, and exit with its code."""
    if isinstance(err, ContentError):
        for problem in err.problems:
            click.echo(str(problem), err=True)
        count = len(err.problems)
        click.echo(f"{count} problem{'s' * (count != 1)}; nothing was written.", err=True)
    else:
        click.echo(f"Error: {err}", err=True)
    raise SystemExit(err.exit_code)


def _size(size: int) -> str:
    """A byte count for people."""
    for unit in ("B", "kB", "MB"):
        if size < 1000 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


def summary_lines(summary: Summary) -> list[str]:
    """The summary line, then one line for each thing the user must do in Anki."""
    lines = [
        f"{summary.notes} notes, {summary.cards} cards ({len(summary.new)} new, {len(summary.changed)} changed, "
        f"{summary.unchanged} unchanged, {len(summary.removed)} removed) → {summary.output} ({_size(summary.size)})"
    ]
    for item_id, deck in summary.removed:
        lines.append(f"removed: {item_id} (was in {deck}). Re-import never deletes notes: "
                     f"in Anki, Browse, search \"Id:{item_id}\" and delete it.")
    for item_id, old, new in summary.moved:
        lines.append(f"moved: {item_id} from {old} to {new}. Re-import never moves cards: "
                     f"in Anki, Browse, search \"Id:{item_id}\", then Cards → Change Deck to {new}.")
    for item_id, old, new in summary.rekinded:
        lines.append(f"changed kind: {item_id} from {old} to {new}. Anki will skip it as conflicting: "
                     f"in Anki, Browse, search \"Id:{item_id}\", delete it, then re-import.")
    return lines


@click.group()
@click.version_option(__version__, prog_name="deckbuild")
def cli() -> None:
    """Compile study cards written in YAML into Anki decks."""


@cli.command()
@CARDS
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the .apkg [default: dist/<top-level deck>.apkg].")
def build(cards_dir: Path, output: Path | None) -> None:
    """Compile CARDS_DIR (default: cards) into one .apkg for Anki.

    Example: deckbuild build cards -o dist/biology.apkg
    """
    try:
        summary = build_deck(cards_dir=cards_dir, output=output)
    except DeckbuildError as err:
        _fail(err)
    for warning in summary.warnings:
        click.echo(str(warning), err=True)
    for line in summary_lines(summary):
        click.echo(line)


@cli.command()
@CARDS
def check(cards_dir: Path) -> None:
    """Run every validation of `build` on CARDS_DIR and write nothing.

    Example: deckbuild check cards
    """
    try:
        compiled = check_deck(cards_dir=cards_dir)
    except DeckbuildError as err:
        _fail(err)
    for warning in compiled.problems:
        click.echo(str(warning), err=True)
    click.echo(f"{len(compiled.notes)} notes OK.")
