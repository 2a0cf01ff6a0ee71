"""Which callback an event goes to: shared by every adapter (DESIGN "Adapters").

``on(name, callback)`` names are the current SDKs' (PROTOCOL.md §5.4 events):
connection events go to the client; subscription events go to that
subscription, except those of server-side subscriptions, which go to the
client (PROTOCOL.md §6.5). ``ping``, ``refresh`` and ``ws_closed`` are the
seed's names (DESIGN "Seed API") for events the current SDKs do not name.
"""

from __future__ import annotations

from typing import Final

from .events import (
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

__all__ = ["CALLBACK_NAMES", "callback_target"]

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
_CHANNEL_EVENTS: Final = (ErrorOccurred, TokenRefreshed)


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
    if isinstance(event, PublicationsLost):
        return event.channel, name
    if isinstance(event, _CHANNEL_EVENTS):
        return event.channel, name
    return None, name
