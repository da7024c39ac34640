"""Benchmark deckbuild against a plain PyYAML + genanki floor on seeded trees of several shapes; prints Markdown tables.

Usage (from the repository root, with the project's virtual environment):

    python benchmarks/bench.py                       # every shape, each figure the median of 3 runs
    python benchmarks/bench.py --shape plain,one-file  # a subset of the shapes
    python benchmarks/bench.py --quick               # every shape at 1/25 of its size, 1 run: seconds
    python benchmarks/bench.py --floor TREE OUT      # only the floor: parse TREE, write OUT with genanki
    python benchmarks/bench.py --shape lived-in --baseline REV  # diff/pull/push in a lived-in collection,
                                                     # against REV's builder too (its figures, same output)

The `lived-in` shape is not a tree shape: `benchmarks/livedin.py` builds a 5,000-item deck into seeded
Anki collections of 10,000 and 100,000 other notes and times the collection commands against Anki's
own import of the same package (`collection_benchmark`).

A shape is a `Shape`: the generator's knobs (items, files, how much Markdown, how long the texts are).
To add one, add an entry to `SHAPES`.

Every figure is one whole process, started the way a user starts it (`python -m builder ...`), so it
includes interpreter start-up and imports. Wall time is `time.perf_counter` around the child; peak
memory is the child's own `ru_maxrss`, read from `os.wait4` when it is reaped (exact per run, no
wrapper process, no dependency on /usr/bin/time).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QUICK_SCALE = 25  # --quick divides every shape's items (and files, where that keeps files' sizes) by this
STATE = "deckbuild-state.json"

# The budgets: times as a multiple of the floor's, memory in MB, size as a multiple of genanki's.
# A one-item edit in a tree of one huge file has its own budget: the file must be read again.
COLD, WARM, CHECK, WATCH, ONE_FILE_EDIT, MEMORY_MB, SIZE = 1.0, 0.35, 0.25, 0.2, 1.0, 300, 0.25
ONE_FILE_MEMORY_MB = 500  # the single 100,000-item file's own memory budget


@dataclass(frozen=True, slots=True, kw_only=True)
class Shape:
    """The generator's knobs: one seeded tree's size, layout and text."""

    name: str
    about: str
    items: int = 50_000
    files: int = 100
    cloze: float = 0.3  # share of items that are clozes
    reverse: float = 0.2  # share of question/answer items with a reverse card
    extra: float = 0.6  # share of question/answer items with an extra (clozes: half this)
    markdown: bool = True  # emphasis, links and lists at the rates below; False: plain text only
    emphasis: float = 0.3  # share of answers with **bold**
    extra_emphasis: float = 0.7  # share of extras with *emphasis*
    link: float = 0.5  # share of extras with a Markdown link
    lists: float = 0.0  # share of extras that end with a short Markdown list
    extra_words: tuple[int, int] = (8, 24)
    quote_words: tuple[int, int] = (6, 20)
    answer_words: tuple[int, int] = (2, 11)

    def scaled(self, divisor: int) -> "Shape":
        """The same shape with 1/divisor of the items (files too, unless that would change their size)."""
        files = self.files if self.files == 1 else max(1, self.files // divisor)
        if self.items // self.files <= 50:  # many small files: keep each file's size
            files = max(1, self.files // divisor)
        return replace(self, items=max(self.items // divisor, files), files=files)


SHAPES = {shape.name: shape for shape in (
    Shape(name="plain", about="short plain-text question/answer items and clozes, no Markdown",
          markdown=False, extra=0.3, quote_words=(4, 10)),
    Shape(name="markdown-heavy", about="emphasis in most answers, links and lists in extras",
          emphasis=0.8, extra=0.8, extra_emphasis=0.9, link=0.6, lists=0.3),
    Shape(name="long", about="paragraph-length extras, long quotes",
          extra=0.9, extra_words=(60, 160), quote_words=(30, 80)),
    Shape(name="one-file", about="100,000 items in a single file", items=100_000, files=1),
    Shape(name="many-files", about="50,000 items in 2,000 files of 25", files=2_000),
)}

LIVED_IN = "lived-in"  # the collection commands' shape (benchmarks/livedin.py), not a tree shape

# Floor note type ids, chosen once at random.
FLOOR_BASIC_ID = 1_607_392_319
FLOOR_CLOZE_ID = 1_607_392_320


# --- the synthetic tree -----------------------------------------------------------------------------------

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


# --- the floor: the least any tool must do -------------------------------------------------------------------

def floor(tree: Path, output: Path) -> None:
    """Parse every file with libyaml and write the same notes with plain genanki; print the counts."""
    import hashlib

    import genanki
    import yaml

    basic = genanki.Model(
        FLOOR_BASIC_ID, "Floor Basic (optional reversed card)",
        fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Reverse"}],
        templates=[
            {"name": "Card 1", "qfmt": "{{Front}}", "afmt": "{{FrontSide}}<hr id=answer>{{Back}}"},
            {"name": "Card 2", "qfmt": "{{#Reverse}}{{Back}}{{/Reverse}}",
             "afmt": "{{FrontSide}}<hr id=answer>{{Front}}"},
        ],
    )
    cloze = genanki.Model(
        FLOOR_CLOZE_ID, "Floor Cloze",
        fields=[{"name": "Text"}, {"name": "Back Extra"}],
        templates=[{"name": "Cloze", "qfmt": "{{cloze:Text}}", "afmt": "{{cloze:Text}}<br>{{Back Extra}}"}],
        model_type=genanki.Model.CLOZE,
    )
    sources = yaml.load((tree / "sources.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    decks: dict[str, genanki.Deck] = {}
    notes = cards = 0
    for path in sorted(tree.glob("*.yaml")):
        if path.name == "sources.yaml":
            continue
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        name = doc["deck"]
        if name not in decks:
            decks[name] = genanki.Deck(int.from_bytes(hashlib.sha256(name.encode()).digest()[:6], "big"), name)
        for item in doc["cards"]:
            keys = [item["source"]] if isinstance(item["source"], str) else item["source"]
            cited = "<br>".join(f"{sources[k].get('author', '')} <i>{sources[k]['title']}</i>" for k in keys)
            back = "<br>".join(part for part in (item.get("extra"), cited, item.get("quote")) if part)
            tags = list(doc.get("tags") or []) + list(item.get("tags") or [])
            if "cloze" in item:
                note = genanki.Note(model=cloze, fields=[item["cloze"], back], guid=genanki.guid_for(item["id"]),
                                    tags=tags)
            else:
                note = genanki.Note(model=basic, fields=[item["question"], f"{item['answer']}<br>{back}",
                                                         "y" if item.get("reverse") else ""],
                                    guid=genanki.guid_for(item["id"]), tags=tags)
            decks[name].add_note(note)
            notes += 1
            cards += len(note.cards)
    genanki.Package(list(decks.values())).write_to_file(str(output))
    print(f"{notes} notes, {cards} cards → {output}")


# --- measuring ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One finished child process: its wall time, CPU time, peak resident memory and output."""

    seconds: float
    cpu: float
    peak_rss: int
    stdout: str


class Launcher:
    """A small process, started before the benchmark's own memory grows, that starts every measured command.

    The peak RSS the kernel reports for a child includes its parent's resident memory at the fork, so
    no command is started from the benchmark itself, which holds the generated trees: each is started
    from this process, whose own few megabytes are all a figure can carry.
    """

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--launcher"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def start(self, argv: list[str], *, env: dict[str, str], out: Path) -> int:
        """Start a command with its output to a file; its process id."""
        self.process.stdin.write(json.dumps({"argv": argv, "env": env, "cwd": str(REPO), "out": str(out)}) + "\n")
        return json.loads(self.process.stdout.readline())["pid"]

    def finish(self) -> dict:
        """Wait for the command started last: its exit code, wall and CPU seconds, and peak RSS in bytes."""
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        """Stop the launcher."""
        self.process.stdin.close()
        self.process.wait()


def launcher() -> None:
    """The launcher's side: start each requested command, report its pid, then how it ran."""
    for line in sys.stdin:
        request = json.loads(line)
        with open(request["out"], "wb") as out:
            start = time.perf_counter()
            child = subprocess.Popen(request["argv"], stdout=out, stderr=subprocess.STDOUT, env=request["env"],
                                     cwd=request["cwd"])
            print(json.dumps({"pid": child.pid}), flush=True)
            _, status, usage = os.wait4(child.pid, 0)
            seconds = time.perf_counter() - start
        # Linux reports kilobytes (KiB); macOS reports bytes.
        peak = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
        print(json.dumps({"code": os.waitstatus_to_exitcode(status), "seconds": seconds,
                          "cpu": usage.ru_utime + usage.ru_stime, "peak": peak}), flush=True)


_LAUNCHER: Launcher | None = None  # started by main() before any tree is generated


def measure(argv: list[str], *, env: dict[str, str]) -> Run:
    """Run one command to completion: its wall time, and its CPU time and peak RSS as the kernel reports them."""
    assert _LAUNCHER is not None
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out"
        _LAUNCHER.start(argv, env=env, out=out)
        done = _LAUNCHER.finish()
        output = out.read_bytes().decode(errors="replace")
    if done["code"] != 0:
        tail = "\n".join(output.strip().splitlines()[-20:])
        raise SystemExit(f"`{' '.join(argv)}` exited {done['code']}:\n{tail}")
    return Run(seconds=done["seconds"], cpu=done["cpu"], peak_rss=done["peak"], stdout=output)


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    """The runs of one measurement."""

    label: str
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        """The median wall time in seconds."""
        return statistics.median(run.seconds for run in self.runs)

    @property
    def cpu(self) -> float:
        """The median CPU time (user + system) in seconds."""
        return statistics.median(run.cpu for run in self.runs)

    @property
    def peak(self) -> int:
        """The largest peak RSS over the runs, in bytes."""
        return max(run.peak_rss for run in self.runs)

    def spread(self) -> str:
        """The fastest and slowest run, when there was more than one."""
        times = sorted(run.seconds for run in self.runs)
        return f"{times[0]:.2f}–{times[-1]:.2f}" if len(times) > 1 else "—"


_SUMMARY = re.compile(r"(\d+) notes, (\d+) cards \((\d+) new, (\d+) changed")
_CHECKED = re.compile(r"(\d+) notes checked, (\d+) warnings?")


def verify(run: Run, *, what: str, tree: Tree, notes: list[str], new: int | None = None,
           changed: int | None = None) -> None:
    """Note anything in a run's output that says it did not do the work being timed."""
    if what == "check":
        found = _CHECKED.search(run.stdout)
        if not found:
            notes.append("check: could not read its summary line; its work was not verified")
        elif int(found.group(1)) != tree.items:
            notes.append(f"check: checked {found.group(1)} notes, expected {tree.items}")
        elif int(found.group(2)):
            notes.append(f"check: {found.group(2)} lint warnings on the generated tree (printing them is timed)")
        return
    found = _SUMMARY.search(run.stdout) if what == "build" else re.search(r"(\d+) notes, (\d+) cards", run.stdout)
    if not found:
        notes.append(f"{what}: could not read its summary line; its work was not verified")
        return
    if (int(found.group(1)), int(found.group(2))) != (tree.items, tree.cards):
        notes.append(f"{what}: wrote {found.group(1)} notes / {found.group(2)} cards, "
                     f"expected {tree.items} / {tree.cards}")
    if what == "build" and (int(found.group(3)), int(found.group(4))) != (new, changed):
        notes.append(f"build: reported {found.group(3)} new / {found.group(4)} changed, expected {new} / {changed}")


def _note_once(notes: list[str], message: str) -> None:
    """Add a message to the notes unless an earlier run already added it."""
    if message not in notes:
        notes.append(message)


def _cpu_of(pid: int) -> float:
    """A live process's CPU seconds so far (user + system, all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_watch(argv: list[str], *, env: dict[str, str], tree: Tree, output: Path, revision: int) -> Run:
    """Start `watch`, let it build, save a one-answer edit, and time until the new .apkg is in place."""
    import signal

    assert _LAUNCHER is not None
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out"
        pid = _LAUNCHER.start(argv, env=env, out=out)
        seen = 0

        def next_summary() -> str:
            nonlocal seen
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                text = out.read_bytes().decode(errors="replace") if out.exists() else ""
                lines = text[seen:].splitlines(keepends=True)
                for i, line in enumerate(lines):
                    if line.endswith("\n") and (_SUMMARY.search(line) or "nothing was written" in line):
                        found = "".join(lines[:i + 1])
                        seen += len(found)
                        return found
                time.sleep(0.005)
            os.kill(pid, signal.SIGKILL)
            raise SystemExit(f"`{' '.join(argv)}` printed no summary in 10 minutes:\n{text}")

        next_summary()  # the build at start
        time.sleep(0.5)  # let the watcher settle, as a person would before the next save
        inode, cpu = output.stat().st_ino, _cpu_of(pid)
        start = time.perf_counter()
        edit_answer(tree, revision=revision)
        text = next_summary()
        seconds = time.perf_counter() - start
        used = _cpu_of(pid) - cpu
        replaced = output.stat().st_ino != inode
        os.kill(pid, signal.SIGINT)
        done = _LAUNCHER.finish()
    if not replaced:
        text += "\n(the .apkg was not replaced)"
    return Run(seconds=seconds, cpu=used, peak_rss=done["peak"], stdout=text)


def same_bytes(deckbuild: list[str], *, tree: Tree, state: bytes, built: Path, env: dict[str, str],
               notes: list[str]) -> None:
    """Note it unless the warm build's .apkg is byte for byte what a build without the cache makes (untimed)."""
    after = (tree.root / STATE).read_bytes()
    (tree.root / STATE).write_bytes(state)  # the state the warm build started from
    afresh = built.with_name("afresh.apkg")
    measure(deckbuild + ["build", str(tree.root), "-o", str(afresh), "--no-cache"], env=env)
    if afresh.read_bytes() != built.read_bytes() or (tree.root / STATE).read_bytes() != after:
        notes.append("build: the warm build's .apkg or state differs from a build without the cache")
    (tree.root / STATE).write_bytes(after)
    afresh.unlink()


def benchmark(*, tree: Tree, work: Path, repeat: int) -> tuple[dict[str, Series], dict[str, int], list[str]]:
    """Run floor, cold, warm, check and watch `repeat` times each, interleaved; the series, .apkg sizes and notes."""
    # genanki leaves its temporary database in TMPDIR: keep it inside the work folder, which is removed.
    # A fixed build time: the warm build's .apkg is compared with one built afresh (`same_bytes`).
    base = dict(os.environ, TMPDIR=str(work / "tmp"), SOURCE_DATE_EPOCH="1700000000")
    base.pop("PYTHONDONTWRITEBYTECODE", None)  # every run would recompile the builder otherwise
    (work / "tmp").mkdir(exist_ok=True)
    deckbuild = [sys.executable, "-m", "builder"]
    floor_apkg, deck_apkg = work / "floor.apkg", work / "deckbuild.apkg"
    series = {key: Series(label=key) for key in ("floor", "cold", "warm", "check", "watch")}
    notes: list[str] = []
    # Unmeasured warm-up: byte-compile and page in the interpreter, the builder and genanki.
    measure(deckbuild + ["--version"], env=base)
    measure([sys.executable, "-c", "import genanki, yaml, builder.cli"], env=base)

    def record(key: str, run: Run, revision: int) -> None:
        series[key].runs.append(run)
        print(f"  {key:<12} run {revision}/{repeat}: {run.seconds:7.2f} s wall {run.cpu:7.2f} s CPU "
              f"{run.peak_rss / 1e6:7.1f} MB",
              file=sys.stderr, flush=True)

    for revision in range(1, repeat + 1):
        floor_apkg.unlink(missing_ok=True)
        run = measure([sys.executable, str(Path(__file__).resolve()), "--floor", str(tree.root), str(floor_apkg)],
                      env=base)
        found: list[str] = []
        verify(run, what="floor", tree=tree, notes=found)
        record("floor", run, revision)

        cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
        env = dict(base, XDG_CACHE_HOME=str(cache))
        (tree.root / STATE).unlink(missing_ok=True)
        deck_apkg.unlink(missing_ok=True)
        run = measure(deckbuild + ["build", str(tree.root), "-o", str(deck_apkg)], env=env)
        verify(run, what="build", tree=tree, notes=found, new=tree.items, changed=0)
        record("cold", run, revision)

        edit_answer(tree, revision=revision)
        state = (tree.root / STATE).read_bytes()
        run = measure(deckbuild + ["build", str(tree.root), "-o", str(deck_apkg)], env=env)
        verify(run, what="build", tree=tree, notes=found, new=0, changed=1)
        record("warm", run, revision)
        if revision == 1:
            same_bytes(deckbuild, tree=tree, state=state, built=deck_apkg, env=env, notes=found)

        run = measure(deckbuild + ["check", str(tree.root)], env=env)
        verify(run, what="check", tree=tree, notes=found)
        record("check", run, revision)

        run = measure_watch(deckbuild + ["watch", str(tree.root), "-o", str(deck_apkg)], env=env, tree=tree,
                            output=deck_apkg, revision=1000 + revision)
        verify(run, what="build", tree=tree, notes=found, new=0, changed=1)
        if "not replaced" in run.stdout:
            found.append("watch: the .apkg was not replaced after the edit")
        record("watch", run, revision)
        shutil.rmtree(cache)
        for message in found:
            _note_once(notes, message)
    sizes = {"floor": floor_apkg.stat().st_size, "deckbuild": deck_apkg.stat().st_size}
    return series, sizes, notes


# --- the lived-in collection: diff, pull and push against the Anki-import floor ------------------------------

def collection_benchmark(*, work: Path, repeat: int, seed: int, quick: bool,
                         baseline: str | None) -> tuple[list[str], bool, list[str], list[Run]]:
    """Time diff, pull and push on a deck inside lived-in collections of two sizes; the table, verdict, notes, runs.

    With `baseline` (a git revision), the same commands also run with that revision's builder, to show
    the figures before and to check that each command's output is the same.
    """
    import livedin

    divisor = QUICK_SCALE if quick else 1
    sizes = tuple(size // divisor for size in livedin.SIZES)
    shape = replace(SHAPES["plain"], items=livedin.DECK_ITEMS // divisor, files=livedin.DECK_FILES)
    tree = generate(root=work / "cards", shape=shape, seed=seed)
    epoch = int(time.time()) - 3600  # every build stamps this time: runs of both versions give the same bytes
    base = dict(os.environ, TMPDIR=str(work / "tmp"), SOURCE_DATE_EPOCH=str(epoch))
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    (work / "tmp").mkdir(exist_ok=True)
    versions = {"after": ([sys.executable, "-m", "builder"], dict(base, XDG_CACHE_HOME=str(work / "cache")))}
    if baseline:
        export = work / "baseline"
        export.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", baseline, "builder"], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(export)], input=archive, check=True)
        versions["before"] = ([sys.executable, "-P", "-m", "builder"],
                              dict(base, XDG_CACHE_HOME=str(work / "cache-before"), PYTHONPATH=str(export)))
    for prefix, env in versions.values():  # unmeasured warm-up
        measure(prefix + ["--version"], env=env)

    def build(apkg: Path) -> None:
        for prefix, env in versions.values():  # each version's cache warm, as after the user's last build
            measure(prefix + ["build", str(tree.root), "-o", str(apkg)], env=env)

    print(f"lived-in: building collections of {', '.join(f'{n:,}' for n in sizes)} other notes ...", file=sys.stderr,
          flush=True)
    setup = livedin.prepare(work=work, tree=tree, build=build, sizes=sizes, seed=seed, epoch=epoch)
    series: dict[tuple[str, int, str], Series] = {}
    outputs: dict[tuple[str, int, str], str] = {}
    run_dir = work / "run"
    for revision in range(1, repeat + 1):
        for size in sizes:
            cards, collection = livedin.fresh(setup, size=size, key="floor", run=run_dir)
            run = measure([sys.executable, str(Path(__file__).resolve()), "--anki-floor", str(collection),
                           str(setup.apkg)], env=base)
            series.setdefault(("floor", size, "floor"), Series(label="floor")).runs.append(run)
            print(f"  {size:>7,} floor        run {revision}: {run.seconds:6.2f} s {run.cpu:6.2f} s CPU", file=sys.stderr,
                  flush=True)
            for key in livedin.COMMANDS:
                for version, (prefix, env) in versions.items():
                    cards, collection = livedin.fresh(setup, size=size, key=key, run=run_dir)
                    argv = prefix + [key.split("-")[0], str(cards), "--collection", str(collection)]
                    if key.startswith("push"):
                        edit_answer(replace(tree, root=cards, edit_path=cards / tree.edit_path.relative_to(tree.root)),
                                    revision=revision)
                        argv += ["-o", str(run_dir / "out.apkg")]
                    run = measure(argv, env=env)
                    series.setdefault((version, size, key), Series(label=key)).runs.append(run)
                    outputs[(version, size, key)] = livedin.outcome(key, stdout=run.stdout, cards=cards,
                                                                    collection=collection, run=run_dir)
                    print(f"  {size:>7,} {key:<12} {version:<6} run {revision}: {run.seconds:6.2f} s "
                          f"{run.cpu:6.2f} s CPU {run.peak_rss / 1e6:6.1f} MB", file=sys.stderr, flush=True)
    shutil.rmtree(run_dir, ignore_errors=True)
    notes = []
    if baseline:
        for (version, size, key), text in sorted(outputs.items()):
            if version == "after" and outputs.get(("before", size, key)) != text:
                notes.append(f"lived-in: {key} at {size:,} other notes: the output differs from {baseline}'s:\n"
                             f"    before: {outputs.get(('before', size, key))!r}\n    after:  {text!r}")
        if not notes:
            notes.append(f"lived-in: every command's output (its lines but the backup line, the tree's files, and "
                         f"after a push the deck's notes, cards and reviews in Anki) is the same as {baseline}'s")
    lines, passed = collection_table(series=series, sizes=sizes, baseline=baseline, repeat=repeat)
    counts = ", ".join(f"{c['notes']:,} notes / {c['cards']:,} cards / {c['revlog']:,} reviews / {_mb(c['bytes'])}"
                       for c in setup.counts.values())
    about = [f"{tree.items:,} items ({tree.qa:,} question/answer, {tree.clozes:,} clozes; {tree.cards:,} cards) in "
             f"{tree.files} files, imported and studied, inside collections of {counts} (seed {seed})", ""]
    runs = [run for one in series.values() for run in one.runs]
    return about + lines, passed, notes, runs


def collection_table(*, series: dict, sizes: tuple[int, ...], baseline: str | None,
                     repeat: int) -> tuple[list[str], bool]:
    """The lived-in collection's table: per command and size, wall and CPU against the floor's, and the budgets."""
    import livedin

    passed = True
    runs = "median" if repeat == 1 else f"median of {repeat}"
    lines = [f"| command | other notes | seconds ({runs}) | CPU s | × floor (wall) | × floor (CPU) | budget | result | "
             f"peak RSS |" + (" before: seconds | before: × floor (wall / CPU) |" if baseline else ""),
             "|---|---:|---:|---:|---:|---:|---|---|---:|" + ("---:|---:|" if baseline else "")]
    for size in sizes:
        floor = series[("floor", size, "floor")]
        lines.append(f"| floor: open + import the unchanged .apkg | {size:,} | {floor.median:.2f} | {floor.cpu:.2f} | "
                     f"1.00× | 1.00× | — | — | {_mb(floor.peak)} |" + (" | |" if baseline else ""))
    for key, (label, limit) in livedin.COMMANDS.items():
        ratios = {}
        for size in sizes:
            floor, one = series[("floor", size, "floor")], series[("after", size, key)]
            wall, cpu = one.median / floor.median, one.cpu / floor.cpu
            ratios[size] = (wall, cpu)
            if limit is None:
                result = "—"
            else:
                result = "PASS" if wall <= limit else "PASS on CPU only" if cpu <= limit else "FAIL"
                passed = passed and result != "FAIL"
            memory = "PASS" if one.peak <= MEMORY_MB * 1e6 else "FAIL"
            passed = passed and memory == "PASS"
            row = (f"| {label} | {size:,} | {one.median:.2f} | {one.cpu:.2f} | {wall:.2f}× | {cpu:.2f}× | "
                   f"{f'≤ {limit:g}×' if limit else '—'} | {result} | {_mb(one.peak)} ({memory}) |")
            if baseline:
                before = series[("before", size, key)]
                row += (f" {before.median:.2f} | {before.median / floor.median:.2f}× / "
                        f"{before.cpu / floor.cpu:.2f}× |")
            lines.append(row)
        if len(sizes) == 2 and limit is not None:
            (w1, c1), (w2, c2) = ratios.values()
            within = [abs(a - b) / min(a, b) <= livedin.SPREAD for a, b in ((w1, w2), (c1, c2))]
            verdict = "PASS" if within[0] else "PASS on CPU only" if within[1] else "FAIL"
            passed = passed and verdict != "FAIL"
            lines.append(f"| {label}: the two sizes within 20 % | | | | {abs(w1 - w2) / min(w1, w2):.0%} | "
                         f"{abs(c1 - c2) / min(c1, c2):.0%} | ≤ 20 % | {verdict} | |" + (" | |" if baseline else ""))
    return lines, passed


# --- reporting ---------------------------------------------------------------------------------------------

def _version(name: str) -> str:
    """An installed distribution's version, or 'not installed'."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _cpu() -> str:
    """The CPU model, as /proc/cpuinfo names it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Hardware", "Processor")) and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown"


def _memory() -> str:
    """Total memory, from /proc/meminfo."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) * 1024 / 1e9:.1f} GB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def fingerprint() -> str:
    """A hash of the builder's source, to tell whether it changed while the benchmark ran."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((REPO / "builder").rglob("*.py")):
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _commit() -> str:
    """The checkout's commit, and whether builder/ has uncommitted changes (read-only git calls)."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "--no-optional-locks", "-C", str(REPO), "status", "--porcelain", "--",
                                "builder"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}{' with uncommitted changes in builder/' if dirty else ''}"


def machine() -> list[str]:
    """The machine and software the figures were measured on, as Markdown list lines."""
    import platform

    import yaml

    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return [
        f"- CPU: {_cpu()}, {usable} usable of {cores} logical cores; memory {_memory()}; {platform.system()} "
        f"{platform.release()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), {sys.executable}",
        f"- PyYAML {yaml.__version__} {'with' if getattr(yaml, '__with_libyaml__', False) else 'WITHOUT'} libyaml; "
        f"genanki {_version('genanki')}; anki {_version('anki')}; pyromark {_version('pyromark')}; "
        f"nh3 {_version('nh3')}",
        f"- deckbuild {_version('deckbuild')} from {REPO} at {_commit()} (builder/ source hash {fingerprint()})",
    ]


def _mb(size: int) -> str:
    """Bytes as MB (10⁶ bytes)."""
    return f"{size / 1e6:.1f} MB"


def table(*, shape: Shape, series: dict[str, Series], sizes: dict[str, int], repeat: int) -> tuple[list[str], bool]:
    """One shape's results as a Markdown table, and whether every budget passed."""
    base = series["floor"].median
    passed = True

    def verdict(value: float, limit: float) -> str:
        nonlocal passed
        passed = passed and value <= limit
        return "PASS" if value <= limit else "FAIL"

    one_file = shape.files == 1
    rows = [
        ("floor: PyYAML (libyaml) + genanki", series["floor"], None),
        ("cold build (no state, empty cache)", series["cold"], COLD),
        (f"one-item edit in the {shape.items:,}-item file" if one_file else "warm build (one answer changed)",
         series["warm"], ONE_FILE_EDIT if one_file else WARM),
        ("check (unchanged tree, warm cache)", series["check"], CHECK),
        ("watch: one-answer save → new .apkg in place", series["watch"], WATCH),
    ]
    runs = "median" if repeat == 1 else f"median of {repeat}"
    lines = [f"| measurement | seconds ({runs}) | range | CPU s | × floor | budget | result | peak RSS |",
             "|---|---:|---:|---:|---:|---|---|---:|"]
    for label, one, limit in rows:
        ratio = one.median / base
        target = f"≤ {limit:g}× floor" if limit is not None else "—"
        result = verdict(ratio, limit) if limit is not None else "—"
        lines.append(f"| {label} | {one.median:.2f} | {one.spread()} | {one.cpu:.2f} | {ratio:.2f}× | {target} | "
                     f"{result} | {_mb(one.peak)} |")
    peak = max(series[key].peak for key in ("cold", "warm", "check", "watch"))
    memory = ONE_FILE_MEMORY_MB if one_file else MEMORY_MB
    lines.append(f"| peak memory, largest deckbuild run | | | | | ≤ {memory} MB | "
                 f"{verdict(peak / 1e6, memory)} | {_mb(peak)} |")
    ratio = sizes["deckbuild"] / sizes["floor"]
    lines.append(f"| .apkg size: {_mb(sizes['deckbuild'])} vs genanki's {_mb(sizes['floor'])} | | | | "
                 f"{ratio:.2f}× genanki | ≤ {SIZE:g}× genanki | {verdict(ratio, SIZE)} | |")
    return lines, passed


# --- the command -------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    """Parse options; run the floor alone, or generate each shape's tree and benchmark it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", default=",".join([*SHAPES, LIVED_IN]),
                        help=f"comma-separated shapes to run [default: all: {', '.join([*SHAPES, LIVED_IN])}]")
    parser.add_argument("--repeat", type=int, help="runs of each measurement; the median is reported "
                                                   "[default 3, or 1 with --quick]")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated trees [default 1]")
    parser.add_argument("--quick", action="store_true",
                        help=f"a smoke run: every shape at 1/{QUICK_SCALE} of its size, 1 run")
    parser.add_argument("--workdir", type=Path, help="where to put the trees and outputs [default: a temp dir]")
    parser.add_argument("--keep", action="store_true", help="keep the trees and outputs afterwards")
    parser.add_argument("--floor", nargs=2, type=Path, metavar=("TREE", "OUT"),
                        help="only run the floor: parse TREE with PyYAML, write OUT with genanki")
    parser.add_argument("--baseline", metavar="REV",
                        help=f"{LIVED_IN}: also run each command with this git revision's builder, show its figures, "
                             "and check that every command's output is the same")
    parser.add_argument("--anki-floor", nargs=2, type=Path, metavar=("COLLECTION", "APKG"),
                        help="only run the collection floor: open COLLECTION with anki, import APKG")
    parser.add_argument("--launcher", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.launcher:
        launcher()
        return
    if args.floor:
        floor(*args.floor)
        return
    if args.anki_floor:
        import livedin

        livedin.floor(*args.anki_floor)
        return
    global _LAUNCHER
    _LAUNCHER = Launcher()
    names = [name.strip() for name in args.shape.split(",") if name.strip()]
    unknown = [name for name in names if name not in SHAPES and name != LIVED_IN]
    if unknown or not names:
        parser.error(f"unknown shape {', '.join(unknown) or '(none)'}; choose from {', '.join([*SHAPES, LIVED_IN])}")
    shapes = [SHAPES[name].scaled(QUICK_SCALE) if args.quick else SHAPES[name] for name in names if name in SHAPES]
    repeat = args.repeat or (1 if args.quick else 3)
    if repeat < 1:
        parser.error("--repeat must be positive")
    started = time.perf_counter()
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    load, source = os.getloadavg()[0], fingerprint()
    sections, runs, notes, failed = [], [], [], []
    for shape in shapes:
        work = Path(tempfile.mkdtemp(prefix=f"deckbuild-bench-{shape.name}-", dir=args.workdir))
        try:
            print(f"{shape.name}: generating {shape.items:,} items in {shape.files:,} files under {work} ...",
                  file=sys.stderr, flush=True)
            tree = generate(root=work / "cards", shape=shape, seed=args.seed)
            series, sizes, found = benchmark(tree=tree, work=work, repeat=repeat)
        finally:
            if args.keep:
                print(f"kept {work}", file=sys.stderr)
            else:
                shutil.rmtree(work, ignore_errors=True)
        lines, passed = table(shape=shape, series=series, sizes=sizes, repeat=repeat)
        if not passed:
            failed.append(shape.name)
        runs += [run for one in series.values() for run in one.runs]
        notes += [f"{shape.name}: {note}" for note in found]
        sections += [
            f"### {shape.name}: {shape.about}", "",
            f"{tree.items:,} items ({tree.qa:,} question/answer, {tree.reversed:,} of them reversed; "
            f"{tree.clozes:,} clozes) → {tree.cards:,} cards, in {tree.files:,} files, {_mb(tree.size)} of YAML "
            f"(seed {args.seed})", "", *lines, ""]
    if LIVED_IN in names:
        work = Path(tempfile.mkdtemp(prefix=f"deckbuild-bench-{LIVED_IN}-", dir=args.workdir))
        try:
            lines, passed, found, more = collection_benchmark(work=work, repeat=repeat, seed=args.seed,
                                                              quick=args.quick, baseline=args.baseline)
        finally:
            if args.keep:
                print(f"kept {work}", file=sys.stderr)
            else:
                shutil.rmtree(work, ignore_errors=True)
        if not passed:
            failed.append(LIVED_IN)
        runs += more
        notes += found
        sections += [f"### {LIVED_IN}: a deck inside a collection with years of other notes and reviews", "", *lines,
                     "", "The floor is a fresh process that opens the collection with the `anki` library and "
                     "imports the same, unchanged `.apkg` (Anki's defaults). Each command starts from fresh copies "
                     "of the tree (built, cache warm) and of the collection.", ""]
    load = (load, os.getloadavg()[0])
    if fingerprint() != source:
        notes.append("builder/ changed while the benchmark ran, so its runs measured different code; rerun")
    elapsed = time.perf_counter() - started
    busy = sum(run.cpu for run in runs if run.cpu) / sum(run.seconds for run in runs)
    loaded = busy < 0.8 or load[1] > 1.5 or load[0] > 1.5
    command = "python benchmarks/bench.py" + (" --quick" if args.quick else "") + (
        f" --shape {args.shape}" if names != [*SHAPES, LIVED_IN] else "") + (
        f" --baseline {args.baseline}" if args.baseline else "") + (
        f" --repeat {args.repeat}" if args.repeat else "") + (f" --seed {args.seed}" if args.seed != 1 else "")
    out = [
        f"Measured with `{command}` on {time.strftime('%Y-%m-%d %H:%M %Z')}:",
        "",
        *machine(),
        f"- Load average (1 min) {load[0]:.2f} before the runs, {load[1]:.2f} after; "
        f"the measured processes were on a CPU for {busy:.0%} of their wall time",
        "",
    ]
    if loaded:
        out += [f"**Warning: the machine was loaded** (load average {max(load):.2f} on "
                f"{os.cpu_count()} cores), so wall times are inflated and ratios are noisy; compare the CPU "
                "seconds, or rerun on a quiet machine.", ""]
    out += [
        *sections,
        "Each figure is a whole process (`python -m builder ...`, or the floor script), interpreter start-up "
        "included, except watch: the time from saving the edit to the watcher's summary line, printed once the "
        "new .apkg is in place, and the CPU the watcher spent on it. Peak RSS is the process's own maximum "
        "resident set (MB = 10⁶ bytes); every command is started from a small launcher process, so that the "
        "benchmark's own memory is not counted in it (the kernel counts a parent's resident memory at the fork "
        "in a child's peak). The floor parses every file with `yaml.CSafeLoader` and writes the same "
        "notes with genanki's `Package.write_to_file`.",
        "",
        f"Budgets: {'every budget passed' if not failed else 'FAILED on ' + ', '.join(failed)}. "
        f"This benchmark run took {int(elapsed // 60)} min {elapsed % 60:.0f} s in all.",
    ]
    if notes:
        out += ["", "Noticed while checking the runs' output:", *(f"- {note}" for note in notes)]
    _LAUNCHER.close()
    print("\n".join(out))


if __name__ == "__main__":
    main()
