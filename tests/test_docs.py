"""The docs hold: the command reference is the commands' own --help, and every relative link resolves."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def anchors(page: Path) -> set[str]:
    """The `#fragment`s a code-hosting site makes for a page's headings (GitHub's rule)."""
    found: set[str] = set()
    counts: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", FENCE.sub("", page.read_text(encoding="utf-8")), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        n = counts.get(slug, 0)
        counts[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def links(page: Path) -> list[tuple[int, str]]:
    """Every relative link in a page, outside code blocks, with its line number."""
    text = FENCE.sub(lambda m: "\n" * m[0].count("\n"), page.read_text(encoding="utf-8"))
    return [(text.count("\n", 0, m.start()) + 1, m[1]) for m in LINK.finditer(text)
            if not re.match(r"[a-z][a-z0-9+.-]*:", m[1])]


@pytest.mark.parametrize("page", [p for p in PAGES if p.exists()], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_and_anchor_resolves(page):
    broken = []
    for line, target in links(page):
        path, _, fragment = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists():
            broken.append(f"{page.name}:{line}: {target}: no such file")
        elif fragment and destination.suffix == ".md" and fragment not in anchors(destination):
            broken.append(f"{page.name}:{line}: {target}: no heading makes #{fragment}")
    assert not broken, "\n".join(broken)


def test_the_link_checker_sees_a_broken_link_and_a_broken_anchor(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title here\n\n[ok](#title-here) [bad](#nope) [gone](missing.md)\n```\n[code](x.md)\n```\n")
    assert links(page) == [(3, "#title-here"), (3, "#nope"), (3, "missing.md")]
    assert anchors(page) == {"title-here"}


def test_the_command_reference_is_generated_from_help_and_current():
    from cogapp import Cog

    sys.path.insert(0, str(ROOT / "docs"))
    try:
        status = Cog().main(["cog", "--check", "-I", str(ROOT / "docs"), str(ROOT / "docs" / "commands.md")])
    finally:
        sys.path.remove(str(ROOT / "docs"))
    assert status == 0, "docs/commands.md is stale: run `cog -r -I docs docs/commands.md`"


def test_every_command_help_carries_an_example():
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        from docs_help import help_text
    finally:
        sys.path.remove(str(ROOT / "docs"))
    from builder.cli import cli

    missing = [name for name in cli.commands if "Example" not in help_text(name)]
    assert not missing, f"no example in --help of: {missing}"
