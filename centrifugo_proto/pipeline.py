"""The byte pipeline of :class:`~.client.ClientProtocol`: one transport's bytes in and out.

Bottom up (DESIGN "The core", layers 1 and 2): the HTTP CONNECT tunnel of a proxy
(:mod:`.proxy`), the start of TLS when the adapter is to do it after the tunnel
(:class:`~.events.StartTls`), the WebSocket layer (:mod:`.websocket`), and the
codec's frames: messages of the codec's frame kind are decoded and handed to the
session, the session's queued commands are framed and sent. It is the session's
:class:`~.connection.TransportControl`: the session says when a transport opens
and closes, this says what came of it.

The facade checks the caller's arguments and delegates here; what goes out is
appended to the facade's buffer, what the adapter is told to its event queue.
"""

from __future__ import annotations

from .codecs import Codec
from .dialect import Dialect
from .endpoints import Endpoint
from .errors import DecodeError
from .events import CloseTransport, Event, OpenTransport, StartTls, TransportClosed
from .proxy import ProxyHandshake
from .session import Session
from .states import PhaseInput
from .websocket import (
    ABNORMAL_CLOSURE,
    WebSocketClosed,
    WebSocketFailed,
    WebSocketLayer,
    WebSocketOpened,
)

__all__ = ["BytePipeline"]


class BytePipeline:
    """The proxy tunnel, TLS start, WebSocket layer and framing of one client."""

    #: The session fed; set by the facade once it is made (it is made with this
    #: pipeline as its transport).
    session: Session

    def __init__(self, codec: Codec, dialect: Dialect, events: list[Event], out: bytearray) -> None:
        self._codec = codec
        self._dialect = dialect
        self._events = events
        self._out = out
        # The kind of frame this codec's messages travel in, chosen once.
        self._frame_kind = codec.frame_kind
        self._message_type = codec.frame_kind.message_type
        self._ws: WebSocketLayer | None = None
        self._endpoint: Endpoint | None = None
        #: The proxy's CONNECT in progress (phase TUNNEL).
        self._tunnel: ProxyHandshake | None = None

    # -- TransportControl (called by the session) -----------------------------------------

    def open_transport(self, endpoint: Endpoint, attempt: int) -> None:
        self._endpoint = endpoint
        self._tunnel = None
        self._events.append(OpenTransport(endpoint=endpoint, attempt=attempt))

    def close_transport(self, code: int, reason: str) -> None:
        ws = self._ws
        if ws is not None:
            self._out += ws.close(code, reason[:100])
            self._ws = None
        self._tunnel = None
        self._events.append(CloseTransport())

    def flush(self) -> None:
        """The session's queued commands, framed by the codec, into the WebSocket."""
        session = self.session
        if not session.outgoing:
            return
        ws = self._ws
        # Defensive: the session clears ``outgoing`` whenever it lets the transport go
        # (teardown), so commands never wait here without an open WebSocket.
        if ws is not None and ws.open:  # pragma: no branch
            self._out += ws.send(self._codec.frame(session.outgoing))
        session.outgoing.clear()

    # -- the transport's news (the facade checked the arguments) --------------------------

    def transport_opened(self) -> None:
        """The socket is up: the proxy's CONNECT or the WebSocket handshake is queued."""
        endpoint = self._endpoint
        via_proxy = endpoint is not None and endpoint.proxy is not None
        step = PhaseInput.TRANSPORT_OPENED_TO_PROXY if via_proxy else PhaseInput.TRANSPORT_OPENED
        if not self.session.phase_input(step):
            self._events.append(CloseTransport())  # nobody waits for this socket any more
            return
        assert endpoint is not None
        if endpoint.proxy is not None:  # the tunnel first (proxy.py)
            self._tunnel = ProxyHandshake(endpoint.proxy, endpoint.host, endpoint.port)
            self._out += self._tunnel.request()
            return
        self._start_websocket(endpoint)

    def _start_websocket(self, endpoint: Endpoint) -> None:
        self._ws = WebSocketLayer(endpoint, self._frame_kind)
        self._out += self._ws.handshake()

    def tls_started(self) -> None:
        if self.session.phase_input(PhaseInput.TLS_STARTED) and self._endpoint is not None:
            self._start_websocket(self._endpoint)

    def transport_failed(self, reason: str, now: float) -> None:
        self._ws, self._tunnel = None, None
        self.session.transport_failed(now, reason)
        self.flush()

    def receive_data(self, data: bytes | None, now: float) -> None:
        """Bytes from the socket, or None at EOF; then what the session queued goes out."""
        if self._tunnel is not None:
            self._receive_tunnel(self._tunnel, data, now)
        else:
            self._receive(data, now)
        # Most reads queue nothing to send: no call for them (one read, one publication).
        if self.session.outgoing:
            self.flush()

    def _receive_tunnel(self, tunnel: ProxyHandshake, data: bytes | None, now: float) -> None:
        answer = tunnel.receive_data(data)
        if answer is None:
            return
        self._tunnel = None
        endpoint = self._endpoint
        assert endpoint is not None
        _, rest = answer
        if isinstance(rest, str):
            self.transport_failed(rest, now)
        elif endpoint.tls and rest:
            self.transport_failed("proxy sent bytes before the TLS handshake", now)
        elif endpoint.tls:
            self.session.phase_input(PhaseInput.TUNNEL_OPENED_FOR_TLS)
            self._events.append(StartTls(endpoint=endpoint))
        else:
            self.session.phase_input(PhaseInput.TUNNEL_OPENED)
            self._start_websocket(endpoint)  # no TLS: straight to the WebSocket handshake
            if rest:
                self._receive(rest, now)

    def _receive(self, data: bytes | None, now: float) -> None:
        ws = self._ws
        if ws is None:
            return  # bytes from a transport already closed
        session = self.session
        items, reply = ws.receive_data(data)
        if reply:
            self._out += reply
        decode = self._codec.decode
        message_type = self._message_type
        for item in items:
            if self._ws is not ws:
                return  # the session closed this transport mid-batch
            if type(item) is message_type:
                try:
                    messages = decode(item)  # type: ignore[arg-type]
                except DecodeError as exc:
                    session.bad_protocol(now, str(exc))
                    return
                session.receive(messages, now)
            elif isinstance(item, str | bytes):
                kind = "text" if isinstance(item, str) else "binary"
                session.bad_protocol(now, f"{kind} frame in {self._codec.name} mode")
                return
            elif isinstance(item, WebSocketOpened):
                if item.subprotocol != self._codec.subprotocol:
                    accepted, wanted = item.subprotocol, self._codec.subprotocol
                    session.bad_protocol(
                        now, f"server chose subprotocol {accepted!r}, not {wanted!r}"
                    )
                    return
                session.transport_ready(now)
            elif isinstance(item, WebSocketClosed):
                self._ws = None
                self._events.append(TransportClosed(code=item.code, reason=item.reason))
                session.server_closed(now, self._dialect.close_advice(item.code, item.reason))
            else:
                assert isinstance(item, WebSocketFailed)
                self._ws = None
                session.bad_protocol(now, item.reason)
        if data is None and self._ws is ws:
            # EOF with no close frame (wsproto reports 1006 only once open).
            self._ws = None
            self._events.append(TransportClosed(code=ABNORMAL_CLOSURE, reason="connection lost"))
            advice = self._dialect.close_advice(ABNORMAL_CLOSURE, "connection lost")
            session.server_closed(now, advice)
