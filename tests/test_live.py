"""push, pull and diff through the live route: the real Anki desktop app running, with deckbuild's add-on."""

from __future__ import annotations

import json
import shutil
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from builder.pipeline.render import guid_for
from builder.pipeline.state import read_state
from conftest import DECK, file_hashes

GOLDEN = Path(__file__).parent / "golden"
PAST = "1600000000"  # builds stamped in the past, so an edit made in Anki now is newer
THIRD = "  - id: third-item\n    question: A third?\n    answer: Yes, a third.\n    source: other-2020\n"


def golden(name: str) -> bytes:
    return (GOLDEN / name).read_bytes().replace(b"\r\n", b"\n")


@pytest.fixture
def imported(live, write_tree, deckbuild, tmp_path, monkeypatch):
    """Build a tree (stamped in the past) and import it into the running Anki through the add-on."""
    def run(files: dict[str, str | bytes] | None = None) -> Path:
        cards = write_tree(files)
        monkeypatch.setenv("SOURCE_DATE_EPOCH", PAST)
        result = deckbuild("build", cards, "-o", tmp_path / "out.apkg")
        assert result.exit_code == 0, result.output
        monkeypatch.delenv("SOURCE_DATE_EPOCH")
        assert live.client().call("importPackage", path=str((tmp_path / "out.apkg").resolve())) is True
        return cards
    return run


def nid_of(live, item_id: str) -> int:
    [[_, nid, *_]] = live.client().call("notesByGuid", guids=[guid_for(item_id)])
    return nid


def edit_in_anki(live, item_id: str, **fields: str) -> None:
    """Change a note in the running Anki, as a person would in its editor (Anki stamps its mod with now)."""
    client = live.client()
    nid = nid_of(live, item_id)
    tags = fields.pop("tags", None)
    if fields:
        client.call("updateNoteFields", note={"id": nid, "fields": fields})
    if tags is not None:
        [info] = client.call("notesInfo", notes=[nid])
        if info["tags"]:
            client.call("removeTags", notes=[nid], tags=" ".join(info["tags"]))
        client.call("addTags", notes=[nid], tags=tags)


def post(live, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    """A raw request to the add-on: its HTTP status and answer."""
    request = urllib.request.Request(f"http://127.0.0.1:{live.port}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_pull_of_edits_made_in_the_running_anki_writes_the_file_routes_bytes(imported, live, deckbuild):
    cards = imported({"deck.yaml": golden("pull-before.yaml")})
    edit_in_anki(live, "plain-question", Question="Where does 'glia' come from: which language?",
                 tags="golden origin words etymology")
    edit_in_anki(live, "single-quoted", Answer="They are its <strong>very first</strong> line of defense.",
                 Extra="Added in Anki.")
    edit_in_anki(live, "double-quoted", Question='Which cells are the "glue" of the CNS?')
    edit_in_anki(live, "literal-block", Question="What role do microglia play in the brain's immune system?",
                 Answer="<p>The first line</p><p>of defense, in the CNS.</p>", tags="golden immune")
    edit_in_anki(live, "flow-item", Text="Microglia make up about {{c1::10%::a share}} of the cells in the "
                                         "human brain.")
    edit_in_anki(live, "flow-mapping", Answer="The brain, and the spinal cord.", tags="golden cns leech marked")

    live.client().call("createBackup")  # after a backup Anki no longer locks the file: the route must still be Anki
    result = deckbuild("pull", cards, "--collection", live.collection)

    assert result.exit_code == 0, result.output
    assert f"via Anki (deckbuild's add-on on 127.0.0.1:{live.port}" in result.stderr
    assert (cards / "deck.yaml").read_bytes() == golden("pull-after.yaml")  # what the file route writes
    place = f"{cards.as_posix()}/deck.yaml"
    assert result.stdout.splitlines() == [
        f"{place}:7: pulled plain-question (question, tags)",
        f"{place}:13: pulled single-quoted (answer, extra)",
        f"{place}:19: pulled double-quoted (question)",
        f"{place}:25: pulled literal-block (question, answer, tags)",
        f"{place}:36: pulled flow-item (cloze)",
        f"{place}:40: pulled flow-mapping (answer, tags)",
        "6 pulled (0 approximate), 0 conflicting, 0 moved in Anki (not pulled), 0 removed from the tree.",
    ]
    state, _ = read_state(cards, shown="state")
    [[_, _, _, mod, *_]] = live.client().call("notesByGuid", guids=[guid_for("plain-question")])
    assert state.items["plain-question"].mod == mod  # Anki's mod, recorded
    again = deckbuild("pull", cards, "--collection", live.collection)
    assert again.stdout.startswith("0 pulled")


def test_a_conflict_through_the_live_route_writes_nothing(imported, live, deckbuild):
    cards = imported()
    edit_in_anki(live, "microglia-first-line", Answer="They are its <strong>front line</strong>.")
    deck = cards / "deck.yaml"
    deck.write_text(deck.read_text().replace("first line of defense**.", "first defenders**."))
    before = file_hashes(cards)

    result = deckbuild("pull", cards, "--collection", live.collection, "--via", "anki")

    assert result.exit_code == 5, result.output  # conflicts left unsettled
    assert (f"{cards.as_posix()}/deck.yaml:4: conflict microglia-first-line (answer changed in Anki and in the "
            "YAML; --prefer anki or --prefer yaml settles it)") in result.stdout
    assert file_hashes(cards) == before


def test_restore_state_through_the_live_route_takes_ids_and_mods_from_the_running_anki(imported, live, deckbuild):
    cards = imported()
    edit_in_anki(live, "glia-means-glue", Text="The word 'glia' means {{c1::glue}}.")
    state = cards / "deckbuild-state.json"
    state.unlink()

    result = deckbuild("pull", cards, "--collection", live.collection, "--restore-state")

    assert result.exit_code == 0, result.output
    restored = read_state(cards, shown="state")[0].items
    held = {row[0]: row for row in live.client().call(
        "notesByGuid", guids=[guid_for("microglia-first-line"), guid_for("glia-means-glue")])}
    for item_id in ("microglia-first-line", "glia-means-glue"):
        _, nid, _, mod, *_ = held[guid_for(item_id)]
        assert restored[item_id].mod == mod and restored[item_id].nid == nid
    assert "differs glia-means-glue" in result.stdout


def test_diff_through_the_live_route_prints_the_file_routes_lines(imported, live, deckbuild, tmp_path):
    cards = imported()
    deck = cards / "deck.yaml"
    deck.write_text(deck.read_text().replace("literally means", "means") + THIRD)
    copy = tmp_path / "copy" / "collection.anki2"
    copy.parent.mkdir()

    live_diff = deckbuild("diff", cards, "--collection", live.collection, "--via", "anki")

    assert live_diff.exit_code == 0, live_diff.output
    assert "via Anki" in live_diff.stderr
    assert live_diff.stdout.splitlines() == [
        "would add 1, update 1, leave 1 unchanged, 0 conflicting, 0 removed",
        "new: third-item",
        "update: glia-means-glue",
    ]


def test_a_wrong_key_and_a_browser_origin_are_refused_and_nothing_runs(live):
    key = live.client().key
    wrong = post(live, {"action": "createDeck", "version": 6, "params": {"deck": "Refused::Key"}, "key": "nope"})
    missing = post(live, {"action": "createDeck", "version": 6, "params": {"deck": "Refused::Key"}})
    origin = post(live, {"action": "createDeck", "version": 6, "params": {"deck": "Refused::Origin"}, "key": key},
                  headers={"Origin": "https://example.org"})

    assert wrong[0] == missing[0] == origin[0] == 403
    assert wrong[1]["error"] and missing[1]["error"] and origin[1]["error"]
    assert not any(name.startswith("Refused") for name in live.client().call("deckNames"))
    assert post(live, {"action": "version", "version": 6, "key": key}) == (200, {"result": 6, "error": None})


def test_with_nothing_answering_the_locked_collection_says_both_ways_out(live, write_tree, deckbuild, monkeypatch):
    cards = write_tree()
    live.client().call("createBackup")  # Anki releases its lock on the file after a backup: deckbuild must still see
    monkeypatch.setenv("DECKBUILD_ANKI_PORT", "1")  # nothing listens there

    result = deckbuild("push", cards, "--collection", live.collection)

    assert result.exit_code == 3, result.output
    [line] = result.stderr.splitlines()
    assert "close Anki first, or install deckbuild's add-on" in line and "nothing was changed" in line


def test_another_profiles_collection_is_refused(live, write_tree, deckbuild, tmp_path):
    cards = write_tree()
    other = tmp_path / "other" / "collection.anki2"
    other.parent.mkdir()
    other.write_bytes(b"")

    result = deckbuild("pull", cards, "--collection", other, "--via", "anki")

    assert result.exit_code == 3, result.output
    assert "the running Anki has" in result.stderr and "another profile" in result.stderr


def studied_with_a_copy(live, tmp_path: Path) -> Path:
    """Review every card with the anki library while Anki is closed, then start it again; a copy of the
    studied collection, for the same push through the file route, is returned."""
    from conftest import Anki

    live.stop()
    anki = Anki(live.collection)
    for card in anki.cards():
        anki.answer(card.id)
    anki.close()
    reference = tmp_path / "file-route" / "collection.anki2"
    reference.parent.mkdir()
    shutil.copyfile(live.collection, reference)
    live.start()
    return reference


def connect(path: Path) -> sqlite3.Connection:
    """The collection file with plain sqlite3 (and the collation Anki's schema names)."""
    con = sqlite3.connect(path)
    con.create_collation("unicase", lambda a, b: (a.casefold() > b.casefold()) - (a.casefold() < b.casefold()))
    return con


def collection_contents(path: Path) -> dict:
    """What a push promises about a collection, read from the file: notes, their cards' decks and history."""
    con = connect(path)
    try:
        assert con.execute("pragma integrity_check").fetchone() == ("ok",)
        decks = dict(con.execute("select id, name from decks"))
        notes = {guid: (mid, flds, tags, mod) for guid, mid, flds, tags, mod in
                 con.execute("select guid, mid, flds, tags, mod from notes")}
        cards = {(guid, ord): (decks[did].replace("\x1f", "::"), reps, ivl, type, queue) for guid, ord, did, reps, ivl, type, queue in
                 con.execute("select n.guid, c.ord, case when c.odid then c.odid else c.did end, c.reps, c.ivl, "
                             "c.type, c.queue from cards c join notes n on n.id = c.nid")}
        reviews = sorted(con.execute("select n.guid, c.ord, r.ease from revlog r join cards c on c.id = r.cid "
                                     "join notes n on n.id = c.nid"))
    finally:
        con.close()
    return {"notes": notes, "cards": cards, "reviews": reviews}


def test_push_deletes_moves_and_converts_like_the_file_route_keeping_reviews(imported, live, deckbuild, tmp_path,
                                                                            monkeypatch):
    cards = imported({"deck.yaml": DECK + THIRD})
    reference = studied_with_a_copy(live, tmp_path)
    deck = cards / "deck.yaml"
    deck.write_text(deck.read_text().replace(THIRD, "").replace("deck: Test::Basics", "deck: Test::Moved").replace(
        "    cloze: \"The word 'glia' literally means {{c1::glue}}.\"",
        "    question: What does the word 'glia' literally mean?\n    answer: Glue."))
    twin = tmp_path / "twin"
    shutil.copytree(cards, twin)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # both builds stamp the same mods

    pushed = deckbuild("push", cards, "--collection", live.collection, "-o", tmp_path / "live.apkg", "--yes")
    assert live.client().call("undoStatus") == "deckbuild push"  # the whole push is one step on Edit → Undo
    live.stop()
    by_file = deckbuild("push", twin, "--collection", reference, "-o", tmp_path / "file.apkg", "--yes")

    assert pushed.exit_code == 0, pushed.output
    assert by_file.exit_code == 0, by_file.output
    assert "via Anki" in pushed.stderr and "via the collection file" in by_file.stderr

    def lines(result) -> list[str]:
        """The push's lines, without the paths that differ between the two runs."""
        return [line.split(" → ")[0].split(" /")[0] for line in result.stdout.splitlines()
                if not line.startswith("backup:")]

    assert lines(pushed) == lines(by_file)
    assert "converted: glia-means-glue from deckbuild Cloze to deckbuild Q/A (reviews kept)" in pushed.stdout
    assert "deleted: third-item" in pushed.stdout
    backup = Path(pushed.stdout.split("backup: ")[1].splitlines()[0])
    assert backup.is_file() and backup.stat().st_size > 0
    got, want = collection_contents(live.collection), collection_contents(reference)
    assert got == want
    assert len(got["reviews"]) == 2 and {deck for deck, *_ in got["cards"].values()} == {"Test::Moved"}
    assert read_state(cards, shown="s")[0] == read_state(twin, shown="s")[0]


def test_anki_quitting_half_way_exits_3_and_says_what_state_the_collection_is_in(imported, live, deckbuild,
                                                                                   tmp_path):
    import subprocess
    import sys
    import time

    cards = imported({"deck.yaml": DECK + THIRD})
    deck = cards / "deck.yaml"
    deck.write_text(deck.read_text().replace(THIRD, "").replace("deck: Test::Basics", "deck: Test::Moved"))
    live.kill()  # gone: refused before anything is sent
    refused = deckbuild("push", cards, "--collection", live.collection, "--via", "anki")
    assert refused.exit_code == 3, refused.output
    assert "nothing was changed" in refused.stderr and "Traceback" not in refused.output

    live.start()
    env = {**__import__("os").environ, **live.env()}
    push = subprocess.Popen([sys.executable, "-m", "builder", "push", str(cards), "--collection",
                             str(live.collection), "--yes", "-o", str(tmp_path / "out.apkg")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    backups = live.collection.parent / "backups"
    earlier = set(backups.glob("*"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and push.poll() is None and not set(backups.glob("*")) - earlier:
        time.sleep(0.005)
    live.kill()  # Anki dies once the push has begun (or, on a fast machine, after it finished)
    out, err = push.communicate(timeout=60)
    if push.returncode == 0:
        assert "deleted: third-item" in out  # it finished before Anki went: fully applied
    else:
        assert push.returncode == 3, out + err
        [line] = err.strip().splitlines()
        assert "Traceback" not in err
        assert "nothing was changed" in line or "may be partly changed" in line
    con = connect(live.collection)
    try:
        assert con.execute("pragma integrity_check").fetchone() == ("ok",)
    finally:
        con.close()


def test_the_key_is_made_on_first_start_and_kept_readable_by_the_user_only(live):
    meta = live.base / "addons21" / "deckbuild_live" / "meta.json"
    config = json.loads(meta.read_text())["config"]
    assert len(config["apiKey"]) >= 32 and live.client().key == config["apiKey"]
    assert meta.stat().st_mode & 0o777 == 0o600


def test_deckbuild_addon_writes_exactly_the_files_the_tests_ran(live, deckbuild, tmp_path):
    import zipfile

    first, second = tmp_path / "a.ankiaddon", tmp_path / "b.ankiaddon"
    assert deckbuild("addon", "-o", first).exit_code == 0
    assert deckbuild("addon", "-o", second).exit_code == 0
    assert first.read_bytes() == second.read_bytes()  # reproducible
    installed = live.base / "addons21" / "deckbuild_live"
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
        assert "manifest.json" in names and "__init__.py" in names
        for name in names:
            assert archive.read(name) == (installed / name).read_bytes()
    base = tmp_path / "Anki2"
    base.mkdir()
    result = deckbuild("addon", "--install", base)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (base / "addons21" / "deckbuild_live").iterdir()) == sorted(names)


def test_a_request_over_the_size_bound_is_refused_unread(live):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
    try:
        connection.putrequest("POST", "/")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(64 * 1024 * 1024))
        connection.endheaders()
        connection.send(b'{"action": "version"')  # the rest never comes: the add-on must not wait for it
        response = connection.getresponse()
        assert response.status == 413 and json.loads(response.read())["error"]
    finally:
        connection.close()
    assert live.client().call("version") == 6  # still answering


def test_a_second_push_that_only_imports_names_the_backup_that_holds_the_collection(imported, live, deckbuild,
                                                                                      tmp_path):
    cards = imported()
    for old in (live.collection.parent / "backups").glob("*"):
        old.unlink()  # no backup yet: the first push must make one
    first = deckbuild("push", cards, "--collection", live.collection, "-o", tmp_path / "a.apkg")
    second = deckbuild("push", cards, "--collection", live.collection, "-o", tmp_path / "a.apkg")

    assert first.exit_code == 0, first.output
    made = Path(first.stdout.split("backup: ")[1].splitlines()[0])
    assert made.is_file() and made.parent == live.collection.parent / "backups"
    assert second.exit_code == 0, second.output  # within Anki's backup interval, as on the file route
    assert "0 added, 0 updated, 2 unchanged" in second.stdout
    assert f"backup: none made (it only imports; the last backup, {made}, is 0 min old" in second.stdout


def test_via_file_while_anki_runs_is_refused_even_after_anki_dropped_its_lock(imported, live, deckbuild):
    cards = imported()
    live.client().call("createBackup")  # Anki no longer locks the file; deckbuild must not write it under Anki
    before = file_hashes(cards)

    result = deckbuild("pull", cards, "--collection", live.collection, "--via", "file")

    assert result.exit_code == 3, result.output
    assert "open in Anki" in result.stderr and "nothing was changed" in result.stderr
    assert file_hashes(cards) == before


def test_push_removes_cards_and_converts_like_the_file_route_with_yes(live, write_tree, deckbuild, tmp_path,
                                                                       monkeypatch):
    """i16's card rules (only card 1 carries over a switch; other cards go only with --yes) on the live route."""
    from test_push_cards import AFTER, BEFORE, GONE, tree

    cards = write_tree({"deck.yaml": tree(BEFORE)})
    monkeypatch.setenv("SOURCE_DATE_EPOCH", PAST)
    assert deckbuild("build", cards, "-o", tmp_path / "out.apkg").exit_code == 0
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert live.client().call("importPackage", path=str((tmp_path / "out.apkg").resolve())) is True
    reference = studied_with_a_copy(live, tmp_path)
    (cards / "deck.yaml").write_text(tree(AFTER))
    twin = tmp_path / "twin"
    shutil.copytree(cards, twin)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")

    pushed = deckbuild("push", cards, "--collection", live.collection, "-o", tmp_path / "l.apkg", "--yes")
    assert live.client().call("undoStatus") == "deckbuild push"
    live.stop()
    by_file = deckbuild("push", twin, "--collection", reference, "-o", tmp_path / "f.apkg", "--yes")

    assert pushed.exit_code == 0, pushed.output
    assert by_file.exit_code == 0, by_file.output
    assert "via Anki" in pushed.stderr
    for item_id, card in GONE:
        assert f"removed card: {item_id} {card}" in pushed.stdout
    got, want = collection_contents(live.collection), collection_contents(reference)
    assert got == want


def test_a_tree_with_its_own_note_types_is_refused_on_the_live_route_before_anything_changes(
        live, write_tree, deckbuild, tmp_path):
    from test_notetypes import NOTETYPES, VOCAB

    cards = write_tree({"notetypes.yaml": NOTETYPES, "vocab.yaml": VOCAB})
    (cards / "audio").mkdir()
    (cards / "audio" / "hola.mp3").write_bytes(b"ID3" + bytes(range(200)))
    assert deckbuild("build", cards, "-o", tmp_path / "out.apkg").exit_code == 0
    assert live.client().call("importPackage", path=str((tmp_path / "out.apkg").resolve())) is True
    vocab = cards / "vocab.yaml"
    vocab.write_text(vocab.read_text().replace("Meaning: hello", "Meaning: hi"))
    guid = [guid_for("hola")]
    held, files = live.client().call("notesByGuid", guids=guid), file_hashes(cards)

    pushed = deckbuild("push", cards, "--collection", live.collection, "-o", tmp_path / "new.apkg")
    pulled = deckbuild("pull", cards, "--collection", live.collection)

    for result in (pushed, pulled):
        assert result.exit_code == 3, result.output
        assert "note types of its own (Gap, Vocab)" in result.stderr and "nothing was changed" in result.stderr
        assert "Traceback" not in result.output
    assert not (tmp_path / "new.apkg").exists()
    assert file_hashes(cards) == files
    assert live.client().call("notesByGuid", guids=guid) == held


def test_pull_dry_run_through_the_running_anki_reports_and_writes_nothing(imported, live, deckbuild):
    cards = imported()
    edit_in_anki(live, "microglia-first-line", Answer="They are its <strong>front line</strong>.")
    before = file_hashes(cards)

    result = deckbuild("pull", cards, "--collection", live.collection, "--dry-run", "--via", "anki")

    assert result.exit_code == 0, result.output
    assert "pulled microglia-first-line (answer)" in result.stdout and "dry run, nothing written" in result.stdout
    assert file_hashes(cards) == before
