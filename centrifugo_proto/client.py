"""``ClientProtocol``: the facade adapters drive (DESIGN "The contract with adapters").

It wires the WebSocket layer, the codec and the session together: bytes in,
bytes and events out, one deadline to arm. After every call the adapter
flushes :meth:`ClientProtocol.data_to_send`, drains
:meth:`ClientProtocol.next_event` and re-arms its one timer at
:meth:`ClientProtocol.next_deadline`.

Nothing raises out of :meth:`~ClientProtocol.receive_data`,
:meth:`~ClientProtocol.receive_eof` or :meth:`~ClientProtocol.handle_timeout`:
bad input from the server becomes a "bad protocol" reconnect. Any other
exception from them is a bug (the fuzzers check exactly this). Misuse by the
caller raises :class:`LocalProtocolError` and changes no state.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from .backoff import RandomSource
from .codecs import json as json_codec
from .endpoints import Endpoint, parse_endpoint
from .errors import DecodeError, LocalProtocolError
from .events import (
    CloseTransport,
    Event,
    OpenTransport,
    StartTls,
    TokenRequested,
    TransportClosed,
)
from .options import ClientOptions, SubscriptionOptions
from .proxy import ProxyHandshake, parse_proxy
from .results import StreamPosition
from .session import Session
from .states import ClientState, SubscriptionState
from .websocket import (
    ABNORMAL_CLOSURE,
    WebSocketClosed,
    WebSocketFailed,
    WebSocketLayer,
    WebSocketOpened,
)

__all__ = ["ClientProtocol"]

_CODECS = {"json": json_codec}


class _MidpointJitter:
    """Used when no rng is given: the core owns no randomness, so without one
    every delay sits in the middle of its range (deterministic, no jitter)."""

    def random(self) -> float:
        return 0.5


class ClientProtocol:
    """A Centrifugo client connection as a pure state machine.

    Args:
        endpoints: one WebSocket URL or several (tried in turn on reconnect).
        token: connection JWT; None connects anonymously (or asks for one
            through :class:`TokenRequested` when ``has_token_source``).
        data: connect data (passed to a connect proxy).
        name, version: client name and application version sent on connect.
        codec: ``"json"`` (Protobuf comes in its own issue).
        options: timeouts, backoff, ping delay.
        rng: anything with ``random()``: jitter for backoff.
        has_token_source: the adapter answers ``TokenRequested`` events
            (token refresh, 109 handling).
        headers: extra HTTP headers for the WebSocket handshake.
        proxy: ``http://[user:password@]host:port`` of an HTTP CONNECT proxy.
    """

    def __init__(
        self,
        endpoints: str | Sequence[str],
        token: str | None = None,
        data: Any = None,
        name: str = "python",
        version: str = "",
        codec: str = "json",
        options: ClientOptions | None = None,
        rng: RandomSource | None = None,
        *,
        has_token_source: bool = False,
        headers: Sequence[tuple[str, str]] = (),
        proxy: str | None = None,
    ) -> None:
        codec_module = _CODECS.get(codec)
        if codec_module is None:
            raise LocalProtocolError(f"unknown codec {codec!r}; known: {sorted(_CODECS)}")
        self._codec = codec_module
        if data is not None:
            codec_module.check_payload(data)
        urls = [endpoints] if isinstance(endpoints, str) else list(endpoints)
        if not urls:
            raise LocalProtocolError("no endpoint given")
        via = None if proxy is None else parse_proxy(proxy)
        subprotocols, extra = codec_module.SUBPROTOCOLS, tuple(headers)
        parsed = [parse_endpoint(u, subprotocols, extra, via) for u in urls]
        self._events: deque[Event] = deque()
        self._out = bytearray()
        self._ws: WebSocketLayer | None = None
        self._endpoint: Endpoint | None = None
        #: The proxy's CONNECT in progress; then whether TLS inside the tunnel is awaited.
        self._tunnel: ProxyHandshake | None = None
        self._awaiting_tls = False
        self._session = Session(
            endpoints=parsed,
            transport=self,
            events=self._events,
            options=options or ClientOptions(),
            rng=rng or _MidpointJitter(),
            token=token,
            data=data,
            name=name,
            version=version,
            has_token_source=has_token_source,
        )

    # -- state ----------------------------------------------------------------------------

    @property
    def state(self) -> ClientState:
        return self._session.state

    @property
    def client_id(self) -> str | None:
        """The connection id from the last connect reply."""
        return self._session.client_id

    def subscription_state(self, channel: str) -> SubscriptionState | None:
        return self._session.subscription_state(channel)

    # -- outputs --------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """Bytes to write to the socket now."""
        if not self._out:
            return b""
        out = bytes(self._out)
        self._out.clear()
        return out

    def next_event(self) -> Event | None:
        events = self._events
        return events.popleft() if events else None

    def next_deadline(self) -> float | None:
        """When to call :meth:`handle_timeout`; None if nothing is due."""
        return self._session.next_deadline()

    # -- TransportControl (called by the session) -----------------------------------------

    def open_transport(self, endpoint: Endpoint, attempt: int) -> None:
        self._endpoint = endpoint
        self._tunnel, self._awaiting_tls = None, False
        self._events.append(OpenTransport(endpoint=endpoint, attempt=attempt))

    def close_transport(self, code: int, reason: str) -> None:
        ws = self._ws
        if ws is not None:
            self._out += ws.close(code, reason[:100])
            self._ws = None
        self._events.append(CloseTransport())

    def _flush(self) -> None:
        session = self._session
        if not session.outgoing:
            return
        ws = self._ws
        # Defensive: the session clears ``outgoing`` whenever it lets the transport go
        # (teardown), so commands never wait here without an open WebSocket.
        if ws is not None and ws.open:  # pragma: no branch
            message = self._codec.encode_commands(session.outgoing)
            self._out += ws.send_text(message)
        session.outgoing.clear()

    # -- inputs from the adapter ----------------------------------------------------------

    def connect(self, *, now: float) -> None:
        self._session.connect(now)
        self._flush()

    def disconnect(self, *, now: float) -> None:
        self._session.disconnect(now)
        self._flush()

    def close(self, *, now: float) -> None:
        self._session.close(now)

    def transport_opened(self, *, now: float) -> None:
        """The socket (TCP, TLS) is up: the WebSocket handshake is queued."""
        if not self._session.transport_opened(now):
            self._events.append(CloseTransport())  # nobody waits for this socket any more
            return
        endpoint = self._endpoint
        assert endpoint is not None
        if endpoint.proxy is not None:  # the tunnel first (proxy.py)
            self._tunnel = ProxyHandshake(endpoint.proxy, endpoint.host, endpoint.port)
            self._out += self._tunnel.request()
            return
        self._ws = WebSocketLayer(endpoint)
        self._out += self._ws.handshake()

    def tls_started(self, *, now: float) -> None:
        """TLS asked for by :class:`StartTls` is up: the WebSocket handshake is queued."""
        if self._awaiting_tls and self._endpoint is not None:
            self._awaiting_tls = False
            self._ws = WebSocketLayer(self._endpoint)
            self._out += self._ws.handshake()

    def _receive_tunnel(self, tunnel: ProxyHandshake, data: bytes | None, now: float) -> None:
        answer = tunnel.receive_data(data)
        if answer is None:
            return
        self._tunnel = None
        endpoint = self._endpoint
        assert endpoint is not None
        _, rest = answer
        if isinstance(rest, str):
            self.transport_failed(rest, now=now)
        elif endpoint.tls and rest:
            self.transport_failed("proxy sent bytes before the TLS handshake", now=now)
        elif endpoint.tls:
            self._awaiting_tls = True
            self._events.append(StartTls(endpoint=endpoint))
        else:
            self._awaiting_tls = True
            self.tls_started(now=now)  # no TLS: straight to the WebSocket handshake
            if rest:
                self._receive(rest, now)

    def transport_failed(self, reason: str, *, now: float) -> None:
        """Could not connect, or a read or write failed."""
        self._ws, self._tunnel, self._awaiting_tls = None, None, False
        self._session.transport_failed(now, reason)
        self._flush()

    def receive_data(self, data: bytes, *, now: float) -> None:
        """Bytes from the socket."""
        if data:
            if self._tunnel is not None:
                self._receive_tunnel(self._tunnel, data, now)
            else:
                self._receive(data, now)
            self._flush()

    def receive_eof(self, *, now: float) -> None:
        """The peer closed its side."""
        if self._tunnel is not None:
            self._receive_tunnel(self._tunnel, None, now)
        else:
            self._receive(None, now)
        self._flush()

    def _receive(self, data: bytes | None, now: float) -> None:
        ws = self._ws
        if ws is None:
            return  # bytes from a transport already closed
        session = self._session
        items, reply = ws.receive_data(data)
        if reply:
            self._out += reply
        decode = self._codec.decode_replies
        for item in items:
            if self._ws is not ws:
                return  # the session closed this transport mid-batch
            if isinstance(item, str):
                try:
                    messages = decode(item)
                except DecodeError as exc:
                    session.bad_protocol(now, str(exc))
                    return
                session.receive(messages, now)
            elif isinstance(item, bytes):
                # JSON, the only codec yet, is text; a binary codec (Protobuf, an issue
                # of its own) gets its messages decoded here instead.
                if self._codec.TEXT:  # pragma: no branch
                    session.bad_protocol(now, "binary frame in JSON mode")
                    return
            elif isinstance(item, WebSocketOpened):
                session.transport_ready(now)
            elif isinstance(item, WebSocketClosed):
                self._ws = None
                self._events.append(TransportClosed(code=item.code, reason=item.reason))
                session.transport_closed(now, item.code, item.reason)
            else:
                assert isinstance(item, WebSocketFailed)
                self._ws = None
                session.bad_protocol(now, item.reason)
        if data is None and self._ws is ws:
            # EOF with no close frame (wsproto reports 1006 only once open).
            self._ws = None
            self._events.append(TransportClosed(code=ABNORMAL_CLOSURE, reason="connection lost"))
            session.transport_closed(now, ABNORMAL_CLOSURE, "connection lost")

    def handle_timeout(self, *, now: float) -> None:
        """Fire whatever is due at ``now`` (``next_deadline()`` has passed)."""
        self._session.handle_timeout(now)
        self._flush()

    # -- tokens ---------------------------------------------------------------------------

    def provide_token(self, token_request: TokenRequested, token: str, *, now: float) -> None:
        """Answer a :class:`TokenRequested`; an empty token means "unauthorized"."""
        self._session.provide_token(token_request.request_id, token, now)
        self._flush()

    def token_failed(
        self, token_request: TokenRequested, unauthorized: bool = False, *, now: float
    ) -> None:
        """The token could not be had: retried later, or ``unauthorized`` stops."""
        self._session.token_failed(token_request.request_id, unauthorized, now)
        self._flush()

    # -- subscriptions --------------------------------------------------------------------

    def subscribe(
        self,
        channel: str,
        *,
        now: float,
        token: str | None = None,
        data: Any = None,
        recoverable: bool = False,
        positioned: bool = False,
        join_leave: bool = False,
        since: StreamPosition | None = None,
        has_token_source: bool = False,
    ) -> None:
        """Subscribe to ``channel`` (again); events tell how it goes."""
        if not channel:
            raise LocalProtocolError("channel must not be empty")
        if data is not None:
            self._codec.check_payload(data)
        options = SubscriptionOptions(
            token=token,
            has_token_source=has_token_source,
            data=data,
            recoverable=recoverable,
            positioned=positioned,
            join_leave=join_leave,
            since=since,
        )
        self._session.subscribe(channel, options, now)
        self._flush()

    def unsubscribe(self, channel: str, *, now: float) -> None:
        self._session.unsubscribe(channel, now)
        self._flush()

    def remove_subscription(self, channel: str) -> None:
        """Forget an unsubscribed subscription (and its recovery position)."""
        self._session.remove_subscription(channel)

    # -- commands: each returns a request handle ------------------------------------------

    def _command(self, method: str, params: dict[str, Any], now: float, channel: str = "") -> int:
        request = self._session.command(method, params, now, channel)
        self._flush()
        return request

    def publish(self, channel: str, data: Any, *, now: float) -> int:
        self._codec.check_payload(data)
        return self._command("publish", {"channel": channel, "data": data}, now, channel)

    def history(
        self,
        channel: str,
        *,
        now: float,
        limit: int = 0,
        since: StreamPosition | None = None,
        reverse: bool = False,
    ) -> int:
        """History of ``channel``: ``limit`` 0 gives only the top position, -1 all (§2.3)."""
        params: dict[str, Any] = {"channel": channel}
        if limit:
            params["limit"] = limit
        if since is not None:
            params["since"] = {"offset": since.offset, "epoch": since.epoch}
        if reverse:
            params["reverse"] = True
        return self._command("history", params, now, channel)

    def presence(self, channel: str, *, now: float) -> int:
        return self._command("presence", {"channel": channel}, now, channel)

    def presence_stats(self, channel: str, *, now: float) -> int:
        return self._command("presence_stats", {"channel": channel}, now, channel)

    def rpc(self, method: str, data: Any = None, *, now: float) -> int:
        params: dict[str, Any] = {"method": method}
        if data is not None:
            self._codec.check_payload(data)
            params["data"] = data
        return self._command("rpc", params, now)

    def send(self, data: Any, *, now: float) -> int:
        """Fire-and-forget message to the server; succeeds once written (§2.3)."""
        self._codec.check_payload(data)
        return self._command("send", {"data": data}, now)
