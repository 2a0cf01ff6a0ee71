"""A private-channel auth endpoint for 1.x tests (an application backend, LEGACY-V1.md §6).

A 1.x client POSTs `{"client": "<connection id>", "channels": ["$a", "$b"]}` to its
auth endpoint and gets a sign for each channel, sign = HMAC(client ‖ channel ‖ info)
(LEGACY-V1.md §5), which it sends in `subscribe`. This one signs with the server's
`secret` through the project's `generate_token`, and answers in either format of §6:

- `"object"` (the default): `{"$a": {"sign": "...", "info": ""}, "$b": {"status": 403}}`
- `"list"` (centrifuge-js >= 1.4.9): `{"channels": [{"channel": "$a", "sign": "...",
  "info": ""}, {"channel": "$b", "status": 403}]}`

Faults, settable at any time (the next request sees them); the channel sets take `"*"`
for every channel:

- `down()` / `up()`: stop listening (the client's connect is refused), listen again on
  the same port;
- `http_status = 403`: the whole request refused with that status (any but 200);
- `malformed = True`: a 200 answer whose body is cut-off JSON;
- `omit`: channels left out of the answer;
- `deny`: channel -> per-channel `status` (e.g. `{"$b": 403}`);
- `foreign`: channels signed for another client id (`FOREIGN_CLIENT`), which the
  server refuses with `permission denied` (LEGACY-V1.md §11.2);
- `infos`: channel -> the `info` string to sign and return (default `""`);
- `delay`: seconds to wait before answering (a slow backend).

Every request is recorded (`requests`, `wait_for_requests`) with its headers and body,
malformed ones included, so a test can check that several channels came in one
request. Served from a daemon thread on a free 127.0.0.1 port; standard library only,
apart from `generate_token`.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

from centrifugo_proto import generate_token

from .centrifugo import LOOPBACK
from .process import HarnessError

__all__ = ["ALL", "DEFAULT_PATH", "FOREIGN_CLIENT", "AnswerFormat", "AuthEndpoint", "AuthRequest"]

#: The Perl client's and centrifuge-js's default path (LEGACY-V1.md §6).
DEFAULT_PATH = "/centrifuge/auth/"
#: In `omit`, `foreign` or as a `deny` key: every channel of the request.
ALL = "*"
#: The client id a `foreign` sign is made for: a valid UUIDv4 no connection has.
FOREIGN_CLIENT = "00000000-0000-4000-8000-000000000000"

AnswerFormat = Literal["object", "list"]


@dataclass(frozen=True)
class AuthRequest:
    """One request as received; `client` and `channels` when the body had them."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    client: str | None = None
    channels: tuple[str, ...] = field(default=())

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def _parse(body: bytes) -> tuple[str, tuple[str, ...]] | None:
    """`(client, channels)` from a well-formed request body, else None."""
    try:
        decoded = json.loads(body)
    except ValueError:
        return None
    if not isinstance(decoded, dict):
        return None
    client, channels = decoded.get("client"), decoded.get("channels")
    if not (isinstance(client, str) and isinstance(channels, list)):
        return None
    if not all(isinstance(channel, str) for channel in channels):
        return None
    return client, tuple(channels)


def _selects(channels: Collection[str], channel: str) -> bool:
    return channel in channels or ALL in channels


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    endpoint: AuthEndpoint

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up before the answer (it gave up on a slow backend, as
        the tests make it) is expected; anything else is printed as before."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        parsed = _parse(body)
        endpoint = self.server.endpoint
        endpoint.record(
            AuthRequest(
                method="POST",
                path=self.path,
                headers=tuple(self.headers.items()),
                body=body,
                client=parsed[0] if parsed else None,
                channels=parsed[1] if parsed else (),
            )
        )
        if endpoint.delay > 0:
            time.sleep(endpoint.delay)  # the backend is slow on purpose
        if self.path != endpoint.path:
            self._send(404, b'{"error":"unknown path"}')
        elif parsed is None:
            self._send(400, b'{"error":"expected {\\"client\\": str, \\"channels\\": [str]}"}')
        elif endpoint.http_status != 200:
            self._send(endpoint.http_status, b'{"error":"refused"}')
        else:
            self._send(200, endpoint.answer(*parsed))

    def do_GET(self) -> None:
        self._send(405, b'{"error":"POST only"}')

    def _send(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the requests are in `AuthEndpoint.requests`."""


class AuthEndpoint:
    """The endpoint on a free loopback port; `url` is the client's `auth_endpoint`."""

    def __init__(
        self,
        secret: str,
        *,
        path: str = DEFAULT_PATH,
        answer_format: AnswerFormat = "object",
    ) -> None:
        self.secret = secret
        self.path = path
        self.answer_format: AnswerFormat = answer_format
        self.http_status = 200
        self.malformed = False
        self.omit: set[str] = set()
        self.deny: dict[str, int] = {}
        self.foreign: set[str] = set()
        self.infos: dict[str, str] = {}
        self.delay = 0.0
        self._requests: list[AuthRequest] = []
        self._changed = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    # -- addresses and records -----------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._port}{self.path}"

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def requests(self) -> list[AuthRequest]:
        """A copy of the requests received so far, oldest first."""
        with self._changed:
            return list(self._requests)

    def record(self, request: AuthRequest) -> None:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()

    def clear(self) -> None:
        with self._changed:
            self._requests.clear()

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[AuthRequest]:
        """Block until at least `count` requests came in; all of them so far."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._requests) >= count, timeout):
                raise HarnessError(
                    f"auth endpoint got {len(self._requests)} request(s) within "
                    f"{timeout:g}s, expected {count}"
                )
            return list(self._requests)

    # -- the answer ------------------------------------------------------------------

    def sign(self, client: str, channel: str, info: str = "") -> str:
        """HMAC(client ‖ channel ‖ info) with the server's secret (LEGACY-V1.md §5)."""
        return generate_token(self.secret, client, channel, info)

    def answer(self, client: str, channels: tuple[str, ...]) -> bytes:
        """The 200 body for a request from `client` for `channels`, faults applied."""
        entries: list[tuple[str, dict[str, Any]]] = []
        for channel in channels:
            if _selects(self.omit, channel):
                continue
            status = self.deny.get(channel, self.deny.get(ALL))
            if status is not None:
                entries.append((channel, {"status": status}))
                continue
            info = self.infos.get(channel, "")
            signer = FOREIGN_CLIENT if _selects(self.foreign, channel) else client
            entries.append((channel, {"sign": self.sign(signer, channel, info), "info": info}))
        if self.answer_format == "list":
            body: Any = {"channels": [{"channel": name, **entry} for name, entry in entries]}
        else:
            body = dict(entries)
        payload = json.dumps(body).encode()
        # Cut inside the JSON text: `{` and `{"channels": [` alike stay unclosed.
        return payload[: max(len(payload) // 2, 1)] if self.malformed else payload

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Listen (on a free port the first time, on the same port after `down()`)."""
        if self._server is not None:
            return
        try:
            server = _Server((LOOPBACK, self._port), _Handler)
        except OSError as exc:
            raise HarnessError(f"auth endpoint cannot listen on port {self._port}: {exc}") from exc
        server.endpoint = self
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="legacy-auth-endpoint",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening: connections to `url` are refused from now on."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None and thread is not None:
            server.shutdown()
            thread.join()
            server.server_close()

    def down(self) -> None:
        """The endpoint is down: a client's connect is refused (same `url`)."""
        self.stop()

    def up(self) -> None:
        """Back up on the same port after `down()`."""
        self.start()

    def __enter__(self) -> AuthEndpoint:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "up" if self.running else "down"
        return (
            f"<AuthEndpoint {self.url} {state}, {len(self.requests)} request(s), "
            f"format={self.answer_format}, http_status={self.http_status}, "
            f"malformed={self.malformed}, omit={sorted(self.omit)}, deny={self.deny}, "
            f"foreign={sorted(self.foreign)}>"
        )
