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
    "PingResult",
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
    #: The message id of the 1.x protocol (its recovery position); "" otherwise.
    uid: str = ""


@attrs.frozen
class StreamPosition:
    offset: int
    epoch: str


@attrs.frozen(kw_only=True)
class HistoryResult:
    publications: tuple[Publication, ...]
    offset: int
    epoch: str
    #: 1.x: the uid of the command this answers (LEGACY-V1.md §2).
    uid: str = ""


@attrs.frozen(kw_only=True)
class PresenceResult:
    clients: Mapping[str, ClientInfo]
    #: 1.x: the uid of the command this answers (LEGACY-V1.md §2).
    uid: str = ""


@attrs.frozen(kw_only=True)
class PresenceStatsResult:
    num_clients: int
    num_users: int


@attrs.frozen(kw_only=True)
class RpcResult:
    data: Any


@attrs.frozen(kw_only=True)
class PublishResult:
    #: 1.x: the uid of the command this answers (LEGACY-V1.md §2).
    uid: str = ""


@attrs.frozen(kw_only=True)
class UnsubscribeResult:
    #: 1.x: the uid of the command this answers (LEGACY-V1.md §2).
    uid: str = ""


@attrs.frozen(kw_only=True)
class PingResult:
    """The reply to the 1.x ``ping`` command: the ``data`` sent, echoed back."""

    data: str = ""
    #: 1.x: the uid of the command this answers (LEGACY-V1.md §2).
    uid: str = ""


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
    #: 1.x: the uid of the newest message in history (a recovery position).
    last: str = ""
    #: 1.x: the uid of the command this answers (LEGACY-V1.md §2).
    uid: str = ""


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
    #: 1.x: the credentials' timestamp is too old; the connection is not
    #: authenticated (LEGACY-V1.md §7). Get fresh credentials and connect again.
    expired: bool = False
    #: 1.x: the uid of the command this answers.
    uid: str = ""


@attrs.frozen(kw_only=True)
class RefreshResult:
    client: str = ""
    version: str = ""
    expires: bool = False
    ttl: int = 0
    #: 1.x: the new credentials are too old already (LEGACY-V1.md §7).
    expired: bool = False
    #: 1.x: the uid of the command this answers (LEGACY-V1.md §2).
    uid: str = ""


@attrs.frozen(kw_only=True)
class SubRefreshResult:
    expires: bool = False
    ttl: int = 0


# -- the hot path -----------------------------------------------------------------------

_new = object.__new__
(
    _set_channel,
    _set_data,
    _set_offset,
    _set_info,
    _set_tags,
    _set_time,
    _set_epoch,
    _set_delta,
    _set_uid,
) = (Publication.__dict__[field.name].__set__ for field in attrs.fields(Publication))


def plain_publication(channel: str, data: Any, offset: int) -> Publication:
    """``Publication(channel=channel, data=data, offset=offset)``, for a codec's hot path.

    The common publication carries data and an offset, nothing else. attrs' frozen
    ``__init__`` sets each of the nine slots through ``object.__setattr__``; the
    slots' own setters do the same at half the cost (DESIGN "The hot path"). The
    object is the same in every way (a test compares them field by field).
    """
    pub: Publication = _new(Publication)
    _set_channel(pub, channel)
    _set_data(pub, data)
    _set_offset(pub, offset)
    _set_info(pub, None)
    _set_tags(pub, None)
    _set_time(pub, 0)
    _set_epoch(pub, "")
    _set_delta(pub, False)
    _set_uid(pub, "")
    return pub
