"""The session: the connection's lifecycle and the routing of what arrives
(DESIGN "The core", layer 3).

It deals only in typed protocol objects (:mod:`.commands`, :mod:`.messages`)
and ``now``; it knows nothing of bytes, of WebSocket close codes (the facade
hands it a :class:`~.dialect.CloseAdvice`) or of a codec's shape (commands are
encoded by a function it is given, when they are queued). Its parts have a
module each: the command registry (:mod:`.registry`), client subscriptions
(:mod:`.subscription`), server-side subscriptions (:mod:`.server_subs`), token
requests (:mod:`.token_flow`), the ping watch (:mod:`.liveness`); the rules that
differ between protocol generations come from a :class:`~.dialect.Dialect`.

Invariants kept here:

- No command but ``connect`` goes out before the connect reply (DESIGN "No
  optimistic subscribe"); what waited for it goes out in one frame.
- Every deadline is a timer in one queue (or the ping deadline, moved on every
  received frame), so ``next_deadline()`` covers all of them.
- The phase moves only through :data:`~.states.PHASE_TRANSITIONS`.
- Nothing here raises on server input: bad input goes through :meth:`Session.bad_protocol`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

import attrs

from .backoff import RandomSource, backoff_delay, jittered
from .codecs import WireId
from .codes import ConnectingCode, DisconnectedCode, reply_error_rule
from .commands import (
    PONG,
    Command,
    HistoryRequest,
    PresenceRequest,
    PresenceStatsRequest,
    PublishRequest,
    RpcRequest,
    SendRequest,
)
from .dialect import CloseAdvice, Dialect
from .endpoints import Endpoint
from .errors import (
    CentrifugoError,
    ClientDisconnected,
    CommandTimeout,
    LocalProtocolError,
    RemoteProtocolError,
    ReplyError,
    TokenError,
    TransportError,
    Unauthorized,
)
from .events import (
    CommandFailed,
    CommandSucceeded,
    Connected,
    Connecting,
    Disconnected,
    ErrorOccurred,
    Event,
    JoinReceived,
    LeaveReceived,
    MessageReceived,
    PingReceived,
    PublicationReceived,
    TokenRefreshed,
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
from .registry import Pending, Registry
from .results import (
    ConnectResult,
    HistoryResult,
    PresenceResult,
    PresenceStatsResult,
    Publication,
    PublishResult,
    RefreshResult,
    RpcResult,
)
from .server_subs import ServerSubscriptions
from .states import (
    CLIENT_TRANSITIONS,
    INVALID,
    PHASE_TRANSITIONS,
    STAY,
    ClientInput,
    ClientState,
    Outcome,
    Phase,
    PhaseInput,
    SubscriptionState,
)
from .subscription import ClientSubscription
from .timers import Timer, TimerQueue
from .token_flow import TokenFlow, TokenPurpose, TokenRequest

__all__ = ["Session", "TransportControl"]

#: The result each caller command must carry (anything else is bad protocol).
_RESULT_TYPES: Final[dict[type, type]] = {
    PublishRequest: PublishResult,
    HistoryRequest: HistoryResult,
    PresenceRequest: PresenceResult,
    PresenceStatsRequest: PresenceStatsResult,
    RpcRequest: RpcResult,
}
#: The caller's call behind each input, for the message of a refused one.
_CALLS: Final = {
    ClientInput.CONNECT_CALLED: "connect()",
    ClientInput.DISCONNECT_CALLED: "disconnect()",
}
_SUBSCRIBED: Final = SubscriptionState.SUBSCRIBED
_CONNECTED: Final = Phase.CONNECTED


class TransportControl(Protocol):
    """What the session asks of the facade: open or close the transport."""

    def open_transport(self, endpoint: Endpoint, attempt: int) -> None: ...

    def close_transport(self, code: int, reason: str) -> None: ...


class Session:
    """The client's protocol state, transport-agnostic."""

    def __init__(
        self,
        *,
        endpoints: Sequence[Endpoint],
        transport: TransportControl,
        events: deque[Event],
        options: ClientOptions,
        rng: RandomSource,
        dialect: Dialect,
        encode: Callable[[Command], Any],
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
        self._encode = encode
        self._credentials = credentials
        self._data = data
        self._name = name
        self._version = version
        self._has_token_source = has_token_source
        #: (wire id, encoded command) to send on the open transport; the facade drains it.
        self.outgoing: list[tuple[WireId | None, Any]] = []

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
        self._registry = Registry(dialect.wire_id)
        self.tokens = TokenFlow(self.emit)
        self._subs: dict[str, ClientSubscription] = {}
        self._server_subs = ServerSubscriptions(self.emit)

    # -- tables ---------------------------------------------------------------------------

    def _client_input(self, value: ClientInput) -> bool:
        """Apply a client input; True if the state changed."""
        outcome = CLIENT_TRANSITIONS[self.state, value]
        if outcome is INVALID:
            # Only the caller's inputs can be INVALID where the session feeds them.
            call = _CALLS.get(value, value.value)
            raise LocalProtocolError(f"cannot {call}: the client is {self.state.value}")
        if outcome is STAY:
            return False
        assert isinstance(outcome, ClientState)
        self.state = outcome
        return True

    def phase_input(self, value: PhaseInput) -> bool:
        """Move the phase; False when the input is stale news (IGNORED)."""
        outcome = PHASE_TRANSITIONS[self.phase, value]
        if outcome is Outcome.IGNORED:
            return False
        # Defensive: the session never asks a move the table calls INVALID (the
        # property tests drive every path that moves the phase).
        if outcome is INVALID:  # pragma: no cover
            raise AssertionError(f"phase {self.phase.value}: {value.value!r}")
        assert isinstance(outcome, Phase)
        self.phase = outcome
        return True

    @property
    def connected(self) -> bool:
        return self.phase is _CONNECTED

    # -- deadlines ------------------------------------------------------------------------

    def schedule(self, when: float, action: Callable[[float], None]) -> Timer:
        return self._timers.schedule(when, action)

    def next_deadline(self) -> float | None:
        deadline = self._timers.next_deadline()
        ping = self._ping.due
        if ping is not None and (deadline is None or ping < deadline):
            return ping
        return deadline

    def handle_timeout(self, now: float) -> None:
        if self._ping.expired(now):
            self.lose_connection(now, ConnectingCode.NO_PING, "no ping")
        self._timers.fire_due(now)

    # -- connection lifecycle (§6.1) ------------------------------------------------------

    def connect(self, now: float) -> None:
        if self._client_input(ClientInput.CONNECT_CALLED):
            self.emit(Connecting(code=ConnectingCode.CONNECT_CALLED, reason="connect called"))
            self._attempt = 0
            self._start_attempt(now)

    def disconnect(self, now: float) -> None:
        was = self.state
        if self._client_input(ClientInput.DISCONNECT_CALLED):
            self._teardown(1000, "disconnect called", suspend_subs=True)
            reason = "disconnect called"
            self._stop(was, DisconnectedCode.DISCONNECT_CALLED, reason, ClientDisconnected(reason))

    def close(self, now: float) -> None:
        was = self.state
        if self._client_input(ClientInput.CLOSE_CALLED):
            self._teardown(1000, "client closed", suspend_subs=False)
            for sub in self._subs.values():
                sub.client_closed()
            self._server_subs.close()
            reason = "client closed"
            self._stop(was, DisconnectedCode.CLOSED, reason, ClientDisconnected(reason))

    def _stop(self, was: ClientState, code: int, reason: str, error: CentrifugoError) -> None:
        """After a move to disconnected or closed: fail what waited for a connection."""
        self.phase_input(PhaseInput.TEAR_DOWN)
        queued = self._registry.queued
        while queued:
            pending = queued.popleft()
            pending.cancel_timer()
            self.emit(CommandFailed(request=pending.request, error=ClientDisconnected(reason)))
        self.tokens.forget_all()
        for sub in self._subs.values():
            sub.client_stopped()
        if was is not ClientState.DISCONNECTED:
            self.emit(Disconnected(code=code, reason=reason, error=error))

    def _start_attempt(self, now: float) -> None:
        """Begin one connection attempt: the token first if one is needed (§6.3)."""
        self._connect_timer = self.schedule(now + self.options.timeout, self._attempt_timed_out)
        if self._has_token_source and (not self._credentials or self._token_expired):
            self.phase_input(PhaseInput.NEED_TOKEN)
            self.tokens.ask(TokenPurpose.CONNECT)
            return
        self._open_transport()

    def _open_transport(self) -> None:
        self.phase_input(PhaseInput.OPEN)
        self._transport_attempt += 1
        endpoint = self._endpoints[self._endpoint_index % len(self._endpoints)]
        self._transport.open_transport(endpoint, self._transport_attempt)

    def _attempt_timed_out(self, now: float) -> None:
        self.lose_connection(now, ConnectingCode.CONNECT_TIMEOUT, "connect timeout")

    def transport_ready(self, now: float) -> None:
        """The WebSocket handshake succeeded: connect goes out, alone (§2.3)."""
        self.phase_input(PhaseInput.WEBSOCKET_OPENED)
        self._registry.new_connection()
        command = self._dialect.connect_command(
            self._credentials,
            data=self._data,
            name=self._name,
            version=self._version,
            # Server-side subscriptions recover through the connect command (§6.5).
            subs=self._server_subs.recovery(),
        )
        # No timeout of its own: the attempt's timer bounds it.
        self._send(command, None, on_reply=self._on_connect_reply, on_timeout=_never)

    def server_closed(self, now: float, advice: CloseAdvice) -> None:
        """The server closed (a close frame, EOF, a ``disconnect`` push): §5.3."""
        if not self.phase.has_transport:
            return  # news of a transport already given up
        rule = advice.rule
        if not rule.reconnect:
            error: CentrifugoError
            if rule.client_code is None:
                error = ReplyError(advice.code, advice.reason)
            else:
                error = ClientDisconnected(advice.reason)
            self._refused(advice.code, advice.reason, error)
            return
        if rule.forget_state:
            # 3014: the server dropped what it knew of us: forget the token (a token
            # source gets asked again) and every recovery position (§5.3).
            if self._has_token_source:
                self._credentials = None
            for sub in self._subs.values():
                sub.forget_state()
            self._server_subs.forget_positions()
        self.lose_connection(now, advice.code, advice.reason)

    def transport_failed(self, now: float, reason: str) -> None:
        """Could not connect, the handshake was refused, or a write failed."""
        if not self.phase.has_transport:
            return
        self.emit(ErrorOccurred(error=TransportError(f"transport failed: {reason}")))
        self.lose_connection(now, ConnectingCode.TRANSPORT_CLOSED, reason)

    def bad_protocol(self, now: float, reason: str) -> None:
        """The server broke the protocol: close, and reconnect with backoff (DESIGN "Errors")."""
        if not self.phase.has_transport:
            return
        self.emit(ErrorOccurred(error=RemoteProtocolError(f"bad protocol: {reason}")))
        self.lose_connection(
            now, ConnectingCode.BAD_PROTOCOL, f"bad protocol: {reason}", close_code=1002
        )

    def _refused(self, code: int, reason: str, error: CentrifugoError) -> None:
        """A terminal refusal (§5.3, §6.1): end the transport and stop, no reconnect."""
        was = self.state
        self._teardown(1000, reason, suspend_subs=True)
        # Defensive: refusals come from a connection or a token request, and both are
        # gone (stopped, teardown) once disconnected or closed.
        if self._client_input(ClientInput.CONNECTION_REFUSED):  # pragma: no branch
            self._stop(was, code, reason, error)

    def lose_connection(
        self, now: float, code: int, reason: str, *, close_code: int = 1000
    ) -> None:
        """Tear the transport down and reconnect after backoff (§6.1, §6.2)."""
        self._teardown(close_code, reason, suspend_subs=True)
        if self._client_input(ClientInput.CONNECTION_LOST):
            self.emit(Connecting(code=code, reason=reason))
        # Defensive, as in _refused: nothing that loses a connection outlives the
        # stop that makes the client disconnected or closed.
        if self.state is not ClientState.CONNECTING:  # pragma: no cover
            return
        options = self.options
        delay = backoff_delay(
            self._attempt, options.min_reconnect_delay, options.max_reconnect_delay, self.rng
        )
        self._attempt += 1
        # Failover: each reconnect tries the next endpoint (issue "Resilience").
        self._endpoint_index += 1
        self.phase_input(PhaseInput.BACK_OFF)
        self._connect_timer = self.schedule(now + delay, self._start_attempt)

    def _teardown(self, close_code: int, reason: str, *, suspend_subs: bool) -> None:
        """End the current transport and everything tied to it."""
        if self.phase.has_transport:
            self._transport.close_transport(close_code, reason)
        was_connected = self.phase is _CONNECTED
        for timer in (self._connect_timer, self._refresh_timer):
            if timer is not None:
                timer.cancel()
        self._connect_timer = self._refresh_timer = None
        self._ping.stop()
        self.outgoing.clear()
        for pending in self._registry.drop_connection():
            if pending.request:
                # Publish is not idempotent: never retried by itself (§6.6).
                self.emit(
                    CommandFailed(
                        request=pending.request, error=ClientDisconnected("connection closed")
                    )
                )
        # Token answers for this connection (connect, refreshes) are stale from now on.
        self.tokens.forget_connection()
        self.phase_input(PhaseInput.TEAR_DOWN)
        if suspend_subs:
            for sub in self._subs.values():
                sub.connection_lost()
            if was_connected:
                self._server_subs.suspend()

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
        return self._send(command, now, on_reply=on_reply, on_timeout=on_timeout, channel=channel)

    def _send(
        self,
        command: Command,
        now: float | None,
        *,
        on_reply: Callable[[Pending, Reply, float], None],
        on_timeout: Callable[[Pending, float], None],
        channel: str = "",
    ) -> Pending:
        pending = Pending(command, self._encode(command), on_reply, on_timeout, channel=channel)
        self._issue(pending, now)
        return pending

    def _issue(self, pending: Pending, now: float | None) -> None:
        """``now`` None: no timeout of its own (connect)."""
        wire_id = self._registry.issue(pending)
        if now is not None and pending.timer is None:
            pending.timer = self.schedule(now + self.options.timeout, self._timed_out(pending))
        self.outgoing.append((wire_id, pending.encoded))

    def _timed_out(self, pending: Pending) -> Callable[[float], None]:
        def fire(now: float) -> None:
            pending.timer = None
            self._registry.time_out(pending)
            pending.on_timeout(pending, now)

        return fire

    def expect(self, reply: Reply, kind: type[Any], now: float) -> Any:
        """The result of a reply, if it is of the kind the command asked for."""
        if isinstance(reply.result, kind):
            return reply.result
        self.bad_protocol(now, f"reply {reply.id} carries the wrong result")
        return None

    # -- caller commands (DESIGN "Request handles") ---------------------------------------

    def command(self, command: Command, encoded: Any, now: float, channel: str = "") -> int:
        """Issue a caller's command, encoded already; returns its request handle.

        While connecting it waits for the connection, bounded by the timeout
        (§6.6); while disconnected it fails at once with ClientDisconnected.
        """
        if self.state is ClientState.CLOSED:
            raise LocalProtocolError("cannot send commands: the client is closed")
        pending = Pending(
            command,
            encoded,
            self._caller_reply,
            self._caller_timed_out,
            request=self._registry.new_handle(),
            channel=channel,
        )
        if self.state is ClientState.DISCONNECTED:
            error = ClientDisconnected("client is disconnected")
            self.emit(CommandFailed(request=pending.request, error=error))
        elif self.phase is _CONNECTED:
            self._dispatch(pending, now)
        else:
            pending.timer = self.schedule(now + self.options.timeout, self._timed_out(pending))
            self._registry.queued.append(pending)
        return pending.request

    def _dispatch(self, pending: Pending, now: float) -> None:
        if type(pending.command) is SendRequest:
            # Fire and forget: no id, no reply (§2.3); done once it is on the wire.
            pending.cancel_timer()
            self.outgoing.append((None, pending.encoded))
            self.emit(CommandSucceeded(request=pending.request, result=None))
        else:
            self._issue(pending, now)

    def _caller_timed_out(self, pending: Pending, now: float) -> None:
        what = type(pending.command).__name__.removesuffix("Request").lower()
        self.emit(CommandFailed(request=pending.request, error=CommandTimeout(f"{what} timed out")))

    def _caller_reply(self, pending: Pending, reply: Reply, now: float) -> None:
        if reply.error is not None:
            self.emit(CommandFailed(request=pending.request, error=reply.error))
            return
        result = reply.result
        if not isinstance(result, _RESULT_TYPES[type(pending.command)]):
            problem = f"reply {reply.id} carries the wrong result"
            error = ClientDisconnected(f"bad protocol: {problem}")
            self.emit(CommandFailed(request=pending.request, error=error))
            self.bad_protocol(now, problem)
            return
        if isinstance(result, HistoryResult):
            publications = tuple(
                attrs.evolve(p, channel=p.channel or pending.channel) for p in result.publications
            )
            result = attrs.evolve(result, publications=publications)
        self.emit(CommandSucceeded(request=pending.request, result=result))

    # -- receiving -------------------------------------------------------------------------

    def receive(self, messages: list[Incoming], now: float) -> None:
        """Handle one frame's messages, in order (§1.1)."""
        phase = self.phase
        if phase is _CONNECTED:
            self._ping.heard(now)  # any frame proves the server alive (§4)
        elif phase is not Phase.CONNECT_SENT:
            return  # bytes of a transport already given up
        subs = self._subs
        server_subs = self._server_subs
        emit = self.emit
        for message in messages:
            kind = type(message)
            if kind is Publication:
                # The hot path: one lookup, one event (DESIGN "The hot path").
                assert isinstance(message, Publication)
                sub = subs.get(message.channel)
                if sub is not None and sub.state is _SUBSCRIBED:
                    if not sub.track_offsets or sub.publication(message, now):
                        emit(PublicationReceived(publication=message))
                elif message.channel in server_subs:
                    server_subs.publication(message.channel, message)
                # else: a publication still in flight after unsubscribe; dropped.
            elif kind is Reply:
                assert isinstance(message, Reply)
                self._on_reply(message, now)
            elif kind is Push:
                assert isinstance(message, Push)
                self._on_push(message, now)
            else:
                self._on_ping()
            if not self.phase.reads_messages:
                return  # the connection ended mid-frame; the rest is stale

    def _on_ping(self) -> None:
        if self.phase is not _CONNECTED:
            return
        if self._pong:
            self.outgoing.append((None, self._encode(PONG)))  # one per ping, if asked (§4)
        self.emit(PingReceived())

    def _on_reply(self, reply: Reply, now: float) -> None:
        pending = self._registry.answer(reply.id)
        if pending is None:
            return  # a late reply to a command that timed out: dropped quietly
        if isinstance(pending, str):
            self.bad_protocol(now, pending)
            return
        pending.cancel_timer()
        pending.on_reply(pending, reply, now)

    def _on_push(self, push: Push, now: float) -> None:
        body, channel = push.body, push.channel
        sub = self._subs.get(channel)
        held = sub is not None and sub.state is _SUBSCRIBED
        if isinstance(body, Join | Leave):
            if held:
                event = JoinReceived if isinstance(body, Join) else LeaveReceived
                self.emit(event(channel=channel, info=body.info))
            elif channel in self._server_subs:
                self._server_subs.join_or_leave(channel, body)
        elif isinstance(body, ServerUnsubscribe):
            if held:
                assert sub is not None
                sub.server_unsubscribed(body.code, body.reason, now)
            elif channel in self._server_subs:
                self._server_subs.unsubscribed(channel, body.code, body.reason)
        elif isinstance(body, ServerSubscribe):
            self._server_subs.subscribed(channel, body.result)
        elif isinstance(body, ServerMessage):
            self.emit(MessageReceived(data=body.data))
        elif isinstance(body, ServerDisconnect):
            # Non-WebSocket transports carry the disconnect advice as a push (§1.3).
            self.server_closed(now, self._dialect.close_advice(body.code, body.reason))
        else:
            assert isinstance(body, Ignored)

    # -- the connect reply (§2.3, §6.1) ---------------------------------------------------

    def _on_connect_reply(self, pending: Pending, reply: Reply, now: float) -> None:
        error = reply.error
        if error is not None:
            rule = reply_error_rule(error)
            if rule.token_expired:
                # A token source gets asked before the next attempt; a static token
                # would fail for ever, so stop (PEERS.md §3 item 20).
                self._token_expired = True
                if self._has_token_source:
                    self.emit(ErrorOccurred(error=error))
                    self.lose_connection(now, ConnectingCode.TOKEN_EXPIRED, error.message)
                    return
            elif rule.retry:
                self.emit(ErrorOccurred(error=error))
                self.lose_connection(now, ConnectingCode.CONNECT_ERROR, error.message)
                return
            self._refused(error.code, error.message, error)
            return
        result: ConnectResult | None = self.expect(reply, ConnectResult, now)
        if result is None:
            return
        self._client_input(ClientInput.CONNECT_SUCCEEDED)
        self.phase_input(PhaseInput.CONNECT_ACCEPTED)
        self._attempt = 0
        self._token_expired = False
        # Always set: every attempt arms it, and only a teardown (no reply then) clears it.
        if self._connect_timer is not None:  # pragma: no branch
            self._connect_timer.cancel()
            self._connect_timer = None
        self.client_id = result.client
        self._pong = result.pong
        # No ping within interval + max delay means the server is gone (§4).
        self._ping.start(now, result.ping, self.options.max_server_ping_delay)
        if result.expires and self._has_token_source:
            self._refresh_timer = self.schedule(now + result.ttl, self._refresh_due)
        self.emit(
            Connected(
                client_id=result.client, version=result.version, data=result.data, result=result
            )
        )
        self._server_subs.connected(result.subs)
        # Everything that waited for the connection goes out now, in one frame.
        for sub in self._subs.values():
            sub.connected(now)
        queued = self._registry.queued
        while queued and self.phase is _CONNECTED:
            self._dispatch(queued.popleft(), now)

    # -- the connection token (§6.3) ------------------------------------------------------

    def _refresh_due(self, now: float) -> None:
        self._refresh_timer = None
        self.tokens.ask(TokenPurpose.REFRESH)

    def _retry_refresh(self, now: float) -> None:
        options = self.options
        delay = jittered(options.refresh_retry_min, options.refresh_retry_max, self.rng)
        self._refresh_timer = self.schedule(now + delay, self._refresh_due)

    def _on_refresh_reply(self, pending: Pending, reply: Reply, now: float) -> None:
        error = reply.error
        if error is not None:
            if error.retryable:
                self.emit(ErrorOccurred(error=error))
                self._retry_refresh(now)
            else:
                self._refused(error.code, error.message, error)
            return
        result: RefreshResult | None = self.expect(reply, RefreshResult, now)
        if result is None:
            return
        self._credentials = self._refreshing or self._credentials
        if result.expires:
            self._refresh_timer = self.schedule(now + result.ttl, self._refresh_due)
        self.emit(TokenRefreshed(channel=None, expires=result.expires, ttl=result.ttl))

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

    def token_failed(self, request: TokenRequest, unauthorized: bool, now: float) -> None:
        if unauthorized:
            self._token_unauthorized(request, now)
            return
        self.emit(ErrorOccurred(error=TokenError("could not get a token"), channel=request.channel))
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

    def _token_unauthorized(self, request: TokenRequest, now: float) -> None:
        if request.channel is None:
            error = Unauthorized("unauthorized")
            self._refused(DisconnectedCode.UNAUTHORIZED, "unauthorized", error)
            return
        sub = self._subs.get(request.channel)
        if sub is not None:
            sub.token_unauthorized(now)

    # -- client-side subscriptions (§6.4) -------------------------------------------------

    def subscription_states(self) -> dict[str, SubscriptionState]:
        return {channel: sub.state for channel, sub in self._subs.items()}

    def subscribe(self, channel: str, options: SubscriptionOptions, now: float) -> None:
        if self.state is ClientState.CLOSED:
            raise LocalProtocolError("cannot subscribe(): the client is closed")
        sub = self._subs.get(channel)
        if sub is None:
            sub = self._subs[channel] = ClientSubscription(self, channel, options)
        sub.subscribe_called(options, now)

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


def _never(pending: Pending, now: float) -> None:  # pragma: no cover - connect has no timer
    raise AssertionError("connect has no timeout of its own")
