"""Public result types: what commands return and what publications carry.

Field names follow the protocol schema (PROTOCOL.md §2). In JSON mode payloads
(``data``, ``conn_info``, ``chan_info``) are Python values; in Protobuf mode
they will be bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "ClientInfo",
    "ConnectResult",
    "HistoryResult",
    "PresenceResult",
    "PresenceStatsResult",
    "Publication",
    "PublishResult",
    "RefreshResult",
    "RpcResult",
    "StreamPosition",
    "SubRefreshResult",
    "SubscribeResult",
    "UnsubscribeResult",
]


@attrs.frozen(kw_only=True)
class ClientInfo:
    user: str
    client: str
    conn_info: Any = None
    chan_info: Any = None


@attrs.frozen(kw_only=True)
class Publication:
    """One publication. ``offset`` is 0 when the channel keeps no history."""

    channel: str
    data: Any
    offset: int = 0
    info: ClientInfo | None = None
    tags: Mapping[str, str] | None = None
    time: int = 0
    #: Set by the server when the stream's epoch is news: on the first publication
    #: after a subscribe, and after a stream reset. Empty otherwise (the
    #: subscription's position holds the epoch).
    epoch: str = ""
    #: On the wire only: ``data`` is a fossil delta against the subscription's last
    #: full payload (§7). The client applies it; what it delivers is always whole.
    delta: bool = False


@attrs.frozen
class StreamPosition:
    offset: int
    epoch: str


@attrs.frozen(kw_only=True)
class HistoryResult:
    publications: tuple[Publication, ...]
    offset: int
    epoch: str


@attrs.frozen(kw_only=True)
class PresenceResult:
    clients: Mapping[str, ClientInfo]


@attrs.frozen(kw_only=True)
class PresenceStatsResult:
    num_clients: int
    num_users: int


@attrs.frozen(kw_only=True)
class RpcResult:
    data: Any


@attrs.frozen
class PublishResult:
    pass


@attrs.frozen
class UnsubscribeResult:
    pass


@attrs.frozen(kw_only=True)
class SubscribeResult:
    """SubscribeResult of PROTOCOL.md §2.3 (also used for server-side subscriptions)."""

    expires: bool = False
    ttl: int = 0
    recoverable: bool = False
    positioned: bool = False
    epoch: str = ""
    offset: int = 0
    publications: tuple[Publication, ...] = ()
    recovered: bool = False
    was_recovering: bool = False
    data: Any = None
    delta: bool = False


@attrs.frozen(kw_only=True)
class ConnectResult:
    client: str
    version: str = ""
    expires: bool = False
    ttl: int = 0
    data: Any = None
    subs: Mapping[str, SubscribeResult] = attrs.field(factory=dict)
    ping: int = 0
    pong: bool = False
    session: str = ""
    node: str = ""
    time: int = 0


@attrs.frozen(kw_only=True)
class RefreshResult:
    client: str = ""
    version: str = ""
    expires: bool = False
    ttl: int = 0


@attrs.frozen(kw_only=True)
class SubRefreshResult:
    expires: bool = False
    ttl: int = 0
