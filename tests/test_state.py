"""The state file: validated at each item's line, read from version 1, and written with tombstones.

Bad state files go through the real CLI (the `rebuild` fixture checks that a failed build changed no
file); tombstones are checked against a real Anki collection.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from builder.cli import cli
from builder.pipeline.state import FILENAME, MAX_MOD, MAX_NID, PENDING, read_state, save_state
from conftest import log_counts
from test_bad_input import assert_problems, deck, problem_lines, rebuild  # noqa: F401 - rebuild is a fixture

STATE = f"cards/{FILENAME}"
_TMP = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # many small builds: quicker in memory


def state_lines(cards: Path) -> list[str]:
    return (cards / FILENAME).read_text().splitlines()


def items(cards: Path) -> dict[str, dict]:
    return json.loads((cards / FILENAME).read_text())["items"]


def edit_item(text: str, item_id: str, **values: object) -> str:
    """The state text with one item's fields set to raw JSON text (or removed, for None)."""
    lines = text.splitlines()
    for n, line in enumerate(lines):
        if line.startswith(f'  "{item_id}": '):
            key, _, body = line.partition(": ")
            comma = body.endswith(",")
            entry = json.loads(body.rstrip(","))
            raw = {k: json.dumps(v) for k, v in entry.items()}
            for name, value in values.items():
                if value is None:
                    raw.pop(name)
                else:
                    raw[name] = str(value)
            lines[n] = f"{key}: {{{', '.join(f'{json.dumps(k)}: {v}' for k, v in raw.items())}}}" + "," * comma
    return "\n".join(lines) + "\n"


# --- validation, one problem per line ------------------------------------------------------------------

# The good tree's state: line 4 is glia-means-glue (cloze), line 5 microglia-first-line (qa).
BAD_VALUES = [
    ("nid", "1.5", "nid must be a whole number"),
    ("nid", "true", "nid must be a whole number"),
    ("nid", "-5", "nid must be a whole number"),
    ("nid", "0", "nid must be a whole number"),
    ("nid", str(MAX_NID + 1), "nid must be a whole number"),
    ("nid", '"17"', "nid must be a whole number"),
    ("mod", str(10**30), "mod must be a whole number of seconds"),
    ("mod", "false", "mod must be a whole number of seconds"),
    ("mod", "1e9", "mod must be a whole number of seconds"),
    ("mod", str(MAX_MOD + 1), "mod must be a whole number of seconds"),
    ("kind", '"banana"', "kind must be 'qa' or 'cloze'"),
    ("hash", '"not-a-hash"', "hash must be 16 to 64 lowercase hex digits"),
    ("deck", '"A:: B"', "spaces around '::'"),
    ("deck", "7", "deck must be a deck name"),
    ("removed", "false", "removed must be true"),
    ("colour", '"red"', "unknown key 'colour'"),
    ("nid", None, "no nid"),
]


@pytest.mark.parametrize("key, value, words", BAD_VALUES, ids=[f"{k}={v}" for k, v, _ in BAD_VALUES])
def test_a_bad_value_in_the_state_file_is_an_error_at_its_line(rebuild, tmp_path, key, value, words):
    text = edit_item((tmp_path / STATE).read_text(), "microglia-first-line", **{key: value})
    result = rebuild({FILENAME: text})
    assert_problems(result, (f"{STATE}:5:", words))
    assert "microglia-first-line" in result.stderr


def test_every_state_problem_is_reported_with_the_content_errors(rebuild, tmp_path):
    text = (tmp_path / STATE).read_text()
    text = edit_item(text, "glia-means-glue", kind='"banana"')
    text = edit_item(text, "microglia-first-line", nid="true", mod=str(10**30))
    bad_deck = "deck: T\ncards:\n  - id: Bad_Id\n    question: Q\n    answer: A\n    source: dellwo-2022\n"
    result = rebuild({FILENAME: text, "other.yaml": bad_deck})
    assert_problems(result, ("cards/other.yaml:3:", "id 'Bad_Id'"),
                    (f"{STATE}:4:", "kind must be"),
                    (f"{STATE}:5:", "must be a whole number"))


def test_duplicate_note_ids_and_item_ids_are_errors(rebuild, tmp_path):
    lines = (tmp_path / STATE).read_text().splitlines()
    first_nid = json.loads(lines[3].partition(": ")[2].rstrip(","))["nid"]
    same = re.sub(r'"nid": \d+', f'"nid": {first_nid}', lines[4])
    lines[4:5] = [same + ",", same]  # microglia-first-line twice, on lines 5 and 6
    result = rebuild({FILENAME: "\n".join(lines) + "\n"})
    assert_problems(result, (f"{STATE}:5:", "already the note id of 'glia-means-glue' (line 4)"),
                    (f"{STATE}:6:", "'microglia-first-line' appears twice in the state file (also line 5)"))


@pytest.mark.parametrize("notetypes, words", [
    ('{"qa": {"hash": "00", "mod": 1}}', "note type 'qa' must be"),
    ('{"qa": {"hash": "0123456789abcdef", "mod": true}}', "note type 'qa' must be"),
    ('{"basic": {"hash": "0123456789abcdef", "mod": 1}}', "unknown note type 'basic'"),
])
def test_bad_note_types_in_the_state_file(rebuild, tmp_path, notetypes, words):
    text = re.sub(r'(?m)^ "notetypes": .*,$', f' "notetypes": {notetypes},', (tmp_path / STATE).read_text())
    assert_problems(rebuild({FILENAME: text}), (f"{STATE}:2:", words))


def test_a_state_file_from_a_newer_deckbuild_says_to_upgrade(rebuild, tmp_path):
    text = (tmp_path / STATE).read_text().replace('{"version": 2,', '{"version": 3,', 1)
    ((line),) = problem_lines(rebuild({FILENAME: text}))
    assert line == (f"{STATE}:1: state file was written by a newer deckbuild (state version 3; "
                    "this one reads up to 2): upgrade deckbuild")
    assert "corrupt" not in line and "layout" not in line


def test_a_version_1_state_file_is_read_and_rewritten_as_version_2(write_tree, deckbuild, tmp_path):
    cards = write_tree()
    out = tmp_path / "out.apkg"
    assert deckbuild("build", cards, "-o", out).exit_code == 0
    before = items(cards)
    (cards / FILENAME).write_text((cards / FILENAME).read_text().replace('"version": 2', '"version": 1'))
    result = deckbuild("build", cards, "-o", out)
    assert result.exit_code == 0, result.output
    assert "0 new, 0 changed, 2 unchanged, 0 removed" in result.output
    assert items(cards) == before and state_lines(cards)[0] == '{"version": 2,'


def test_version_1_has_no_tombstones(rebuild, tmp_path):
    text = (tmp_path / STATE).read_text().replace('"version": 2', '"version": 1')
    result = rebuild({FILENAME: edit_item(text, "glia-means-glue", removed="true")})
    assert_problems(result, (f"{STATE}:4:", "unknown key 'removed'"))


# --- tombstones ------------------------------------------------------------------------------------------


def test_a_removed_item_keeps_its_note_id_and_mod_when_restored(write_tree, deckbuild, anki, tmp_path, monkeypatch):
    both = deck("kept", "gone")
    cards = write_tree({"deck.yaml": both})
    out = tmp_path / "out.apkg"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert deckbuild("build", cards, "-o", out).exit_code == 0
    assert log_counts(anki.import_apkg(out))["new"] == 2
    first = items(cards)

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000100")
    write_tree({"deck.yaml": deck("kept")})
    removing = deckbuild("build", cards, "-o", out)
    assert "(0 new, 0 changed, 1 unchanged, 1 removed)" in removing.stdout
    assert [line for line in removing.stdout.splitlines() if line.startswith("removed:")] == [
        'removed: gone (was in T). Re-import never deletes notes: in Anki, Browse, search "Id:gone" and delete it.']
    assert items(cards)["gone"] == {**first["gone"], "removed": True}
    assert items(cards)["kept"] == first["kept"]

    again = deckbuild("build", cards, "-o", out)
    assert "(0 new, 0 changed, 1 unchanged, 0 removed)" in again.stdout
    assert "removed:" not in again.stdout
    assert items(cards)["gone"]["removed"] is True

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000200")
    write_tree({"deck.yaml": both})
    restoring = deckbuild("build", cards, "-o", out)
    assert "2 notes, 2 cards (0 new, 0 changed, 2 unchanged, 0 removed)" in restoring.stdout
    assert "restored: gone is back with the note id it had" in restoring.stdout
    assert items(cards) == first
    log = anki.import_apkg(out)
    assert log_counts(log) == {"new": 0, "updated": 0, "duplicate": 2, "conflicting": 0}
    notes = anki.notes()
    assert sorted(notes) == ["gone", "kept"]
    assert {key: (note.id, note.mod) for key, note in notes.items()} == {
        key: (entry["nid"], entry["mod"]) for key, entry in first.items()}


def test_a_restored_item_that_changed_keeps_its_note_id(write_tree, deckbuild, tmp_path, monkeypatch):
    cards = write_tree({"deck.yaml": deck("kept", "gone")})
    out = tmp_path / "out.apkg"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    deckbuild("build", cards, "-o", out)
    first = items(cards)["gone"]
    write_tree({"deck.yaml": deck("kept")})
    deckbuild("build", cards, "-o", out)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000500")
    write_tree({"deck.yaml": deck("kept", "gone").replace("A gone.", "A gone, reworded.")})
    result = deckbuild("build", cards, "-o", out)
    assert "(0 new, 1 changed, 1 unchanged, 0 removed)" in result.stdout
    assert items(cards)["gone"]["nid"] == first["nid"] and items(cards)["gone"]["mod"] == 1700000500
    assert "removed" not in items(cards)["gone"]


def test_a_new_item_never_takes_a_tombstones_note_id(write_tree, deckbuild, tmp_path, monkeypatch):
    cards = write_tree({"deck.yaml": deck("old")})
    out = tmp_path / "out.apkg"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    deckbuild("build", cards, "-o", out)
    write_tree({"deck.yaml": deck("new")})
    deckbuild("build", cards, "-o", out)  # same second: the new note's id must still differ
    state = items(cards)
    assert state["old"]["removed"] is True and state["new"]["nid"] != state["old"]["nid"]


# --- save_state, for commands that change the state alone ------------------------------------------------


def test_save_state_finishes_a_stopped_build_before_writing(write_tree, deckbuild, tmp_path):
    import hashlib

    cards = write_tree()
    out = tmp_path / "out.apkg"
    deckbuild("build", cards, "-o", out)
    state_text = (cards / FILENAME).read_text()
    # A build stopped between moving its package into place and writing its state leaves this:
    newer = edit_item(state_text, "glia-means-glue", mod="1700009999")
    record = json.dumps({"apkg": "../out.apkg", "sha256": hashlib.sha256(out.read_bytes()).hexdigest()})
    (cards / PENDING).write_text(f"{record}\n{newer}")
    state, problems = read_state(cards, shown=f"{cards}/{FILENAME}")
    assert problems == [] and state.items["glia-means-glue"].mod == 1700009999
    assert (cards / FILENAME).read_text() == state_text  # reading never writes
    save_state(cards, state)
    assert (cards / FILENAME).read_text() == newer and not (cards / PENDING).exists()

    # A pending state whose package never reached its place is dropped.
    record = json.dumps({"apkg": "../out.apkg", "sha256": "0" * 64})
    (cards / PENDING).write_text(f"{record}\n{state_text}")
    state, _ = read_state(cards, shown=f"{cards}/{FILENAME}")
    assert state.items["glia-means-glue"].mod == 1700009999
    save_state(cards, state)
    assert (cards / FILENAME).read_text() == newer and not (cards / PENDING).exists()


# --- any damage: a clean build or a clean error -----------------------------------------------------------

_VALUES = st.one_of(
    st.sampled_from([0, -1, 1, 1.5, True, False, None, "", "qa", "cloze", "banana", "A:: B", 2**31, 2**53, 10**30,
                     MAX_NID, MAX_MOD, MAX_MOD + 1, "0123456789abcdef", [], {}]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=6),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _serialize(top: list[list]) -> str:
    """A state file's text from [key, value] pairs (duplicates allowed), items one per line."""
    parts = []
    for key, value in top:
        if key == "items" and isinstance(value, list):
            body = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in value)
            parts.append(f'"items": {{\n{body}\n }}')
        else:
            parts.append(f"{json.dumps(key)}: {json.dumps(value)}")
    return "{" + ",\n ".join(parts) + "\n}\n"


@st.composite
def damaged(draw, base: dict) -> bytes:
    """A valid state file changed by one to three random edits, at JSON level or in its bytes."""
    items = [[key, dict(entry)] for key, entry in base["items"].items()]
    top = [["version", base["version"]], ["notetypes", base["notetypes"]], ["items", items]]
    garbage = None
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["set", "set", "drop-key", "drop-item", "twin-item", "copy-nid", "top",
                                       "bytes"]))
        live = top[2][1] if isinstance(top[2][1], list) and top[2][1] else None
        if action in ("set", "drop-key", "drop-item", "twin-item", "copy-nid") and live:
            key, entry = draw(st.sampled_from(live))
            if action == "set":
                entry[draw(st.sampled_from(["nid", "mod", "kind", "deck", "hash", "removed", "other"]))] = draw(_VALUES)
            elif action == "drop-key" and entry:
                entry.pop(draw(st.sampled_from(sorted(entry))))
            elif action == "drop-item":
                live.remove([key, entry])
            elif action == "twin-item":
                live.append([key, dict(entry)])
            else:
                entry["nid"] = draw(st.sampled_from(live))[1].get("nid")
        elif action == "top":
            slot = draw(st.integers(0, len(top) - 1)) if top else None
            if slot is not None:
                top[slot][1] = draw(_VALUES)
        elif action == "bytes":
            garbage = (draw(st.integers(0, 10_000)), draw(st.binary(min_size=1, max_size=4)))
    data = _serialize(top).encode()
    if garbage:
        at = garbage[0] % (len(data) + 1)
        data = data[:at] + garbage[1] + data[at:]
    return data


@pytest.fixture(scope="module")
def valid_tree(tmp_path_factory) -> tuple[dict[str, str], dict]:
    """A three-item tree's files and the state file its build writes."""
    files = {"sources.yaml": "dellwo-2022:\n  title: T\n", "deck.yaml": deck("a", "b", "c") + (
        "  - id: z\n    cloze: '{{c1::z}}'\n    source: dellwo-2022\n")}
    cards = tmp_path_factory.mktemp("valid") / "cards"
    cards.mkdir()
    for name, text in files.items():
        (cards / name).write_text(text)
    result = CliRunner().invoke(cli, ["build", str(cards), "-o", str(cards.parent / "out.apkg"),
                                      "--cache-dir", str(cards.parent / "cache")])  # never the user's cache
    assert result.exit_code == 0, result.output
    return files, json.loads((cards / FILENAME).read_text())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_state_file_gives_a_clean_build_or_a_clean_error(valid_tree, data):
    files, base = valid_tree
    state = data.draw(damaged(base))
    with tempfile.TemporaryDirectory(prefix="deckbuild-state-", dir=_TMP) as work:
        cards, out = Path(work) / "cards", Path(work) / "dist" / "out.apkg"
        cards.mkdir()
        for name, text in files.items():
            (cards / name).write_text(text)
        (cards / FILENAME).write_bytes(state)
        runner = CliRunner()
        result = runner.invoke(cli, ["build", str(cards), "-o", str(out)], catch_exceptions=False)
        assert "Traceback" not in result.output
        if result.exit_code == 0:
            event("built")
            written = (cards / FILENAME).read_bytes()
            again = runner.invoke(cli, ["build", str(cards), "-o", str(out)], catch_exceptions=False)
            assert again.exit_code == 0, again.output  # what a build writes, the next build reads
            assert (cards / FILENAME).read_bytes() == written
        else:
            event("refused")
            assert result.exit_code == 1, result.output
            *lines, last = result.stderr.splitlines()
            assert lines and last.endswith("nothing was written.")
            for line in lines:
                assert line.startswith(f"{cards}/{FILENAME}:") or line.startswith(f"{cards}/{PENDING}:"), line
                assert re.fullmatch(r"\S+:\d+: \S.*", line), line
            assert (cards / FILENAME).read_bytes() == state and not out.parent.exists()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_quick_reading_of_a_state_file_is_the_careful_one(valid_tree, data):
    from builder.pipeline.statecheck import parse_carefully, parse_state

    text = data.draw(damaged(valid_tree[1])).decode("utf-8", "replace")
    careful = parse_carefully(text, shown="s.json")
    event("good" if not careful.problems else "refused")
    assert parse_state(text, shown="s.json") == careful


def test_a_state_file_as_a_build_writes_it_is_read_quickly(rebuild, tmp_path):
    from builder.pipeline.statecheck import _written, parse_carefully

    text = (tmp_path / STATE).read_text()
    assert _written(text) is not None and _written(text) == parse_carefully(text, shown="s.json")
