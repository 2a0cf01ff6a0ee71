"""The session: what arrives, routed; what the caller asks, queued
(DESIGN "The core", layer 3).

It deals only in typed protocol objects (:mod:`.commands`, :mod:`.messages`)
and ``now``; it knows nothing of bytes, of WebSocket close codes (the byte
pipeline, :mod:`.pipeline`, hands it a :class:`~.dialect.CloseAdvice`) or of a
codec's shape (commands are encoded by a function it is given). Its parts have a
module each: the connection's lifecycle (:mod:`.connection`, the other half of
this class), commands going out (:mod:`.outbox`, :mod:`.registry`), client
subscriptions (:mod:`.subscription`, their stream position in :mod:`.stream`),
server-side subscriptions (:mod:`.server_subs`), token requests
(:mod:`.token_flow`), the ping watch (:mod:`.liveness`); the rules that differ
between protocol generations come from a :class:`~.dialect.Dialect`.

Invariants kept here:

- No command but ``connect`` goes out before the connect reply (DESIGN "No
  optimistic subscribe"); what waited for it goes out in one frame.
- Every deadline is a timer in one queue (or the ping deadline, moved on every
  received frame), so ``next_deadline()`` covers all of them.
- Nothing here raises on server input: bad input goes through ``bad_protocol``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from .backoff import RandomSource
from .codecs import WireId
from .codes import ConnectingCode, DisconnectedCode
from .commands import Command
from .connection import ConnectionLifecycle, TransportControl
from .delta import DeltaStats, PayloadCodec
from .dialect import Dialect
from .endpoints import Endpoint
from .errors import ClientDisconnected, LocalProtocolError, TokenError, Unauthorized
from .events import (
    ErrorOccurred,
    Event,
    JoinReceived,
    LeaveReceived,
    MessageReceived,
    PingReceived,
    received,
)
from .liveness import PingWatch
from .messages import (
    Ignored,
    Incoming,
    Join,
    Leave,
    Push,
    Reply,
    ServerDisconnect,
    ServerMessage,
    ServerSubscribe,
    ServerUnsubscribe,
)
from .options import ClientOptions, SubscriptionOptions
from .outbox import Outbox
from .registry import Pending
from .results import Publication
from .server_subs import ServerSubscriptions
from .states import ClientState, Phase, SubscriptionState
from .subscription import ClientSubscription
from .timers import Timer, TimerQueue
from .token_flow import TokenFlow, TokenPurpose, TokenRequest

__all__ = ["Session", "TransportControl"]

_SUBSCRIBED: Final = SubscriptionState.SUBSCRIBED
_CONNECTED: Final = Phase.CONNECTED
#: The phases in which a frame's messages are acted on (Phase.reads_messages).
_READING: Final = frozenset(p for p in Phase if p.reads_messages)


class Session(ConnectionLifecycle):
    """The client's protocol state, transport-agnostic."""

    __slots__ = ("codec",)  # the rest are ConnectionLifecycle's

    def __init__(
        self,
        *,
        endpoints: Sequence[Endpoint],
        transport: TransportControl,
        events: list[Event],
        options: ClientOptions,
        rng: RandomSource,
        dialect: Dialect,
        encode: Callable[[Command], Any],
        codec: PayloadCodec,
        credentials: Any,
        data: Any,
        name: str,
        version: str,
        has_token_source: bool,
    ) -> None:
        self._endpoints = tuple(endpoints)
        self._transport = transport
        self.emit = events.append
        self.options = options
        self.rng = rng
        self._dialect = dialect
        self.codec = codec
        self._credentials = credentials
        self._data = data
        self._name = name
        self._version = version
        self._has_token_source = has_token_source
        self.state = ClientState.DISCONNECTED
        self.phase = Phase.IDLE
        self.client_id: str | None = None
        self._attempt = 0  # reconnect attempts since the last success
        self._transport_attempt = 0  # OpenTransport counter, for the adapter
        self._endpoint_index = 0
        self._token_expired = False
        self._refreshing: Any = None
        self._pong = False

        self._timers = TimerQueue()
        self._connect_timer: Timer | None = None
        self._refresh_timer: Timer | None = None
        self._ping = PingWatch(options.late_timer_grace)
        self._outbox = Outbox(
            wire_id=dialect.wire_id,
            encode=encode,
            schedule=self.schedule,
            timeout=options.timeout,
            emit=self.emit,
            bad_protocol=self.bad_protocol,
        )
        self.tokens = TokenFlow(self.emit)
        self._subs: dict[str, ClientSubscription] = {}
        #: Channel names as sent on this connection → as subscribed (1.x ``&`` channels).
        self._aliases: dict[str, str] = {}
        #: When the server was last heard from (the 1.x keepalive pings).
        self.heard = 0.0
        self._keepalive: Timer | None = None
        self._server_subs = ServerSubscriptions(self.emit, codec, self.bad_protocol)

    # -- sending ---------------------------------------------------------------------------

    def send(
        self,
        command: Command,
        now: float,
        *,
        on_reply: Callable[[Pending, Reply, float], None],
        on_timeout: Callable[[Pending, float], None],
        channel: str = "",
    ) -> Pending:
        """Put one of the session's own commands on the wire (connected only)."""
        return self._outbox.send(
            command, now, on_reply=on_reply, on_timeout=on_timeout, channel=channel
        )

    @property
    def outgoing(self) -> list[tuple[WireId | None, Any]]:
        """(wire id, encoded command) to send on the open transport; the byte pipeline drains it."""
        return self._outbox.outgoing

    # -- caller commands (DESIGN "Request handles") ---------------------------------------

    def command(
        self,
        command: Command,
        encoded: Any,
        now: float,
        channel: str = "",
        wire_id: WireId | None = None,
    ) -> int:
        """Issue a caller's command, encoded already; returns its request handle.

        While connecting it waits for the connection, bounded by the timeout
        (§6.6); while disconnected it fails at once with ClientDisconnected.
        ``wire_id`` is the caller's own (1.x ``uid``); it must not be in use.
        """
        if self.state is ClientState.CLOSED:
            raise LocalProtocolError("cannot send commands: the client is closed")
        outbox = self._outbox
        if wire_id is not None and outbox.registry.taken(wire_id):
            raise LocalProtocolError(f"uid {wire_id!r} is in use by a command in flight")
        pending = outbox.caller(command, encoded, channel, wire_id)
        if self.state is ClientState.DISCONNECTED:
            outbox.fail(pending, ClientDisconnected("client is disconnected"))
        elif self.phase is _CONNECTED:
            outbox.dispatch(pending, now)
        else:
            outbox.wait_for_connection(pending, now)
        return pending.request

    # -- receiving -------------------------------------------------------------------------

    def receive(self, messages: list[Incoming], now: float) -> None:
        """Handle one frame's messages, in order (§1.1)."""
        phase = self.phase
        if phase is _CONNECTED:
            self._ping.heard(now)  # any frame proves the server alive (§4)
        elif phase is not Phase.CONNECT_SENT:
            return  # bytes of a transport already given up
        self.heard = now
        subs = self._subs
        aliases = self._aliases
        server_subs = self._server_subs
        emit = self.emit
        for message in messages:
            if type(message) is Publication:
                # The hot path: one lookup, one event (DESIGN "The hot path").
                sub = subs.get(message.channel)
                if sub is None and aliases:  # a 1.x ``&`` channel, under its own name
                    sub = subs.get(aliases.get(message.channel, ""))
                if sub is not None and sub.state is _SUBSCRIBED:
                    if not sub.track_offsets:
                        emit(received(message))
                    elif (delivered := sub.publication(message, now)) is not None:
                        emit(received(delivered))
                    continue  # a client subscription never ends the connection
                if sub is not None and sub.hold(message):
                    continue  # before its subscribe reply (a 1.x server, legacy.py)
                if message.channel in server_subs:
                    # A server-side delta that does not apply reconnects (server_subs.py).
                    server_subs.publication(message.channel, message, now)
                # else: a publication still in flight after unsubscribe; dropped.
            elif type(message) is Reply:
                self._outbox.answer(message, now)
            elif type(message) is Push:
                self._on_push(message, now)
            else:
                self._on_ping()
            if self.phase not in _READING:
                return  # the connection ended mid-frame; the rest is stale

    def _on_ping(self) -> None:
        if self.phase is not _CONNECTED:
            return
        if self._pong:
            self._outbox.pong()  # one per ping, if asked (§4)
        self.emit(PingReceived())

    def _on_push(self, push: Push, now: float) -> None:
        body, channel = push.body, push.channel
        sub = self._subs.get(channel) or self._subs.get(self._aliases.get(channel, ""))
        if sub is not None:
            channel = sub.channel
        held = sub is not None and sub.state is _SUBSCRIBED
        if isinstance(body, Join | Leave):
            if held:
                event = JoinReceived if isinstance(body, Join) else LeaveReceived
                self.emit(event(channel=channel, info=body.info))
            elif (sub is None or not sub.hold(body)) and channel in self._server_subs:
                self._server_subs.join_or_leave(channel, body)
        elif isinstance(body, ServerUnsubscribe):
            if held:
                assert sub is not None
                sub.server_unsubscribed(body.code, body.reason, now)
            elif channel in self._server_subs:
                self._server_subs.unsubscribed(channel, body.code, body.reason)
        elif isinstance(body, ServerSubscribe):
            self._server_subs.subscribed(channel, body.result, now)
        elif isinstance(body, ServerMessage):
            self.emit(MessageReceived(data=body.data))
        elif isinstance(body, ServerDisconnect):
            # Non-WebSocket transports carry the disconnect advice as a push (§1.3).
            self.server_closed(now, self._dialect.close_advice(body.code, body.reason))
        else:
            assert isinstance(body, Ignored)

    # -- tokens (§6.3, §6.4) -----------------------------------------------------------

    def provide_token(self, request: TokenRequest, token: str, now: float) -> None:
        """An answer to an open token request (the facade checked it); "" is unauthorized."""
        if not token:
            self._token_unauthorized(request, now)
            return
        purpose = request.purpose
        if purpose is TokenPurpose.CONNECT:
            self._credentials = token
            self._token_expired = False
            self._open_transport()
        elif purpose is TokenPurpose.REFRESH:
            self._refreshing = token
            self.send(
                self._dialect.refresh_command(token),
                now,
                on_reply=self._on_refresh_reply,
                on_timeout=lambda pending, now: self._retry_refresh(now),
            )
        else:
            sub = self._subs.get(request.channel or "")
            if sub is not None:
                sub.token_provided(purpose, token, now)

    def token_failed(
        self, request: TokenRequest, unauthorized: bool, now: float, reason: str = ""
    ) -> None:
        if unauthorized:
            self._token_unauthorized(request, now, reason)
            return
        what = f"could not get a token: {reason}" if reason else "could not get a token"
        self.emit(ErrorOccurred(error=TokenError(what), channel=request.channel))
        purpose = request.purpose
        if purpose is TokenPurpose.CONNECT:
            self.lose_connection(now, ConnectingCode.TRANSPORT_CLOSED, "could not get a token")
        elif purpose is TokenPurpose.REFRESH:
            self._retry_refresh(now)
        else:
            sub = self._subs.get(request.channel or "")
            # Defensive: leaving a subscription (unsubscribe, removal) drops its requests.
            if sub is not None:  # pragma: no branch
                sub.token_failed(purpose, now)

    def _token_unauthorized(self, request: TokenRequest, now: float, reason: str = "") -> None:
        why = reason or "unauthorized"
        if request.channel is None:
            self._refused(DisconnectedCode.UNAUTHORIZED, why, Unauthorized(why))
            return
        sub = self._subs.get(request.channel)
        if sub is not None:
            sub.token_unauthorized(now, why)

    # -- client-side subscriptions (§6.4) -------------------------------------------------

    def delta_stats(self, channel: str) -> DeltaStats | None:
        sub = self._subs.get(channel)
        if sub is None:
            return self._server_subs.delta_stats(channel)
        return sub.delta_stats

    def subscription_states(self) -> dict[str, SubscriptionState]:
        return {channel: sub.state for channel, sub in self._subs.items()}

    def subscribe(self, channel: str, options: SubscriptionOptions, now: float) -> None:
        if self.state is ClientState.CLOSED:
            raise LocalProtocolError("cannot subscribe(): the client is closed")
        sub = self._subs.get(channel)
        if sub is None:
            sub = self._subs[channel] = self._dialect.subscription(self, channel, options)
        sub.subscribe_called(options, now)

    def set_credentials(self, credentials: Any) -> None:
        """New credentials for the next attempts (the caller's, checked by the dialect)."""
        self._credentials = credentials
        self._token_expired = False

    def alias(self, wire_channel: str, channel: str) -> None:
        self._aliases[wire_channel] = channel

    def unsubscribe(self, channel: str, now: float) -> None:
        sub = self._subs.get(channel)
        if sub is None:
            raise LocalProtocolError(f"no subscription to {channel!r}")
        sub.unsubscribe(now)

    def remove_subscription(self, channel: str) -> None:
        sub = self._subs.get(channel)
        if sub is None:
            return
        if sub.state is not SubscriptionState.UNSUBSCRIBED:
            raise LocalProtocolError(f"unsubscribe from {channel!r} before removing it")
        del self._subs[channel]
