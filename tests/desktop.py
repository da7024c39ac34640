"""The real Anki desktop app, headless, in a throwaway base folder with deckbuild's add-on: one per test session."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from builder.collection.client import Client, Refused, Unreachable, addon_key
from builder.commands.addon import install

START_TIMEOUT = 90.0  # seconds for Anki to start and answer (2 s idle, 4-5 s with both cores busy)
STOP_TIMEOUT = 15.0  # seconds for SIGTERM before SIGKILL
PROFILE = "User 1"

SEED = """\
import sys
from pathlib import Path
from aqt.profiles import ProfileManager
pm = ProfileManager(ProfileManager.get_created_base_folder(sys.argv[1]))
pm.setupMeta()
pm.meta["firstRun"] = False
pm.meta["defaultLang"] = "en_US"
pm.set_update_check(False)
pm.set_check_for_addon_updates(False)
pm.create(sys.argv[2])
pm.load(sys.argv[2])
pm.profile["autoSync"] = False
pm.profile["syncKey"] = None
pm.set_last_loaded_profile_name(sys.argv[2])
pm.save()
pm.db.close()
"""


def free_port() -> int:
    """A loopback port nothing listens on now (a taken port makes an add-on show a dialog and Anki hang)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(base: Path, *, addons: dict[str, Path] | None = None) -> None:
    """A base folder Anki starts in without a first-run dialog, with deckbuild's add-on, or these instead."""
    base.mkdir(parents=True, exist_ok=True)
    own = base.parent / f"{base.name}-xdg"
    subprocess.run([sys.executable, "-c", SEED, str(base), PROFILE], check=True, timeout=120, capture_output=True,
                   env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CACHE_HOME": str(own / "cache"),
                        "XDG_CONFIG_HOME": str(own / "config")})
    if not addons:
        install(base=base)
    for name, folder in (addons or {}).items():
        shutil.copytree(folder, base / "addons21" / name, dirs_exist_ok=True)


def anki_program() -> str:
    """The `anki` console script of this environment."""
    beside = Path(sys.executable).with_name("anki")
    return str(beside) if beside.exists() else (shutil.which("anki") or "anki")


class Desktop:
    """One running Anki desktop: its base folder, port, key, and a client; start, stop, restart."""

    def __init__(self, base: Path, *, key_from_addon: bool = True) -> None:
        self.base = base
        self.port = free_port()
        self.key_from_addon = key_from_addon
        self.process: subprocess.Popen | None = None
        self.log = base.parent / f"{base.name}-anki.log"

    @property
    def collection(self) -> Path:
        return self.base / PROFILE / "collection.anki2"

    def env(self) -> dict[str, str]:
        """The environment deckbuild runs in to reach this Anki."""
        return {"ANKI_BASE": str(self.base), "DECKBUILD_ANKI_PORT": str(self.port)}

    def client(self, key: str | None = "") -> Client:
        """A client for this Anki with its own key (or the one given)."""
        return Client(port=self.port, key=addon_key(self.base) if key == "" else key, timeout=120)

    def start(self) -> None:
        own = self.base.parent / f"{self.base.name}-xdg"  # Anki's caches (Qt, Mesa, dconf): never the user's
        env = {**os.environ, **self.env(), "XDG_CACHE_HOME": str(own / "cache"), "XDG_CONFIG_HOME": str(own / "config"),
               "QT_QPA_PLATFORM": "offscreen",
               "QTWEBENGINE_CHROMIUM_FLAGS": "--no-sandbox", "ANKI_SINGLE_INSTANCE_KEY": uuid.uuid4().hex,
               "ANKI_NOHIGHDPI": "1"}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([anki_program(), "-b", str(self.base)], env=env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Anki exited with {self.process.returncode}; see {self.log}")
            try:
                if self.key_from_addon:
                    self.client().call("deckbuildVersion")
                else:
                    self.client(key=None).call("version")
                return
            except (Unreachable, Refused):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"Anki did not answer within {START_TIMEOUT:.0f} s; see {self.log}")

    def stop(self) -> None:
        """SIGTERM (Anki closes cleanly in under a second), SIGKILL if it hasn't gone in time."""
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT)
        except ProcessLookupError:
            pass
        self.process = None

    def kill(self) -> None:
        """Anki gone at once, as if it crashed."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT)
        self.process = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None
