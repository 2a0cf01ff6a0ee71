"""Bare WebSocket peers for tests that need a live client connection and want to
see exactly what the server pushes to it.

They are deliberately not the project's client: the server API tests check what
the API does to a connection (subscribe, unsubscribe, disconnect, refresh pushes
and close codes), so the connection is a plain wsproto socket.

- :class:`RawClient`: the current protocol (Centrifugo v6): JSON lines
  (PROTOCOL.md §1.1), connected with a JWT, answering JSON pings with a pong when
  the connect reply asks for pongs (§4).
- :class:`LegacyRawClient`: the 1.x protocol (Centrifugo 1.8.0): one object or a
  batch array per frame (LEGACY-V1.md §1, §11.5), connected with HMAC credentials,
  answering the WebSocket PING frames 1.8.0 sends (§11.10).

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
from collections.abc import Callable
from typing import Any

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Message,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

TIMEOUT = 10.0
Match = Callable[[dict[str, Any]], bool] | None


class _Peer:
    """The WebSocket part both protocols share."""

    def __init__(self, port: int) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._pending: list[dict[str, Any]] = []
        self._text = ""
        self._close: tuple[int, str] | None = None
        self._accepted = False
        self._send(Request(host=f"127.0.0.1:{port}", target="/connection/websocket"))
        deadline = time.monotonic() + TIMEOUT
        while not self._accepted:
            self._read(deadline)

    def __enter__(self: Any) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()

    def send(self, command: Any) -> None:
        self._send(Message(data=json.dumps(command)))

    def next_message(self, match: Match = None, timeout: float = TIMEOUT) -> dict[str, Any]:
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

    def closed(self, timeout: float = TIMEOUT) -> tuple[int, str]:
        """The code and reason of the close the server sends (messages before it are dropped)."""
        deadline = time.monotonic() + timeout
        while self._close is None:
            self._pending.clear()
            self._read(deadline)
        return self._close

    def _on_text(self, text: str) -> None:
        raise NotImplementedError

    def _send(self, event: Any) -> None:
        self._sock.sendall(self._ws.send(event))

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
            elif isinstance(event, Ping):
                self._send(event.response())
            elif isinstance(event, TextMessage):
                self._text += event.data
                if event.message_finished:
                    self._on_text(self._text)
                    self._text = ""
            elif isinstance(event, CloseConnection):
                self._close = (event.code, event.reason or "")
                if self._ws.state.name == "REMOTE_CLOSING":
                    self._send(event.response())


class RawClient(_Peer):
    """A connected peer of the current protocol (Centrifugo v6)."""

    def __init__(self, server: Any, *, token: str | None = None) -> None:
        self._pong = False
        super().__init__(server.port)
        self.send({"id": 1, "connect": {"token": token} if token else {}})
        reply = self.next_message(lambda m: m.get("id") == 1)
        assert "error" not in reply, reply
        self.client_id: str = reply["connect"]["client"]
        self._pong = bool(reply["connect"].get("pong"))

    def next_push(self, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next push of ``kind`` (``pub``, ``subscribe``, ``unsubscribe``, ``refresh``)."""
        message = self.next_message(lambda m: kind in m.get("push", {}), timeout)
        push: dict[str, Any] = message["push"]
        return push

    def _on_text(self, text: str) -> None:
        for line in text.split("\n"):
            message = json.loads(line)
            if message == {}:  # a server ping: a pong if the connect reply asked (§4)
                if self._pong:
                    self.send({})
            else:
                self._pending.append(message)


class LegacyRawClient(_Peer):
    """A connected peer of the 1.x protocol (Centrifugo 1.8.0)."""

    def __init__(self, server: Any, user: str) -> None:
        super().__init__(server.port)
        self._uid = 1
        reply = self.command("connect", server.credentials(user).params())
        self.client_id: str = reply["body"]["client"]

    def command(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one command; its reply (messages before it are dropped)."""
        self._uid += 1
        uid = str(self._uid)
        self.send({"uid": uid, "method": method, "params": params})
        reply = self.next_message(lambda m: m.get("uid") == uid)
        assert "error" not in reply, reply
        return reply

    def next_push(self, method: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The body of the next asynchronous message of ``method`` (no uid)."""
        message = self.next_message(lambda m: m.get("method") == method and "uid" not in m, timeout)
        body: dict[str, Any] = message["body"]
        return body

    def _on_text(self, text: str) -> None:
        decoded = json.loads(text)
        self._pending.extend(decoded if isinstance(decoded, list) else [decoded])
