"""The names of deckbuild's card-quality lint rules, which `allow:` may silence."""

RULES: dict[str, str] = {
    "long-answer": "an answer over 15 words",
    "long-question": "a question or cloze text over 30 words",
    "enumeration": "an answer listing more than 3 items",
    "yes-no": "an answer that is just yes/no or true/false",
    "duplicate-question": "two items asking the same question",
    "compound-question": "a question that asks two things",
    "multi-blank": "a cloze card that hides more than one blank at once",
    "no-quote": "an item without a quote",
    "unused-source": "a bibliography entry no card cites",
    "quote-not-found": "a quote that is not in the source's text file",
    "removed-markup": "HTML the sanitizer removed from a field, so it never reaches Anki",
}
