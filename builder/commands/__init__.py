"""What each `deckbuild` command does beyond `build`: one module a command, none of them importing click."""
