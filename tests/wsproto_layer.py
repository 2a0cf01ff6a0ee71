"""The reference WebSocket layer the differential tests compare the core's with: the
layer as it was before it read the common server frames itself (issue 12), where every
byte after the handshake goes through wsproto. Kept verbatim but for its name, so what
the fast layer must equal is the behaviour that shipped, not a second reading of it.

Tests and fuzz harnesses only.
"""

from __future__ import annotations

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

from centrifugo_proto.codecs import FrameKind
from centrifugo_proto.endpoints import Endpoint
from centrifugo_proto.websocket import (
    NORMAL_CLOSURE,
    WebSocketClosed,
    WebSocketEvent,
    WebSocketFailed,
    WebSocketOpened,
)

__all__ = ["WsprotoLayer"]

#: The wsproto message each frame kind is sent as (RFC 6455 §5.6).
_MESSAGES: dict[FrameKind, type[TextMessage] | type[BytesMessage]] = {
    FrameKind.TEXT: TextMessage,
    FrameKind.BINARY: BytesMessage,
}


class WsprotoLayer:
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
            return self._ws.send(CloseConnection(code=code, reason=reason))
        return b""
