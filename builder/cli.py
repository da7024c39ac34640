"""The `deckbuild` command: parses options, calls the core, prints, maps errors to exit codes."""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path

from typing import TYPE_CHECKING

import click

from . import __version__
from .errors import ContentError, DeckbuildError, InternalError, as_deckbuild_error

if TYPE_CHECKING:  # each command imports the pipeline it needs when it runs: `--help` starts fast
    from .pipeline.build import Summary
    from .pipeline.cache import Cache

CARDS = click.argument("cards_dir", default="cards", type=click.Path(file_okay=False, path_type=Path))


def cache_options(command):
    """`--cache-dir` and `--no-cache`, turned into a `cache` argument."""
    command = click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")(command)
    return click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                        help="Where to cache parsed files [default: $XDG_CACHE_HOME/deckbuild].")(command)


def _cache(cache_dir: Path | None, no_cache: bool) -> Cache:
    """The cache the options ask for."""
    from .pipeline.cache import Cache, default_dir

    return Cache(None if no_cache else cache_dir or default_dir())


EXIT_CODES = """\b
Exit codes:
  0    success
  1    problems in the cards (or warnings under check --strict,
       coverage under coverage --min or --min-asked)
  2    usage errors (a wrong option or path, an output deckbuild
       won't overwrite)
  3    the machine stopped the work (a permission, a full or
       read-only disk, a name too long, Anki running with nothing
       answering for it, Anki busy, another deckbuild using the
       same cards or collection)
  4    a bug in deckbuild (please report it; --debug or
       DECKBUILD_DEBUG=1 shows the traceback)
  5    pull: conflicts left unsettled (--prefer settles them)
  130  interrupted (Ctrl-C), nothing half-written"""
CONFLICTS = 5  # pull's exit code when items were edited on both sides and --prefer didn't settle them
COLLECTION_PATH = '~/.local/share/Anki2/"User 1"/collection.anki2'  # quoted, so a pasted example is one word


def epilog(*examples: str) -> str:
    """A command's epilog: the exit codes, then its examples, one per line, never rewrapped (click's \\b)."""
    return EXIT_CODES + "\n\n\b\nExamples:\n" + "\n".join(f"  {example}" for example in examples)


REPORT = "This is a bug in deckbuild; please report it with the command you ran"
INTERRUPTED = 130


def debugging() -> bool:
    """Whether to show tracebacks: `--debug`, or DECKBUILD_DEBUG set to anything but 0 or nothing."""
    ctx = click.get_current_context(silent=True)
    flag = bool(ctx and ctx.meta.get("deckbuild.debug"))
    return flag or os.environ.get("DECKBUILD_DEBUG", "").strip() not in ("", "0")


def report_error(err: DeckbuildError, *, content_footer: str = "nothing was written.") -> None:
    """Print an error the way its kind asks: one line per problem, or one line of reason."""
    if isinstance(err, ContentError):
        for problem in err.problems:
            click.echo(str(problem), err=True)
        count = len(err.problems)
        click.echo(f"{count} problem{'s' * (count != 1)}; {content_footer}", err=True)
    elif isinstance(err, InternalError):
        if debugging():
            click.echo(err.traceback.rstrip(), err=True)
            click.echo(f"internal error: {err}. {REPORT} and the traceback above.", err=True)
        else:
            click.echo(f"internal error: {err}. {REPORT} and the traceback that "
                       "`deckbuild --debug ...` (or DECKBUILD_DEBUG=1) prints.", err=True)
    else:
        click.echo(f"Error: {err}", err=True)
        if debugging() and err.__cause__ is not None:
            click.echo("".join(traceback.format_exception(err.__cause__)).rstrip(), err=True)


def _fail(err: DeckbuildError) -> None:
    """Print an error the way its kind asks, and exit with its code."""
    report_error(err)
    raise SystemExit(err.exit_code)


class Deckbuild(click.Group):
    """The command group: every failure becomes one line and an exit code, never a bare traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted; nothing was written.", err=True)
            raise SystemExit(INTERRUPTED) from None
        except BrokenPipeError:  # the reader went away (`deckbuild check | head`): nothing left to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(1) from None
        except Exception as err:  # noqa: BLE001 - the one place every other failure is reported
            _fail(as_deckbuild_error(err))


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta["deckbuild.debug"] = True


DEBUG = click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
                     help="Show the traceback of an internal error (as DECKBUILD_DEBUG=1 does).")
APKG = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                    help="Where to write the .apkg [default: dist/<top-level deck>.apkg].")


def page_output(default: str):
    """`-o/--output` for a command that writes one HTML page."""
    return click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path(default),
                        show_default=True, help="Where to write the HTML page.")


FORCE = click.option("--force", is_flag=True,
                     help="Replace an existing output file even if it isn't one deckbuild would write.")


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
        lines.append(f"changed kind: {item_id} from {old} to {new}. A re-import skips it as conflicting: "
                     "`deckbuild push --collection PATH` converts the note and keeps its reviews.")
    for name, old, new in summary.retyped:
        what, before, after, screen = ("fields", old.fields, new.fields, "Fields") if old.fields != new.fields else (
            "template names", old.templates, new.templates, "Cards")
        lines.append(f"note type {name}: {what} changed ({', '.join(before)} → {', '.join(after)}). Anki's importer "
                     "skips its notes as conflicting: `deckbuild push` changes the type in place and keeps every review; "
                     f"by hand, first make the same change in Anki (Tools → Manage Note Types → {name} → {screen}), "
                     "then import.")
    if summary.private:
        lines.append(f"warning: note type{'s' * (len(summary.private) > 1)} {', '.join(summary.private)} "
                     f"ha{'ve' if len(summary.private) > 1 else 's'} private fields; importing this .apkg by hand "
                     "clears them in every updated note. Use `deckbuild push`, which keeps them.")
    return lines


@click.group(cls=Deckbuild, context_settings={"help_option_names": ["-h", "--help"]}, epilog=epilog(
    "deckbuild build                             # cards/ -> dist/<top-level deck>.apkg",
    "deckbuild COMMAND --help                    # a command's options and examples",
))
@click.version_option(__version__, prog_name="deckbuild")
@DEBUG
def cli() -> None:
    """Compile study cards written in YAML into Anki decks.

    New here? docs/tutorial.md in deckbuild's repository walks the whole loop:
    build, import into Anki, edit on either side, pull and push.
    """


@cli.command(epilog=epilog(
    'deckbuild build                             # cards/ -> dist/<top-level deck>.apkg',
    'deckbuild build my-cards -o dist/biology.apkg',
))
@CARDS
@APKG
@FORCE
@cache_options
@DEBUG
def build(cards_dir: Path, output: Path | None, force: bool, cache_dir: Path | None, no_cache: bool) -> None:
    """Compile CARDS_DIR (default: cards) into one .apkg for Anki.
    """
    from .pipeline.build import build as build_deck

    bar = ProgressBar()
    try:
        summary = build_deck(cards_dir=cards_dir, output=output, cache=_cache(cache_dir, no_cache), progress=bar,
                             force=force)
    finally:
        bar.close()
    for line in summary_lines(summary):
        click.echo(line)


@cli.command(epilog=epilog(
    'deckbuild check',
    'deckbuild check cards --strict              # warnings fail too (for CI)',
))
@CARDS
@click.option("--strict", is_flag=True, help="Exit 1 when there are warnings, not only errors.")
@cache_options
@DEBUG
def check(cards_dir: Path, strict: bool, cache_dir: Path | None, no_cache: bool) -> None:
    """Validate CARDS_DIR like `build` and lint card quality; write nothing.

    Warnings print as `path:line: warning [rule] message`; an item's
    `allow: [rule]` silences a rule for it.
    """
    from .checking.lint import check as check_deck

    bar = ProgressBar()
    try:
        compiled = check_deck(cards_dir=cards_dir, cache=_cache(cache_dir, no_cache), progress=bar)
    finally:
        bar.close()
    if compiled.problems:  # one write, not one (flushed) per line: a large tree can have tens of thousands
        click.echo("\n".join(map(str, compiled.problems)), err=True)
    count = sum(problem.severity == "warning" for problem in compiled.problems)  # notes never fail
    missing = sum(problem.severity == "note" and problem.message.startswith("text file ")
                  and " is not found; " in problem.message for problem in compiled.problems)
    tail = (f" {missing} source text{'s' * (missing != 1)} not found, so quotes citing "
            f"{'them' if missing != 1 else 'it'} were not verified: each is the article at its source's "
            "`url` in sources.yaml, saved as plain text at its `text:` path." if missing else "")
    click.echo(f"{len(compiled.notes)} notes checked, {count} warning{'s' * (count != 1)}.{tail}")
    if strict and count:
        raise SystemExit(1)


@cli.command(epilog=epilog('deckbuild preview cards -o preview.html     # then open preview.html?q=microglia'))
@CARDS
@page_output("preview.html")
@FORCE
@DEBUG
def preview(cards_dir: Path, output: Path, force: bool) -> None:
    """Write one self-contained HTML page showing every card's front and back.
    """
    from .commands.preview import write_preview

    count = write_preview(cards_dir=cards_dir, output=output, force=force)
    click.echo(f"{count} cards → {output}")


@cli.command(epilog=epilog(
    'deckbuild coverage cards',
    'deckbuild coverage cards -o coverage.html --min 80 --min-asked 90',
))
@CARDS
@page_output("coverage.html")
@click.option("--min", "minimum", type=click.FloatRange(0, 100), metavar="N",
              help="Exit 1 when under N percent of the sentences are quoted (for CI).")
@click.option("--min-asked", "minimum_asked", type=click.FloatRange(0, 100), metavar="N",
              help="Exit 1 when under N percent of the quoted sentences have a word some card asks for.")
@FORCE
@DEBUG
def coverage(cards_dir: Path, output: Path, minimum: float | None, minimum_asked: float | None,
             force: bool) -> None:
    """Show which sentences of each source's `text:` some card quotes, and which words of them some card asks
    for (an answer, or a cloze deletion); write both as an HTML page.

    Prints each text's share quoted, then `text-path:line: uncovered: "…"` for every sentence no card quotes;
    then how many quoted sentences have an asked word, and `text-path:line: never asked: "…"` for the others.
    """
    from .checking.coverage import asked_line, percent, report_lines, write_coverage

    measured = write_coverage(cards_dir=cards_dir, output=output, force=force)
    for problem in measured.unread:
        click.echo(str(problem), err=True)
    for line in report_lines(measured):
        click.echo(line)
    click.echo(f"{measured.covered} of {measured.total} sentences quoted "
               f"({percent(measured.covered, measured.total)}) in {len(measured.articles)} "
               f"text{'s' * (len(measured.articles) != 1)} → {output}")
    click.echo(asked_line(measured.asked, measured.covered))
    if (minimum is not None or minimum_asked is not None) and not measured.total:
        why = (f"no source text could be read ({len(measured.unread)} not found or unusable, above)"
               if measured.unread else "no source has a `text:` with sentences to measure")
        click.echo(f"coverage: nothing measured: {why}", err=True)
        raise SystemExit(1)
    failed = False
    if minimum is not None and measured.covered * 100 < minimum * measured.total:
        click.echo(f"coverage is under --min {minimum:g}%", err=True)
        failed = True
    if minimum_asked is not None and (measured.asked * 100 < minimum_asked * measured.covered
                                      or not measured.covered):
        click.echo(f"asked coverage is under --min-asked {minimum_asked:g}%", err=True)
        failed = True
    if failed:
        raise SystemExit(1)


@cli.command(epilog=epilog('deckbuild watch cards -o dist/biology.apkg'))
@CARDS
@APKG
@FORCE
@cache_options
@DEBUG
def watch(cards_dir: Path, output: Path | None, force: bool, cache_dir: Path | None, no_cache: bool) -> None:
    """Rebuild CARDS_DIR on every save; a save with errors keeps the last good .apkg.
    """
    from .commands.watch import watch as watch_tree

    def report(outcome: Summary | DeckbuildError) -> None:
        if isinstance(outcome, DeckbuildError):
            report_error(outcome, content_footer="nothing written; the last good .apkg, if any, is unchanged.")
            if not isinstance(outcome, ContentError):
                click.echo("still watching: nothing written; the last good .apkg, if any, is unchanged.", err=True)
        else:
            for line in summary_lines(outcome):
                click.echo(line)

    click.echo(f"watching {cards_dir} (Ctrl-C stops)", err=True)
    try:
        watch_tree(cards_dir=cards_dir, output=output, on_build=report, cache=_cache(cache_dir, no_cache),
                   force=force)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a watch ends: exit 0


@cli.command(epilog=epilog(
    'deckbuild ids cards',
    'git diff cards/                             # review the new ids, then commit them',
))
@CARDS
@DEBUG
def ids(cards_dir: Path) -> None:
    """Give every item without an `id` one derived from its question, editing files in place.

    Only the new `id:` lines are inserted; everything else stays byte-identical.
    """
    from .commands.ids import assign_ids

    added = assign_ids(cards_dir=cards_dir)
    for place, new_id in added:
        click.echo(f"{place}: id: {new_id}")
    click.echo(f"{len(added)} id{'s' * (len(added) != 1)} added.")


VIA = click.option("--via", type=click.Choice(["file", "anki"]),
                   help="Reach the collection through its file (Anki closed) or the running Anki's add-on "
                        "[default: the file if it opens, else the running Anki].")


@cli.command(epilog=epilog(f'deckbuild diff cards --collection {COLLECTION_PATH}',
                           f'deckbuild diff cards --collection {COLLECTION_PATH} --via anki'))
@CARDS
@click.option("--collection", "collection", required=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The Anki collection to compare against (collection.anki2); it is never modified.")
@VIA
@cache_options
@DEBUG
def diff(cards_dir: Path, collection: Path, via: str | None, cache_dir: Path | None, no_cache: bool) -> None:
    """Predict what importing the build into an Anki collection would do, without touching it (= push --dry-run).

    Needs the optional `anki` package: from a clone, pip install '.[anki]'.
    """
    _predict(cards_dir, collection, via=via, cache=_cache(cache_dir, no_cache))


COLLECTION = click.option("--collection", "collection", required=True,
                          type=click.Path(dir_okay=False, exists=True, path_type=Path),
                          help="The Anki collection file (collection.anki2), closed or open in Anki.")
CLOSED_COLLECTION = click.option("--collection", "collection", required=True,
                                 type=click.Path(dir_okay=False, exists=True, path_type=Path),
                                 help="The Anki collection file (collection.anki2). Close Anki first.")


@cli.command(epilog=epilog(
    f'deckbuild pull cards --collection {COLLECTION_PATH} --dry-run',
    f'deckbuild pull cards --collection {COLLECTION_PATH} --prefer anki',
    f'deckbuild pull cards --collection {COLLECTION_PATH} --via anki',
))
@CARDS
@COLLECTION
@click.option("--prefer", type=click.Choice(["anki", "yaml"]),
              help="Settle items edited on both sides: take Anki's text, or keep the YAML's.")
@click.option("--dry-run", is_flag=True, help="Print what would be pulled; write nothing.")
@click.option("--restore-state", is_flag=True,
              help="Rebuild a lost or damaged state file from the notes the collection holds.")
@VIA
@cache_options
@DEBUG
def pull(cards_dir: Path, collection: Path, prefer: str | None, dry_run: bool, restore_state: bool,
         via: str | None, cache_dir: Path | None, no_cache: bool) -> None:
    """Bring edits made in Anki back into the YAML, changing only the edited values.

    Needs the optional `anki` package and markdownify: from a clone,
    pip install '.[anki]' (installs both). Exits 5 when items edited on
    both sides are left unsettled (--prefer anki or --prefer yaml settles them).

    """
    from .collection.pull import pull as pull_edits, restore_state as restore

    if restore_state:
        report = restore(cards_dir=cards_dir, collection=collection, dry_run=dry_run, via=via)
    else:
        report = pull_edits(cards_dir=cards_dir, collection=collection, prefer=prefer, dry_run=dry_run,
                            cache=_cache(cache_dir, no_cache), via=via)
    click.echo(report.route, err=True)
    for outcome in report.outcomes:
        click.echo(str(outcome))
    if not restore_state:
        click.echo(report.summary())
        if report.count("conflict"):
            raise SystemExit(CONFLICTS)


@cli.command(epilog=epilog(
    f'deckbuild push cards --collection {COLLECTION_PATH}',
    f'deckbuild push cards --collection {COLLECTION_PATH} --yes',
    f'deckbuild push cards --collection {COLLECTION_PATH} --via anki',
))
@CARDS
@COLLECTION
@APKG
@FORCE
@click.option("--yes", is_flag=True,
              help="Delete the notes of removed items, and remove cards the build no longer makes, without asking.")
@click.option("--dry-run", is_flag=True, help="Predict what the push would do, on a copy; write nothing (= diff).")
@VIA
@cache_options
@DEBUG
def push(cards_dir: Path, collection: Path, output: Path | None, force: bool, yes: bool, dry_run: bool,
         via: str | None, cache_dir: Path | None, no_cache: bool) -> None:
    """Build, back up the collection, and apply the build to it: import, convert, remove, move, delete.

    Needs the optional `anki` package: from a clone, pip install '.[anki]'.
    """
    if dry_run:
        _predict(cards_dir, collection, via=via, cache=_cache(cache_dir, no_cache))
        return
    from .collection.push import push as push_build

    def confirm(lines) -> bool:
        """List the notes and cards to remove (with their reviews) and ask, but only a person at a terminal."""
        if not sys.stdin.isatty():
            return False
        for line in lines:
            click.echo(f"to remove: {line}")
        return click.confirm("Remove these from the collection?", default=False)

    report = push_build(cards_dir=cards_dir, collection=collection, output=output, force=force, yes=yes,
                        confirm=confirm, cache=_cache(cache_dir, no_cache), via=via)
    click.echo(report.route, err=True)
    click.echo(summary_lines(report.summary)[0])  # the build's line; push itself does what the others ask for
    for line in report.lines():
        click.echo(line)


@cli.command(epilog=epilog(
    f'deckbuild adopt spanish --deck Spanish --collection {COLLECTION_PATH}',
))
@CARDS
@CLOSED_COLLECTION
@click.option("--deck", required=True, help="The deck to adopt, with its subdecks ('::' nests).")
@DEBUG
def adopt(cards_dir: Path, collection: Path, deck: str) -> None:
    """Write a new cards tree from a deck you already study in Anki, linked to its notes and reviews.

    One YAML file per subdeck, notetypes.yaml for its note types, its media, and a state file, so
    the very next push changes nothing. CARDS_DIR must not exist yet (or be empty). Anki must be
    closed. Needs the optional `anki` package: from a clone, pip install '.[anki]'.
    """
    from .collection.adopt import adopt as adopt_deck

    report = adopt_deck(collection=collection, deck=deck, cards_dir=cards_dir)
    for line in report.lines():
        click.echo(line)


def _predict(cards_dir: Path, collection: Path, *, via: str | None, cache: Cache) -> None:
    """Print what importing the build would do, tried on a copy of the collection."""
    from .collection.diff import predict

    prediction = predict(cards_dir=cards_dir, collection=collection, cache=cache, via=via)
    if prediction.route:
        click.echo(prediction.route, err=True)
    for line in prediction.lines():
        click.echo(line)


@cli.command(epilog=epilog('deckbuild addon -o deckbuild.ankiaddon',
                           "deckbuild addon --install ~/.local/share/Anki2"))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("deckbuild.ankiaddon"),
              show_default=True, help="Where to write the add-on.")
@click.option("--install", "base", type=click.Path(file_okay=False, path_type=Path),
              help="Copy the add-on into this Anki base folder's addons21/ instead (restart Anki after).")
@FORCE
@DEBUG
def addon(output: Path, base: Path | None, force: bool) -> None:
    """Write deckbuild's companion add-on for Anki, which lets push, pull and diff work with Anki open.

    Install the file with Anki's Tools → Add-ons → Install from file, then restart Anki. It listens on
    127.0.0.1:8765 (or DECKBUILD_ANKI_PORT) and makes its key on first start.
    """
    from .commands.addon import install, write_ankiaddon

    if base is not None:
        written = install(base=base)
        click.echo(f"installed {written.files} files → {written.path} (restart Anki to load it)")
        return
    written = write_ankiaddon(output=output, force=force)
    click.echo(f"{written.files} files → {written.path} (Tools → Add-ons → Install from file)")
