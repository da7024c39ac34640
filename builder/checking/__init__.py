"""`check` and `coverage`: the lint rules, quote verification and source coverage, none of them importing click."""
