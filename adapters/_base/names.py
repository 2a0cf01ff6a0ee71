"""Which callback an event goes to, by the names of ``on(name, callback)``.

``on()`` names are the current SDKs' (PROTOCOL.md §5.4 events): connection
events go to the client; subscription events go to that subscription, except
those of server-side subscriptions, which go to the client (PROTOCOL.md §6.5).
``ping``, ``refresh``, ``ws_closed`` and ``ws_error`` are the seed's names
(DESIGN "Seed API") for events the current SDKs do not name; the seed's other
names are aliases (:data:`SEED_ALIASES`) or name the reply to a command
(:data:`REPLY_NAMES`, a :class:`CommandReplied`). The table is in
``docs/events.md``. Adapter policy, not protocol: the core has no callbacks.

In the 1.x dialect the seed's names keep the seed's meaning (DESIGN "The 1.x
dialect", :data:`CLIENT_WIDE`): ``message`` is a channel publication, and
``message``, ``join`` and ``leave`` registered on the client fire for every
channel, as the Perl module's did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

import attrs

from centrifugo_proto.errors import CentrifugoError, LocalProtocolError
from centrifugo_proto.events import (
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
    TransportClosed,
    Unsubscribed,
)

__all__ = [
    "CALLBACK_NAMES",
    "CLIENT_WIDE",
    "REPLY_NAMES",
    "SEED_ALIASES",
    "Callback",
    "Callbacks",
    "CommandReplied",
    "TransportFailed",
    "callback_target",
    "client_wide",
    "event_name",
]

#: Event type → the name callbacks register under.
CALLBACK_NAMES: Final[dict[type[Event], str]] = {
    Connecting: "connecting",
    Connected: "connected",
    Disconnected: "disconnected",
    ErrorOccurred: "error",
    MessageReceived: "message",
    PingReceived: "ping",
    TokenRefreshed: "refresh",
    TransportClosed: "ws_closed",
    Subscribing: "subscribing",
    Subscribed: "subscribed",
    Unsubscribed: "unsubscribed",
    PublicationReceived: "publication",
    PublicationsLost: "publications_lost",
    JoinReceived: "join",
    LeaveReceived: "leave",
}

_SUBSCRIPTION_EVENTS: Final = (Subscribing, Subscribed, Unsubscribed, JoinReceived, LeaveReceived)
_CHANNEL_EVENTS: Final = (ErrorOccurred, TokenRefreshed, PublicationsLost)


def callback_target(event: Event) -> tuple[str | None, str] | None:
    """``(channel, name)`` for a subscription's callbacks, ``(None, name)`` for the
    client's, or None when no callback takes this event (effects, replies)."""
    name = CALLBACK_NAMES.get(type(event))
    if name is None:
        return None
    if isinstance(event, PublicationReceived):
        return (None if event.server_side else event.publication.channel), name
    if isinstance(event, _SUBSCRIPTION_EVENTS):
        return (None if event.server_side else event.channel), name
    if isinstance(event, _CHANNEL_EVENTS):
        return event.channel, name
    return None, name


@attrs.frozen(kw_only=True)
class CommandReplied:
    """The reply to a command, for the seed's names (``publish``, ``subscribe``, ...).

    ``request`` is the core's request handle; subscribe and unsubscribe have
    none (the subscription stands for them: ``channel``). ``subscribe`` fires on
    every ``Subscribed`` (resubscribes too) and on a refused subscribe
    (``error``); ``unsubscribe`` when the subscription is unsubscribed by the
    caller or the server. Made by the adapters' routing, not by the core.
    """

    command: str
    channel: str | None
    request: int | None = None
    result: Any = None
    error: CentrifugoError | None = None
    #: 1.x: the uid of the command answered (the result's or the error reply's; the
    #: caller's own when no reply came); "" in the current protocol.
    uid: str = ""


@attrs.frozen(kw_only=True)
class TransportFailed:
    """The socket could not be opened (refused, TLS, a resolver that raised, ...)
    or broke while in use: the seed's ``ws_error``. ``error`` is the exception
    itself, whatever its type. Made by the adapters, which see the socket."""

    error: BaseException


#: Extra names the seed (Perl ``Centrifugo::Client``) used → the current name.
SEED_ALIASES: Final[dict[str, str]] = {
    "connect": "connected",
    "disconnect": "disconnected",
}

#: Dialect name → the names whose callbacks on the client fire for every channel's
#: event, not only for server-side subscriptions. In 1.x (``"v1"``) ``message`` is a
#: channel publication: the callback gets the :class:`~centrifugo_proto.Publication`
#: (``channel``, ``data``, ``uid``, ``info``), as the seed's ``message`` got the
#: message body (LEGACY-V1.md §3, §8 "Events").
CLIENT_WIDE: Final[dict[str, frozenset[str]]] = {
    "v1": frozenset({"message", "join", "leave"}),
}


def client_wide(dialect: str) -> frozenset[str]:
    """The :data:`CLIENT_WIDE` names of ``dialect`` (none for a dialect not listed)."""
    return CLIENT_WIDE.get(dialect, frozenset())


#: Seed names for the reply to a command (the callback gets a :class:`CommandReplied`);
#: ``presence_stats`` and ``rpc`` are this client's additions. ``ping`` (1.x) names
#: the reply to ``ping()`` as well as a server ping (:class:`PingReceived`).
REPLY_NAMES: Final = frozenset(
    {"subscribe", "unsubscribe", "publish", "presence", "history", "presence_stats", "rpc", "ping"}
)

_EVENT_NAMES: Final = frozenset(CALLBACK_NAMES.values()) | {"ws_error"} | REPLY_NAMES


def event_name(name: str) -> str:
    """The name callbacks are kept under: ``name`` itself or its current alias.

    Raises LocalProtocolError for a name no event has (a typo would otherwise
    wait forever).
    """
    name = SEED_ALIASES.get(name, name)
    if name not in _EVENT_NAMES:
        known = sorted(_EVENT_NAMES | SEED_ALIASES.keys())
        raise LocalProtocolError(f"no event is called {name!r}; known names: {', '.join(known)}")
    return name


#: What ``on()`` takes: called with the event; may return an awaitable in the async adapters.
Callback = Callable[[Any], object]
_C = TypeVar("_C", bound="Callbacks")


class Callbacks:
    """``on(name, callback)``: current and seed names alike (``docs/events.md``)."""

    # The clients are slotted down their whole class chain (issue 12: a client's
    # __dict__, past 30 attributes, was 1.8 KiB of an idle one's heap); a subclass
    # without __slots__ (a subscription, the blocking client) has a __dict__ as before.
    __slots__ = ("_callbacks",)

    def __init__(self) -> None:
        self._callbacks: dict[str, list[Callback]] = {}

    def on(self: _C, name: str, callback: Callback) -> _C:
        """Call ``callback(event)`` for every event called ``name``; returns self.

        Raises LocalProtocolError for a name no event has, or a callback that is
        not callable."""
        if not callable(callback):
            raise LocalProtocolError(f"on({name!r}, ...) needs a callable, got {callback!r}")
        self._callbacks.setdefault(event_name(name), []).append(callback)
        return self
