"""The WebSocket layer (DESIGN "The core", layer 1): wsproto does the client
handshake (through h11) and the framing; this module turns its events into
whole messages, close codes and failures, and never raises on peer input.

wsproto draws its own mask keys, so tests compare decoded frames, never raw
outgoing bytes.
"""

from __future__ import annotations

import logging

import attrs
from wsproto import WSConnection
from wsproto.connection import ConnectionState, ConnectionType
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import ProtocolError

from .codecs import FrameKind
from .endpoints import Endpoint

__all__ = ["WebSocketClosed", "WebSocketFailed", "WebSocketLayer", "WebSocketOpened"]

#: The WebSocket layer's logger (docs/logging.md): the handshake and the closes, at DEBUG.
log = logging.getLogger("centrifugo_proto.websocket")

#: RFC 6455 §7.4.1: no status code received / connection lost without a close frame.
ABNORMAL_CLOSURE = 1006
NORMAL_CLOSURE = 1000


@attrs.frozen
class WebSocketOpened:
    subprotocol: str | None


@attrs.frozen
class WebSocketClosed:
    """The peer closed (a close frame, or EOF as 1006)."""

    code: int
    reason: str


@attrs.frozen
class WebSocketFailed:
    """The handshake was refused or the peer broke the WebSocket protocol."""

    reason: str


WebSocketEvent = WebSocketOpened | WebSocketClosed | WebSocketFailed

#: The wsproto message each frame kind is sent as (RFC 6455 §5.6).
_MESSAGES: dict[FrameKind, type[TextMessage] | type[BytesMessage]] = {
    FrameKind.TEXT: TextMessage,
    FrameKind.BINARY: BytesMessage,
}


class WebSocketLayer:
    """One WebSocket connection, client side. Whole messages come back from
    :meth:`receive_data` as ``str`` (text) or ``bytes`` (binary); :meth:`send`
    writes messages of the kind given once, at construction (the codec's)."""

    def __init__(self, endpoint: Endpoint, frame_kind: FrameKind = FrameKind.TEXT) -> None:
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._message = _MESSAGES[frame_kind]
        self._endpoint = endpoint
        self._parts: list[str | bytes] = []
        self._reject_status = 0
        self.open = False
        self.finished = False

    def handshake(self) -> bytes:
        """The HTTP upgrade request."""
        endpoint = self._endpoint
        # The path alone: a query might carry a credential, and so might a header.
        log.debug("upgrade request: %s", endpoint.resource.partition("?")[0])
        return self._ws.send(
            Request(
                host=endpoint.host_header,
                target=endpoint.resource,
                subprotocols=list(endpoint.subprotocols),
                extra_headers=[(k.encode(), v.encode()) for k, v in endpoint.headers],
            )
        )

    def receive_data(self, data: bytes | None) -> tuple[list[str | bytes | WebSocketEvent], bytes]:
        """Feed bytes (``None`` = EOF). Returns messages and lifecycle events in
        order, plus bytes to send back (pongs to WebSocket pings, close replies)."""
        out: list[str | bytes | WebSocketEvent] = []
        reply = bytearray()
        if self.finished:
            return out, b""
        if data is None and not self.open and not self._reject_status:
            # The peer closed before answering the upgrade: the connection was lost
            # (the caller reports 1006), which is not a protocol error; h11 calls it
            # "Bad HTTP message". A refusal read until EOF still ends below.
            self._finish()
            return out, b""
        ws = self._ws
        try:
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, TextMessage | BytesMessage):
                    payload: str | bytes = (
                        event.data if isinstance(event.data, str) else bytes(event.data)
                    )
                    if event.message_finished and not self._parts:
                        out.append(payload)
                    else:
                        self._parts.append(payload)
                        if event.message_finished:
                            out.append(self._join_parts())
                elif isinstance(event, AcceptConnection):
                    self.open = True
                    log.debug("handshake accepted, subprotocol %r", event.subprotocol)
                    out.append(WebSocketOpened(event.subprotocol))
                elif isinstance(event, Ping):
                    reply += ws.send(event.response())
                elif isinstance(event, CloseConnection):
                    if ws.state is ConnectionState.OPEN:
                        # wsproto's own report of a frame that breaks RFC 6455 (the
                        # peer sent no close frame): fail the connection with its code.
                        reply += ws.send(CloseConnection(code=event.code, reason=event.reason))
                        self._finish()
                        out.append(WebSocketFailed(f"WebSocket protocol error: {event.reason}"))
                        break
                    log.debug("close frame from the server: %d %r", event.code, event.reason)
                    if ws.state is ConnectionState.REMOTE_CLOSING:
                        reply += ws.send(event.response())
                    self._finish()
                    out.append(WebSocketClosed(event.code, event.reason or ""))
                    break
                elif isinstance(event, RejectConnection):
                    self._reject_status = event.status_code
                    if not event.has_body:
                        self._finish()
                        out.append(WebSocketFailed(f"handshake refused: HTTP {event.status_code}"))
                        break
                elif isinstance(event, RejectData) and event.body_finished:
                    self._finish()
                    out.append(WebSocketFailed(f"handshake refused: HTTP {self._reject_status}"))
                    break
                # Pong and partial RejectData need nothing.
        except ProtocolError as exc:
            self._finish()
            out.append(WebSocketFailed(f"WebSocket protocol error: {exc}"))
        return out, bytes(reply)

    def _join_parts(self) -> str | bytes:
        parts, self._parts = self._parts, []
        if isinstance(parts[0], str):
            return "".join(p for p in parts if isinstance(p, str))
        return b"".join(p for p in parts if isinstance(p, bytes))

    def _finish(self) -> None:
        self.open = False
        self.finished = True

    def send(self, message: str | bytes) -> bytes:
        """One message of this connection's frame kind."""
        return self._ws.send(self._message(data=message))  # type: ignore[arg-type]

    def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> bytes:
        """A close frame if the connection is open, else nothing."""
        was_open = self.open
        self._finish()
        if was_open and self._ws.state is ConnectionState.OPEN:
            log.debug("closing: %d %r", code, reason)
            return self._ws.send(CloseConnection(code=code, reason=reason))
        return b""
