"""The WebSocket layer (DESIGN "The core", layer 1): wsproto does the client
handshake (through h11) and every frame but the common one; this module reads the
common server frames itself, turns wsproto's events into whole messages, close codes
and failures, and never raises on peer input.

The common frame (issue 12) is what a Centrifugo server sends nearly all the time: a
final, unmasked, uncompressed text or binary frame with its length in the shortest
form, while no fragmented message is open (RFC 6455 §5.2). Every other frame (ping,
pong, close, fragments, and whatever RFC 6455 forbids) goes to wsproto byte for byte
as it arrives, so its checks, its close codes and its wording stay the only ones; a
common frame is read here only once it is whole, so wsproto never holds part of one
and its state (a fragmented message open, a close received) is exactly what it would
be had it read the frame itself. One thing comes later than from wsproto alone: text
that is not UTF-8 in a common frame still incomplete fails the connection once the
frame is whole (or at EOF), not as the bad byte arrives. The differential property
test (``tests/property/test_websocket_differential.py``) and the fuzz harness
``fuzz/fuzz_websocket_fast.py`` check all this against the layer that gives wsproto
everything (``tests/wsproto_layer.py``).

wsproto draws its own mask keys, so tests compare decoded frames, never raw
outgoing bytes.
"""

from __future__ import annotations

import logging
import re

import attrs
from wsproto import WSConnection
from wsproto.connection import Connection, ConnectionState, ConnectionType
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
from wsproto.frame_protocol import FrameProtocol
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
Item = str | bytes | WebSocketEvent

#: Where h11 ends a response head: at its first blank line, CRLF or a bare LF (RFC 9112
#: §2.2 lets a recipient take LF as a line terminator; h11's receive buffer does). The
#: handshake goes to wsproto only up to there, so no frame after the 101 lands in
#: wsproto's buffer unseen by this layer.
_HEAD_END = re.compile(rb"\n\r?\n")
#: RFC 6455 §5.2: a 64-bit payload length must have its most significant bit clear.
_MAX_LENGTH = 1 << 63

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
        #: wsproto: the handshake's connection until the 101, then the WebSocket one,
        #: made when a frame first goes to wsproto (``_wsproto``).
        self._ws: WSConnection | Connection | None = WSConnection(ConnectionType.CLIENT)
        self._message = _MESSAGES[frame_kind]
        self._endpoint = endpoint
        self._parts: list[str | bytes] = []
        self._reject_status = 0
        #: The last bytes of the response head so far (a blank line cut between reads).
        self._head_tail = b""
        #: The start of a frame not yet whole, and how long it must grow before it
        #: is worth reading again (its header, or the whole frame).
        self._pending = bytearray()
        self._need = 0
        #: The start of a frame's header that wsproto has, its length still to come.
        self._header = b""
        #: Bytes of the current frame still to go to wsproto (it has the rest).
        self._forward = 0
        #: wsproto holds an unfinished fragmented message (RFC 6455 §5.4).
        self._fragmented = False
        self.open = False
        self.finished = False

    def _wsproto(self) -> WSConnection | Connection:
        """wsproto's connection; past the 101 it is made here, the first time a frame
        needs it (issue 12): a client that only ever gets common frames never makes
        one, and an idle client kept its 1.7 KiB (a deque of events among them)."""
        ws = self._ws
        if ws is None:
            # As wsproto makes it at the 101: no extension is ever offered, so none
            # is in use, and no byte after the response head went to wsproto.
            ws = self._ws = Connection(ConnectionType.CLIENT)
        return ws

    def handshake(self) -> bytes:
        """The HTTP upgrade request."""
        endpoint = self._endpoint
        # The path alone: a query might carry a credential, and so might a header.
        log.debug("upgrade request: %s", endpoint.resource.partition("?")[0])
        return self._wsproto().send(
            Request(
                host=endpoint.host_header,
                target=endpoint.resource,
                subprotocols=list(endpoint.subprotocols),
                extra_headers=[(k.encode(), v.encode()) for k, v in endpoint.headers],
            )
        )

    def receive_data(self, data: bytes | None) -> tuple[list[Item], bytes]:
        """Feed bytes (``None`` = EOF). Returns messages and lifecycle events in
        order, plus bytes to send back (pongs to WebSocket pings, close replies)."""
        out: list[Item] = []
        if self.finished:
            return out, b""
        reply = bytearray()
        if self.open:
            if data is not None:
                self._frames(data, out, reply)
            else:
                self._eof(out, reply)
            return out, bytes(reply) if reply else b""
        if data is None and not self._reject_status:
            # The peer closed before answering the upgrade: the connection was lost
            # (the caller reports 1006), which is not a protocol error; h11 calls it
            # "Bad HTTP message". A refusal read until EOF still ends below.
            self._finish()
            return out, b""
        try:
            if data is None or self._reject_status:
                self._feed(data, out, reply)  # a refusal's body, or its end
            else:
                head, rest = self._split_head(data)
                ws = self._wsproto()
                ws.receive_data(head)
                if rest and ws.state is not ConnectionState.OPEN:
                    # No 101 (a refusal, or a head h11 refused): wsproto reads the rest
                    # before its events are taken, as it would in one go.
                    ws.receive_data(rest)
                    rest = b""
                self._drain(out, reply)
                if self.open:
                    # Upgraded: the handshake's h11 state would stay for the connection's
                    # life (about 2 KiB of an idle client's heap), and past the 101 it
                    # never yields an event; the WebSocket connection is made when needed.
                    self._ws = None
                if rest:  # the frames after the 101
                    self._frames(rest, out, reply)
        except ProtocolError as exc:
            self._finish()
            out.append(WebSocketFailed(f"WebSocket protocol error: {exc}"))
        return out, bytes(reply)

    def _split_head(self, data: bytes) -> tuple[bytes, bytes]:
        """``data`` cut after the end of the response head, if it is in there."""
        probe = self._head_tail + data
        found = _HEAD_END.search(probe)
        if found is None:
            # A blank line is at most 3 bytes: keep 2 to find one cut between reads.
            self._head_tail = probe[-2:]
            return data, b""
        cut = found.end() - len(self._head_tail)
        return data[:cut], data[cut:]

    def _frames(self, data: bytes, out: list[Item], reply: bytearray) -> None:
        """Bytes after the handshake: split into frames by their headers (RFC 6455
        §5.2), the common ones read here, the rest passed to wsproto."""
        if self._header:  # wsproto has the start of a header, not its length yet
            header = self._header + data
            second = header[1]
            width = 4 if second & 0x7F == 126 else 10
            if len(header) < width:
                self._header = header
                self._feed(data, out, reply)
                return
            size = int.from_bytes(header[2:width], "big")
            # The frame's bytes wsproto has not had yet (a masking key counts, §5.2).
            self._forward = width + (4 if second & 0x80 else 0) + size - len(self._header)
            self._header = b""
        forward = self._forward
        if forward:  # the rest of a frame wsproto is reading
            if len(data) <= forward:
                self._forward = forward - len(data)
                self._feed(data, out, reply)
                return
            self._forward = 0
            self._feed(data[:forward], out, reply)
            if self.finished:
                return
            data = data[forward:]
        if self._pending:  # the start of a frame, waiting for the rest
            pending = self._pending
            pending += data
            if len(pending) < self._need:
                return
            data = bytes(pending)
            self._pending = bytearray()
        pos, end = 0, len(data)
        while True:
            if end - pos < 2:
                need = 2
                break
            first, second = data[pos], data[pos + 1]
            size = second & 0x7F
            if size < 126:
                head = 2
                shortest = True
            else:
                head = 4 if size == 126 else 10
                if end - pos < head:
                    if first == 0x81 or first == 0x82:
                        # Maybe a common frame: wait for its length. wsproto could not
                        # refuse this header before having its length either.
                        need = head
                        break
                    # Not a common frame: wsproto reads the header now, as it may refuse
                    # it on two bytes (§5.2 opcodes, §5.5 control frames); its length
                    # is learnt from the next bytes.
                    self._note_fragment(first)
                    self._header = data[pos:]
                    self._feed(self._header, out, reply)
                    return
                if head == 4:
                    size = data[pos + 2] << 8 | data[pos + 3]
                    shortest = size > 125
                else:
                    size = int.from_bytes(data[pos + 2 : pos + 10], "big")
                    # §5.2: the most significant bit clear; no length 16 bits could say.
                    shortest = 0xFFFF < size < _MAX_LENGTH
            stop = pos + head + size
            # §5.2: FIN set, RSV1-3 clear, opcode 1 (text) or 2 (binary); MASK clear
            # (§5.1: a server never masks); not inside a fragmented message (§5.4).
            if (first == 0x81 or first == 0x82) and second < 0x80 and shortest:
                if not self._fragmented:
                    if stop > end:
                        need = head + size
                        break
                    if first == 0x82:
                        out.append(data[pos + head : stop])
                        pos = stop
                        continue
                    try:
                        # §8.1: text is UTF-8, strictly; bytes.decode is that.
                        out.append(data[pos + head : stop].decode())
                        pos = stop
                        continue
                    except UnicodeDecodeError:
                        pass  # wsproto fails the connection, in its own words
            elif second & 0x80:
                stop += 4  # the masking key (§5.2), which wsproto refuses from a server
            self._note_fragment(first)
            if stop > end:
                self._forward = stop - end
                self._feed(data[pos:], out, reply)
                return
            self._feed(data[pos:stop], out, reply)
            if self.finished:
                return
            pos = stop
        if pos < end:
            self._pending = bytearray(data[pos:])
            self._need = need

    def _note_fragment(self, first: int) -> None:
        """A frame's first byte, as the frame goes to wsproto."""
        if not first & 0x08:
            # A data or continuation frame (§5.4): FIN says whether a message stays
            # open in wsproto; one it refuses fails the connection anyway.
            self._fragmented = not first & 0x80

    def _eof(self, out: list[Item], reply: bytearray) -> None:
        """EOF after the handshake: wsproto first reads what waits here (part of a
        frame), so that it reports what it would have reported on those bytes."""
        if self._pending:
            pending, self._pending = bytes(self._pending), bytearray()
            self._feed(pending, out, reply)
            if self.finished:
                return
        self._feed(None, out, reply)

    def _feed(self, data: bytes | None, out: list[Item], reply: bytearray) -> None:
        """Bytes to wsproto; its events to messages and lifecycle events."""
        self._wsproto().receive_data(data)
        self._drain(out, reply)

    def _drain(self, out: list[Item], reply: bytearray) -> None:
        """wsproto's events to messages and lifecycle events."""
        ws = self._wsproto()
        for event in ws.events():
            if isinstance(event, TextMessage | BytesMessage):
                # Only parts of a message come from wsproto: a whole one in one frame is
                # a common frame, read in _frames (or refused, with no message event).
                data = event.data
                self._parts.append(data if isinstance(data, str) else bytes(data))
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
                    return
                log.debug("close frame from the server: %d %r", event.code, event.reason)
                if ws.state is ConnectionState.REMOTE_CLOSING:
                    reply += ws.send(event.response())
                self._finish()
                out.append(WebSocketClosed(event.code, event.reason or ""))
                return
            elif isinstance(event, RejectConnection):
                self._reject_status = event.status_code
                if not event.has_body:
                    self._finish()
                    out.append(WebSocketFailed(f"handshake refused: HTTP {event.status_code}"))
                    return
            elif isinstance(event, RejectData) and event.body_finished:
                self._finish()
                out.append(WebSocketFailed(f"handshake refused: HTTP {self._reject_status}"))
                return
            # Pong and partial RejectData need nothing.

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
        ws = self._ws
        if ws is None:
            # Open, and nothing went to wsproto since the 101 (a close would have): the
            # frame its connection would send, from the framing it would send it with
            # (a throw-away one: 0.4 us, against 1.7 KiB kept per client).
            return bytes(FrameProtocol(client=True, extensions=[]).send_data(message))
        return ws.send(self._message(data=message))  # type: ignore[arg-type]

    def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> bytes:
        """A close frame if the connection is open, else nothing."""
        was_open = self.open
        self._finish()
        if was_open and (ws := self._wsproto()).state is ConnectionState.OPEN:
            log.debug("closing: %d %r", code, reason)
            return ws.send(CloseConnection(code=code, reason=reason))
        return b""
