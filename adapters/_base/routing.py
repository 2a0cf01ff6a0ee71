"""Where each core event goes: effects to the adapter's hooks, results to the
waits that asked for them, publications to subscription buffers, and every
event with a name to its callbacks (:mod:`.names`).

It uses what the core's events carry (``Disconnected.error``,
``Unsubscribed.error``, the request handle of ``CommandSucceeded``) and guesses
nothing from codes or strings.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from centrifugo_proto.errors import ClientDisconnected, SubscriptionCancelled
from centrifugo_proto.events import (
    CloseTransport,
    CommandFailed,
    CommandSucceeded,
    Connected,
    Disconnected,
    ErrorOccurred,
    Event,
    OpenTransport,
    PublicationReceived,
    StartTls,
    Subscribed,
    TokenRequested,
    Unsubscribed,
)
from centrifugo_proto.results import Publication

from .names import Callback, Callbacks, CommandReplied, callback_target
from .subscription import SubscriptionBase
from .waiters import Pending

__all__ = ["Routing"]

S = TypeVar("S", bound=SubscriptionBase[Any])


class Routing(Callbacks, Generic[S]):
    """The routing half of the client base, and the effect hooks it calls."""

    __slots__ = ("_client_wide", "_connecting", "_last_error", "_messages", "_requests", "_subs")

    def __init__(self) -> None:
        super().__init__()
        self._subs: dict[str, S] = {}
        #: request handle → (command, channel, its wait, the caller's uid or "")
        self._requests: dict[int, tuple[str, str | None, Pending[Any], str]] = {}
        #: Names the client's callbacks hear for every channel (``names.CLIENT_WIDE``).
        self._client_wide: frozenset[str] = frozenset()
        #: 1.x: a publication is also the seed's ``message`` (set with ``_client_wide``).
        self._messages = False
        self._connecting: list[Pending[None]] = []
        #: The last connection error the core reported, for a connect that times out.
        self._last_error: BaseException | None = None

    # -- effect hooks (the adapter's) -----------------------------------------------------

    def _open_transport(self, event: OpenTransport) -> None:
        """Dial ``event.host``/``event.port`` (TLS at once if ``event.tls``)."""
        raise NotImplementedError

    def _close_transport(self) -> None:
        """Flush, then close the current socket; bytes read from it later are stale."""
        raise NotImplementedError

    def _start_tls(self, event: StartTls) -> None:
        """Start TLS on the open socket (inside a proxy tunnel), then ``tls_started``."""
        raise NotImplementedError

    def _request_token(self, event: TokenRequested) -> None:
        """Fetch the token where user callbacks cannot block it, then answer the core."""
        raise NotImplementedError

    def _token_requested(self, event: TokenRequested) -> None:
        """Send ``event`` to what answers it: a token source (``_request_token``), or
        the 1.x auth endpoint (the client base decides)."""
        raise NotImplementedError

    def _schedule(self, callback: Callback, event: Any) -> None:
        """Run ``callback(event)`` later, in order, off the reading path."""
        raise NotImplementedError

    # -- routing --------------------------------------------------------------------------

    def _route(self, event: Event) -> None:
        if type(event) is PublicationReceived:  # the hot path first (narrows for mypy)
            pub = event.publication
            sub = None if event.server_side else self._subs.get(pub.channel)
            if sub is not None:
                sub._deliver(pub)
            for callback in (sub or self)._callbacks.get("publication", ()):
                self._schedule(callback, event)
            if self._messages:  # 1.x: the seed's ``message`` (names.CLIENT_WIDE)
                self._seed_message(sub, pub)
            return
        kind = type(event)
        if isinstance(event, CommandSucceeded | CommandFailed):
            self._command_done(event)
            return
        if isinstance(event, OpenTransport):
            self._open_transport(event)
        elif kind is CloseTransport:
            self._close_transport()
        elif isinstance(event, TokenRequested):
            self._token_requested(event)
        elif isinstance(event, StartTls):
            self._start_tls(event)
        elif isinstance(event, ErrorOccurred) and event.channel is None:
            self._last_error = event.error
        elif isinstance(event, Connected):
            self._settle_connects(None, None)
        elif isinstance(event, Disconnected):  # terminal: no reconnect follows
            self._settle_connects(None, event.error or ClientDisconnected(event.reason))
        target = callback_target(event)
        if target is None:
            return
        channel, name = target
        sub = self._subs.get(channel) if channel is not None else None
        if sub is not None and isinstance(event, Subscribed | Unsubscribed):
            self._subscription_done(sub, event)
        for callback in (sub or self)._callbacks.get(name, ()):
            self._schedule(callback, event)
        if sub is not None and name in self._client_wide:
            for callback in self._callbacks.get(name, ()):
                self._schedule(callback, event)

    def _seed_message(self, sub: S | None, pub: Publication) -> None:
        """``message`` callbacks of the subscription, then of the client, get ``pub``."""
        for target in (sub, self):
            if target is not None:
                for callback in target._callbacks.get("message", ()):
                    self._schedule(callback, pub)

    def _settle_connects(self, result: None, error: BaseException | None) -> None:
        pendings, self._connecting = self._connecting, []
        for pending in pendings:
            if error is None:
                pending.set_result(result)
            else:
                pending.set_exception(error)

    def _command_done(self, event: CommandSucceeded | CommandFailed) -> None:
        entry = self._requests.pop(event.request, None)
        if entry is None:
            return  # a wait that gave up, or a command issued past the adapter
        command, channel, pending, uid = entry
        if isinstance(event, CommandSucceeded):
            result, error = event.result, None
            pending.set_result(result)
        else:
            result, error = None, event.error
            pending.set_exception(error)
        callbacks = self._callbacks.get(command)
        if callbacks:
            reply = CommandReplied(
                command=command,
                request=event.request,
                channel=channel,
                result=result,
                error=error,
                uid=_uid_of(result if error is None else error) or uid,
            )
            for callback in callbacks:
                self._schedule(callback, reply)

    def _subscription_done(self, sub: S, event: Subscribed | Unsubscribed) -> None:
        """A subscribe's waits end: subscribed, refused (``Unsubscribed.error``), or
        ended by the caller or the server (``SubscriptionCancelled``: nobody refused)."""
        pendings, sub._pending = sub._pending, []
        if isinstance(event, Subscribed):
            sub._last_subscribed = event
            if event.position is not None:
                sub._buffer.epoch = event.position.epoch
            for pending in pendings:
                pending.set_result(event)
            reply = CommandReplied(
                command="subscribe",
                channel=sub.channel,
                result=event.result,
                uid=event.result.uid,
            )
        else:
            if pendings:
                error = event.error or SubscriptionCancelled(
                    f"subscribe to {sub.channel!r} ended before it was answered: {event.reason}"
                )
                for pending in pendings:
                    pending.set_exception(error)
            if event.error is not None:  # refused by the server or the token source
                reply = CommandReplied(
                    command="subscribe",
                    channel=sub.channel,
                    error=event.error,
                    uid=_uid_of(event.error),
                )
            else:
                reply = CommandReplied(command="unsubscribe", channel=sub.channel)
        for callback in self._callbacks.get(reply.command, ()):
            self._schedule(callback, reply)


def _uid_of(answer: object) -> str:
    """The 1.x uid a result or a reply error carries ("" for one without)."""
    return str(getattr(answer, "uid", ""))
