"""The pipeline: files → load → validate → render → package, with the state file and cache beside it."""
