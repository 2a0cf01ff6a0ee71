"""A tiny application backend for Centrifugo's HTTP RPC proxy.

Centrifugo turns a client's `rpc` command into `POST <endpoint>` with a JSON body
(`client`, `transport`, `protocol`, `encoding`, `user`, `method`, `data`, ...) and
expects `{"result": {"data": ...}}`, `{"error": {"code", "message", "temporary"}}` or
`{"disconnect": {"code", "reason"}}` back (Centrifugo docs, server/proxy.md).

Methods:
- `echo`: result data = the request's data (no data in, no data out);
- `refuse`: error 1000 "refused";
- `disconnect`: disconnect 4500 "bye" (a terminal code: the client must not reconnect);
- anything else: error 404 "method not found". Proxy backends must keep their error
  codes in [400, 1999], so Centrifugo's own 104 is not theirs to send.

Every request body is recorded in `requests`, so tests can check what the server sent.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = [
    "DISCONNECT_REPLY",
    "NOT_FOUND_REPLY",
    "PATH",
    "REFUSE_REPLY",
    "RpcBackend",
    "reply_for",
]

PATH = "/centrifugo/rpc"
REFUSE_REPLY: dict[str, Any] = {"error": {"code": 1000, "message": "refused"}}
NOT_FOUND_REPLY: dict[str, Any] = {"error": {"code": 404, "message": "method not found"}}
DISCONNECT_REPLY: dict[str, Any] = {"disconnect": {"code": 4500, "reason": "bye"}}


def reply_for(request: dict[str, Any]) -> dict[str, Any]:
    """The proxy reply to one decoded RPC proxy request."""
    method = request.get("method")
    if method == "echo":
        return {"result": {"data": request["data"]} if "data" in request else {}}
    if method == "refuse":
        return REFUSE_REPLY
    if method == "disconnect":
        return DISCONNECT_REPLY
    return NOT_FOUND_REPLY


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    backend: RpcBackend


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        if self.path != PATH:
            self._send(404, {"error": "unknown path"})
            return
        length = int(self.headers.get("Content-Length", "0"))
        try:
            request = json.loads(self.rfile.read(length))
        except ValueError:
            self._send(400, {"error": "body is not JSON"})
            return
        if not isinstance(request, dict):
            self._send(400, {"error": "body is not a JSON object"})
            return
        self.server.backend.record(request)
        self._send(200, reply_for(request))

    def _send(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the requests are in `RpcBackend.requests`."""


class RpcBackend:
    """The backend on a free 127.0.0.1 port, served from a daemon thread."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.backend = self
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    @property
    def url(self) -> str:
        """The endpoint to give Centrifugo as `rpc.proxy.endpoint`."""
        return f"http://127.0.0.1:{self.port}{PATH}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A copy of the request bodies received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def record(self, request: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(request)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="rpc-backend",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> RpcBackend:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
