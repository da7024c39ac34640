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
    "quote-not-found": "a quote that is in none of its cited sources' text files",
    "citation-unsupported": "a cited source whose text file does not contain the quote",
    "hedge-dropped": "a card that drops a hedge its quote makes",
    "answer-in-question": "a short answer whose words the question already shows",
    "shared-answer": "three or more items with the same answer",
    "binary-choice": "an 'X or Y?' question answered by one of the two",
    "quote-unrelated": "a quote that shares no word with its card",
    "removed-markup": "HTML the sanitizer removed from a field, so it never reaches Anki",
    "no-source": "a card of a tree's own note type that cites no source",
    "placeholder-source": "a card citing a placeholder source (adopt writes one where a note had none)",
}
