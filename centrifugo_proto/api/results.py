"""What the server API's methods return (Centrifugo v6.9.1 ``internal/apiproto/api.proto``).

Where the client protocol already has the type, the API returns the same one:
:class:`~centrifugo_proto.HistoryResult` (its publications carry the channel
asked for), :class:`~centrifugo_proto.PresenceResult`,
:class:`~centrifugo_proto.PresenceStatsResult`, :class:`~centrifugo_proto.RpcResult`,
with :class:`~centrifugo_proto.ClientInfo` and :class:`~centrifugo_proto.Publication`
inside. The types here are the API's own; methods whose answer is ``{}``
(subscribe, unsubscribe, disconnect, refresh, history_remove) return an empty
result, so every call returns a value of its own type.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ..errors import ApiError
from ..results import HistoryResult, PresenceResult, PresenceStatsResult, RpcResult

__all__ = [
    "ApiResult",
    "BroadcastResult",
    "ChannelInfo",
    "ChannelsResult",
    "DisconnectResult",
    "HistoryRemoveResult",
    "InfoResult",
    "NodeInfo",
    "NodeMetrics",
    "NodeProcess",
    "PublishResult",
    "RefreshResult",
    "SubscribeResult",
    "UnsubscribeResult",
]


@attrs.frozen(kw_only=True)
class PublishResult:
    """Where the publication went in the channel's stream: offset 0 and epoch ""
    when the channel keeps no history (or with ``skip_history``)."""

    offset: int = 0
    epoch: str = ""


@attrs.frozen(kw_only=True)
class BroadcastResult:
    """One item per channel, in the order asked: the publish result, or the
    :class:`~centrifugo_proto.errors.ApiError` of that channel alone."""

    responses: tuple[PublishResult | ApiError, ...]


@attrs.frozen
class SubscribeResult:
    pass


@attrs.frozen
class UnsubscribeResult:
    pass


@attrs.frozen
class DisconnectResult:
    pass


@attrs.frozen
class RefreshResult:
    pass


@attrs.frozen
class HistoryRemoveResult:
    pass


@attrs.frozen(kw_only=True)
class ChannelInfo:
    num_clients: int = 0


@attrs.frozen(kw_only=True)
class ChannelsResult:
    """Active channels (those with at least one subscriber) matching the pattern."""

    channels: Mapping[str, ChannelInfo]


@attrs.frozen(kw_only=True)
class NodeMetrics:
    interval: float = 0.0
    items: Mapping[str, float] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class NodeProcess:
    cpu: float = 0.0
    rss: int = 0


@attrs.frozen(kw_only=True)
class NodeInfo:
    uid: str
    name: str
    version: str
    num_clients: int = 0
    num_users: int = 0
    num_channels: int = 0
    num_subs: int = 0
    uptime: int = 0
    metrics: NodeMetrics | None = None
    process: NodeProcess | None = None


@attrs.frozen(kw_only=True)
class InfoResult:
    nodes: tuple[NodeInfo, ...]


#: Anything one command of the API returns (an item of a batch result).
ApiResult = (
    PublishResult
    | BroadcastResult
    | SubscribeResult
    | UnsubscribeResult
    | DisconnectResult
    | RefreshResult
    | PresenceResult
    | PresenceStatsResult
    | HistoryResult
    | HistoryRemoveResult
    | ChannelsResult
    | InfoResult
    | RpcResult
)
