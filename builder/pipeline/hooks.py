"""Process plumbing: compile workers that die with their build, and the pause points the kill tests use."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def pause(stage: str) -> None:
    """Stop this process (SIGSTOP) at a named point of a build, when DECKBUILD_TEST_PAUSE names it.

    Only the tests set it: they then kill the stopped build with SIGKILL, at a known moment.
    """
    if os.environ.get("DECKBUILD_TEST_PAUSE") == stage and hasattr(signal, "SIGSTOP"):
        os.kill(os.getpid(), signal.SIGSTOP)


def die_with(parent: int) -> None:
    """In a worker process: be killed when `parent` dies, even by SIGKILL (Linux); elsewhere, a best effort.

    The kernel's parent-death signal covers a kill after this call; the parent check covers one
    before it.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(1)
