"""The progress bar: shown on a terminal once a build runs long, never in scripts or CI."""

from __future__ import annotations

import io

from builder.cli import ProgressBar


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_once_the_build_runs_long():
    stream = Terminal()
    bar = ProgressBar(stream, after=0)
    bar(5, 10)
    bar.close()
    assert "[###############               ] 5/10 files" in stream.getvalue()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_a_short_build_shows_nothing():
    stream = Terminal()
    bar = ProgressBar(stream, after=60)
    bar(5, 10)
    bar.close()
    assert stream.getvalue() == ""


def test_a_pipe_never_gets_a_bar():
    stream = io.StringIO()
    bar = ProgressBar(stream, after=0)
    bar(5, 10)
    bar.close()
    assert stream.getvalue() == ""


def test_the_build_reports_progress_per_compiled_file(write_tree, tmp_path):
    from builder.pipeline.build import build

    cards = write_tree({f"d{i}.yaml": f"deck: T\ncards:\n  - {{id: n{i}, question: Q{i}, answer: A, source: dellwo-2022}}\n"
                        for i in range(3)})
    seen: list[tuple[int, int]] = []
    build(cards_dir=cards, output=tmp_path / "o.apkg", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_the_command_line_stays_quiet_when_not_on_a_terminal(write_tree, deckbuild, tmp_path):
    result = deckbuild("build", write_tree(), "-o", tmp_path / "o.apkg")
    assert len(result.output.splitlines()) == 1
    assert "files" not in result.output and "\r" not in result.output
