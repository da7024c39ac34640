"""The floor, the least any tool must do: parse the tree with libyaml and write the same notes with genanki."""

from __future__ import annotations

from pathlib import Path

# Floor note type ids, chosen once at random.
FLOOR_BASIC_ID = 1_607_392_319
FLOOR_CLOZE_ID = 1_607_392_320


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
