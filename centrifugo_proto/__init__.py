"""centrifugo_proto: a sans-I/O Centrifugo client.

The core (:class:`ClientProtocol`) turns bytes, calls and the current time
into bytes to send, events and the next deadline. Adapters in
``centrifugo_proto.adapters`` (asyncio today) plug it into an event loop.
"""

from __future__ import annotations

from .client import ClientProtocol
from .codes import ConnectingCode, DisconnectedCode, SubscribingCode, UnsubscribedCode
from .endpoints import Endpoint
from .errors import (
    CentrifugoError,
    ClientDisconnected,
    CommandTimeout,
    DecodeError,
    LocalProtocolError,
    PublicationsDropped,
    ReplyError,
    Unauthorized,
)
from .events import (
    CloseTransport,
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
    OpenTransport,
    PingReceived,
    PublicationReceived,
    PublicationsLost,
    StartTls,
    Subscribed,
    Subscribing,
    TokenRefreshed,
    TokenRequested,
    TransportClosed,
    Unsubscribed,
)
from .options import ClientOptions, SubscriptionOptions
from .results import (
    ClientInfo,
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
    UnsubscribeResult,
)
from .states import ClientState, SubscriptionState
from .tokens import connection_token, generate_token, jwt_encode, subscription_token

__all__ = [
    "CentrifugoError",
    "ClientDisconnected",
    "ClientInfo",
    "ClientOptions",
    "ClientProtocol",
    "ClientState",
    "CloseTransport",
    "CommandFailed",
    "CommandSucceeded",
    "CommandTimeout",
    "ConnectResult",
    "Connected",
    "Connecting",
    "ConnectingCode",
    "DecodeError",
    "Disconnected",
    "DisconnectedCode",
    "Endpoint",
    "ErrorOccurred",
    "Event",
    "HistoryResult",
    "JoinReceived",
    "LeaveReceived",
    "LocalProtocolError",
    "MessageReceived",
    "OpenTransport",
    "PingReceived",
    "PresenceResult",
    "PresenceStatsResult",
    "Publication",
    "PublicationReceived",
    "PublicationsDropped",
    "PublicationsLost",
    "PublishResult",
    "RefreshResult",
    "ReplyError",
    "RpcResult",
    "StartTls",
    "StreamPosition",
    "SubRefreshResult",
    "SubscribeResult",
    "Subscribed",
    "Subscribing",
    "SubscribingCode",
    "SubscriptionOptions",
    "SubscriptionState",
    "TokenRefreshed",
    "TokenRequested",
    "TransportClosed",
    "Unauthorized",
    "UnsubscribeResult",
    "Unsubscribed",
    "UnsubscribedCode",
    "connection_token",
    "generate_token",
    "jwt_encode",
    "subscription_token",
]
