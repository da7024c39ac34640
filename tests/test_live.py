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

    result = deckbuild("pull", cards, "--collection", live.collection)  # the file is locked: the live route

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

    assert result.exit_code == 0, result.output
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
