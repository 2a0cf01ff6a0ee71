"""Typed requests and results of the Centrifugo 1.x server API (LEGACY-V1.md §5, §11.9).

Read from Centrifugo v1.8.0 (``libcentrifugo/api/v1/api.go``, ``proto/commands.go``,
``proto/response.go``, ``server/handlers.go``):

=========== ======================================== ==============================================
method      params                                   body of a successful answer
=========== ======================================== ==============================================
publish     channel, data (raw JSON), client, uid    null
broadcast   channels, data, client                   null
unsubscribe channel, user                            null
disconnect  user                                     null
presence    channel                                  {channel, data: client id → {user, client,
                                                     default_info, channel_info}}
history     channel                                  {channel, data: [message, newest first]};
                                                     message {uid, channel, data, client, info}
channels    (none)                                   {data: [channel names]}
stats       (none)                                   {data: {nodes: [node], metrics_interval}}
node        (none)                                   {data: node}; node {uid, version, name,
                                                     started_at, metrics: name → int}
=========== ======================================== ==============================================

The request is ``POST /api/`` with ``Content-Type: application/json``, the
body one command ``{"method", "params"}`` or an array of them, and ``X-API-Sign``
= ``generate_token(secret, body)``. The answer is always an array, one entry
``{"method", "error": null | "text", "advice"?, "body"}`` per command, in order;
a failed command stays in it. A missing sign, an unknown method or params the
server cannot parse fail the whole request with HTTP 400 ``Bad Request`` as text;
a wrong sign is HTTP 401 ``Unauthorized``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from ..errors import LegacyApiError, LocalProtocolError
from ..results import ClientInfo
from .validate import check_json, check_str, check_strs

__all__ = [
    "LegacyBatch",
    "LegacyBroadcast",
    "LegacyChannels",
    "LegacyChannelsResult",
    "LegacyDisconnect",
    "LegacyHistory",
    "LegacyHistoryResult",
    "LegacyMessage",
    "LegacyNode",
    "LegacyNodeInfo",
    "LegacyPresence",
    "LegacyPresenceResult",
    "LegacyPublish",
    "LegacyRequest",
    "LegacyResult",
    "LegacyStats",
    "LegacyStatsResult",
    "LegacyUnsubscribe",
]

R = TypeVar("R")


# -- results -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class LegacyMessage:
    """A message in a channel's history (1.x has no offsets; ``uid`` names it)."""

    uid: str
    channel: str
    data: Any
    client: str = ""
    info: ClientInfo | None = None


@attrs.frozen(kw_only=True)
class LegacyHistoryResult:
    channel: str
    #: Newest first, as the 1.x server keeps them.
    messages: tuple[LegacyMessage, ...]


@attrs.frozen(kw_only=True)
class LegacyPresenceResult:
    """``clients``: client id → :class:`~centrifugo_proto.ClientInfo`, with the
    1.x ``default_info`` as ``conn_info`` and ``channel_info`` as ``chan_info``."""

    channel: str
    clients: Mapping[str, ClientInfo]


@attrs.frozen(kw_only=True)
class LegacyChannelsResult:
    channels: tuple[str, ...]


@attrs.frozen(kw_only=True)
class LegacyNodeInfo:
    uid: str
    name: str
    version: str
    #: Unix seconds.
    started_at: int = 0
    metrics: Mapping[str, int] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class LegacyStatsResult:
    nodes: tuple[LegacyNodeInfo, ...]
    metrics_interval: int = 0


#: What a 1.x command returns: publish, broadcast, unsubscribe and disconnect
#: have no body (None).
LegacyResult = (
    None
    | LegacyHistoryResult
    | LegacyPresenceResult
    | LegacyChannelsResult
    | LegacyStatsResult
    | LegacyNodeInfo
)


# -- requests ------------------------------------------------------------------------------


class LegacyRequest(Generic[R]):
    """A 1.x API command whose result is ``R``; ``method`` is its name on the wire."""

    __slots__ = ()
    method: ClassVar[str]


def _str(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_str(value, attribute.name)


def _json(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_json(value, attribute.name)


def _channels(value: Sequence[str]) -> tuple[str, ...]:
    return check_strs(value, "channels")


@attrs.frozen
class LegacyPublish(LegacyRequest[None]):
    """``uid``: the message's id (1.7.7+; the server makes one if ""); ``client``:
    a connection id to name as the publisher."""

    method: ClassVar[str] = "publish"

    channel: str = attrs.field(validator=_str)
    data: Any = attrs.field(validator=_json)
    client: str = attrs.field(default="", kw_only=True, validator=_str)
    uid: str = attrs.field(default="", kw_only=True, validator=_str)


@attrs.frozen
class LegacyBroadcast(LegacyRequest[None]):
    method: ClassVar[str] = "broadcast"

    channels: tuple[str, ...] = attrs.field(converter=_channels)
    data: Any = attrs.field(validator=_json)
    client: str = attrs.field(default="", kw_only=True, validator=_str)


@attrs.frozen
class LegacyUnsubscribe(LegacyRequest[None]):
    method: ClassVar[str] = "unsubscribe"

    channel: str = attrs.field(validator=_str)
    user: str = attrs.field(validator=_str)


@attrs.frozen
class LegacyDisconnect(LegacyRequest[None]):
    method: ClassVar[str] = "disconnect"

    user: str = attrs.field(validator=_str)


@attrs.frozen
class LegacyPresence(LegacyRequest[LegacyPresenceResult]):
    method: ClassVar[str] = "presence"

    channel: str = attrs.field(validator=_str)


@attrs.frozen
class LegacyHistory(LegacyRequest[LegacyHistoryResult]):
    method: ClassVar[str] = "history"

    channel: str = attrs.field(validator=_str)


@attrs.frozen
class LegacyChannels(LegacyRequest[LegacyChannelsResult]):
    method: ClassVar[str] = "channels"


@attrs.frozen
class LegacyStats(LegacyRequest[LegacyStatsResult]):
    method: ClassVar[str] = "stats"


@attrs.frozen
class LegacyNode(LegacyRequest[LegacyNodeInfo]):
    method: ClassVar[str] = "node"


def _commands(value: Sequence[LegacyRequest[Any]]) -> tuple[LegacyRequest[Any], ...]:
    if not isinstance(value, Sequence):
        raise LocalProtocolError("commands must be a sequence of 1.x API requests")
    for command in value:
        if not isinstance(command, LegacyRequest) or isinstance(command, LegacyBatch):
            raise LocalProtocolError(
                f"a 1.x batch holds 1.x API requests, got {type(command).__name__}"
            )
    return tuple(value)


@attrs.frozen
class LegacyBatch(LegacyRequest[list[LegacyResult | LegacyApiError]]):
    """Several commands in one signed request (a JSON array); the result has one
    item per command: its result, or its :class:`LegacyApiError`."""

    method: ClassVar[str] = "batch"

    commands: tuple[LegacyRequest[Any], ...] = attrs.field(converter=_commands)
