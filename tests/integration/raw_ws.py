"""A bare WebSocket peer of the current protocol, written for tests that need a live
client connection and want to see exactly what the server pushes to it.

It is deliberately not the project's client: the server API tests check what the
API does to a connection (subscribe, unsubscribe, disconnect, refresh pushes and
close codes), so the connection is a plain wsproto socket speaking JSON lines
(PROTOCOL.md §1.1), connected with a token, answering server pings (§4).

```
with RawClient(server, token=token_for(server, "42")) as peer:
    peer.client_id                       # from the connect reply
    push = peer.next_push("subscribe")   # {"channel": ..., "subscribe": {...}}
    code, reason = peer.closed()         # the WebSocket close the server sent
```
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Message,
    RejectConnection,
    Request,
    TextMessage,
)

from harness import CentrifugoServer

TIMEOUT = 10.0


class RawClient:
    def __init__(self, server: CentrifugoServer, *, token: str | None = None) -> None:
        self._sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._pending: list[dict[str, Any]] = []
        self._text = ""
        self._close: tuple[int, str] | None = None
        self._accepted = False
        self._pong = False
        self._send(Request(host=f"127.0.0.1:{server.port}", target="/connection/websocket"))
        self._until(lambda: self._accepted)
        connect: dict[str, Any] = {"token": token} if token else {}
        self.send({"id": 1, "connect": connect})
        reply = self.next_message(lambda m: m.get("id") == 1)
        assert "error" not in reply, reply
        self.client_id: str = reply["connect"]["client"]
        self._pong = bool(reply["connect"].get("pong"))

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()

    def send(self, command: dict[str, Any]) -> None:
        self._send(Message(data=json.dumps(command)))

    def next_message(self, match: Any = None, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next JSON object from the server that ``match`` accepts (others are
        dropped); ``AssertionError`` if the connection closes or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            while self._pending:
                message = self._pending.pop(0)
                if match is None or match(message):
                    return message
            assert self._close is None, f"closed with {self._close} while waiting"
            self._read(deadline)

    def next_push(self, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next push of ``kind`` (``pub``, ``subscribe``, ``unsubscribe``...)."""
        message = self.next_message(lambda m: kind in m.get("push", {}), timeout)
        push: dict[str, Any] = message["push"]
        return push

    def closed(self, timeout: float = TIMEOUT) -> tuple[int, str]:
        """The code and reason of the close the server sends (pushes before it are dropped)."""
        deadline = time.monotonic() + timeout
        while self._close is None:
            self._pending.clear()
            self._read(deadline)
        return self._close

    # -- internals ---------------------------------------------------------------------------

    def _send(self, event: Any) -> None:
        self._sock.sendall(self._ws.send(event))

    def _until(self, condition: Any) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not condition():
            self._read(deadline)

    def _read(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        assert left > 0, "no message from the server in time"
        self._sock.settimeout(left)
        data = self._sock.recv(65536)
        self._ws.receive_data(data or None)
        assert data or self._close is not None, "the server closed without a close frame"
        for event in self._ws.events():
            if isinstance(event, AcceptConnection):
                self._accepted = True
            elif isinstance(event, RejectConnection):
                raise AssertionError(f"WebSocket upgrade refused: {event.status_code}")
            elif isinstance(event, TextMessage):
                self._text += event.data
                if event.message_finished:
                    self._lines(self._text)
                    self._text = ""
            elif isinstance(event, CloseConnection):
                self._close = (event.code, event.reason or "")
                if self._ws.state.name == "REMOTE_CLOSING":
                    self._send(event.response())

    def _lines(self, text: str) -> None:
        for line in text.split("\n"):
            message = json.loads(line)
            if message == {}:  # a server ping: a pong if the connect reply asked (§4)
                if self._pong:
                    self.send({})
            else:
                self._pending.append(message)
