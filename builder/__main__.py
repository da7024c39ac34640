"""`python -m builder` runs the deckbuild command."""

from .cli import cli

cli(prog_name="deckbuild")
