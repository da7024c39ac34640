"""Nothing lost, ever: wrong outputs, unreadable files, links, crashes and Ctrl-C, through the real CLI."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from builder.cli import cli
from builder.pipeline.state import FILENAME
from conftest import DECK, SOURCES
from faults import INTERNAL_FAULT, ROOT, run_cli, snapshot, unprivileged  # noqa: F401 - unprivileged is a fixture

# Ctrl-C arriving while the .apkg is being packaged, after the collection is written.
CTRL_C_WHILE_PACKAGING = """
import os, signal
import builder.pipeline.package as package
original = package._write_zip
def write_zip(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGINT)
    return original(*args, **kwargs)
package._write_zip = write_zip
from builder.cli import cli
cli(prog_name="deckbuild")
"""


@pytest.fixture
def built(write_tree, tmp_path):
    """A tree built once into tmp_path/dist/out.apkg: (cards, output, snapshot of both)."""
    cards, output = write_tree(), tmp_path / "dist" / "out.apkg"
    result = run_cli("build", cards, "-o", output)
    assert result.returncode == 0, result.stderr
    return cards, output, snapshot(cards, output)


def assert_untouched(before: dict, *paths: Path) -> None:
    """The cards folder, its state file and the previous .apkg are byte-identical to `before`."""
    assert snapshot(*paths) == before


# 1. Outputs never destroy inputs.

@pytest.mark.parametrize("target", ["sources.yaml", "deck.yaml", FILENAME, "new.apkg", "sub/new.apkg"])
def test_build_refuses_an_output_inside_the_cards_folder(built, target):
    cards, output, before = built
    result = run_cli("build", cards, "-o", cards / target)
    assert result.returncode == 2
    assert "is inside the cards folder" in result.stderr and "Traceback" not in result.stderr
    assert_untouched(before, cards, output)


def test_an_output_reached_through_a_link_into_the_cards_folder_is_refused(built, tmp_path):
    cards, output, before = built
    (tmp_path / "into-cards").symlink_to(cards)
    (tmp_path / "alias.apkg").symlink_to(cards / "deck.yaml")
    for target in (tmp_path / "into-cards" / "deck.yaml", tmp_path / "alias.apkg"):
        result = run_cli("build", cards, "-o", target, "--force")
        assert result.returncode == 2, result.stderr
        assert "is inside the cards folder" in result.stderr
    assert_untouched(before, cards, output)


def test_the_default_output_inside_the_cards_folder_is_refused(write_tree):
    cards = write_tree()
    before = snapshot(cards)
    result = run_cli("build", ".", cwd=cards)  # dist/Test.apkg would land in the cards folder
    assert result.returncode == 2 and "is inside the cards folder" in result.stderr
    assert_untouched(before, cards)


def test_a_file_that_is_not_an_apkg_is_replaced_only_with_force(built, tmp_path):
    cards, output, before = built
    readme = tmp_path / "README.md"
    readme.write_text("my notes\n")
    fake = tmp_path / "other.apkg"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("notes.txt", "not a collection")
    for target in (readme, fake):
        kept = target.read_bytes()
        result = run_cli("build", cards, "-o", target)
        assert result.returncode == 2
        assert f"output '{target}' exists and is not an Anki package (.apkg)" in result.stderr
        assert "--force" in result.stderr and target.read_bytes() == kept
    assert_untouched(before, cards, output)

    assert run_cli("build", cards, "-o", readme, "--force").returncode == 0
    with zipfile.ZipFile(readme) as archive:
        assert "collection.anki2" in archive.namelist()
    assert run_cli("build", cards, "-o", output).returncode == 0  # its own .apkg is replaced without --force


def test_a_folder_is_never_an_output(built, tmp_path):
    cards, output, before = built
    result = run_cli("build", cards, "-o", tmp_path / "dist", "--force")
    assert result.returncode == 2 and "is a directory" in result.stderr
    assert_untouched(before, cards, output)


def test_preview_replaces_only_its_own_pages(write_tree, tmp_path):
    cards = write_tree()
    page = tmp_path / "preview.html"
    mine = tmp_path / "mine.html"
    mine.write_text("<!doctype html><title>my page</title>\n")
    before = snapshot(cards, mine)
    assert run_cli("preview", cards, "-o", page).returncode == 0
    assert '<meta name="generator" content="deckbuild preview">' in page.read_text()
    assert run_cli("preview", cards, "-o", page).returncode == 0  # its own page: replaced

    for target in (mine, cards / "deck.yaml", cards / "preview.html"):
        result = run_cli("preview", cards, "-o", target)
        assert result.returncode == 2, result.stderr
        assert "left alone" in result.stderr or "inside the cards folder" in result.stderr
    assert_untouched(before, cards, mine)
    assert run_cli("preview", cards, "-o", mine, "--force").returncode == 0
    assert "deckbuild preview" in mine.read_text()


def test_watch_refuses_a_bad_output_before_watching(built, tmp_path):
    cards, output, before = built
    for target in (cards / "sources.yaml", tmp_path):
        result = run_cli("watch", cards, "-o", target)
        assert result.returncode == 2, result.stderr
    assert_untouched(before, cards, output)


# 2. An unreadable file or folder is an error, never a removal.

def _shared_tree(unprivileged, files: dict[str, str] | None = None) -> tuple[Path, Path]:
    """A cards tree and a built .apkg in the world-traversable folder, readable by the runner."""
    cards = unprivileged.folder / "cards"
    for name, text in {"sources.yaml": SOURCES, "deck.yaml": DECK, **(files or {})}.items():
        (cards / name).parent.mkdir(parents=True, exist_ok=True)
        (cards / name).write_text(text)
    output = unprivileged.folder / "dist" / "out.apkg"
    unprivileged.share()
    result = unprivileged.run("build", cards, "-o", output, "--no-cache")
    assert result.returncode == 0, result.stderr
    return cards, output


MORE = DECK.replace("microglia-first-line", "more-first-line").replace("glia-means-glue", "more-glue")


@pytest.mark.parametrize("locked, message", [
    ("sub", "cards/sub:1: cannot list the folder (Permission denied)"),
    ("sub/more.yaml", "cards/sub/more.yaml:1: cannot read the file (Permission denied)"),
    ("sources.yaml", "cards/sources.yaml:1: cannot read the file (Permission denied)"),
    ("deckbuild-state.json", "cards/deckbuild-state.json:1: cannot read the state file (Permission denied)"),
])
def test_an_unreadable_file_or_folder_is_an_error_not_a_removal(unprivileged, locked, message):
    cards, output = _shared_tree(unprivileged, {"sub/more.yaml": MORE})
    unprivileged.lock(cards / locked)
    before = snapshot(cards, output)

    result = unprivileged.run("build", cards, "-o", output, "--no-cache")

    assert result.returncode == 3, result.stderr
    assert message in result.stderr and "nothing was written" in result.stderr
    assert "removed" not in result.stdout + result.stderr and "Traceback" not in result.stderr
    assert_untouched(before, cards, output)
    assert unprivileged.run("check", cards, "--no-cache").returncode == 3


def test_an_unreadable_image_is_an_error_at_the_field_that_shows_it(unprivileged):
    cards, output = _shared_tree(unprivileged, {
        "deck.yaml": DECK.replace("defense**.", "defense**. ![cell](cell.png)"), "cell.png": "not really a png"})
    unprivileged.lock(cards / "cell.png")
    before = snapshot(cards, output)
    result = unprivileged.run("build", cards, "-o", output, "--no-cache")
    assert result.returncode == 3, result.stderr
    assert f"{cards}/deck.yaml:6: image 'cell.png' cannot be read (Permission denied)" in result.stderr
    assert_untouched(before, cards, output)


def test_an_output_folder_that_cannot_be_written_exits_3(unprivileged):
    cards, output = _shared_tree(unprivileged)
    output.parent.chmod(0o555)
    before = snapshot(cards, output)
    result = unprivileged.run("build", cards, "-o", output, "--no-cache")
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith(f"Error: cannot write '{output}': Permission denied")
    assert "Traceback" not in result.stderr
    assert_untouched(before, cards, output)


def test_links_that_leave_the_cards_folder_are_refused_like_images(built, tmp_path):
    cards, output, before = built
    outside = tmp_path / "elsewhere"
    (outside / "deck").mkdir(parents=True)
    (outside / "deck" / "more.yaml").write_text(MORE)
    (outside / "more.yaml").write_text(MORE)
    (cards / "linked.yaml").symlink_to(outside / "more.yaml")
    (cards / "linked-folder").symlink_to(outside / "deck")
    before = snapshot(cards, output)

    result = run_cli("build", cards, "-o", output)

    assert result.returncode == 1
    assert f"{cards}/linked-folder:1: a symbolic link to '{outside / 'deck'}', outside the cards folder" in result.stderr
    assert f"{cards}/linked.yaml:1: a symbolic link to '{outside / 'more.yaml'}', outside the cards folder" in result.stderr
    assert_untouched(before, cards, output)


def test_links_inside_the_cards_folder_are_followed_once_even_in_a_loop(write_tree, tmp_path):
    cards = write_tree({"deck.yaml": DECK, "sub/more.yaml": MORE})
    (cards / "sub" / "loop").symlink_to(cards)  # a loop back to the top
    (cards / "again").symlink_to(cards / "sub")  # a second way to the same folder
    (cards / "same.yaml").symlink_to(cards / "deck.yaml")  # a second name for the same file
    result = run_cli("build", cards, "-o", tmp_path / "out.apkg")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("4 notes,")


def test_a_link_to_nothing_is_an_error(built):
    cards, output, before = built
    (cards / "gone.yaml").symlink_to(cards / "missing.yaml")
    result = run_cli("build", cards, "-o", output)
    assert result.returncode == 1
    assert f"{cards}/gone.yaml:1: a symbolic link to nothing" in result.stderr


# 3. No tracebacks.

def test_an_internal_error_asks_for_a_report_and_shows_the_traceback_only_when_debugging(built):
    cards, output, _ = built
    (cards / "deck.yaml").write_text(DECK.replace("glia-means-glue", "boom"))
    before = snapshot(cards, output)

    plain = run_cli("build", cards, "-o", output, script=INTERNAL_FAULT)
    assert plain.returncode == 4
    assert plain.stderr.startswith("internal error: ZeroDivisionError: injected fault. This is a bug in deckbuild; "
                                   "please report it")
    assert len(plain.stderr.splitlines()) == 1 and "Traceback" not in plain.stderr

    for debug in (run_cli("--debug", "build", cards, "-o", output, script=INTERNAL_FAULT),
                  run_cli("build", cards, "-o", output, "--debug", script=INTERNAL_FAULT),
                  run_cli("build", cards, "-o", output, script=INTERNAL_FAULT, env={"DECKBUILD_DEBUG": "1"})):
        assert debug.returncode == 4
        assert "Traceback (most recent call last)" in debug.stderr and ", in render_item\n" in debug.stderr
        assert "please report it" in debug.stderr
    assert_untouched(before, cards, output)


def test_ctrl_c_exits_130_and_leaves_nothing_half_written(built):
    cards, output, before = built
    deck = cards / "deck.yaml"
    deck.write_text(deck.read_text().replace("glue}}.", "glue}} (Greek)."))
    before = snapshot(cards, output)

    result = run_cli("build", cards, "-o", output, script=CTRL_C_WHILE_PACKAGING)

    assert result.returncode == 130, result.stderr
    assert result.stderr == "interrupted; nothing was written.\n"
    assert_untouched(before, cards, output)
    assert sorted(p.name for p in output.parent.iterdir()) == [output.name]  # no temporary files left


def test_a_file_name_too_long_is_an_environment_fault(built, tmp_path):
    cards, output, before = built
    result = run_cli("build", cards, "-o", tmp_path / ("a" * 300 + ".apkg"))
    assert result.returncode == 3
    assert result.stderr.endswith(": File name too long\n") and len(result.stderr.splitlines()) == 1
    assert_untouched(before, cards, output)


@pytest.mark.parametrize("command", [None, *sorted(cli.commands)])
def test_dash_h_is_help_everywhere_and_help_lists_the_exit_codes(deckbuild, command):
    args = [command] if command else []
    short, long = deckbuild(*args, "-h"), deckbuild(*args, "--help")
    assert short.exit_code == long.exit_code == 0
    assert short.output == long.output
    text = " ".join(long.output.split())
    for code in ("0 success", "1 problems in the cards", "2 usage errors", "3 the machine", "4 a bug", "130"):
        assert code in text


# 7. sources.yml

def test_sources_yml_is_the_bibliography_when_there_is_no_sources_yaml(write_tree, tmp_path):
    cards = write_tree({"sources.yml": SOURCES, "deck.yaml": DECK}, sources=None)
    result = run_cli("build", cards, "-o", tmp_path / "out.apkg")
    assert result.returncode == 0, result.stderr
    (cards / "sources.yaml").write_text(SOURCES)
    before = snapshot(cards, tmp_path / "out.apkg")
    both = run_cli("build", cards, "-o", tmp_path / "out.apkg")
    assert both.returncode == 1
    assert f"{cards}/sources.yml:1: a second bibliography beside sources.yaml" in both.stderr
    assert_untouched(before, cards, tmp_path / "out.apkg")


# A small file system of our own, in a private mount namespace: full, or read-only, after the first build.
SMALL_DISK = """
mount -t tmpfs -o size=48k tmpfs "$0" && cp "$1" "$0/out.apkg" && { [ "$2" != ro ] || mount -o remount,ro "$0"; } || exit 99
PYTHONPATH="$3" "$4" -m builder build "$5" -o "$0/out.apkg" --no-cache
code=$?
cmp "$1" "$0/out.apkg" >&2 && ls -A "$0" >&2
exit $code
"""


@pytest.mark.parametrize("kind, reason", [("full", "database or disk is full"), ("ro", "Read-only file system")])
def test_a_full_or_read_only_disk_exits_3_and_keeps_the_last_build(built, tmp_path, kind, reason):
    cards, output, before = built
    deck = cards / "deck.yaml"
    deck.write_text(deck.read_text().replace("glue}}.", "glue}} (Greek)."))
    before = snapshot(cards, output)
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    command = ["unshare", "-rm", "sh", "-c", SMALL_DISK, mountpoint, output, kind, ROOT, sys.executable, cards]
    try:
        result = subprocess.run(list(map(str, command)), capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        pytest.skip("no unshare")
    if result.returncode == 99 or "unshare:" in result.stderr:
        pytest.skip(f"cannot mount a file system of our own here: {result.stderr.strip()}")
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines() == [f"Error: cannot write '{mountpoint}/out.apkg': {reason}", "out.apkg"]
    assert_untouched(before, cards, output)


def test_a_bibliography_reached_through_a_link_out_of_the_tree_is_refused(built, tmp_path):
    cards, output, _ = built
    moved = tmp_path / "sources-elsewhere.yaml"
    (cards / "sources.yaml").rename(moved)
    (cards / "sources.yaml").symlink_to(moved)
    before = snapshot(cards, output)
    result = run_cli("build", cards, "-o", output)
    assert result.returncode == 1
    assert f"{cards}/sources.yaml:1: a symbolic link to '{moved}', outside the cards folder" in result.stderr
    assert_untouched(before, cards, output)


def test_the_output_guard_is_one_function_other_commands_reuse(tmp_path):
    from builder.errors import EnvironmentFault, UsageError
    from builder.pipeline.output import check_output, marked_by

    cards = tmp_path / "cards"
    cards.mkdir()
    ours = marked_by('<meta name="generator" content="deckbuild coverage">')
    page, other = tmp_path / "coverage.html", tmp_path / "notes.html"
    page.write_text('<!doctype html><meta name="generator" content="deckbuild coverage">')
    other.write_text("<!doctype html><title>mine</title>")

    check_output(page, cards_dir=cards, ours=ours, what="a coverage page")  # its own page: fine
    check_output(tmp_path / "new.html", cards_dir=cards, ours=ours)  # a new file: fine
    check_output(other, cards_dir=cards, ours=ours, force=True)  # anything, with force
    with pytest.raises(UsageError, match="is not a coverage page, so it was left alone"):
        check_output(other, cards_dir=cards, ours=ours, what="a coverage page")
    with pytest.raises(UsageError, match="inside the cards folder"):
        check_output(cards / "coverage.html", cards_dir=cards, ours=ours, force=True)
    with pytest.raises(EnvironmentFault, match="File name too long"):
        check_output(tmp_path / ("x" * 300), cards_dir=cards, ours=ours)
