"""A client-side subscription: its state, timers and token (PROTOCOL.md §6.4, §6.5).

Like aioquic's ``QuicStream`` (STYLE-ANCHORS L17), the subscription owns its
state: the session routes pushes and replies to it by channel and never reaches
into its fields. Its state moves only through the table of :mod:`.states`.

This module is the subscription's lifecycle: subscribe, its reply and its
retries, unsubscribe, the server's pushes, the token and its refresh. Its
position in the stream (recovery, offsets and epochs, deltas) is the other half,
the :class:`~.stream.SubscriptionStream` mixin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final, Protocol

from .backoff import RandomSource, backoff_delay, jittered
from .codes import (
    ConnectingCode,
    SubscribingCode,
    UnsubscribedCode,
    reply_error_rule,
    unsubscribe_rule,
)
from .commands import Command, SubRefreshRequest, SubscribeRequest, UnsubscribeRequest
from .delta import DeltaDecoder, PayloadCodec
from .errors import CentrifugoError, ReplyError, Unauthorized
from .events import (
    ErrorOccurred,
    Event,
    Subscribing,
    TokenRefreshed,
    Unsubscribed,
)
from .messages import Join, Leave, Reply
from .options import ClientOptions, SubscriptionOptions
from .registry import Pending
from .results import Publication, SubRefreshResult, SubscribeResult
from .states import INVALID, STAY, SUBSCRIPTION_TRANSITIONS, SubscriptionInput, SubscriptionState
from .stream import SubscriptionStream
from .timers import Timer
from .token_flow import TokenFlow, TokenPurpose

__all__ = ["ClientSubscription", "SubscriptionHost"]

#: The session's logger (docs/logging.md); nothing on the publication path.
log = logging.getLogger("centrifugo_proto.session")

_SUBSCRIBED: Final = SubscriptionState.SUBSCRIBED
_SUBSCRIBING: Final = SubscriptionState.SUBSCRIBING


class SubscriptionHost(Protocol):
    """What a subscription asks of the session."""

    options: ClientOptions
    rng: RandomSource
    tokens: TokenFlow
    #: How payloads look in this client's codec (for delta subscriptions, §7).
    codec: PayloadCodec

    @property
    def connected(self) -> bool: ...

    @property
    def client_id(self) -> str | None: ...

    def alias(self, wire_channel: str, channel: str) -> None:
        """Publications for ``wire_channel`` are this subscription's (1.x ``&`` channels)."""
        ...

    def emit(self, event: Event) -> None: ...

    def schedule(self, when: float, action: Callable[[float], None]) -> Timer: ...

    def send(
        self,
        command: Command,
        now: float,
        *,
        on_reply: Callable[[Pending, Reply, float], None],
        on_timeout: Callable[[Pending, float], None],
        channel: str = "",
    ) -> Pending: ...

    def expect(self, reply: Reply, kind: type[Any], now: float) -> Any: ...

    def lose_connection(self, now: float, code: int, reason: str) -> None: ...


class ClientSubscription(SubscriptionStream):
    def __init__(self, host: SubscriptionHost, channel: str, options: SubscriptionOptions) -> None:
        self._host = host
        self.channel = channel
        self.options = options
        self.state = SubscriptionState.UNSUBSCRIBED
        #: The subscription token (a JWT; a 1.x ChannelSign), from the options or a source.
        self._token: Any = None
        # The position of the last publication delivered, as plain values: the hot
        # path moves it on every publication.
        self.offset = 0
        self.epoch = ""
        self.has_position = False
        #: Ask for recovery from the position on the next subscribe (§6.5).
        self._recover = False
        #: Offsets are checked (recoverable or positioned): see :mod:`.stream`.
        self.track_offsets = False
        self._attempt = 0
        self._reset_recoveries = 0
        #: Rebuilds whole payloads while delta is negotiated (§7), else None.
        self._delta: DeltaDecoder | None = None
        self._decoding = False
        #: A delta failed to apply: ask for full payloads from then on.
        self._delta_off = False
        #: The subscribe command in flight on this connection, or None.
        self._inflight: Pending | None = None
        self._timer: Timer | None = None
        self._refresh_timer: Timer | None = None

    # -- state ----------------------------------------------------------------------------

    def _input(self, value: SubscriptionInput) -> bool:
        """Apply an input from the table; True if the state changed."""
        outcome = SUBSCRIPTION_TRANSITIONS[self.state, value]
        if outcome is STAY:
            return False
        # The session only feeds inputs its own checks allow (the caller's go through
        # them first): an INVALID pair here is a bug.
        if outcome is INVALID:
            raise AssertionError(f"{self.channel!r}: {value.value!r} while {self.state.value}")
        assert isinstance(outcome, SubscriptionState)
        log.info(
            "subscription %r: %s -> %s: %s",
            self.channel,
            self.state.value,
            outcome.value,
            value.value,
        )
        self.state = outcome
        return True

    def forget_state(self) -> None:
        """3014: the server dropped what it knew of us (§5.3)."""
        if self.options.has_token_source:
            self._token = None
        self._forget_position()

    def _cancel_timers(self) -> None:
        for timer in (self._timer, self._refresh_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._refresh_timer = None

    # -- subscribing ------------------------------------------------------------------------

    def subscribe_called(self, options: SubscriptionOptions, now: float) -> None:
        if self.state is SubscriptionState.UNSUBSCRIBED:
            self.options = options
        if not self._input(SubscriptionInput.SUBSCRIBE_CALLED):
            return
        self._token = options.token
        self._attempt = 0
        self._reset_recoveries = 0
        self._delta_off = False
        if options.since is not None:
            self.offset, self.epoch = options.since.offset, options.since.epoch
            self.has_position = self._recover = True
        self._host.emit(
            Subscribing(
                channel=self.channel,
                code=SubscribingCode.SUBSCRIBE_CALLED,
                reason="subscribe called",
            )
        )
        if self._host.connected:
            self.send_subscribe(now)

    def connected(self, now: float) -> None:
        """The connection is up: what waits for it goes out (not what backs off)."""
        if self.state is _SUBSCRIBING and self._timer is None:
            self.send_subscribe(now)

    def send_subscribe(self, now: float) -> None:
        options = self.options
        host = self._host
        if options.has_token_source and not self._token:
            # One request per subscription: its answer sends the subscribe. A second
            # one would mean two subscribes on one connection, and 105 for the second.
            if not host.tokens.asking(TokenPurpose.SUBSCRIBE, self.channel):
                host.tokens.ask(TokenPurpose.SUBSCRIBE, self.channel)
            return
        request = self._request()
        self._inflight = host.send(
            request,
            now,
            on_reply=self._on_subscribe_reply,
            on_timeout=self._on_subscribe_timeout,
            channel=self.channel,
        )

    def _request(self) -> SubscribeRequest:
        """The subscribe command: the options, the token and the position (§2.3)."""
        options = self.options
        recover = self._recover and self.has_position
        return SubscribeRequest(
            channel=self.channel,
            token=self._token or "",
            data=options.data,
            recoverable=options.recoverable,
            positioned=options.positioned,
            join_leave=options.join_leave,
            recover=recover,
            epoch=self.epoch if recover else "",
            offset=self.offset if recover else 0,
            delta="" if self._delta_off else options.delta,
            tags_filter=options.tags_filter,
        )

    def _on_subscribe_timeout(self, pending: Pending, now: float) -> None:
        # The server may have subscribed anyway: only a new connection is sure (§6.4).
        self._host.lose_connection(now, ConnectingCode.SUBSCRIBE_TIMEOUT, "subscribe timeout")

    def _on_subscribe_reply(self, pending: Pending, reply: Reply, now: float) -> None:
        if self._inflight is not pending:
            return  # the caller unsubscribed meanwhile; its unsubscribe already went out
        self._inflight = None
        if reply.error is not None:
            self._on_subscribe_error(reply.error, now)
            return
        result: SubscribeResult | None = self._host.expect(reply, SubscribeResult, now)
        if result is not None:
            self._subscribed(result, now)

    def _on_subscribe_error(self, error: ReplyError, now: float) -> None:
        rule = reply_error_rule(error)
        if rule.token_expired:
            self._token = None  # expired: ask for a new one before trying again (§6.4)
        if rule.retry or (rule.token_expired and self.options.has_token_source):
            log.info("subscribe to %r failed, retrying: %s", self.channel, error)
            self._input(SubscriptionInput.SUBSCRIBE_RETRYABLE_ERROR)
            self._host.emit(ErrorOccurred(error=error, channel=self.channel))
            self.schedule_resubscribe(now)
        else:
            log.warning("subscribe to %r refused: %s", self.channel, error)
            self._unsubscribed(
                error.code, error.message, SubscriptionInput.SUBSCRIBE_TERMINAL_ERROR, error
            )

    def schedule_resubscribe(self, now: float) -> None:
        options = self._host.options
        delay = backoff_delay(
            self._attempt,
            options.min_resubscribe_delay,
            options.max_resubscribe_delay,
            self._host.rng,
        )
        self._attempt += 1
        self._timer = self._host.schedule(now + delay, self._resubscribe_due)

    def _resubscribe_due(self, now: float) -> None:
        self._timer = None
        if self.state is _SUBSCRIBING and self._host.connected:
            self.send_subscribe(now)

    # -- ending ---------------------------------------------------------------------------

    def _unsubscribed(
        self,
        code: int,
        reason: str,
        how: SubscriptionInput,
        error: CentrifugoError | None = None,
    ) -> None:
        if self._input(how):
            self._inflight = None
            self._cancel_timers()
            self._host.emit(
                Unsubscribed(channel=self.channel, code=code, reason=reason, error=error)
            )

    def unsubscribe(
        self,
        now: float,
        code: int = UnsubscribedCode.UNSUBSCRIBE_CALLED,
        reason: str = "unsubscribe called",
        how: SubscriptionInput = SubscriptionInput.UNSUBSCRIBE_CALLED,
        error: CentrifugoError | None = None,
    ) -> None:
        held = self.state is _SUBSCRIBED or self._inflight is not None
        self._unsubscribed(code, reason, how, error)
        self._host.tokens.forget_channel(self.channel)
        if held and self._host.connected:
            self._send_unsubscribe(now)

    def _send_unsubscribe(self, now: float) -> None:
        self._host.send(
            UnsubscribeRequest(self.channel),
            now,
            on_reply=self._on_unsubscribe_reply,
            on_timeout=self._on_unsubscribe_timeout,
            channel=self.channel,
        )

    def _on_unsubscribe_reply(self, pending: Pending, reply: Reply, now: float) -> None:
        if reply.error is not None:
            # The server may still hold us subscribed: reconnect to be sure (§6.1).
            self._host.lose_connection(now, ConnectingCode.UNSUBSCRIBE_ERROR, "unsubscribe error")

    def _on_unsubscribe_timeout(self, pending: Pending, now: float) -> None:
        self._host.lose_connection(now, ConnectingCode.UNSUBSCRIBE_ERROR, "unsubscribe timeout")

    def connection_lost(self) -> None:
        self._inflight = None
        self._cancel_timers()
        if self._input(SubscriptionInput.CONNECTION_LOST):
            self._host.emit(
                Subscribing(
                    channel=self.channel,
                    code=SubscribingCode.TRANSPORT_CLOSED,
                    reason="transport closed",
                )
            )

    def client_stopped(self) -> None:
        """Disconnected or closed: nothing of this subscription fires any more."""
        self._cancel_timers()

    def client_closed(self) -> None:
        self._unsubscribed(
            UnsubscribedCode.CLIENT_CLOSED, "client closed", SubscriptionInput.CLIENT_CLOSED
        )

    # -- pushes (§3) ----------------------------------------------------------------------

    def server_unsubscribed(self, code: int, reason: str, now: float) -> None:
        """An ``unsubscribe`` push while subscribed: from 2500 up, resubscribe (§5.2)."""
        rule = unsubscribe_rule(code)
        if not rule.resubscribe:
            self._unsubscribed(code, reason, SubscriptionInput.SERVER_UNSUBSCRIBE)
            return
        if rule.forget_token and self.options.has_token_source:
            self._token = None  # 2501, 2502: a new token, not the expired one
        if rule.forget_position:
            self._forget_position()  # 2502: the position is no longer valid either
        self._input(SubscriptionInput.SERVER_RESUBSCRIBE)
        self._host.emit(Subscribing(channel=self.channel, code=code, reason=reason))
        self._cancel_timers()
        self.send_subscribe(now)

    def hold(self, item: Publication | Join | Leave) -> bool:
        """A publication, join or leave of this channel while it is not subscribed:
        True if kept for when the subscribe reply comes. Not here: a current server
        sends nothing of a channel before its subscribe reply (it joins the live
        stream and the history under one lock, §6.5), so what comes then belongs
        to an earlier subscription and is dropped."""
        return False

    # -- tokens (§6.4) --------------------------------------------------------------------

    def token_provided(self, purpose: TokenPurpose, token: str, now: float) -> None:
        if purpose is TokenPurpose.SUBSCRIBE:
            self._token = token
            if self.state is _SUBSCRIBING and self._host.connected:
                self.send_subscribe(now)
        elif self.state is _SUBSCRIBED:
            self._token = token
            self._host.send(
                SubRefreshRequest(self.channel, token),
                now,
                on_reply=self._on_sub_refresh_reply,
                on_timeout=lambda pending, now: self._retry_refresh(now),
                channel=self.channel,
            )

    def token_failed(self, purpose: TokenPurpose, now: float) -> None:
        if purpose is TokenPurpose.SUB_REFRESH:
            self._retry_refresh(now)
        # Defensive: a subscribe token is asked for only while subscribing, and
        # leaving that state (unsubscribe, refusal, close) drops the request.
        elif self.state is _SUBSCRIBING:  # pragma: no branch
            self.schedule_resubscribe(now)

    def token_unauthorized(self, now: float, reason: str = "unauthorized") -> None:
        self.unsubscribe(
            now,
            UnsubscribedCode.UNAUTHORIZED,
            reason,
            SubscriptionInput.SERVER_UNSUBSCRIBE,
            Unauthorized(reason),
        )

    def _arm_refresh(self, when: float) -> None:
        self._refresh_timer = self._host.schedule(when, self._refresh_due)

    def _refresh_due(self, now: float) -> None:
        self._refresh_timer = None
        # Defensive: every way out of subscribed cancels this timer.
        if self.state is _SUBSCRIBED:  # pragma: no branch
            self._host.tokens.ask(TokenPurpose.SUB_REFRESH, self.channel)

    def _retry_refresh(self, now: float) -> None:
        if self.state is not _SUBSCRIBED:
            return
        options = self._host.options
        delay = jittered(
            options.sub_refresh_retry_min, options.sub_refresh_retry_max, self._host.rng
        )
        self._arm_refresh(now + delay)

    def _on_sub_refresh_reply(self, pending: Pending, reply: Reply, now: float) -> None:
        if self.state is not _SUBSCRIBED:
            return
        error = reply.error
        if error is not None:
            if error.retryable:
                log.info("token refresh of %r failed, retrying later: %s", self.channel, error)
                self._host.emit(ErrorOccurred(error=error, channel=self.channel))
                self._retry_refresh(now)
            else:
                self.unsubscribe(
                    now, error.code, error.message, SubscriptionInput.SERVER_UNSUBSCRIBE, error
                )
            return
        result: SubRefreshResult | None = self._host.expect(reply, SubRefreshResult, now)
        if result is None:
            return
        if result.expires:
            self._arm_refresh(now + result.ttl)
        log.debug("subscription token of %r refreshed (ttl %d s)", self.channel, result.ttl)
        self._host.emit(
            TokenRefreshed(channel=self.channel, expires=result.expires, ttl=result.ttl)
        )
