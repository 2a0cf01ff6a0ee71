"""Typed commands: what the session asks a codec to encode (PROTOCOL.md §2.3).

One frozen class per Command field of the schema (§2.1), named for the request
message it carries, with the request's fields under their schema names. A codec
maps them field by field to its wire form, so no JSON-shaped dict stands between
the session and a binary codec (DESIGN "The core", layer 2).

Zero values mean "not set", as in the schema: codecs leave them out. Values are
checked where the caller hands them in (:mod:`.validate`), never here: the
session builds commands too, from values it already holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from .filters import FilterNode
from .results import StreamPosition

__all__ = [
    "PONG",
    "Command",
    "ConnectRequest",
    "HistoryRequest",
    "PingRequest",
    "PresenceRequest",
    "PresenceStatsRequest",
    "PublishRequest",
    "RefreshRequest",
    "RpcRequest",
    "SendRequest",
    "SubRefreshRequest",
    "SubscribeRequest",
    "UnsubscribeRequest",
]


@attrs.frozen(kw_only=True)
class SubscribeRequest:
    channel: str
    #: A subscription token, or a 1.x channel's sign: a secret, never in a ``repr``.
    token: str = attrs.field(default="", repr=False)
    recover: bool = False
    epoch: str = ""
    offset: int = 0
    data: Any = None
    positioned: bool = False
    recoverable: bool = False
    join_leave: bool = False
    #: ``"fossil"`` asks for delta compression (§7).
    delta: str = ""
    #: Only publications whose tags match (``tf``, Centrifugo >= 6.4; not with delta).
    tags_filter: FilterNode | None = None
    #: 1.x: recover from the message with this uid (``last``, LEGACY-V1.md §2.3).
    last: str = ""
    #: 1.x private (``$``) channels: this connection's id and the signed info;
    #: ``token`` carries the sign (§6).
    client: str = ""
    info: str = ""


@attrs.frozen(kw_only=True)
class ConnectRequest:
    token: str = attrs.field(default="", repr=False)
    data: Any = None
    #: Server-side subscriptions to recover, by channel (§6.5).
    subs: Mapping[str, SubscribeRequest] = attrs.field(factory=dict)
    name: str = ""
    version: str = ""
    #: 1.x credentials (LEGACY-V1.md §2.1), each sent as a string; ``token`` is the
    #: HMAC of user, timestamp and info.
    user: str = ""
    timestamp: str = ""
    info: str = ""


@attrs.frozen
class UnsubscribeRequest:
    channel: str


@attrs.frozen
class PublishRequest:
    channel: str
    data: Any


@attrs.frozen
class PresenceRequest:
    channel: str


@attrs.frozen
class PresenceStatsRequest:
    channel: str


@attrs.frozen(kw_only=True)
class HistoryRequest:
    channel: str
    #: 0: only the stream's top position; -1: everything the server allows (§2.3).
    limit: int = 0
    since: StreamPosition | None = None
    reverse: bool = False


@attrs.frozen
class RpcRequest:
    method: str
    data: Any = None


@attrs.frozen
class SendRequest:
    """Fire and forget: no id, no reply (§2.3)."""

    data: Any


@attrs.frozen(kw_only=True)
class RefreshRequest:
    token: str = attrs.field(repr=False)
    #: 1.x: new credentials, as for connect (LEGACY-V1.md §2.2).
    user: str = ""
    timestamp: str = ""
    info: str = ""


@attrs.frozen
class SubRefreshRequest:
    channel: str
    token: str = attrs.field(repr=False)


@attrs.frozen
class PingRequest:
    """The empty Command: the pong to a server ping (§4). A dialect with a client
    ping command (1.x) sends it with an id, and ``data`` to echo."""

    data: str = ""


Command = (
    ConnectRequest
    | SubscribeRequest
    | UnsubscribeRequest
    | PublishRequest
    | PresenceRequest
    | PresenceStatsRequest
    | HistoryRequest
    | RpcRequest
    | SendRequest
    | RefreshRequest
    | SubRefreshRequest
    | PingRequest
)

#: The pong: an empty Command without an id (§4).
PONG: Final = PingRequest()
