"""Process plumbing: compile workers that die with their build, and the pause points the kill tests use."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def pause(stage: str) -> None:
    """Stop this process (SIGSTOP) at a named point of a build, when DECKBUILD_TEST_PAUSE names it.

    Only the tests set it: they then kill the stopped build with SIGKILL, at a known moment.
    """
    if os.environ.get("DECKBUILD_TEST_PAUSE") == stage and hasattr(signal, "SIGSTOP"):
        os.kill(os.getpid(), signal.SIGSTOP)


def die_with(parent: int) -> None:
    """In a worker process: end when `parent` dies, even by SIGKILL.

    On Linux the kernel's parent-death signal does it at once; elsewhere a thread checks every
    second. The check after setting the signal covers a parent killed before it.
    """
    if not (sys.platform.startswith("linux") and _parent_death_signal()):
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:
        os._exit(1)


def _parent_death_signal() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; whether it agreed."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    """Exit as soon as the parent is gone (a process whose parent dies gets a new one)."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)
