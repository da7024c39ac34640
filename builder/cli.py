"""The `deckbuild` command: parses options, calls the core, prints, maps errors to exit codes."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from . import __version__
from .commands.lint import check as check_deck
from .pipeline.build import Summary, build as build_deck
from .pipeline.cache import Cache, default_dir
from .errors import ContentError, DeckbuildError

CARDS = click.argument("cards_dir", default="cards", type=click.Path(file_okay=False, path_type=Path))


def cache_options(command):
    """`--cache-dir` and `--no-cache`, turned into a `cache` argument."""
    command = click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")(command)
    return click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                        help="Where to cache parsed files [default: $XDG_CACHE_HOME/deckbuild].")(command)


def _cache(cache_dir: Path | None, no_cache: bool) -> Cache:
    """The cache the options ask for."""
    return Cache(None if no_cache else cache_dir or default_dir())


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


class ProgressBar:
    """A bar on stderr, only when it is a terminal and only once a build has run for a second."""

    def __init__(self, stream=None, *, after: float = 1.0) -> None:
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.after = after
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.stream.isatty() or time.monotonic() - self.start < self.after:
            return
        filled = 30 * done // max(total, 1)
        self.stream.write(f"\r[{'#' * filled}{' ' * (30 - filled)}] {done}/{total} files")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        """Clear the bar's line, so what follows starts clean."""
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


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
    for item_id in summary.restored:
        lines.append(f"restored: {item_id} is back with the note id it had; if you deleted it in Anki, "
                     "the import adds it again.")
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
@cache_options
def build(cards_dir: Path, output: Path | None, cache_dir: Path | None, no_cache: bool) -> None:
    """Compile CARDS_DIR (default: cards) into one .apkg for Anki.

    Example: deckbuild build cards -o dist/biology.apkg
    """
    bar = ProgressBar()
    try:
        summary = build_deck(cards_dir=cards_dir, output=output, cache=_cache(cache_dir, no_cache), progress=bar)
    except DeckbuildError as err:
        bar.close()
        _fail(err)
    bar.close()
    for line in summary_lines(summary):
        click.echo(line)


@cli.command()
@CARDS
@click.option("--strict", is_flag=True, help="Exit 1 when there are warnings, not only errors.")
@cache_options
def check(cards_dir: Path, strict: bool, cache_dir: Path | None, no_cache: bool) -> None:
    """Validate CARDS_DIR like `build` and lint card quality; write nothing.

    Warnings print as `path:line: warning [rule] message`; an item's
    `allow: [rule]` silences a rule for it.

    Example: deckbuild check cards --strict
    """
    bar = ProgressBar()
    try:
        compiled = check_deck(cards_dir=cards_dir, cache=_cache(cache_dir, no_cache), progress=bar)
    except DeckbuildError as err:
        bar.close()
        _fail(err)
    bar.close()
    for warning in compiled.problems:
        click.echo(str(warning), err=True)
    count = len(compiled.problems)
    click.echo(f"{len(compiled.notes)} notes checked, {count} warning{'s' * (count != 1)}.")
    if strict and count:
        raise SystemExit(1)


@cli.command()
@CARDS
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("preview.html"),
              show_default=True, help="Where to write the HTML page.")
def preview(cards_dir: Path, output: Path) -> None:
    """Write one self-contained HTML page showing every card's front and back.

    Example: deckbuild preview cards -o preview.html
    """
    from .commands.preview import write_preview

    try:
        count = write_preview(cards_dir=cards_dir, output=output)
    except DeckbuildError as err:
        _fail(err)
    click.echo(f"{count} cards → {output}")


@cli.command()
@CARDS
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the .apkg [default: dist/<top-level deck>.apkg].")
@cache_options
def watch(cards_dir: Path, output: Path | None, cache_dir: Path | None, no_cache: bool) -> None:
    """Rebuild CARDS_DIR on every save; a save with errors keeps the last good .apkg.

    Example: deckbuild watch cards -o dist/biology.apkg
    """
    from .commands.watch import watch as watch_tree

    def report(outcome: Summary | DeckbuildError) -> None:
        if isinstance(outcome, ContentError):
            for problem in outcome.problems:
                click.echo(str(problem), err=True)
            click.echo("nothing written; the last good .apkg, if any, is unchanged.", err=True)
        elif isinstance(outcome, DeckbuildError):
            click.echo(f"Error: {outcome}", err=True)
        else:
            for line in summary_lines(outcome):
                click.echo(line)

    click.echo(f"watching {cards_dir} (Ctrl-C stops)", err=True)
    try:
        watch_tree(cards_dir=cards_dir, output=output, on_build=report, cache=_cache(cache_dir, no_cache))
    except DeckbuildError as err:
        _fail(err)
    except KeyboardInterrupt:
        pass


@cli.command()
@CARDS
def ids(cards_dir: Path) -> None:
    """Give every item without an `id` one derived from its question, editing files in place.

    Only the new `id:` lines are inserted; everything else stays byte-identical.

    Example: deckbuild ids cards
    """
    from .commands.ids import assign_ids

    try:
        added = assign_ids(cards_dir=cards_dir)
    except DeckbuildError as err:
        _fail(err)
    for place, new_id in added:
        click.echo(f"{place}: id: {new_id}")
    click.echo(f"{len(added)} id{'s' * (len(added) != 1)} added.")


@cli.command()
@CARDS
@click.option("--collection", "collection", required=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The Anki collection to compare against (collection.anki2); it is never modified.")
def diff(cards_dir: Path, collection: Path) -> None:
    """Predict what importing the build into an Anki collection would do, without touching it.

    Needs the optional `anki` package: pip install 'deckbuild[anki]'.

    Example: deckbuild diff cards --collection ~/.local/share/Anki2/User\\ 1/collection.anki2
    """
    from .commands.diff import predict

    try:
        prediction = predict(cards_dir=cards_dir, collection=collection)
    except DeckbuildError as err:
        _fail(err)
    for line in prediction.lines():
        click.echo(line)
