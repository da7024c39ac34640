"""Compare this environment's installed distributions with a requirements lock.

Without --report: exit 1 unless every package the lock selects for this Python and platform is installed
at its locked version and nothing else is (deckbuild itself and pip's own tools aside).
With --report: print the differences (the drift `.ci/run --latest` looks for) and exit 0.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

from packaging.markers import Marker
from packaging.utils import canonicalize_name

_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")
_OWN = {"deckbuild", "pip", "setuptools", "wheel"}


def locked(path: str) -> dict[str, str]:
    """The lock's pins whose markers hold here: {name: version}."""
    pins = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            match = _PIN.match(line.strip())
            if match and (not match[3] or Marker(match[3]).evaluate()):
                pins[canonicalize_name(match[1])] = match[2]
    return pins


def installed() -> dict[str, str]:
    """Every installed distribution but deckbuild and the installer's own: {name: version}."""
    found = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    return {name: version for name, version in found.items() if name not in _OWN}


def main(argv: list[str]) -> int:
    report = "--report" in argv
    [path] = [arg for arg in argv if arg != "--report"]
    want, have = locked(path), installed()
    lines = [f"{name}: lock {want.get(name, '-')}, installed {have.get(name, '-')}"
             for name in sorted(want.keys() | have.keys()) if want.get(name) != have.get(name)]
    if report:
        print(f"versions that differ from {path}:" if lines else f"every version is the one in {path}", *lines,
              sep="\n  ")
        return 0
    if lines:
        print(f"the environment does not match {path}:", *lines, sep="\n  ", file=sys.stderr)
        return 1
    print(f"the environment matches {path}: {len(want)} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
