"""Events: what the core tells the adapter (DESIGN "Events", "Effects").

Frozen, slotted, keyword-only attrs classes named for what happened. Each is
built complete in one place. Three of them are *effects*: work the core cannot
do itself and asks the adapter for (:class:`OpenTransport`,
:class:`CloseTransport`, :class:`TokenRequested`).
"""

from __future__ import annotations

from typing import Any

import attrs

from .endpoints import Endpoint
from .errors import CentrifugoError
from .results import ClientInfo, ConnectResult, Publication, StreamPosition, SubscribeResult

__all__ = [
    "CloseTransport",
    "CommandFailed",
    "CommandSucceeded",
    "Connected",
    "Connecting",
    "Disconnected",
    "ErrorOccurred",
    "Event",
    "JoinReceived",
    "LeaveReceived",
    "MessageReceived",
    "OpenTransport",
    "PingReceived",
    "PublicationReceived",
    "PublicationsLost",
    "StartTls",
    "Subscribed",
    "Subscribing",
    "TokenRefreshed",
    "TokenRequested",
    "TransportClosed",
    "Unsubscribed",
]


# -- effects ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OpenTransport:
    """Open a TCP (and TLS) connection to ``endpoint``, then call ``transport_opened``."""

    endpoint: Endpoint
    attempt: int

    # What to dial, decided here once for every adapter: the proxy when there is
    # one (the byte pipeline tunnels through it), else the endpoint itself.

    @property
    def host(self) -> str:
        """The host to open the TCP connection to."""
        proxy = self.endpoint.proxy
        return self.endpoint.host if proxy is None else proxy.host

    @property
    def port(self) -> int:
        proxy = self.endpoint.proxy
        return self.endpoint.port if proxy is None else proxy.port

    @property
    def tls(self) -> bool:
        """Start TLS as soon as TCP is up (``wss://`` without a proxy). Through a
        proxy, TLS starts inside the tunnel when :class:`StartTls` asks for it."""
        return self.endpoint.tls and self.endpoint.proxy is None

    @property
    def server_hostname(self) -> str:
        """The name the server's certificate must carry."""
        return self.endpoint.host


@attrs.frozen(kw_only=True)
class CloseTransport:
    """Flush ``data_to_send()``, then close the socket. Bytes read after this are stale."""


@attrs.frozen(kw_only=True)
class StartTls:
    """The proxy tunnel is up: start TLS on the open socket (server name
    ``endpoint.host``), then call ``tls_started`` (or ``transport_failed``)."""

    endpoint: Endpoint


@attrs.frozen(kw_only=True)
class TokenRequested:
    """Get a token (connection token when ``channel`` is None) and answer with
    ``provide_token(event, token, now=...)`` or ``token_failed(event, ...)``.
    An answer for a request the core no longer waits for is ignored."""

    request_id: int
    channel: str | None


# -- connection ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Connecting:
    """The client is connecting: first connect, or reconnecting after ``code``."""

    code: int
    reason: str


@attrs.frozen(kw_only=True)
class Connected:
    client_id: str
    version: str
    data: Any
    result: ConnectResult


@attrs.frozen(kw_only=True)
class Disconnected:
    """The client stopped and will not reconnect by itself.

    ``error`` is what a waiting ``connect()`` raises: a :class:`ReplyError` for a
    refusal by the server (a terminal close code or connect error), an
    :class:`Unauthorized` when the token source refused, a
    :class:`ClientDisconnected` otherwise (the caller's own ``disconnect()``,
    ``close()``, a message too big).
    """

    code: int
    reason: str
    #: Derived from code and reason, so not part of equality.
    error: CentrifugoError | None = attrs.field(default=None, eq=False)


@attrs.frozen(kw_only=True)
class TransportClosed:
    """The WebSocket closed (the seed's ``ws_closed``); ``code`` 1006 when it just ended."""

    code: int
    reason: str


@attrs.frozen(kw_only=True)
class ErrorOccurred:
    """Something failed that the client recovers from by itself (the seed's ``ws_error``
    for transport failures). ``channel`` is set for subscription errors."""

    error: CentrifugoError
    channel: str | None = None


@attrs.frozen(kw_only=True)
class PingReceived:
    """A server ping arrived (the pong, if one was asked for, is already queued)."""


@attrs.frozen(kw_only=True)
class TokenRefreshed:
    """A ``refresh`` (channel None) or ``sub_refresh`` succeeded."""

    channel: str | None
    expires: bool
    ttl: int


@attrs.frozen(kw_only=True)
class MessageReceived:
    """An asynchronous server-to-client message (``message`` push)."""

    data: Any


# -- subscriptions ---------------------------------------------------------------------
# ``server_side`` marks server-side subscriptions (PROTOCOL.md §6.5): the adapter
# reports those through the client's callbacks, the others through the subscription's.


@attrs.frozen(kw_only=True)
class Subscribing:
    channel: str
    code: int
    reason: str
    server_side: bool = False


@attrs.frozen(kw_only=True)
class Subscribed:
    """Subscribed; recovered publications follow as ``PublicationReceived`` events.

    ``was_recovering and not recovered`` means a gap the server could not fill:
    the application should reload its state (PROTOCOL.md §6.5).
    """

    channel: str
    result: SubscribeResult
    position: StreamPosition | None
    was_recovering: bool
    recovered: bool
    server_side: bool = False


@attrs.frozen(kw_only=True)
class Unsubscribed:
    """Unsubscribed: by the caller (0), the server (its code), or a terminal error
    reply to subscribe (the error's code and message).

    ``error`` is set when the subscription was refused rather than ended: the
    :class:`ReplyError` of a terminal subscribe or sub_refresh error, or
    :class:`Unauthorized` when the token source refused. None when the caller
    unsubscribed, the server unsubscribed, or the client closed.
    """

    channel: str
    code: int
    reason: str
    server_side: bool = False
    #: Derived from code and reason, so not part of equality.
    error: CentrifugoError | None = attrs.field(default=None, eq=False)


@attrs.frozen(kw_only=True)
class PublicationReceived:
    publication: Publication
    server_side: bool = False


_new = object.__new__
_set_publication, _set_server_side = (
    PublicationReceived.__dict__[field.name].__set__ for field in attrs.fields(PublicationReceived)
)


def received(publication: Publication) -> PublicationReceived:
    """``PublicationReceived(publication=publication)``, for the hot path: one per
    publication delivered, built through the slots' setters as
    :func:`~centrifugo_proto.results.plain_publication` is, at half the cost of
    attrs' frozen ``__init__`` (DESIGN "The hot path")."""
    event: PublicationReceived = _new(PublicationReceived)
    _set_publication(event, publication)
    _set_server_side(event, False)
    return event


@attrs.frozen(kw_only=True)
class PublicationsLost:
    """Publications of ``channel`` after ``since`` will never be delivered: the
    server could not recover them (``reason`` "recovery failed"), or a full
    subscription buffer dropped ``count`` of them ("buffer full"). Reload the
    state from the application's backend, or from history if it still has them.
    """

    channel: str
    since: StreamPosition | None
    reason: str
    count: int | None = None


@attrs.frozen(kw_only=True)
class JoinReceived:
    channel: str
    info: ClientInfo
    server_side: bool = False


@attrs.frozen(kw_only=True)
class LeaveReceived:
    channel: str
    info: ClientInfo
    server_side: bool = False


# -- commands --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CommandSucceeded:
    request: int
    result: Any


@attrs.frozen(kw_only=True)
class CommandFailed:
    request: int
    error: CentrifugoError


Event = (
    OpenTransport
    | CloseTransport
    | StartTls
    | TokenRequested
    | Connecting
    | Connected
    | Disconnected
    | TransportClosed
    | ErrorOccurred
    | PingReceived
    | TokenRefreshed
    | MessageReceived
    | Subscribing
    | Subscribed
    | Unsubscribed
    | PublicationReceived
    | PublicationsLost
    | JoinReceived
    | LeaveReceived
    | CommandSucceeded
    | CommandFailed
)
