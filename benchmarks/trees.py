"""The seeded tree generator: a shape's cards tree from a fixed vocabulary, and the one answer warm runs edit."""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

from shapes import Shape

# Content words, most common first; drawn with Zipf-like weights so the text compresses like prose does.
_WORDS = """
cell brain pain nerve signal immune protein response system microglia neuron patient study blood spinal cord
inflammation fatigue sleep muscle memory symptom receptor tissue chronic disease cause level function change
activity stress body damage injury release central nervous syndrome therapy treatment drug dose effect risk
factor gene expression pathway region cortex network structure volume density marker evidence imaging scan
fluid barrier vessel glia astrocyte synapse axon dendrite myelin sheath cytokine chemokine antibody antigen
infection virus bacteria toxin defense repair growth death survival energy metabolism mitochondria oxygen
glucose hormone cortisol serotonin dopamine glutamate sensitivity threshold stimulus touch heat cold pressure
movement exercise rest recovery trial placebo outcome measure score scale questionnaire criteria diagnosis
onset duration severity frequency episode flare trigger relief management medication antidepressant
analgesic opioid anticonvulsant supplement diet weight age sex women men children adults population sample
control group cohort model mouse rat animal laboratory experiment result finding analysis data method
review article author journal clinic hospital doctor nurse research scientist theory hypothesis mechanism
process role link association correlation difference increase decrease balance state phase stage type form
part area layer surface membrane channel ion calcium sodium potassium charge current wave rhythm pattern
thalamus hippocampus amygdala hypothalamus cerebellum brainstem insula prefrontal connectivity plasticity
habituation sensitization allodynia hyperalgesia nociception perception attention cognition mood anxiety
depression fog headache migraine stiffness tenderness tender point widespread regional local systemic
acute persistent mild moderate severe early late normal abnormal active resting healthy affected primary
secondary common rare specific general central peripheral internal external small large high low long short
first second new old key main major minor clear unclear likely possible important different similar
protects detects clears releases triggers blocks reduces increases activates suppresses amplifies prunes
sends receives controls regulates measures shows suggests explains predicts links supports reveals limits
""".split()
_SMALL = ["the", "of", "in", "a", "to", "and", "by", "with", "for", "on", "from", "its", "their", "during"]
_ASK = ["What", "Which", "How", "Why", "Where", "When", "What does", "Which cells", "How does", "What is"]
_SURNAMES = ["Abraham", "Bennett", "Castillo", "Dellwo", "Eriksen", "Fujita", "Graeber", "Haddad", "Ivanova",
             "Jensen", "Kowalski", "Light", "Moreau", "Nakamura"]
_PUBLISHERS = ["Journal of Neuroscience", "Glia", "Pain", "Frontiers in Neurology", "Verywell Health",
               "Cleveland Clinic", "Nature Reviews Neuroscience", "The Lancet Neurology"]
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ,.;()'?-]*[A-Za-z0-9.?)]\Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class Tree:
    """A generated cards tree and the one answer line the warm runs edit."""

    root: Path
    items: int
    files: int
    qa: int
    clozes: int
    reversed: int
    cards: int
    edit_path: Path
    edit_line: int
    size: int


def _scalar(text: str) -> str:
    """A YAML scalar for text: plain where that is unambiguous, else double-quoted (JSON is valid YAML)."""
    if _PLAIN.match(text) and ": " not in text and " #" not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


class _Writer:
    """Seeded text for the tree: questions, answers, clozes, extras, quotes and ids from a fixed vocabulary."""

    def __init__(self, rng: random.Random, shape: Shape) -> None:
        self.rng = rng
        self.shape = shape
        self.words = _WORDS
        self.known = set(_WORDS)
        self.weights = [1 / (rank + 10) for rank in range(len(_WORDS))]
        self.tags = sorted({rng.choice(_WORDS[:120]) for _ in range(25)}
                           | {f"{rng.choice(_WORDS[:60])}::{rng.choice(_WORDS)}" for _ in range(10)})
        self.questions: set[str] = set()
        self.ids: set[str] = set()

    def phrase(self, count: int) -> list[str]:
        """`count` words, about one in four a small function word."""
        content = iter(self.rng.choices(self.words, weights=self.weights, k=count))
        return [self.rng.choice(_SMALL) if self.rng.random() < 0.25 else next(content) for _ in range(count)]

    def emphasise(self, words: list[str], *, mark: str) -> list[str]:
        """The words with one of them (not a function word) wrapped in `mark`."""
        spots = [i for i, w in enumerate(words) if w not in _SMALL] or [0]
        i = self.rng.choice(spots)
        return words[:i] + [f"{mark}{words[i]}{mark}"] + words[i + 1:]

    def question(self) -> tuple[str, list[str]]:
        """A question under 30 words with one '?', unique across the tree, and its content words."""
        while True:
            body = self.phrase(self.rng.randint(4, 20))
            if self.shape.markdown and self.rng.random() < 0.1:
                body = self.emphasise(body, mark="**")
            text = f"{self.rng.choice(_ASK)} {' '.join(body)}?"
            key = text.replace("*", "").casefold()  # as the duplicate-question lint compares them
            if key not in self.questions:
                self.questions.add(key)
                return text, [w.strip("*") for w in body if w.strip("*") in self.known]

    def answer(self) -> str:
        """An answer under 15 words, at most three comma-separated parts, never a bare yes/no."""
        words = self.phrase(self.rng.randint(*self.shape.answer_words))
        if self.shape.markdown and self.rng.random() < self.shape.emphasis:
            words = self.emphasise(words, mark="**")
        if len(words) > 5 and self.rng.random() < 0.3:
            words[2] += ","
        text = " ".join(words)
        return text[0].upper() + text[1:] + "."

    def cloze(self) -> str:
        """A cloze of 8 to 28 words with 1 to 3 deletions, each cN used once."""
        words = self.phrase(self.rng.randint(8, 28))
        count, starts = self.rng.randint(1, 3), []
        content = [i for i, word in enumerate(words) if word not in _SMALL] or [0]
        for i in self.rng.sample(content, k=len(content)):  # deletions start on content words, 3+ words apart
            if len(starts) < count and all(abs(i - j) >= 3 for j in starts):
                starts.append(i)
        starts.sort()
        for n, start in reversed(list(enumerate(starts, 1))):
            span = self.rng.randint(1, 2)
            words[start:start + span] = ["{{c%d::%s}}" % (n, " ".join(words[start:start + span]))]
        text = " ".join(words)
        return text[0].upper() + text[1:] + "."

    def extra(self) -> str:
        """A note under the answer, with Markdown emphasis and often a link."""
        shape = self.shape
        words = self.phrase(self.rng.randint(*shape.extra_words))
        if shape.markdown and self.rng.random() < shape.extra_emphasis:
            words = self.emphasise(words, mark="*")
        if shape.markdown and self.rng.random() < shape.link:
            target = self.rng.choice(self.words)
            at = self.rng.randrange(len(words))
            words.insert(at, f"(see [{target} {self.rng.choice(self.words)}](https://example.org/wiki/{target}))")
        text = " ".join(words)
        text = text[0].upper() + text[1:] + "."
        if shape.markdown and self.rng.random() < shape.lists:
            text += "\n\n" + "\n".join(f"- {' '.join(self.phrase(self.rng.randint(1, 4)))}"
                                        for _ in range(self.rng.randint(2, 4)))
        return text

    def quote(self) -> str:
        """A sentence quoted from the source, now and then with typographic punctuation."""
        words = self.phrase(self.rng.randint(*self.shape.quote_words))
        if self.rng.random() < 0.2:
            words[-1] += "’s role"
        if len(words) > 8 and self.rng.random() < 0.2:
            words[3] += " —"
        text = " ".join(words)
        return text[0].upper() + text[1:]

    def item_id(self, words: list[str]) -> str:
        """An id from a few content words, unique across the tree."""
        base = "-".join(list(dict.fromkeys(words))[:4] or [self.rng.choice(self.words)])
        candidate, n = base, 2
        while candidate in self.ids:
            candidate, n = f"{base}-{n}", n + 1
        self.ids.add(candidate)
        return candidate


def _sources(rng: random.Random, writer: _Writer) -> tuple[str, list[str]]:
    """sources.yaml with ten entries, and their keys."""
    keys, lines = [], ["# Generated by benchmarks/bench.py.", ""]
    for surname in rng.sample(_SURNAMES, 10):
        year = rng.randint(2005, 2024)
        key = f"{surname.lower()}-{year}"
        keys.append(key)
        title = " ".join(writer.phrase(rng.randint(4, 12)))
        lines += [f"{key}:", f"  title: {_scalar(title[0].upper() + title[1:])}",
                  f"  author: {surname} {rng.choice('ABCDEFGHJKLMNPRST')}, et al.",
                  f"  publisher: {_scalar(rng.choice(_PUBLISHERS))}",
                  f'  date: "{year}-{rng.randint(1, 12):02d}"']
        if rng.random() < 0.5:
            lines.append(f"  url: https://example.org/{key}")
        lines.append("")
    return "\n".join(lines), keys


def generate(*, root: Path, shape: Shape, seed: int) -> Tree:
    """Write a deterministic tree of the shape's items in its deck files under `root`."""
    items, files = shape.items, shape.files
    rng = random.Random(seed)
    writer = _Writer(rng, shape)
    root.mkdir(parents=True, exist_ok=True)
    text, keys = _sources(rng, writer)
    (root / "sources.yaml").write_text(text, encoding="utf-8")
    width = max(2, len(str(files)))
    counts = [items // files + (i < items % files) for i in range(files)]
    qa = clozes = reverse = cards = 0
    edit_path, edit_line, size = root, 0, len(text.encode())
    for number, count in enumerate(counts, 1):
        name = f"part-{number:0{width}d}.yaml"
        lines = [f"# Deck file {number} of {files}, generated by benchmarks/bench.py (seed {seed}).",
                 f"deck: Bench::Part {number:0{width}d}", "tags: [bench]", "cards:"]
        for index in range(count):
            source = rng.choice(keys) if rng.random() < 0.9 else rng.sample(keys, 2)
            tags = rng.sample(writer.tags, rng.choice((0, 1, 1, 2, 2, 3)))
            if rng.random() >= shape.cloze:
                question, content = writer.question()
                lines += [f"  - id: {writer.item_id(content)}", f"    question: {_scalar(question)}"]
                if not edit_line and number == (files + 1) // 2 and index >= count // 2:
                    edit_path, edit_line = root / name, len(lines) + 1
                lines.append(f"    answer: {_scalar(writer.answer())}")
                if rng.random() < shape.extra:
                    lines.append(f"    extra: {_scalar(writer.extra())}")
                qa += 1
                cards += 1
                if rng.random() < shape.reverse:
                    lines.append("    reverse: true")
                    reverse += 1
                    cards += 1
            else:
                cloze = writer.cloze()
                words = [w for w in re.sub(r"\{\{c\d+::|\}\}", " ", cloze).lower().split() if w in writer.known]
                lines += [f"  - id: {writer.item_id(words)}", f"    cloze: {json.dumps(cloze, ensure_ascii=False)}"]
                if rng.random() < shape.extra / 2:
                    lines.append(f"    extra: {_scalar(writer.extra())}")
                clozes += 1
                cards += len(re.findall(r"\{\{c\d+::", cloze))
            lines.append(f"    source: {source}" if isinstance(source, str) else f"    source: [{', '.join(source)}]")
            lines.append(f"    quote: {_scalar(writer.quote())}")
            if tags:
                lines.append(f"    tags: [{', '.join(tags)}]")
            lines.append("")
        data = ("\n".join(lines) + "\n").encode()
        (root / name).write_bytes(data)
        size += len(data)
    if not edit_line:
        raise SystemExit("the tree has no question/answer item in the middle of its middle file to edit; use more items")
    return Tree(root=root, items=items, files=files, qa=qa, clozes=clozes, reversed=reverse, cards=cards,
                edit_path=edit_path, edit_line=edit_line, size=size)


def edit_answer(tree: Tree, *, revision: int) -> None:
    """Change the one answer the warm runs edit, to a text no earlier run has built."""
    lines = tree.edit_path.read_text(encoding="utf-8").split("\n")
    assert lines[tree.edit_line - 1].startswith("    answer: "), lines[tree.edit_line - 1]
    lines[tree.edit_line - 1] = f"    answer: Revised answer number {revision}."
    # Saved as editors save: a new file moved over the old, so a watcher never reads half a file.
    temp = tree.edit_path.with_name(f".{tree.edit_path.name}.saving")
    temp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(temp, tree.edit_path)
