"""The session: connection lifecycle, pending commands, timers, subscriptions
(DESIGN "The core", layer 3).

It deals only in protocol objects (:mod:`.messages`) and ``now``; it knows
nothing of bytes. The facade (:mod:`.client`) feeds it decoded messages and
transport news, and drains :attr:`Session.outgoing` into one WebSocket frame
after every call, so commands produced together travel together.

Invariants kept here:

- No command but ``connect`` goes out before the connect reply (DESIGN "No
  optimistic subscribe"); what waited for it goes out in one frame.
- Wire ids are per connection, start at 1 and only grow; callers see request
  handles, which survive reconnects (DESIGN "Request handles").
- Every deadline is a timer in one queue (or the ping deadline, moved on every
  received frame), so ``next_deadline()`` covers all of them.
- Nothing here raises on server input: bad input goes through
  :meth:`Session.bad_protocol`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Protocol

import attrs

from .backoff import RandomSource, backoff_delay, jittered
from .codes import (
    MESSAGE_TOO_BIG,
    ConnectingCode,
    DisconnectedCode,
    SubscribingCode,
    UnsubscribedCode,
    disconnect_reconnects,
    unsubscribe_resubscribes,
)
from .endpoints import Endpoint
from .errors import (
    CentrifugoError,
    ClientDisconnected,
    CommandTimeout,
    LocalProtocolError,
    ReplyError,
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
    PublicationsLost,
    Subscribed,
    Subscribing,
    TokenRefreshed,
    TokenRequested,
    Unsubscribed,
)
from .messages import (
    PONG,
    Command,
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
from .results import (
    ConnectResult,
    HistoryResult,
    PresenceResult,
    PresenceStatsResult,
    Publication,
    PublishResult,
    RefreshResult,
    RpcResult,
    StreamPosition,
    SubRefreshResult,
    SubscribeResult,
)
from .states import (
    CLIENT_TRANSITIONS,
    INVALID,
    STAY,
    SUBSCRIPTION_TRANSITIONS,
    ClientInput,
    ClientState,
    SubscriptionInput,
    SubscriptionState,
)
from .timers import Timer, TimerQueue

__all__ = ["Session", "TransportControl"]

_INF = float("inf")
#: The server's "insufficient state" unsubscribe code (§5.2), used for a gap
#: the client detects itself.
INSUFFICIENT_STATE = 2500


#: Disconnect code 3014 and unsubscribe codes 2501, 2502 (§5.2, §5.3).
STATE_INVALIDATED = 3014
SUBSCRIPTION_EXPIRED = 2501
SUB_STATE_INVALIDATED = 2502

#: The result each caller command must carry (anything else is bad protocol).
_RESULT_TYPES: dict[str, type] = {
    "publish": PublishResult,
    "history": HistoryResult,
    "presence": PresenceResult,
    "presence_stats": PresenceStatsResult,
    "rpc": RpcResult,
}


def _forget_position(sub: _Subscription) -> None:
    sub.offset, sub.epoch, sub.has_position, sub.recover = 0, "", False, False


def _position(sub: _Subscription) -> StreamPosition | None:
    return StreamPosition(sub.offset, sub.epoch) if sub.has_position else None


#: Wire ids are uint32 (§2.1); a connection that issues 4 billion commands starts over.
_MAX_WIRE_ID = 2**32 - 1


class TransportControl(Protocol):
    """What the session asks of the facade: open or close the transport."""

    def open_transport(self, endpoint: Endpoint, attempt: int) -> None: ...

    def close_transport(self, code: int, reason: str) -> None: ...


@attrs.define(eq=False)
class _Pending:
    """A command waiting for its reply (or, before connect, for the connection)."""

    method: str
    params: dict[str, Any]
    #: The caller's handle; 0 for the session's own commands (subscribe, refresh...).
    request: int = 0
    channel: str = ""
    wire_id: int = 0
    timer: Timer | None = None


@attrs.define(eq=False)
class _Subscription:
    """A client-side subscription: state, options and recovery position."""

    channel: str
    options: SubscriptionOptions
    state: SubscriptionState = SubscriptionState.UNSUBSCRIBED
    token: str | None = None
    #: Position of the last publication delivered (§6.5), kept as plain values
    #: because the hot path moves it on every publication.
    offset: int = 0
    epoch: str = ""
    has_position: bool = False
    #: Ask for recovery from the position on the next subscribe (§6.5).
    recover: bool = False
    #: Offsets are checked (recoverable or positioned): duplicates are dropped
    #: and a gap triggers a resubscribe with recovery.
    track_offsets: bool = False
    attempt: int = 0
    #: Wire id of the subscribe command in flight on this connection, or 0.
    inflight: int = 0
    timer: Timer | None = None
    refresh_timer: Timer | None = None


@attrs.define(eq=False)
class _ServerSubscription:
    """A server-side subscription (§6.5): known from connect result or pushes."""

    channel: str
    recoverable: bool = False
    position: StreamPosition | None = None


@attrs.define(eq=False)
class _TokenRequest:
    #: "connect", "refresh", "subscribe" or "sub_refresh".
    purpose: str
    channel: str | None


_PHASE_IDLE = "idle"  # disconnected or closed
_PHASE_BACKOFF = "backoff"  # waiting to reconnect
_PHASE_TOKEN = "token"  # waiting for a connection token
_PHASE_OPENING = "opening"  # OpenTransport emitted
_PHASE_HANDSHAKE = "handshake"  # WebSocket upgrade under way
_PHASE_CONNECT = "connect"  # connect command sent
_PHASE_CONNECTED = "connected"


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
        token: str | None,
        data: Any,
        name: str,
        version: str,
        has_token_source: bool,
    ) -> None:
        self._endpoints = tuple(endpoints)
        self._transport = transport
        self._events = events
        self._emit = events.append
        self._options = options
        self._rng = rng
        self._token = token
        self._data = data
        self._name = name
        self._version = version
        self._has_token_source = has_token_source
        #: Commands to send on the open transport; the facade drains it.
        self.outgoing: list[Command] = []

        self.state = ClientState.DISCONNECTED
        self._phase = _PHASE_IDLE
        self.client_id: str | None = None
        self._attempt = 0  # reconnect attempts since the last success
        self._transport_attempt = 0  # OpenTransport counter, for the adapter
        self._endpoint_index = 0
        self._token_expired = False
        self._refreshing_token: str | None = None

        self._timers = TimerQueue()
        self._connect_timer: Timer | None = None
        self._refresh_timer: Timer | None = None
        self._ping_due: float | None = None
        self._ping_window = 0.0
        self._ping_grace_used = False
        self._pong = False

        self._next_request = 0
        self._next_wire_id = 0
        self._inflight: dict[int, _Pending] = {}
        self._timed_out: set[int] = set()
        self._queued: deque[_Pending] = deque()

        self._subs: dict[str, _Subscription] = {}
        self._server_subs: dict[str, _ServerSubscription] = {}
        self._next_token_request = 0
        self._token_requests: dict[int, _TokenRequest] = {}

    # -- tables ---------------------------------------------------------------------------

    def _client_input(self, value: ClientInput) -> bool:
        """Apply a client input; True if the state changed."""
        outcome = CLIENT_TRANSITIONS[self.state, value]
        if outcome is INVALID:
            raise LocalProtocolError(f"cannot {value.value!r} while {self.state.value}")
        if outcome is STAY:
            return False
        assert isinstance(outcome, ClientState)
        self.state = outcome
        return True

    def _sub_input(self, sub: _Subscription, value: SubscriptionInput) -> bool:
        outcome = SUBSCRIPTION_TRANSITIONS[sub.state, value]
        if outcome is INVALID:
            raise LocalProtocolError(
                f"subscription {sub.channel!r}: cannot {value.value!r} while {sub.state.value}"
            )
        if outcome is STAY:
            return False
        assert isinstance(outcome, SubscriptionState)
        sub.state = outcome
        return True

    # -- deadlines ------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        deadline = self._timers.next_deadline()
        ping = self._ping_due
        if ping is not None and (deadline is None or ping < deadline):
            return ping
        return deadline

    def handle_timeout(self, now: float) -> None:
        ping = self._ping_due
        if ping is not None and ping <= now:
            self._ping_missed(now, ping)
        self._timers.fire_due(now)

    def _ping_missed(self, now: float, due: float) -> None:
        # A timer that fires long after it was due means the process was asleep:
        # the ping may be sitting unread in the socket. Give the adapter one grace
        # period to read it before declaring the server gone (PEERS.md §3 item 16).
        grace = self._options.late_timer_grace
        if now - due > grace and not self._ping_grace_used:
            self._ping_grace_used = True
            self._ping_due = now + grace
            return
        self._lose_connection(now, ConnectingCode.NO_PING, "no ping")

    def _schedule(self, when: float, action: Callable[[float], None]) -> Timer:
        return self._timers.schedule(when, action)

    # -- connection lifecycle --------------------------------------------------------------

    def connect(self, now: float) -> None:
        if self._client_input(ClientInput.CONNECT_CALLED):
            self._emit(Connecting(code=ConnectingCode.CONNECT_CALLED, reason="connect called"))
            self._attempt = 0
            self._start_attempt(now)

    def disconnect(self, now: float) -> None:
        was = self.state
        if self._client_input(ClientInput.DISCONNECT_CALLED):
            self._teardown(now, 1000, "disconnect called", suspend_subs=True)
            self._stop(
                was,
                DisconnectedCode.DISCONNECT_CALLED,
                "disconnect called",
                ClientDisconnected("disconnect called"),
            )

    def close(self, now: float) -> None:
        was = self.state
        if self._client_input(ClientInput.CLOSE_CALLED):
            self._teardown(now, 1000, "client closed", suspend_subs=False)
            for sub in self._subs.values():
                self._sub_unsubscribed(
                    sub,
                    UnsubscribedCode.CLIENT_CLOSED,
                    "client closed",
                    SubscriptionInput.CLIENT_CLOSED,
                )
            for channel in self._server_subs:
                self._emit(
                    Unsubscribed(
                        channel=channel,
                        code=UnsubscribedCode.CLIENT_CLOSED,
                        reason="client closed",
                        server_side=True,
                    )
                )
            self._server_subs.clear()
            self._stop(
                was, DisconnectedCode.CLOSED, "client closed", ClientDisconnected("client closed")
            )

    def _stop(self, was: ClientState, code: int, reason: str, error: CentrifugoError) -> None:
        """After a move to disconnected or closed: fail what waited for a connection."""
        self._phase = _PHASE_IDLE
        while self._queued:
            self._fail(self._queued.popleft(), ClientDisconnected(reason))
        self._token_requests.clear()
        for sub in self._subs.values():
            self._cancel_sub_timers(sub)
        if was is not ClientState.DISCONNECTED:
            self._emit(Disconnected(code=code, reason=reason, error=error))

    def _start_attempt(self, now: float) -> None:
        """Begin one connection attempt: token first if one is needed (§6.3)."""
        self._connect_timer = self._schedule(now + self._options.timeout, self._attempt_timed_out)
        if self._has_token_source and (self._token is None or self._token_expired):
            self._phase = _PHASE_TOKEN
            self._request_token("connect", None)
            return
        self._open_transport()

    def _open_transport(self) -> None:
        self._phase = _PHASE_OPENING
        self._transport_attempt += 1
        endpoint = self._endpoints[self._endpoint_index % len(self._endpoints)]
        self._transport.open_transport(endpoint, self._transport_attempt)

    def _attempt_timed_out(self, now: float) -> None:
        self._lose_connection(now, ConnectingCode.CONNECT_TIMEOUT, "connect timeout")

    def transport_opened(self, now: float) -> bool:
        """The socket is up; False if no attempt is waiting for it (stale)."""
        if self._phase != _PHASE_OPENING:
            return False
        self._phase = _PHASE_HANDSHAKE
        return True

    def transport_ready(self, now: float) -> None:
        """The WebSocket handshake succeeded: send connect (§2.3), alone."""
        self._phase = _PHASE_CONNECT
        self._next_wire_id = 0
        params: dict[str, Any] = {}
        if self._token:
            params["token"] = self._token
        if self._data is not None:
            params["data"] = self._data
        if self._name:
            params["name"] = self._name
        if self._version:
            params["version"] = self._version
        # Server-side subscriptions recover through the connect command (§6.5).
        recover = {
            sub.channel: {
                "recover": True,
                "offset": sub.position.offset,
                "epoch": sub.position.epoch,
            }
            for sub in self._server_subs.values()
            if sub.recoverable and sub.position is not None
        }
        if recover:
            params["subs"] = recover
        self._send(_Pending("connect", params), now=None)

    def transport_closed(self, now: float, code: int, reason: str) -> None:
        """The peer closed the WebSocket (or the stream ended: 1006)."""
        if self._phase in (_PHASE_IDLE, _PHASE_BACKOFF, _PHASE_TOKEN):
            return
        self._server_closed(now, code, reason)

    def transport_failed(self, now: float, reason: str) -> None:
        """Could not connect, the handshake was refused, or a write failed."""
        if self._phase in (_PHASE_IDLE, _PHASE_BACKOFF, _PHASE_TOKEN):
            return
        self._emit(ErrorOccurred(error=f"transport failed: {reason}"))
        self._lose_connection(now, ConnectingCode.TRANSPORT_CLOSED, reason)

    def bad_protocol(self, now: float, reason: str) -> None:
        """The server broke the protocol: close, and reconnect with backoff (DESIGN "Errors")."""
        if self._phase in (_PHASE_IDLE, _PHASE_BACKOFF, _PHASE_TOKEN):
            return
        self._emit(ErrorOccurred(error=f"bad protocol: {reason}"))
        self._lose_connection(
            now, ConnectingCode.BAD_PROTOCOL, f"bad protocol: {reason}", close_code=1002
        )

    def _server_closed(self, now: float, code: int, reason: str) -> None:
        """Apply the disconnect code rules (§5.3) to a close from the server."""
        if disconnect_reconnects(code):
            if code == STATE_INVALIDATED:
                # 3014: the server dropped what it knew of us: forget the token (a
                # token source gets asked again) and every recovery position (§5.3).
                if self._has_token_source:
                    self._token = None
                for sub in self._subs.values():
                    _forget_position(sub)
                for server_sub in self._server_subs.values():
                    server_sub.position = None
            # Codes below 3000 are the transport's own: report them as "transport closed".
            client_code = code if code >= 3000 else ConnectingCode.TRANSPORT_CLOSED
            self._lose_connection(now, client_code, reason or "transport closed")
        else:
            if code == MESSAGE_TOO_BIG:
                reason = reason or "message size limit"
                self._refused(
                    now, DisconnectedCode.MESSAGE_SIZE_LIMIT, reason, ClientDisconnected(reason)
                )
            else:
                reason = reason or "disconnected by the server"
                self._refused(now, code, reason, ReplyError(code, reason))

    def _refused(self, now: float, code: int, reason: str, error: CentrifugoError) -> None:
        """A terminal refusal (§5.3, §6.1): end the transport and stop, no reconnect."""
        was = self.state
        self._teardown(now, 1000, reason, suspend_subs=True)
        # Defensive: refusals come from a connection or a token request, and both are
        # gone (stopped, teardown) once disconnected or closed.
        if self._client_input(ClientInput.CONNECTION_REFUSED):  # pragma: no branch
            self._stop(was, code, reason, error)

    def _lose_connection(
        self, now: float, code: int, reason: str, *, close_code: int = 1000
    ) -> None:
        """Tear the transport down and reconnect after backoff (§6.1, §6.2)."""
        self._teardown(now, close_code, reason, suspend_subs=True)
        if self._client_input(ClientInput.CONNECTION_LOST):
            self._emit(Connecting(code=code, reason=reason))
        if self.state is not ClientState.CONNECTING:
            # Defensive, as in _refused: nothing that loses a connection outlives the
            # stop that makes the client disconnected or closed.
            return  # pragma: no cover
        delay = backoff_delay(
            self._attempt,
            self._options.min_reconnect_delay,
            self._options.max_reconnect_delay,
            self._rng,
        )
        self._attempt += 1
        # Failover: each reconnect tries the next endpoint (issue "Resilience").
        self._endpoint_index += 1
        self._phase = _PHASE_BACKOFF
        self._connect_timer = self._schedule(now + delay, self._start_attempt)

    def _teardown(self, now: float, close_code: int, reason: str, *, suspend_subs: bool) -> None:
        """End the current transport and everything tied to it."""
        if self._phase in (_PHASE_OPENING, _PHASE_HANDSHAKE, _PHASE_CONNECT, _PHASE_CONNECTED):
            self._transport.close_transport(close_code, reason)
        for timer in (self._connect_timer, self._refresh_timer):
            if timer is not None:
                timer.cancel()
        self._connect_timer = self._refresh_timer = None
        self._ping_due = None
        self._ping_grace_used = False
        self.outgoing.clear()
        inflight = list(self._inflight.values())
        self._inflight.clear()
        self._timed_out.clear()
        for pending in inflight:
            if pending.timer is not None:
                pending.timer.cancel()
            if pending.request:
                # Publish is not idempotent: never retried by itself (§6.6).
                self._fail(pending, ClientDisconnected("connection closed"), cancel=False)
        # Token answers for refreshes of this connection are stale from now on.
        for key in [
            k
            for k, r in self._token_requests.items()
            if r.purpose in ("refresh", "sub_refresh", "connect")
        ]:
            del self._token_requests[key]
        self._phase = _PHASE_IDLE
        if suspend_subs:
            for sub in self._subs.values():
                sub.inflight = 0
                self._cancel_sub_timers(sub)
                if self._sub_input(sub, SubscriptionInput.CONNECTION_LOST):
                    self._emit(
                        Subscribing(
                            channel=sub.channel,
                            code=SubscribingCode.TRANSPORT_CLOSED,
                            reason="transport closed",
                        )
                    )
            if self.state is ClientState.CONNECTED:
                for channel in self._server_subs:
                    self._emit(
                        Subscribing(
                            channel=channel,
                            code=SubscribingCode.TRANSPORT_CLOSED,
                            reason="transport closed",
                            server_side=True,
                        )
                    )

    # -- sending ---------------------------------------------------------------------------

    def _wire_id(self) -> int:
        self._next_wire_id += 1
        if self._next_wire_id > _MAX_WIRE_ID:  # pragma: no cover - 4 billion commands
            self._next_wire_id = 1
        return self._next_wire_id

    def _send(self, pending: _Pending, now: float | None) -> None:
        """Put a command on the wire; ``now`` None means no timeout of its own."""
        wire_id = self._wire_id()
        pending.wire_id = wire_id
        self._inflight[wire_id] = pending
        if now is not None and pending.timer is None:
            pending.timer = self._schedule(
                now + self._options.timeout, partial(self._command_timed_out, pending)
            )
        self.outgoing.append(Command(wire_id, pending.method, pending.params))

    def _fail(self, pending: _Pending, error: CentrifugoError, *, cancel: bool = True) -> None:
        if cancel and pending.timer is not None:
            pending.timer.cancel()
        self._emit(CommandFailed(request=pending.request, error=error))

    def _command_timed_out(self, pending: _Pending, now: float) -> None:
        if pending.wire_id == 0:  # still queued: the connection never came
            self._queued.remove(pending)
            self._fail(pending, CommandTimeout(f"{pending.method} timed out"), cancel=False)
            return
        del self._inflight[pending.wire_id]
        # A reply may still come: drop it quietly when it does (DESIGN "Request handles").
        self._timed_out.add(pending.wire_id)
        method = pending.method
        if pending.request:
            self._fail(pending, CommandTimeout(f"{method} timed out"), cancel=False)
        elif method == "subscribe":
            # The server may have subscribed anyway: only a new connection is sure (§6.4).
            self._lose_connection(now, ConnectingCode.SUBSCRIBE_TIMEOUT, "subscribe timeout")
        elif method == "unsubscribe":
            self._lose_connection(now, ConnectingCode.UNSUBSCRIBE_ERROR, "unsubscribe timeout")
        elif method == "refresh":
            self._retry_refresh(now)
        elif method == "sub_refresh":  # pragma: no branch - connect has no timeout of its own
            self._retry_sub_refresh(now, pending.channel)

    def command(self, method: str, params: dict[str, Any], now: float, channel: str = "") -> int:
        """Issue a caller's command; returns its request handle (DESIGN "Request handles").

        While connecting it waits for the connection, bounded by the timeout
        (§6.6); while disconnected it fails at once with ClientDisconnected.
        """
        if self.state is ClientState.CLOSED:
            raise LocalProtocolError("the client is closed")
        self._next_request += 1
        pending = _Pending(method, params, request=self._next_request, channel=channel)
        if self.state is ClientState.DISCONNECTED:
            self._emit(
                CommandFailed(
                    request=pending.request, error=ClientDisconnected("client is disconnected")
                )
            )
        elif self._phase == _PHASE_CONNECTED:
            self._dispatch(pending, now)
        else:
            pending.timer = self._schedule(
                now + self._options.timeout, partial(self._command_timed_out, pending)
            )
            self._queued.append(pending)
        return pending.request

    def _dispatch(self, pending: _Pending, now: float) -> None:
        if pending.method == "send":
            # Fire and forget: no id, no reply (§2.3); done once it is on the wire.
            if pending.timer is not None:
                pending.timer.cancel()
            self.outgoing.append(Command(0, "send", pending.params))
            self._emit(CommandSucceeded(request=pending.request, result=None))
        else:
            self._send(pending, now)

    # -- receiving -------------------------------------------------------------------------

    def receive(self, messages: list[Incoming], now: float) -> None:
        """Handle one frame's messages, in order (§1.1)."""
        if self._phase == _PHASE_CONNECTED:
            if self._ping_window:
                # Any frame proves the server alive (centrifuge-js restarts on every frame).
                self._ping_due = now + self._ping_window
                self._ping_grace_used = False
        elif self._phase != _PHASE_CONNECT:
            return  # bytes of a transport already given up
        subs = self._subs
        server_subs = self._server_subs
        emit = self._emit
        subscribed = SubscriptionState.SUBSCRIBED
        for message in messages:
            if type(message) is Publication:
                # The hot path: one lookup, one event (DESIGN "The hot path").
                sub = subs.get(message.channel)
                if sub is not None and sub.state is subscribed:
                    if sub.track_offsets and message.offset and self._offset_gap(sub, message, now):
                        continue
                    emit(PublicationReceived(publication=message))
                elif message.channel in server_subs:
                    self._server_publication(server_subs[message.channel], message)
                # else: a publication still in flight after unsubscribe; dropped.
            elif type(message) is Reply:
                self._on_reply(message, now)
            elif type(message) is Push:
                self._on_push(message, now)
            else:
                self._on_ping()
            if self._phase not in (_PHASE_CONNECTED, _PHASE_CONNECT):
                return  # the connection ended mid-frame; the rest is stale

    def _on_ping(self) -> None:
        if self._phase != _PHASE_CONNECTED:
            return
        if self._pong:
            self.outgoing.append(PONG)  # one pong per ping, only if asked (§4)
        self._emit(PingReceived())

    def _offset_gap(self, sub: _Subscription, pub: Publication, now: float) -> bool:
        """Check a tracked publication's offset; True if it must not be delivered.

        Offsets of a channel with history grow by one per publication (§6.5), so
        an offset at or below the last delivered one is a duplicate (dropped:
        each publication is delivered once), and one beyond the next means some
        were missed: resubscribe and let the server recover them, in order.
        """
        offset = pub.offset
        if offset <= sub.offset:
            return True
        if not sub.has_position or offset == sub.offset + 1:
            sub.offset = offset
            sub.has_position = True
            return False
        self._resync(sub, now, f"offset gap: {sub.offset} then {offset}")
        return True

    def _resync(self, sub: _Subscription, now: float, reason: str) -> None:
        """Resubscribe from the last delivered position, in one frame: the server
        still holds the subscription, so unsubscribe goes first (else 105)."""
        self._sub_input(sub, SubscriptionInput.SERVER_RESUBSCRIBE)
        self._emit(Subscribing(channel=sub.channel, code=INSUFFICIENT_STATE, reason=reason))
        # The token refresh of the subscription being replaced goes with it: the new
        # subscribe reply sets its own (else both fire: two sub_refresh requests).
        self._cancel_sub_timers(sub)
        self._send(_Pending("unsubscribe", {"channel": sub.channel}, channel=sub.channel), now)
        sub.recover = True
        self._send_subscribe(sub, now)

    def _server_publication(self, server_sub: _ServerSubscription, pub: Publication) -> None:
        # ``pub.channel`` may differ from the subscription's (the ``channel`` field of
        # wildcard subscriptions, §2.2): the position is the subscription's.
        if server_sub.recoverable and pub.offset:
            epoch = server_sub.position.epoch if server_sub.position else ""
            server_sub.position = StreamPosition(pub.offset, epoch)
        self._emit(PublicationReceived(publication=pub, server_side=True))

    def _on_reply(self, reply: Reply, now: float) -> None:
        pending = self._inflight.pop(reply.id, None)
        if pending is None:
            if reply.id in self._timed_out:
                self._timed_out.discard(reply.id)  # late reply to a timed-out command
                return
            what = "a second reply to" if 0 < reply.id <= self._next_wire_id else "a reply to"
            self.bad_protocol(now, f"{what} command id {reply.id} never issued or already answered")
            return
        if pending.timer is not None:
            pending.timer.cancel()
        method = pending.method
        if pending.request:
            if reply.error is not None:
                self._emit(CommandFailed(request=pending.request, error=reply.error))
                return
            result = reply.result
            if not isinstance(result, _RESULT_TYPES[method]):
                problem = f"reply {reply.id} to {method} carries the wrong result"
                self._fail(pending, ClientDisconnected(f"bad protocol: {problem}"), cancel=False)
                self.bad_protocol(now, problem)
                return
            if method == "history" and isinstance(result, HistoryResult):
                result = attrs.evolve(
                    result,
                    publications=tuple(
                        attrs.evolve(p, channel=p.channel or pending.channel)
                        for p in result.publications
                    ),
                )
            self._emit(CommandSucceeded(request=pending.request, result=result))
        elif method == "connect":
            self._on_connect_reply(reply, now)
        elif method == "subscribe":
            self._on_subscribe_reply(pending, reply, now)
        elif method == "unsubscribe":
            if reply.error is not None:
                # The server may still hold us subscribed: reconnect to be sure (§6.1).
                self._lose_connection(now, ConnectingCode.UNSUBSCRIBE_ERROR, "unsubscribe error")
        elif method == "refresh":
            self._on_refresh_reply(reply, now)
        elif method == "sub_refresh":  # pragma: no branch - the session sends no other
            self._on_sub_refresh_reply(pending.channel, reply, now)

    def _expect(self, reply: Reply, kind: type[Any], now: float) -> Any:
        """The result of a reply, if it is of the kind the command asked for."""
        if isinstance(reply.result, kind):
            return reply.result
        self.bad_protocol(now, f"reply {reply.id} carries the wrong result")
        return None

    # -- connect reply (§2.3, §6.1) -------------------------------------------------------

    def _on_connect_reply(self, reply: Reply, now: float) -> None:
        error = reply.error
        if error is not None:
            if error.code == 109:
                # Token expired: a token source gets asked before the next attempt;
                # a static token would fail forever, so stop (PEERS.md §3 item 20).
                self._token_expired = True
                if self._has_token_source:
                    self._emit(ErrorOccurred(error=error))
                    self._lose_connection(now, ConnectingCode.TOKEN_EXPIRED, error.message)
                    return
            elif error.retryable:
                self._emit(ErrorOccurred(error=error))
                self._lose_connection(now, ConnectingCode.CONNECT_ERROR, error.message)
                return
            self._refused(now, error.code, error.message, error)
            return
        result: ConnectResult | None = self._expect(reply, ConnectResult, now)
        if result is None:
            return
        self._client_input(ClientInput.CONNECT_SUCCEEDED)
        self._phase = _PHASE_CONNECTED
        self._attempt = 0
        self._token_expired = False
        # Always set: every attempt arms it, and only a teardown (no reply then) clears it.
        if self._connect_timer is not None:  # pragma: no branch
            self._connect_timer.cancel()
            self._connect_timer = None
        self.client_id = result.client
        self._pong = result.pong
        # No ping within interval + max delay means the server is gone (§4).
        window = result.ping + self._options.max_server_ping_delay if result.ping else 0.0
        self._ping_window = window
        self._ping_due = now + window if window else None
        if result.expires and self._has_token_source:
            self._refresh_timer = self._schedule(now + result.ttl, self._refresh_connection)
        self._emit(
            Connected(
                client_id=result.client, version=result.version, data=result.data, result=result
            )
        )
        self._apply_server_subs(result.subs)
        # Everything that waited for the connection goes out now, in one frame.
        for sub in self._subs.values():
            if sub.state is SubscriptionState.SUBSCRIBING and sub.timer is None:
                self._send_subscribe(sub, now)
        while self._queued and self._phase == _PHASE_CONNECTED:
            self._dispatch(self._queued.popleft(), now)

    def _apply_server_subs(self, subs: dict[str, SubscribeResult] | Any) -> None:
        for channel in [c for c in self._server_subs if c not in subs]:
            del self._server_subs[channel]
            self._emit(
                Unsubscribed(
                    channel=channel,
                    code=UnsubscribedCode.UNSUBSCRIBE_CALLED,
                    reason="server-side subscription gone",
                    server_side=True,
                )
            )
        for channel, result in subs.items():
            self._server_subscribed(channel, result)

    def _server_subscribed(self, channel: str, result: SubscribeResult) -> None:
        server_sub = self._server_subs.get(channel)
        if server_sub is None:
            server_sub = self._server_subs[channel] = _ServerSubscription(channel)
        server_sub.recoverable = result.recoverable
        position = StreamPosition(result.offset, result.epoch)
        if result.recoverable or result.positioned:
            server_sub.position = position
        self._emit(
            Subscribed(
                channel=channel,
                result=result,
                position=server_sub.position,
                was_recovering=result.was_recovering,
                recovered=result.recovered,
                server_side=True,
            )
        )
        for pub in result.publications:
            self._server_publication(server_sub, attrs.evolve(pub, channel=pub.channel or channel))

    # -- tokens (§6.3) --------------------------------------------------------------------

    def _request_token(self, purpose: str, channel: str | None) -> None:
        self._next_token_request += 1
        self._token_requests[self._next_token_request] = _TokenRequest(purpose, channel)
        self._emit(TokenRequested(request_id=self._next_token_request, channel=channel))

    def provide_token(self, request_id: int, token: str, now: float) -> None:
        request = self._token_requests.pop(request_id, None)
        if request is None:
            return  # an answer for an older attempt or subscription (DESIGN "Effects")
        if not token:
            self._token_unauthorized(request, now)
            return
        purpose = request.purpose
        if purpose == "connect":
            self._token = token
            self._token_expired = False
            self._open_transport()
        elif purpose == "refresh":
            self._refreshing_token = token
            self._send(_Pending("refresh", {"token": token}), now)
        else:
            sub = self._subs.get(request.channel or "")
            if sub is None:
                return
            if purpose == "subscribe":
                sub.token = token
                if sub.state is SubscriptionState.SUBSCRIBING and self._phase == _PHASE_CONNECTED:
                    self._send_subscribe(sub, now)
            elif sub.state is SubscriptionState.SUBSCRIBED:
                sub.token = token
                self._send(
                    _Pending(
                        "sub_refresh", {"channel": sub.channel, "token": token}, channel=sub.channel
                    ),
                    now,
                )

    def token_failed(self, request_id: int, unauthorized: bool, now: float) -> None:
        request = self._token_requests.pop(request_id, None)
        if request is None:
            return
        if unauthorized:
            self._token_unauthorized(request, now)
            return
        self._emit(ErrorOccurred(error="could not get a token", channel=request.channel))
        purpose = request.purpose
        if purpose == "connect":
            self._lose_connection(now, ConnectingCode.TRANSPORT_CLOSED, "could not get a token")
        elif purpose == "refresh":
            self._retry_refresh(now)
        elif purpose == "sub_refresh":
            self._retry_sub_refresh(now, request.channel or "")
        else:
            sub = self._subs.get(request.channel or "")
            # Defensive: a subscribe token is asked for only while subscribing, and
            # leaving that state (unsubscribe, refusal, close) drops the request.
            if sub is not None and sub.state is SubscriptionState.SUBSCRIBING:  # pragma: no branch
                self._schedule_resubscribe(sub, now)

    def _token_unauthorized(self, request: _TokenRequest, now: float) -> None:
        if request.channel is None:
            self._refused(
                now, DisconnectedCode.UNAUTHORIZED, "unauthorized", Unauthorized("unauthorized")
            )
            return
        sub = self._subs.get(request.channel)
        if sub is not None:
            self._unsubscribe(
                sub,
                now,
                UnsubscribedCode.UNAUTHORIZED,
                "unauthorized",
                SubscriptionInput.SERVER_UNSUBSCRIBE,
                Unauthorized("unauthorized"),
            )

    def _refresh_connection(self, now: float) -> None:
        self._refresh_timer = None
        self._request_token("refresh", None)

    def _retry_refresh(self, now: float) -> None:
        delay = jittered(
            self._options.refresh_retry_min, self._options.refresh_retry_max, self._rng
        )
        self._refresh_timer = self._schedule(now + delay, self._refresh_connection)

    def _on_refresh_reply(self, reply: Reply, now: float) -> None:
        error = reply.error
        if error is not None:
            if error.retryable:
                self._emit(ErrorOccurred(error=error))
                self._retry_refresh(now)
            else:
                self._refused(now, error.code, error.message, error)
            return
        result: RefreshResult | None = self._expect(reply, RefreshResult, now)
        if result is None:
            return
        self._token = self._refreshing_token or self._token
        if result.expires:
            self._refresh_timer = self._schedule(now + result.ttl, self._refresh_connection)
        self._emit(TokenRefreshed(channel=None, expires=result.expires, ttl=result.ttl))

    # -- client-side subscriptions (§6.4, §6.5) -------------------------------------------

    def subscription_state(self, channel: str) -> SubscriptionState | None:
        sub = self._subs.get(channel)
        return None if sub is None else sub.state

    def subscribe(self, channel: str, options: SubscriptionOptions, now: float) -> None:
        if self.state is ClientState.CLOSED:
            raise LocalProtocolError("the client is closed")
        sub = self._subs.get(channel)
        if sub is None:
            sub = self._subs[channel] = _Subscription(channel, options)
        elif sub.state is SubscriptionState.UNSUBSCRIBED:
            sub.options = options
        if not self._sub_input(sub, SubscriptionInput.SUBSCRIBE_CALLED):
            return
        sub.token = options.token
        sub.attempt = 0
        if options.since is not None:
            sub.offset, sub.epoch = options.since.offset, options.since.epoch
            sub.has_position = True
            sub.recover = True
        self._emit(
            Subscribing(
                channel=channel, code=SubscribingCode.SUBSCRIBE_CALLED, reason="subscribe called"
            )
        )
        if self._phase == _PHASE_CONNECTED:
            self._send_subscribe(sub, now)

    def _send_subscribe(self, sub: _Subscription, now: float) -> None:
        options = sub.options
        if options.has_token_source and not sub.token:
            # One request per subscription: its answer sends the subscribe. A second
            # one would mean two subscribes on one connection, and 105 for the second.
            if not any(
                r.purpose == "subscribe" and r.channel == sub.channel
                for r in self._token_requests.values()
            ):
                self._request_token("subscribe", sub.channel)
            return
        params: dict[str, Any] = {"channel": sub.channel}
        if sub.token:
            params["token"] = sub.token
        if options.data is not None:
            params["data"] = options.data
        if options.recoverable:
            params["recoverable"] = True
        if options.positioned:
            params["positioned"] = True
        if options.join_leave:
            params["join_leave"] = True
        if sub.recover and sub.has_position:
            params["recover"] = True
            params["epoch"] = sub.epoch
            params["offset"] = sub.offset
        pending = _Pending("subscribe", params, channel=sub.channel)
        self._send(pending, now)
        sub.inflight = pending.wire_id

    def _on_subscribe_reply(self, pending: _Pending, reply: Reply, now: float) -> None:
        sub = self._subs.get(pending.channel)
        if sub is None or sub.inflight != pending.wire_id:
            return  # the caller unsubscribed meanwhile; its unsubscribe already went out
        sub.inflight = 0
        error = reply.error
        if error is not None:
            self._on_subscribe_error(sub, error, now)
            return
        result: SubscribeResult | None = self._expect(reply, SubscribeResult, now)
        if result is None:
            return
        self._sub_input(sub, SubscriptionInput.SUBSCRIBE_SUCCEEDED)
        sub.attempt = 0
        asked = sub.has_position and sub.recover
        delivered = sub.offset if asked and sub.epoch == result.epoch else 0
        sub.track_offsets = result.recoverable or result.positioned
        if result.recoverable:
            sub.recover = True
        # Recovered publications come in order, after the position asked for
        # (§2.3); any at or below what was delivered already are dropped.
        recovered = [
            attrs.evolve(p, channel=sub.channel)
            for p in result.publications
            if not p.offset or p.offset > delivered
        ]
        if sub.track_offsets:
            last = recovered[-1].offset if recovered else 0
            sub.offset = max(result.offset, last)
            sub.epoch = result.epoch
            sub.has_position = True
        if result.expires and sub.options.has_token_source:
            sub.refresh_timer = self._schedule(
                now + result.ttl, partial(self._refresh_subscription, sub)
            )
        self._emit(
            Subscribed(
                channel=sub.channel,
                result=result,
                position=_position(sub),
                was_recovering=result.was_recovering,
                recovered=result.recovered,
            )
        )
        for pub in recovered:
            self._emit(PublicationReceived(publication=pub))
        if result.was_recovering and not result.recovered:
            # The server could not fill the gap: the application must reload (§6.5).
            self._emit(
                PublicationsLost(
                    channel=sub.channel,
                    since=StreamPosition(delivered, sub.epoch) if delivered else None,
                    reason="recovery failed",
                )
            )

    def _on_subscribe_error(self, sub: _Subscription, error: ReplyError, now: float) -> None:
        if error.code == 109:
            sub.token = None  # expired: ask for a new one before trying again (§6.4)
            retryable = sub.options.has_token_source
        else:
            retryable = error.retryable
        if retryable:
            self._sub_input(sub, SubscriptionInput.SUBSCRIBE_RETRYABLE_ERROR)
            self._emit(ErrorOccurred(error=error, channel=sub.channel))
            self._schedule_resubscribe(sub, now)
        else:
            self._sub_unsubscribed(
                sub, error.code, error.message, SubscriptionInput.SUBSCRIBE_TERMINAL_ERROR, error
            )

    def _schedule_resubscribe(self, sub: _Subscription, now: float) -> None:
        delay = backoff_delay(
            sub.attempt,
            self._options.min_resubscribe_delay,
            self._options.max_resubscribe_delay,
            self._rng,
        )
        sub.attempt += 1
        sub.timer = self._schedule(now + delay, partial(self._resubscribe_due, sub))

    def _resubscribe_due(self, sub: _Subscription, now: float) -> None:
        sub.timer = None
        if sub.state is SubscriptionState.SUBSCRIBING and self._phase == _PHASE_CONNECTED:
            self._send_subscribe(sub, now)

    def _cancel_sub_timers(self, sub: _Subscription) -> None:
        for timer in (sub.timer, sub.refresh_timer):
            if timer is not None:
                timer.cancel()
        sub.timer = sub.refresh_timer = None

    def _sub_unsubscribed(
        self,
        sub: _Subscription,
        code: int,
        reason: str,
        how: SubscriptionInput,
        error: CentrifugoError | None = None,
    ) -> None:
        if self._sub_input(sub, how):
            sub.inflight = 0
            self._cancel_sub_timers(sub)
            self._emit(Unsubscribed(channel=sub.channel, code=code, reason=reason, error=error))

    def unsubscribe(self, channel: str, now: float) -> None:
        sub = self._subs.get(channel)
        if sub is None:
            raise LocalProtocolError(f"no subscription to {channel!r}")
        self._unsubscribe(
            sub,
            now,
            UnsubscribedCode.UNSUBSCRIBE_CALLED,
            "unsubscribe called",
            SubscriptionInput.UNSUBSCRIBE_CALLED,
        )

    def _unsubscribe(
        self,
        sub: _Subscription,
        now: float,
        code: int,
        reason: str,
        how: SubscriptionInput,
        error: CentrifugoError | None = None,
    ) -> None:
        held = sub.state is SubscriptionState.SUBSCRIBED or sub.inflight
        self._sub_unsubscribed(sub, code, reason, how, error)
        for key in [k for k, r in self._token_requests.items() if r.channel == sub.channel]:
            del self._token_requests[key]
        if held and self._phase == _PHASE_CONNECTED:
            self._send(_Pending("unsubscribe", {"channel": sub.channel}, channel=sub.channel), now)

    def remove_subscription(self, channel: str) -> None:
        sub = self._subs.get(channel)
        if sub is None:
            return
        if sub.state is not SubscriptionState.UNSUBSCRIBED:
            raise LocalProtocolError(f"unsubscribe from {channel!r} before removing it")
        del self._subs[channel]

    def _refresh_subscription(self, sub: _Subscription, now: float) -> None:
        sub.refresh_timer = None
        # Defensive: every way out of subscribed cancels this timer.
        if sub.state is SubscriptionState.SUBSCRIBED:  # pragma: no branch
            self._request_token("sub_refresh", sub.channel)

    def _retry_sub_refresh(self, now: float, channel: str) -> None:
        sub = self._subs.get(channel)
        if sub is None or sub.state is not SubscriptionState.SUBSCRIBED:
            return
        delay = jittered(
            self._options.sub_refresh_retry_min, self._options.sub_refresh_retry_max, self._rng
        )
        sub.refresh_timer = self._schedule(now + delay, partial(self._refresh_subscription, sub))

    def _on_sub_refresh_reply(self, channel: str, reply: Reply, now: float) -> None:
        sub = self._subs.get(channel)
        if sub is None or sub.state is not SubscriptionState.SUBSCRIBED:
            return
        error = reply.error
        if error is not None:
            if error.retryable:
                self._emit(ErrorOccurred(error=error, channel=channel))
                self._retry_sub_refresh(now, channel)
            else:
                self._unsubscribe(
                    sub, now, error.code, error.message, SubscriptionInput.SERVER_UNSUBSCRIBE, error
                )
            return
        result: SubRefreshResult | None = self._expect(reply, SubRefreshResult, now)
        if result is None:
            return
        if result.expires:
            sub.refresh_timer = self._schedule(
                now + result.ttl, partial(self._refresh_subscription, sub)
            )
        self._emit(TokenRefreshed(channel=channel, expires=result.expires, ttl=result.ttl))

    # -- pushes (§3) ----------------------------------------------------------------------

    def _on_push(self, push: Push, now: float) -> None:
        body = push.body
        channel = push.channel
        kind = type(body)
        if kind is Join or kind is Leave:
            assert isinstance(body, Join | Leave)
            sub = self._subs.get(channel)
            event_type = JoinReceived if kind is Join else LeaveReceived
            if sub is not None and sub.state is SubscriptionState.SUBSCRIBED:
                self._emit(event_type(channel=channel, info=body.info))
            elif channel in self._server_subs:
                self._emit(event_type(channel=channel, info=body.info, server_side=True))
        elif kind is ServerUnsubscribe:
            assert isinstance(body, ServerUnsubscribe)
            self._on_server_unsubscribe(channel, body, now)
        elif kind is ServerSubscribe:
            assert isinstance(body, ServerSubscribe)
            self._server_subscribed(channel, body.result)
        elif kind is ServerMessage:
            assert isinstance(body, ServerMessage)
            self._emit(MessageReceived(data=body.data))
        elif kind is ServerDisconnect:
            # Non-WebSocket transports carry the disconnect advice as a push (§1.3).
            assert isinstance(body, ServerDisconnect)
            self._server_closed(now, body.code, body.reason)
        else:
            assert isinstance(body, Ignored)

    def _on_server_unsubscribe(self, channel: str, body: ServerUnsubscribe, now: float) -> None:
        sub = self._subs.get(channel)
        if sub is not None and sub.state is SubscriptionState.SUBSCRIBED:
            if unsubscribe_resubscribes(body.code):
                if body.code in (SUBSCRIPTION_EXPIRED, SUB_STATE_INVALIDATED):
                    # 2501: the token expired, ask for a new one rather than resend
                    # it; 2502: the position is no longer valid either (§5.2).
                    if sub.options.has_token_source:
                        sub.token = None
                    if body.code == SUB_STATE_INVALIDATED:
                        _forget_position(sub)
                self._sub_input(sub, SubscriptionInput.SERVER_RESUBSCRIBE)
                self._emit(Subscribing(channel=channel, code=body.code, reason=body.reason))
                self._cancel_sub_timers(sub)
                self._send_subscribe(sub, now)
            else:
                self._sub_unsubscribed(
                    sub, body.code, body.reason, SubscriptionInput.SERVER_UNSUBSCRIBE
                )
        elif channel in self._server_subs:
            del self._server_subs[channel]
            self._emit(
                Unsubscribed(channel=channel, code=body.code, reason=body.reason, server_side=True)
            )
