"""deckbuild's companion add-on for Anki: lets `deckbuild push`, `pull` and `diff` work while Anki is open.

It answers AnkiConnect's protocol on 127.0.0.1 (port 8765, or DECKBUILD_ANKI_PORT) to requests carrying its key,
and runs every collection call on Anki's main thread. deckbuild ships this folder as package data; outside Anki,
importing it does nothing.
"""

from __future__ import annotations

import os
import secrets
import threading

ADDON_VERSION = 1
WAIT = 30.0  # seconds a request waits for Anki's main thread to take it; after that, "busy" and nothing is run
RUN = 600.0  # seconds a started request may run before the caller is told it is still running

try:
    from aqt import mw
except ImportError:  # not inside Anki (deckbuild reading its package data)
    mw = None


class Busy(Exception):
    """Anki can't take a collection call now; nothing was run."""


def _key() -> str:
    """The add-on's key, made on its first start and kept in its config (readable by the user only)."""
    manager = mw.addonManager
    config = manager.getConfig(__name__) or {}
    if not config.get("apiKey"):
        config["apiKey"] = secrets.token_urlsafe(32)
        manager.writeConfig(__name__, config)
    meta = os.path.join(manager.addonsFolder(manager.addonFromModule(__name__)), "meta.json")
    try:
        os.chmod(meta, 0o600)
    except OSError:
        pass
    return config["apiKey"]


def _busy() -> str | None:
    """Why Anki can't take a collection call now, if it can't."""
    from aqt.qt import QApplication

    if mw.col is None:
        return "Anki has no collection open (a profile switch, a full sync, or Anki is closing)"
    if mw.progress.busy():
        return "Anki is busy (a sync or another long operation is running)"
    modal = QApplication.activeModalWidget()
    if modal is not None:
        title = modal.windowTitle() or type(modal).__name__
        text = modal.text() if hasattr(modal, "text") else ""
        said = f": {' '.join(text.split())[:100]}" if text else ""
        return f"Anki is showing a dialog ('{title}'{said}); close it and try again"
    return None


def _on_main(run):
    """run(col) on Anki's main thread, waiting for it; Busy if Anki doesn't take it or can't now."""
    lock, done = threading.Lock(), threading.Event()
    box: dict = {}

    def task() -> None:
        with lock:
            if box.get("cancelled"):
                return
            box["started"] = True
        try:
            reason = _busy()
            if reason:
                raise Busy(reason)
            box["result"] = run(mw.col)
        except BaseException as err:  # noqa: BLE001 - handed back to the request's thread
            box["error"] = err
        finally:
            done.set()

    mw.taskman.run_on_main(task)
    if not done.wait(WAIT):
        with lock:
            if not box.get("started"):
                box["cancelled"] = True
                raise Busy(f"Anki's main thread did not take the request within {WAIT:.0f} s (busy?); "
                           "nothing was applied")
        if not done.wait(RUN):
            raise Busy("the request is still running in Anki")
    if "error" in box:
        raise box["error"]
    return box["result"]


def _refresh() -> None:
    """Tell Anki's windows that the collection changed, as its own operations do (undo menu, browser, study)."""
    from anki.collection import OpChanges
    from aqt.operations import on_op_finished

    everything = {name: True for name in OpChanges.DESCRIPTOR.fields_by_name}
    on_op_finished(mw, OpChanges(**everything), None)


def dispatch(action: str, params: dict):
    """Answer one checked request: an action, or `multi` with several, all in one main-thread hand-off."""
    from . import actions

    def one(col, name: str, args: dict):
        if name == "deckbuildVersion":
            return {"version": ADDON_VERSION, "collection": actions.collectionPath(col, {})}
        fn = actions.ACTIONS.get(name)
        if fn is None:
            raise actions.ActionError(f"unsupported action: {name}")
        result = fn(col, args)
        if name in actions.WRITES:
            _refresh()
        return result if isinstance(result, (bool, int, str, list, dict, type(None))) else None

    if action == "multi":
        calls = params.get("actions", [])

        def run_all(col):
            out = []
            for call in calls:
                try:
                    out.append({"result": one(col, call.get("action", ""), call.get("params", {})), "error": None})
                except Exception as err:  # noqa: BLE001 - each call answers its own error, as documented
                    out.append({"result": None, "error": str(err) or type(err).__name__})
            return out

        return _on_main(run_all)
    return _on_main(lambda col: one(col, action, params))


def _start() -> None:
    """Listen, unless the port is taken (then say so quietly: a modal dialog here would hang Anki)."""
    from . import server

    port = int(os.environ.get("DECKBUILD_ANKI_PORT") or server.DEFAULT_PORT)
    key = _key()
    try:
        mw._deckbuild_live = server.serve(port=port, key=lambda: key, dispatch=dispatch)
    except OSError as err:
        # stdout: Anki shows anything written to stderr as an add-on error, in a dialog
        print(f"deckbuild live: can't listen on {server.HOST}:{port}: {err}")
        return
    print(f"deckbuild live: listening on {server.HOST}:{port}")  # stdout: Anki shows anything written to stderr as an error


if mw is not None:
    _start()
