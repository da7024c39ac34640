"""The collection: the routes to an Anki collection (file, add-on, AnkiConnect), and diff, pull, push and adopt."""
