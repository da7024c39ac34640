"""deckbuild: compile YAML study cards into Anki decks."""

__version__ = "0.1.0"
