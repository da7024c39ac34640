"""The live route's protocol client: AnkiConnect's JSON-over-HTTP on loopback, with urllib, and where its key is."""

from __future__ import annotations

import json
import os
import socket
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
FOLDER = "deckbuild_live"  # the companion add-on's folder in addons21/


class Unreachable(Exception):
    """Nothing answered on the port (refused, or no answer in time): nothing was sent or nothing came back."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent  # True when the request went out and the answer never came (it may have been applied)


class Refused(Exception):
    """The add-on answered with an error: the reason, in its words."""


def port() -> int:
    """The port both sides use: DECKBUILD_ANKI_PORT, else 8765."""
    value = os.environ.get("DECKBUILD_ANKI_PORT", "").strip()
    return int(value) if value.isdigit() else DEFAULT_PORT


def base_folder() -> Path:
    """Anki's base folder: ANKI_BASE, else Anki's default for this platform."""
    if os.environ.get("ANKI_BASE"):
        return Path(os.environ["ANKI_BASE"]).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "Anki2"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Anki2"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "Anki2"


def addon_key(base: Path | None = None) -> str | None:
    """The companion add-on's key from its config in the base folder, if it has made one."""
    meta = (base or base_folder()) / "addons21" / FOLDER / "meta.json"
    try:
        return json.loads(meta.read_text(encoding="utf-8")).get("config", {}).get("apiKey") or None
    except (OSError, ValueError, AttributeError):
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Client:
    """One running Anki on loopback, spoken to with a key."""

    port: int
    key: str | None
    timeout: float = 600.0  # a whole push may take a while in a large collection
    connect_timeout: float = 2.0

    def call(self, action: str, **params: object) -> object:
        """Run one action; its result, or Refused with the error the add-on gave."""
        body = json.dumps({"action": action, "version": 6, "params": params, "key": self.key}).encode()
        request = urllib.request.Request(f"http://{HOST}:{self.port}", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            sock = socket.create_connection((HOST, self.port), timeout=self.connect_timeout)
            sock.close()
        except OSError as err:
            raise Unreachable(f"nothing answers on {HOST}:{self.port} ({err.strerror or err})", sent=False) from None
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as err:
            try:
                answer = json.loads(err.read())
            except ValueError:
                raise Refused(f"HTTP {err.code}") from None
        except (OSError, ValueError) as err:  # dropped half-way, timed out, or garbage
            raise Unreachable(f"the connection to {HOST}:{self.port} broke during '{action}' ({err})",
                              sent=True) from None
        if isinstance(answer, dict) and answer.get("error"):
            raise Refused(str(answer["error"]))
        if isinstance(answer, dict) and "result" in answer:
            return answer["result"]
        return answer  # very old AnkiConnect versions answer the bare result

    def multi(self, calls: list[tuple[str, dict]]) -> list[object]:
        """Several actions in one request, run one after the other on Anki's main thread; their results."""
        answers = self.call("multi", actions=[{"action": a, "version": 6, "params": p} for a, p in calls])
        results = []
        for (action, _), answer in zip(calls, answers):
            if isinstance(answer, dict) and answer.get("error"):
                raise Refused(f"{action}: {answer['error']}")
            results.append(answer.get("result") if isinstance(answer, dict) and "result" in answer else answer)
        return results
