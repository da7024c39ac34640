"""The add-on's listener: AnkiConnect's protocol (JSON over HTTP POST) on loopback, with a key, no browser origins.

Plain standard library and no Anki import, so it can be read and reasoned about on its own.
"""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_BODY = 32 * 1024 * 1024  # a request bigger than this is refused unread
READ_TIMEOUT = 10.0  # seconds to receive a request
VERSION = 6  # the protocol version spoken (AnkiConnect's)


class Refused(Exception):
    """A request answered with an error and an HTTP status, never run."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def check(body: bytes, *, origin: str | None, key: str) -> dict:
    """The request, once it has passed every check: no Origin, JSON object, version 6, the right key."""
    if origin is not None:
        raise Refused(403, "requests from web pages (with an Origin header) are refused")
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the request is not JSON") from None
    if not isinstance(request, dict) or not isinstance(request.get("action"), str):
        raise Refused(400, "the request must be a JSON object with an action")
    given = request.get("key")
    if not key or not isinstance(given, str) or not hmac.compare_digest(given.encode(), key.encode()):
        raise Refused(403, "valid api key must be provided")
    if request.get("version", 4) != VERSION:
        raise Refused(400, f"unsupported protocol version {request.get('version')!r}; this add-on speaks {VERSION}")
    if not isinstance(request.get("params", {}), dict):
        raise Refused(400, "params must be a JSON object")
    return request


def serve(*, port: int, key: Callable[[], str], dispatch: Callable[[str, dict], object]) -> ThreadingHTTPServer:
    """Start listening on 127.0.0.1:port in a daemon thread; `dispatch(action, params)` answers a checked request."""

    class Handler(BaseHTTPRequestHandler):
        timeout = READ_TIMEOUT  # a slow or stalled client can't hold a thread for long
        server_version = "deckbuild-live"

        def do_POST(self) -> None:  # noqa: N802 - the http.server naming
            try:
                length = int(self.headers.get("Content-Length") or "-1")
            except ValueError:
                length = -1
            try:
                if length < 0:
                    raise Refused(411, "a Content-Length is required")
                if length > MAX_BODY:
                    raise Refused(413, f"request larger than {MAX_BODY} bytes")
                request = check(self.rfile.read(length), origin=self.headers.get("Origin"), key=key())
            except Refused as refused:
                self._answer(refused.status, {"result": None, "error": str(refused)})
                return
            except OSError:  # the client went away or timed out
                return
            try:
                answer = {"result": dispatch(request["action"], request.get("params", {})), "error": None}
            except Exception as err:  # noqa: BLE001 - every failure goes back to the caller as its error
                answer = {"result": None, "error": str(err) or type(err).__name__}
            self._answer(200, answer)

        def do_GET(self) -> None:  # noqa: N802
            self._answer(405, {"result": None, "error": "POST a JSON request"})

        def do_OPTIONS(self) -> None:  # noqa: N802 - a browser's preflight: refused, no CORS headers
            self._answer(403, {"result": None, "error": "requests from web pages are refused"})

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet: no access log
            pass

    server = ThreadingHTTPServer((HOST, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="deckbuild-live", daemon=True).start()
    return server
