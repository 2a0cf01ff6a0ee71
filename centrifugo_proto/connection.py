"""The connection's lifecycle (PROTOCOL.md §6.1-§6.3): attempts, backoff, the
connect command and its reply, teardown, refusals, the connection token's refresh.

This is the lifecycle half of :class:`~.session.Session` (the other half routes
what arrives): a mixin whose state lives on the session, kept in a module of its
own because it is one job. The client's state and the connection's phase move
only through the tables of :mod:`.states`; close codes arrive as a
:class:`~.dialect.CloseAdvice`, never as numbers to compare.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

from .backoff import RandomSource, backoff_delay, jittered
from .codes import ConnectingCode, DisconnectedCode, reply_error_rule
from .commands import PingRequest
from .dialect import CloseAdvice, Dialect
from .endpoints import Endpoint
from .errors import (
    CentrifugoError,
    ClientDisconnected,
    LocalProtocolError,
    RemoteProtocolError,
    ReplyError,
    TransportError,
)
from .events import Connected, Connecting, Disconnected, ErrorOccurred, Event, TokenRefreshed
from .liveness import PingWatch
from .messages import Reply
from .options import ClientOptions
from .outbox import Outbox
from .registry import Pending
from .results import ConnectResult, RefreshResult
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
)
from .subscription import ClientSubscription
from .timers import Timer, TimerQueue
from .token_flow import TokenFlow, TokenPurpose

__all__ = ["ConnectionLifecycle", "TransportControl"]

#: The session's logger (docs/logging.md): state changes at INFO, failures at WARNING.
log = logging.getLogger("centrifugo_proto.session")

#: The caller's call behind each input, for the message of a refused one.
_CALLS: Final = {
    ClientInput.CONNECT_CALLED: "connect()",
    ClientInput.DISCONNECT_CALLED: "disconnect()",
}
_CONNECTED: Final = Phase.CONNECTED


class TransportControl(Protocol):
    """What the session asks of the byte pipeline (:mod:`.pipeline`): open or close
    the transport."""

    def open_transport(self, endpoint: Endpoint, attempt: int) -> None: ...

    def close_transport(self, code: int, reason: str) -> None: ...


class ConnectionLifecycle:
    """The lifecycle half of the session; its state is set up by ``Session.__init__``."""

    # Slots, not a __dict__ (issue 12): past 30 attributes an instance's dict stops
    # sharing its keys with the other instances', 1.5 KiB per client against 0.3 in
    # slots. The session's state, declared below; Session adds its own.
    __slots__ = (
        "_aliases",
        "_attempt",
        "_connect_timer",
        "_credentials",
        "_data",
        "_dialect",
        "_endpoint_index",
        "_endpoints",
        "_has_token_source",
        "_keepalive",
        "_name",
        "_outbox",
        "_ping",
        "_pong",
        "_refresh_timer",
        "_refreshing",
        "_server_subs",
        "_subs",
        "_timers",
        "_token_expired",
        "_transport",
        "_transport_attempt",
        "_version",
        "client_id",
        "emit",
        "heard",
        "options",
        "phase",
        "rng",
        "state",
        "tokens",
    )

    state: ClientState
    phase: Phase
    client_id: str | None
    options: ClientOptions
    rng: RandomSource
    tokens: TokenFlow
    emit: Callable[[Event], None]
    _endpoints: Sequence[Endpoint]
    _transport: TransportControl
    _dialect: Dialect
    _credentials: Any
    _data: Any
    _name: str
    _version: str
    _has_token_source: bool
    _attempt: int
    _transport_attempt: int
    _endpoint_index: int
    _token_expired: bool
    _refreshing: Any
    _pong: bool
    _timers: TimerQueue
    _connect_timer: Timer | None
    _refresh_timer: Timer | None
    _ping: PingWatch
    _outbox: Outbox
    _subs: dict[str, ClientSubscription]
    _server_subs: ServerSubscriptions
    _aliases: dict[str, str]
    _keepalive: Timer | None
    heard: float

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
        log.info("client %s -> %s: %s", self.state.value, outcome.value, value.value)
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
        if outcome is not self.phase:
            log.debug("phase %s -> %s: %s", self.phase.value, outcome.value, value.value)
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
        self._outbox.fail_waiting(reason)
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
        # Host and port only: a URL's query might carry a credential.
        log.debug(
            "opening %s:%d (transport %d)", endpoint.host, endpoint.port, self._transport_attempt
        )
        self._transport.open_transport(endpoint, self._transport_attempt)

    def _attempt_timed_out(self, now: float) -> None:
        self.lose_connection(now, ConnectingCode.CONNECT_TIMEOUT, "connect timeout")

    def transport_ready(self, now: float) -> None:
        """The WebSocket handshake succeeded: connect goes out, alone (§2.3)."""
        self.phase_input(PhaseInput.WEBSOCKET_OPENED)
        self._outbox.registry.new_connection()
        command = self._dialect.connect_command(
            self._credentials,
            data=self._data,
            name=self._name,
            version=self._version,
            # Server-side subscriptions recover through the connect command (§6.5).
            subs=self._server_subs.recovery(),
        )
        # No timeout of its own: the attempt's timer bounds it.
        self._outbox.send(command, None, on_reply=self._on_connect_reply, on_timeout=_never)

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
        if rule.forget_token and self._has_token_source:
            # 3014, or 1.x "expired": a token source gets asked again (§5.3).
            self._credentials = None
        if rule.forget_positions:
            # 3014: the server dropped what it knew of us: every recovery position too.
            for sub in self._subs.values():
                sub.forget_state()
            self._server_subs.forget_positions()
        self.lose_connection(now, advice.code, advice.reason)

    def transport_failed(self, now: float, reason: str) -> None:
        """Could not connect, the handshake was refused, or a write failed."""
        if not self.phase.has_transport:
            return
        log.info("transport failed: %s", reason)
        self.emit(ErrorOccurred(error=TransportError(f"transport failed: {reason}")))
        self.lose_connection(now, ConnectingCode.TRANSPORT_CLOSED, reason)

    def bad_protocol(self, now: float, reason: str) -> None:
        """The server broke the protocol: close, and reconnect with backoff (DESIGN "Errors")."""
        if not self.phase.has_transport:
            return
        log.warning("bad protocol from the server: %s", reason)
        self.emit(ErrorOccurred(error=RemoteProtocolError(f"bad protocol: {reason}")))
        self.lose_connection(
            now, ConnectingCode.BAD_PROTOCOL, f"bad protocol: {reason}", close_code=1002
        )

    def _refused(self, code: int, reason: str, error: CentrifugoError) -> None:
        """A terminal refusal (§5.3, §6.1): end the transport and stop, no reconnect."""
        was = self.state
        log.warning("connection refused, not reconnecting: %s (code %d)", reason, code)
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
        log.info("connection lost (%s, code %d): reconnecting in %.3f s", reason, code, delay)
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
        for timer in (self._connect_timer, self._refresh_timer, self._keepalive):
            if timer is not None:
                timer.cancel()
        self._connect_timer = self._refresh_timer = self._keepalive = None
        self._ping.stop()
        self._aliases.clear()  # a 1.x ``&`` channel is another name on the next connection
        self._outbox.drop_connection()
        # Token answers for this connection (connect, refreshes) are stale from now on.
        self.tokens.forget_connection()
        self.phase_input(PhaseInput.TEAR_DOWN)
        if suspend_subs:
            for sub in self._subs.values():
                sub.connection_lost()
            if was_connected:
                self._server_subs.suspend()

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
        if result.expired:
            self._credentials_expired(now)
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
        log.info("connected as client %s (server %s)", result.client, result.version)
        self._pong = result.pong
        # No ping within interval + max delay means the server is gone (§4).
        self._ping.start(now, result.ping, self.options.max_server_ping_delay)
        if result.expires and self._has_token_source:
            self._refresh_timer = self.schedule(now + result.ttl, self._refresh_due)
        self._arm_keepalive(now)
        self.emit(
            Connected(
                client_id=result.client, version=result.version, data=result.data, result=result
            )
        )
        self._server_subs.connected(result.subs, now)
        # Everything that waited for the connection goes out now, in one frame.
        for sub in self._subs.values():
            sub.connected(now)
        self._outbox.dispatch_waiting(now, lambda: self.phase is _CONNECTED)

    # -- the connection token (§6.3) ------------------------------------------------------

    def _credentials_expired(self, now: float) -> None:
        """1.x: the connect reply says ``expired`` (the credentials' timestamp is too
        old, LEGACY-V1.md §7): the connection is not authenticated. Fresh credentials
        from a source, then a new connection; static ones would fail for ever (the
        Perl module's bug 6): stop."""
        error = ReplyError(110, "credentials expired")
        if self._has_token_source:
            self._token_expired = True
            self.emit(ErrorOccurred(error=error))
            self.lose_connection(now, ConnectingCode.TOKEN_EXPIRED, error.message)
        else:
            self._refused(error.code, error.message, error)

    def _arm_keepalive(self, now: float) -> None:
        """1.x: ping the server when it has been quiet for ``max_alive_period``,
        checked every ``refresh_period`` (the Perl module's options, LEGACY-V1.md §8)."""
        if self._dialect.client_pings and self.options.max_alive_period > 0:
            self._keepalive = self.schedule(now + self.options.refresh_period, self._keepalive_due)

    def _keepalive_due(self, now: float) -> None:
        self._keepalive = None
        if now - self.heard > self.options.max_alive_period:
            self._outbox.send(
                PingRequest(), now, on_reply=_ping_answered, on_timeout=self._ping_unanswered
            )
        self._arm_keepalive(now)

    def _ping_unanswered(self, pending: Pending, now: float) -> None:
        self.lose_connection(now, ConnectingCode.NO_PING, "no reply to ping")

    def _refresh_due(self, now: float) -> None:
        self._refresh_timer = None
        log.debug("the connection token is due for refresh")
        self.tokens.ask(TokenPurpose.REFRESH)

    def _retry_refresh(self, now: float) -> None:
        options = self.options
        delay = jittered(options.refresh_retry_min, options.refresh_retry_max, self.rng)
        self._refresh_timer = self.schedule(now + delay, self._refresh_due)

    def _on_refresh_reply(self, pending: Pending, reply: Reply, now: float) -> None:
        error = reply.error
        if error is not None:
            if error.retryable:
                log.info("connection token refresh failed, retrying later: %s", error)
                self.emit(ErrorOccurred(error=error))
                self._retry_refresh(now)
            else:
                self._refused(error.code, error.message, error)
            return
        result: RefreshResult | None = self.expect(reply, RefreshResult, now)
        if result is None:
            return
        if result.expired:  # 1.x: the new credentials are stale already (LEGACY-V1.md §7)
            self.emit(ErrorOccurred(error=ReplyError(110, "refreshed credentials expired")))
            self._retry_refresh(now)
            return
        self._credentials = self._refreshing or self._credentials
        if result.expires:
            self._refresh_timer = self.schedule(now + result.ttl, self._refresh_due)
        log.debug("connection token refreshed (expires: %s, ttl %d s)", result.expires, result.ttl)
        self.emit(TokenRefreshed(channel=None, expires=result.expires, ttl=result.ttl))

    def expect(self, reply: Reply, kind: type[Any], now: float) -> Any:
        """The result of a reply, if it is of the kind the command asked for."""
        if isinstance(reply.result, kind):
            return reply.result
        self.bad_protocol(now, f"reply {reply.id} carries the wrong result")
        return None


def _ping_answered(pending: Pending, reply: Reply, now: float) -> None:
    """A keepalive ping's reply: hearing it is the point (``heard`` moved already)."""


def _never(pending: Pending, now: float) -> None:  # pragma: no cover - connect has no timer
    raise AssertionError("connect has no timeout of its own")
