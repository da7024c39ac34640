"""Bad input through the CLI: exit 1, one `path:line: message` per problem, no traceback, nothing written.

Each test builds a good tree first (so a real .apkg and state file exist), breaks it, builds again
and checks that the failed build reported every problem at the right line and changed no file.
The tests run from tmp_path and name the cards folder `cards`, so problems print as `cards/<file>:<line>:`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from conftest import DECK, SOURCES

CARD = """\
  - id: {id}
    question: Q {id}?
    answer: A {id}.
    source: dellwo-2022
"""


def deck(*ids: str, name: str = "T") -> str:
    """A valid deck file with one question per id; its first card's `id:` is on line 3, then every 4 lines."""
    return f"deck: {name}\ncards:\n" + "".join(CARD.format(id=i) for i in ids)


def snapshot(root: Path, *, skip: Path) -> dict[str, bytes]:
    """Every file under root (but not under skip) with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_relative_to(skip)}


def problem_lines(result) -> list[str]:
    """The reported `path:line: message` lines, checked against the closing count line."""
    *lines, last = result.stderr.splitlines()
    count = len(lines)
    assert last == f"{count} problem{'s' * (count != 1)}; nothing was written.", result.stderr
    for line in lines:
        assert re.fullmatch(r"\S+:\d+: \S.*", line), f"not `path:line: message`: {line!r}"
    return lines


def assert_problems(result, *expected: tuple[str, str]) -> None:
    """One reported line per (exact `path:line:` prefix, words in the message), and nothing else."""
    lines = problem_lines(result)
    for prefix, words in expected:
        hits = [line for line in lines if line.startswith(prefix + " ") and words in line]
        assert len(hits) == 1, f"expected one {prefix} ... {words!r} in:\n" + "\n".join(lines)
    assert len(lines) == len(expected), "\n".join(lines)


def assert_clean_failure(result, exit_code: int = 1) -> None:
    """The command failed with exit_code, and said so without a traceback."""
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.fixture
def rebuild(write_tree, deckbuild, tmp_path, private_cache, monkeypatch) -> Callable[..., object]:
    """Build the good tree, then `rebuild(files)` writes files over it and builds again.

    The second build must fail cleanly and leave every file (.apkg, state file, cards) as it was.
    """
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "dist" / "deck.apkg"
    cards = write_tree()
    assert deckbuild("build", "cards", "-o", out).exit_code == 0
    assert out.is_file() and (cards / "deckbuild-state.json").is_file()

    def run(files: dict[str, str | bytes], *, remove: tuple[str, ...] = (), exit_code: int = 1) -> object:
        write_tree(files, sources=None)
        for name in remove:
            (cards / name).unlink()
        before = snapshot(tmp_path, skip=private_cache.parent)
        assert {"dist/deck.apkg", "cards/deckbuild-state.json"} <= set(before)
        result = deckbuild("build", "cards", "-o", out)
        assert_clean_failure(result, exit_code)
        assert snapshot(tmp_path, skip=private_cache.parent) == before, "a failed build changed a file"
        return result

    return run


# --- usage errors: exit 2 ----------------------------------------------------------------------


def test_a_missing_cards_folder_is_a_usage_error(deckbuild, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command in ("build", "check"):
        result = deckbuild(command, "nope")
        assert_clean_failure(result, exit_code=2)
        assert result.stderr == "Error: cards folder 'nope' not found\n"
    assert not (tmp_path / "dist").exists() and not (tmp_path / "nope").exists()


def test_a_cards_folder_without_deck_files_is_a_usage_error(rebuild):
    result = rebuild({}, remove=("deck.yaml",), exit_code=2)
    assert "no deck files" in result.stderr


# --- YAML itself ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("deck: T\ncards:\n  - id: a\n    question: [unclosed\n    answer: x\n    source: dellwo-2022\n",
                 ("cards/deck.yaml:5:", "'[' list opened at line 4"), id="unclosed-bracket"),
    pytest.param("deck: T\ncards:\n  - id: a\n    question: What is it: a test?\n    answer: x\n",
                 ("cards/deck.yaml:4:", "put quotes around text that contains ': '"), id="colon-in-text"),
    pytest.param("deck: T\ncards:\n  - id: a\n    cloze: {{c1::glue}} holds\n    source: dellwo-2022\n",
                 ("cards/deck.yaml:4:", "a cloze must be quoted"), id="unquoted-cloze"),
    pytest.param("deck: T\ncards:\n  - id: a\n    question: q\n   answer: x\n",
                 ("cards/deck.yaml:5:", "indentation"), id="bad-indent"),
    pytest.param('deck: T\ncards:\n  - id: a\n    question: "never closed\n    answer: x\n',
                 ("cards/deck.yaml:6:", "quote opened at line 4 is never closed"), id="unclosed-quote"),
    pytest.param("deck: T\ncards: []\n---\ndeck: U\n",
                 ("cards/deck.yaml:3:", "remove this '---'"), id="two-documents"),
])
def test_a_yaml_syntax_error_is_reported_where_it_is(rebuild, text, expected):
    assert_problems(rebuild({"deck.yaml": text}), expected)


def test_tabs_in_indentation_are_each_reported(rebuild):
    text = "deck: T\ncards:\n  - id: a\n\tquestion: Q?\n    answer: A.\n\t  source: dellwo-2022\n"
    assert_problems(rebuild({"deck.yaml": text}),
                    ("cards/deck.yaml:4:", "tab in indentation"), ("cards/deck.yaml:6:", "tab in indentation"))


def test_a_tab_inside_a_block_of_text_is_text_not_indentation(write_tree, deckbuild, tmp_path):
    text = "deck: T\ncards:\n  - id: a\n    question: Q?\n    answer: |\n      code:\n      \tindented\n" \
           "    source: dellwo-2022\n"
    cards = write_tree({"deck.yaml": text})
    assert deckbuild("build", cards, "-o", tmp_path / "out.apkg").exit_code == 0


def test_a_duplicate_key_in_one_item_is_reported_with_the_rest_of_the_file(rebuild):
    text = deck("a", "b").replace("    answer: A a.\n", "    answer: A a.\n    question: Again?\n")
    text = text.replace("id: b", "id: Bad_B")
    assert_problems(rebuild({"deck.yaml": text}),
                    ("cards/deck.yaml:6:", "duplicate key 'question' (first at line 4)"),
                    ("cards/deck.yaml:8:", "id 'Bad_B'"))


def test_python_tags_are_refused_and_never_run(rebuild, tmp_path):
    ran = tmp_path / "payload-ran"
    payload = f'!!python/object/apply:builtins.open ["{ran.as_posix()}", "w"]'
    text = f"deck: T\ncards:\n  - id: a\n    question: {payload}\n    answer: !!python/name:os.system\n" \
           "    source: dellwo-2022\n"
    assert_problems(rebuild({"deck.yaml": text}),
                    ("cards/deck.yaml:4:", "YAML tag '!!python/object/apply:builtins.open' is not allowed"),
                    ("cards/deck.yaml:5:", "YAML tag '!!python/name:os.system' is not allowed"))
    assert not ran.exists()
    yaml.unsafe_load(payload).close()  # the same text, read unsafely, does run: the check above means something
    assert ran.exists()


def test_an_explicit_bool_that_is_not_one_is_refused(rebuild):
    text = deck("a").replace("    source:", "    reverse: !!bool maybe\n    source:")
    assert_problems(rebuild({"deck.yaml": text}), ("cards/deck.yaml:6:", "'maybe' is not true or false"))


def test_a_value_with_line_breaks_is_quoted_on_one_line(rebuild):
    text = deck("a").replace("    source:", '    tags: ["two\\nlines"]\n    source:')
    assert_problems(rebuild({"deck.yaml": text}), ("cards/deck.yaml:6:", "tag 'two\\nlines' must be one word"))


def test_a_billion_laughs_is_refused_without_expanding(rebuild):
    levels = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"lol{n}: &lol{n} [{', '.join([f'*lol{n - 1}'] * 9)}]" for n in range(1, 10)]
    text = "deck: T\n" + "\n".join(levels) + "\ncards: *lol9\n"  # 9 ** 10 "lol"s if expanded
    expected = [(f"cards/deck.yaml:{n}:", "YAML aliases (*lol") for n in range(3, 13)]
    assert_problems(rebuild({"deck.yaml": text}), *expected)


def test_nesting_too_deep_is_refused_without_a_crash(rebuild):
    text = "deck: T\ncards:\n  - id: a\n    question: " + "[" * 100_000 + "]" * 100_000 + "\n"
    # Which refuses it first depends on the YAML parser's version (PyYAML 6.0.4 caps nesting itself); what the
    # user gets must not: one problem at the line, exit 1, no traceback and nothing written (rebuild checks those).
    [line] = problem_lines(rebuild({"deck.yaml": text}))
    assert line.startswith("cards/deck.yaml:4: "), line
    assert "nested deeper than 64 levels" in line or "YAML syntax error" in line, line


@pytest.mark.parametrize("text", ["", "# nothing here yet\n\n", "---\n"], ids=["empty", "comments", "dashes"])
def test_an_empty_file_is_reported(rebuild, text):
    assert_problems(rebuild({"deck.yaml": text}), ("cards/deck.yaml:1:", "file is empty"))


def test_a_file_that_is_not_utf8_is_reported_on_each_bad_line(rebuild):
    text = deck("a", "b").encode().replace(b"Q a?", b"Qu\xe9 a?").replace(b"A b.", b"\xff\xfe b.")
    assert_problems(rebuild({"deck.yaml": text}),
                    ("cards/deck.yaml:4:", "not UTF-8 text (byte 0xe9); save the file as UTF-8"),
                    ("cards/deck.yaml:9:", "not UTF-8 text (byte 0xff)"))


def test_a_utf16_file_is_reported(rebuild):
    text = b"\xff\xfe" + deck("a").encode("utf-16-le")
    assert_problems(rebuild({"deck.yaml": text}), ("cards/deck.yaml:1:", "save it as UTF-8"))


def test_a_line_separator_in_text_does_not_shift_later_line_numbers(rebuild):
    text = deck("a", "B").replace("question: Q a?", 'question: "Q\u2028a?"')  # YAML counts U+2028 as a break
    assert_problems(rebuild({"deck.yaml": text}), ("cards/deck.yaml:7:", "id 'B'"))


def test_control_characters_are_reported_on_their_line(rebuild):
    text = deck("a").replace("A a.", "A\x00 a.")
    assert_problems(rebuild({"deck.yaml": text}), ("cards/deck.yaml:5:", "control character U+0000"))


# --- the card format -------------------------------------------------------------------------------


def test_missing_deck_and_cards_are_reported(rebuild):
    assert_problems(rebuild({"deck.yaml": "tags: [x]\n"}),
                    ("cards/deck.yaml:1:", "missing 'deck'"), ("cards/deck.yaml:1:", "missing 'cards'"))


def test_missing_item_keys_are_reported_on_the_item(rebuild):
    text = """\
        deck: T
        cards:
          - question: No id?
            answer: A.
            source: dellwo-2022
          - id: no-source
            question: Q?
            answer: A.
          - id: answer-only
            answer: A.
            source: dellwo-2022
          - id: question-only
            question: Q?
            source: dellwo-2022
          - id: nothing-to-ask
            source: dellwo-2022
        """
    assert_problems(rebuild({"deck.yaml": text}),
                    ("cards/deck.yaml:3:", "card has no 'id'; run `deckbuild ids`"),
                    ("cards/deck.yaml:6:", "card has no 'source'"),
                    ("cards/deck.yaml:10:", "an 'answer' but no 'question'"),
                    ("cards/deck.yaml:13:", "a 'question' but no 'answer'"),
                    ("cards/deck.yaml:15:", "needs 'question' and 'answer', or 'cloze'"))


def test_unknown_keys_suggest_the_key_meant(rebuild):
    text = """\
        deck: T
        tgas: [a]
        cards:
          - id: a
            quesiton: Q?
            answer: A.
            source: dellwo-2022
            colour: red
        """
    assert_problems(rebuild({"deck.yaml": text}),
                    ("cards/deck.yaml:2:", "unknown key 'tgas' in deck file; did you mean 'tags'?"),
                    ("cards/deck.yaml:5:", "unknown key 'quesiton' in card; did you mean 'question'?"),
                    ("cards/deck.yaml:8:", "unknown key 'colour' in card; the keys are id, question"))


def test_a_misspelt_required_key_is_reported_once(rebuild):
    text = "deck: T\ncrads:\n" + CARD.format(id="a")
    assert_problems(rebuild({"deck.yaml": text}), ("cards/deck.yaml:2:", "did you mean 'cards'?"))


def test_wrong_types_are_reported_on_their_key(rebuild):
    text = """\
        deck: [T]
        cards:
          - id: [a]
            question: {text: Q?}
            answer: A.
            source: []
            tags: {a: b}
            reverse: maybe
            allow: long-answr
          - just a string
        """
    assert_problems(rebuild({"deck.yaml": text}),
                    ("cards/deck.yaml:1:", "'deck' must be text"),
                    ("cards/deck.yaml:3:", "'id' must be text"),
                    ("cards/deck.yaml:4:", "'question' must be non-empty text"),
                    ("cards/deck.yaml:6:", "'source' must be a key of sources.yaml"),
                    ("cards/deck.yaml:7:", "'tags' must be a list of words"),
                    ("cards/deck.yaml:8:", "'reverse' must be true or false"),
                    ("cards/deck.yaml:9:", "'allow' must be a list"),
                    ("cards/deck.yaml:10:", "each card must be a mapping"))


def test_a_number_where_a_source_key_belongs_is_an_unknown_source(rebuild):
    text = deck("a").replace("source: dellwo-2022", "source: 5")
    assert_problems(rebuild({"deck.yaml": text}), ("cards/deck.yaml:6:", "unknown source '5'; add it to sources.yaml"))


def test_duplicate_ids_in_two_files_name_both_places(rebuild):
    assert_problems(rebuild({"a.yaml": deck("x", "same"), "sub/b.yaml": deck("same")}),
                    ("cards/sub/b.yaml:3:", "duplicate id 'same' (also at cards/a.yaml:7)"))


def test_an_unknown_source_suggests_the_one_meant(rebuild):
    text = deck("a").replace("source: dellwo-2022", "source: [other-2020, delwo-2022]")
    assert_problems(rebuild({"deck.yaml": text}),
                    ("cards/deck.yaml:6:", "unknown source 'delwo-2022'; did you mean 'dellwo-2022'?"))


def test_a_cloze_without_a_deletion_and_a_cloze_with_a_question(rebuild):
    text = """\
        deck: T
        cards:
          - id: no-deletion
            cloze: Microglia are the brain's immune cells.
            source: dellwo-2022
          - id: both
            question: Q?
            cloze: "{{c1::Microglia}} defend the brain."
            source: dellwo-2022
        """
    assert_problems(rebuild({"deck.yaml": text}),
                    ("cards/deck.yaml:4:", "cloze has no deletion; mark one like {{c1::answer}}"),
                    ("cards/deck.yaml:8:", "both 'cloze' and 'question'/'answer'"))


def test_bad_ids_are_reported(rebuild):
    text = deck("Bad_Id", "a--b", "-a", "ok")
    expected = "must be lowercase letters, digits and single '-' between them"
    assert_problems(rebuild({"deck.yaml": text}), ("cards/deck.yaml:3:", f"id 'Bad_Id' {expected}, like 'bad-id'"),
                    ("cards/deck.yaml:7:", f"id 'a--b' {expected}"), ("cards/deck.yaml:11:", f"id '-a' {expected}"))


@pytest.mark.parametrize(("name", "words"), [
    ("'A::'", "deck name 'A::' has an empty part"),
    ("'::A'", "deck name '::A' has an empty part"),
    ("'A:: B'", "deck name 'A:: B' has spaces around '::'; write 'A::B'"),
    ("A:: B", "YAML syntax error"),  # unquoted, `: ` makes it a mapping
])
def test_bad_deck_names_are_reported(rebuild, name, words):
    assert_problems(rebuild({"deck.yaml": deck("a", name=name)}), ("cards/deck.yaml:1:", words))


def test_tags_with_spaces_are_reported_on_their_line(rebuild):
    text = deck("a", "b").replace("cards:\n", "tags: ['two words']\ncards:\n", 1)
    text = text.replace("    answer: A a.\n", "    answer: A a.\n    tags: [ok, 'bad tag']\n")
    assert_problems(rebuild({"deck.yaml": text}),
                    ("cards/deck.yaml:2:", "tag 'two words' must be one word"),
                    ("cards/deck.yaml:7:", "tag 'bad tag' must be one word"))


# --- images ------------------------------------------------------------------------------------------


def test_images_missing_outside_the_tree_or_absolute_are_reported_at_their_field(rebuild, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not yours")
    text = f"""\
        deck: T
        cards:
          - id: missing
            question: Q?
            answer: "![x](images/nope.png)"
            source: dellwo-2022
          - id: outside
            question: Q?
            answer: |
              Some text first.

              ![x](../../secret.png)
            source: dellwo-2022
          - id: absolute
            question: Q?
            extra: '<img src="{secret.as_posix()}">'
            answer: "![x]({secret.as_posix()})"
            source: dellwo-2022
        """
    assert_problems(rebuild({"sub/deck.yaml": text}),
                    ("cards/sub/deck.yaml:5:", "image 'images/nope.png' not found"),
                    ("cards/sub/deck.yaml:9:", "image '../../secret.png' is outside the cards folder"),
                    ("cards/sub/deck.yaml:16:", f"image '{secret.as_posix()}' must be a path relative"),
                    ("cards/sub/deck.yaml:17:", f"image '{secret.as_posix()}' must be a path relative"))


# --- sources.yaml ------------------------------------------------------------------------------------


def test_a_sources_file_with_a_syntax_error(rebuild):
    broken = SOURCES.replace("title: Another Article", "title: [Another Article")
    assert_problems(rebuild({"sources.yaml": broken}), ("cards/sources.yaml:9:", "'[' list opened at line 8"))


def test_sources_without_titles_or_as_plain_text(rebuild):
    text = SOURCES + "no-title:\n  author: Someone\nempty-title:\n  title:\nplain: Just A Title\n"
    assert_problems(rebuild({"sources.yaml": text, "deck.yaml": deck("a").replace("dellwo-2022", "plain")}),
                    ("cards/sources.yaml:9:", "source 'no-title' has no title"),
                    ("cards/sources.yaml:12:", "source 'empty-title' has no title"),
                    ("cards/sources.yaml:13:", "source 'plain' must be a mapping"))


def test_a_sources_file_that_is_not_a_mapping(rebuild):
    result = rebuild({"sources.yaml": "- dellwo-2022\n- other-2020\n"})
    lines = problem_lines(result)
    assert sum(line.startswith("cards/sources.yaml:1: sources.yaml must map source keys") for line in lines) == 1
    # The cards are then checked against an empty bibliography (compile.py), which blames each citation too.
    assert all(line.startswith("cards/sources.yaml:1:") or "unknown source" in line for line in lines)


def test_a_missing_sources_file(rebuild):
    assert_problems(rebuild({}, remove=("sources.yaml",)), ("cards/sources.yaml:1:", "create sources.yaml"))


# --- the state file ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["{not json", '{"version": 1, "items": []}', "[]", ""])
def test_a_corrupt_state_file_stops_the_build(rebuild, text):
    result = rebuild({"deckbuild-state.json": text})
    ((line),) = problem_lines(result)
    assert line.startswith("cards/deckbuild-state.json:1: ")
    assert "restore it" in line and "delete it" in line


def test_a_corrupt_state_file_is_reported_with_the_content_errors(rebuild):
    deck = "deck: T\ncards:\n  - id: Bad_Id\n    question: Q\n    answer: A\n    source: dellwo-2022\n"
    result = rebuild({"deckbuild-state.json": "{not json", "deck.yaml": deck})
    prefixes = sorted(line.split(" ")[0] for line in problem_lines(result))
    assert prefixes == ["cards/deck.yaml:3:", "cards/deckbuild-state.json:1:"]


def test_check_validates_the_state_file_too(write_tree, deckbuild):
    cards = write_tree()
    (cards / "deckbuild-state.json").write_text("{not json")
    result = deckbuild("check", cards)
    assert result.exit_code == 1
    assert f"{cards}/deckbuild-state.json:1: state file is not valid JSON" in result.output


def test_a_tree_with_no_cards_says_so(write_tree, deckbuild):
    result = deckbuild("build", write_tree({"deck.yaml": "deck: T\ncards: []\n"}))
    assert result.exit_code == 2
    assert "the tree has no cards" in result.output
    assert "Traceback" not in result.output


# --- every problem in one run ------------------------------------------------------------------------


def test_every_problem_in_every_file_is_reported_in_one_run(rebuild):
    first = """\
        deck: 'A:: B'
        cards:
          - id: a
            quesiton: Q?
            answer: A.
            source: dellwo-2022
        """
    second = """\
        deck: T
        tags: [ok, 'not ok']
        cards:
          - id: b
            question: Q?
            answer: A.
            source: nobody-1999
          - id: c
            cloze: no deletion here
            source: dellwo-2022
        """
    sources = SOURCES + "untitled:\n  author: X\n"
    assert_problems(rebuild({"first.yaml": first, "second.yaml": second, "third.yaml": "deck: T\n\tcards: []\n",
                             "sources.yaml": sources}),
                    ("cards/first.yaml:1:", "spaces around '::'"),
                    ("cards/first.yaml:4:", "did you mean 'question'?"),
                    ("cards/second.yaml:2:", "tag 'not ok'"),
                    ("cards/second.yaml:7:", "unknown source 'nobody-1999'"),
                    ("cards/second.yaml:9:", "cloze has no deletion"),
                    ("cards/third.yaml:2:", "tab in indentation"),
                    ("cards/sources.yaml:9:", "source 'untitled' has no title"))


# --- check writes nothing ----------------------------------------------------------------------------


@pytest.mark.parametrize("good", [True, False], ids=["good", "bad"])
def test_check_writes_nothing(write_tree, deckbuild, tmp_path, private_cache, monkeypatch, good):
    monkeypatch.chdir(tmp_path)
    cards = write_tree(None if good else {"deck.yaml": DECK.replace("id: glia-means-glue", "id: Glia")})
    before = snapshot(tmp_path, skip=private_cache.parent)
    result = deckbuild("check", "cards")
    if good:
        assert result.exit_code == 0, result.output
        assert "2 notes" in result.stdout
    else:
        assert_clean_failure(result)
        assert_problems(result, ("cards/deck.yaml:10:", "id 'Glia'"))
    assert snapshot(tmp_path, skip=private_cache.parent) == before
    assert not (cards / "deckbuild-state.json").exists() and not (tmp_path / "dist").exists()


@pytest.mark.parametrize("cloze", ["'{{c1::brain}} and {{c2::spinal cord}'", "'{{c1::outer {{c2::inner}}'"])
def test_an_unclosed_cloze_deletion_is_refused(rebuild, cloze):
    deck = f"deck: T\ncards:\n  - id: open\n    cloze: {cloze}\n    source: dellwo-2022\n"
    result = rebuild({"deck.yaml": deck})
    assert "cards/deck.yaml:4: cloze deletion '{{c" in result.output
    assert "is never closed" in result.output


@pytest.mark.parametrize("deck, tag", [('"A\\x1fB"', "ok"), ("T", '"a\\x01b"')])
def test_control_characters_in_deck_names_and_tags_are_refused(rebuild, deck, tag):
    text = f"deck: {deck}\ncards:\n  - id: c\n    question: Q\n    answer: A\n    source: dellwo-2022\n    tags: [{tag}]\n"
    ((line),) = problem_lines(rebuild({"deck.yaml": text}))
    assert line.startswith(("cards/deck.yaml:1: deck name", "cards/deck.yaml:7: tag"))


def test_an_unquoted_yes_answer_says_to_quote_it(rebuild):
    deck = "deck: T\ncards:\n  - id: a\n    question: Is it?\n    answer: Yes\n    source: dellwo-2022\n"
    ((line),) = problem_lines(rebuild({"deck.yaml": deck}))
    assert line == ("cards/deck.yaml:5: 'answer' reads as the YAML flag true (yes/no/on/off/true/false); "
                    "put the words in quotes")
