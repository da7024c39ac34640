"""Fixtures: YAML trees written into tmp_path, a CLI runner, and a real Anki collection."""

from __future__ import annotations

import atexit
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from builder.cli import cli

SOURCES = """\
dellwo-2022:
  title: Microglia in Fibromyalgia and Chronic Fatigue Syndrome
  author: Adrienne Dellwo
  publisher: Verywell Health
  date: 2022-08-03
  url: https://www.verywellhealth.com/microglia-716140
other-2020:
  title: Another Article
"""

DECK = """\
deck: Test::Basics
tags: [sample]
cards:
  - id: microglia-first-line
    question: What role do microglia play in the CNS immune system?
    answer: They are its **first line of defense**.
    source: dellwo-2022
    quote: "they're the first line of defense"
    tags: [immune]
  - id: glia-means-glue
    cloze: "The word 'glia' literally means {{c1::glue}}."
    source: dellwo-2022
"""


# No test may touch the user's cache. From here on, before any fixture runs, every process of the
# session caches under a session folder instead of $XDG_CACHE_HOME or ~/.cache; each test then gets
# its own (private_cache). Anything that lands in the session folder ran outside a test's own cache
# (a module-scoped fixture, say) and would have written into the user's cache: the test fails.
SESSION_CACHE = Path(tempfile.mkdtemp(prefix="deckbuild-test-cache-"))
os.environ["XDG_CACHE_HOME"] = str(SESSION_CACHE)
atexit.register(shutil.rmtree, SESSION_CACHE, ignore_errors=True)


@pytest.fixture(autouse=True)
def user_cache_untouched():
    """Fail a test during which something cached outside a test's own cache folder."""
    yield
    strays = sorted(str(p.relative_to(SESSION_CACHE)) for p in SESSION_CACHE.rglob("*") if p.is_file())
    for entry in SESSION_CACHE.iterdir():  # so that the next test is judged on its own
        shutil.rmtree(entry, ignore_errors=True)
    assert not strays, f"cached outside the test's own cache (the user's cache, without this guard): {strays[:3]}"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own empty cache folder, never the user's."""
    folder = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder / "deckbuild"


@pytest.fixture(autouse=True)
def no_running_anki(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """deckbuild finds no Anki of the user's: an empty base folder, and a port nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    monkeypatch.setenv("ANKI_BASE", str(tmp_path / "no-anki-base"))
    monkeypatch.setenv("DECKBUILD_ANKI_PORT", str(free))
    monkeypatch.delenv("DECKBUILD_ANKI_KEY", raising=False)


@pytest.fixture
def write_tree(tmp_path: Path) -> Callable[..., Path]:
    """Write a cards tree: {relative path: YAML text}; sources.yaml is added unless given."""
    def write(files: dict[str, str | bytes] | None = None, *, root: str = "cards",
              sources: str | None = SOURCES) -> Path:
        base = tmp_path / root
        base.mkdir(parents=True, exist_ok=True)
        files = {"deck.yaml": DECK} if files is None else files
        if sources is not None and "sources.yaml" not in files:
            files = {"sources.yaml": sources, **files}
        for name, text in files.items():
            path = base / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(textwrap.dedent(text), encoding="utf-8")
        return base
    return write


@pytest.fixture
def runner() -> CliRunner:
    """A Click runner for the deckbuild command."""
    return CliRunner()


@pytest.fixture
def deckbuild(runner: CliRunner) -> Callable[..., object]:
    """Run `deckbuild ARGS...` and return Click's result."""
    def run(*args: object) -> object:
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return run


def visible_text(fragment: str) -> str:
    """What a person reads in rendered card HTML: tags dropped, entities decoded, spaces folded."""
    fragment = re.sub(r"(?is)<(style|script)\b.*?</\1>", "", fragment)
    fragment = re.sub(r"(?is)</?(?:div|p|br|hr|li|ul|ol|blockquote|tr|td|th|table|h[1-6])\b[^>]*>", " ", fragment)
    fragment = re.sub(r"(?s)<[^>]*>", "", fragment)
    return " ".join(html.unescape(fragment).split())


class Anki:
    """A fresh Anki collection from the real `anki` package, for importing what we build."""

    def __init__(self, path: Path) -> None:
        from anki.collection import Collection

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.col = Collection(str(path))

    def import_apkg(self, apkg: Path, **options: object):
        """Import with Anki's defaults (update notes and note types if newer); return the log."""
        from anki.import_export_pb2 import ImportAnkiPackageOptions, ImportAnkiPackageRequest

        request = ImportAnkiPackageRequest(package_path=str(apkg), options=ImportAnkiPackageOptions(**options))
        return self.col.import_anki_package(request).log

    def reopen(self) -> None:
        """Close and reopen, so note types are read back from disk rather than the cache."""
        from anki.collection import Collection

        self.col.close()
        self.col = Collection(str(self.path))

    def notes(self) -> dict[str, object]:
        """Every note, keyed by its Id field."""
        notes = [self.col.get_note(nid) for nid in self.col.find_notes("")]
        return {note["Id"]: note for note in notes}

    def cards(self) -> list[object]:
        """Every card."""
        return [self.col.get_card(cid) for cid in self.col.find_cards("")]

    def answer(self, card_id: int, ease: int = 3) -> None:
        """Review one card, as a person would, so it has history."""
        card = self.col.get_card(card_id)
        self.col.decks.select(card.did)
        card.start_timer()
        self.col.sched.answerCard(card, ease)

    def close(self) -> None:
        self.col.close()


@pytest.fixture
def anki(tmp_path: Path):
    """A fresh, empty Anki collection."""
    pytest.importorskip("anki")
    collection = Anki(tmp_path / "anki" / "collection.anki2")
    yield collection
    collection.close()


@pytest.fixture
def build_into_anki(deckbuild, anki, tmp_path):
    """Build a cards tree, check it built, import it into the fresh collection; return the import log."""
    def run(cards: Path):
        out = tmp_path / "out.apkg"
        result = deckbuild("build", cards, "-o", out)
        assert result.exit_code == 0, result.output
        return anki.import_apkg(out)
    return run


def file_hashes(folder: Path) -> dict[str, str]:
    """Every file under a folder and its content hash: to show that a command wrote nothing there."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def log_counts(log) -> dict[str, int]:
    """An import log as counts: new, updated, duplicate (unchanged), conflicting."""
    return {name: len(getattr(log, name)) for name in ("new", "updated", "duplicate", "conflicting")}


def probe_in_chromium(page: Path, probe: str, *, tmp_path: Path, query: str = "") -> dict:
    """Open `page` with `probe` (a script that puts JSON in <pre id="probe">) appended, in a real headless
    Chromium; return that JSON. Skips the test where Chromium isn't installed."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed")
    probed = page.with_name("probe.html")
    probed.write_text(page.read_text(encoding="utf-8") + probe, encoding="utf-8")
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp_path)
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--virtual-time-budget=2000", "--dump-dom", probed.as_uri() + query],
        capture_output=True, text=True, timeout=120, check=True,
    )
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.DOTALL)
    assert found, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="session")
def desktop(tmp_path_factory: pytest.TempPathFactory):
    """The real Anki desktop app, headless, with deckbuild's add-on: one for the whole test session."""
    import importlib.util

    if importlib.util.find_spec("aqt") is None:
        pytest.skip("aqt (the Anki desktop app) is not installed")
    from desktop import Desktop, seed

    base = tmp_path_factory.mktemp("anki-desktop") / "base"
    seed(base)
    app = Desktop(base)
    app.start()
    yield app
    app.stop()


@pytest.fixture
def live(desktop, monkeypatch: pytest.MonkeyPatch):
    """The running Anki with an empty collection; deckbuild pointed at it (its base folder and port)."""
    return _emptied(desktop, key="", monkeypatch=monkeypatch)


def _emptied(app, *, key: str | None, monkeypatch: pytest.MonkeyPatch):
    """A running Anki (started if need be) with every note deleted, and deckbuild pointed at it."""
    if not app.running():
        app.start()
    client = app.client(key=key)
    notes = client.call("findNotes", query="deck:*")
    if notes:
        client.call("deleteNotes", notes=notes)
    for name, value in app.env().items():
        monkeypatch.setenv(name, value)
    return app


@pytest.fixture(scope="session")
def ankiconnect_desktop(tmp_path_factory: pytest.TempPathFactory):
    """The real Anki desktop with the real AnkiConnect add-on (its plugin folder from DECKBUILD_ANKICONNECT)."""
    import importlib.util
    import os

    plugin = os.environ.get("DECKBUILD_ANKICONNECT")
    if not plugin:
        pytest.skip("DECKBUILD_ANKICONNECT (AnkiConnect's plugin folder) is not set")
    if importlib.util.find_spec("aqt") is None:
        pytest.skip("aqt (the Anki desktop app) is not installed")
    from desktop import Desktop, seed

    base = tmp_path_factory.mktemp("ankiconnect-desktop") / "base"
    seed(base, addons={"ankiconnect": Path(plugin)})  # a folder named `plugin` would not start
    app = Desktop(base, key_from_addon=False)
    (base / "addons21" / "ankiconnect" / "meta.json").write_text(json.dumps({"config": {"webBindPort": app.port}}))
    app.start()
    yield app
    app.stop()


@pytest.fixture
def ankiconnect(ankiconnect_desktop, monkeypatch: pytest.MonkeyPatch):
    """The running Anki with AnkiConnect, an empty collection, and deckbuild pointed at it."""
    return _emptied(ankiconnect_desktop, key=None, monkeypatch=monkeypatch)
