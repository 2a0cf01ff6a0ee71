"""Typed requests of the server HTTP API of Centrifugo v6 (the open-source server).

Each class is one route, ``POST <api url>/<method>``, and one kind of command in
a :class:`BatchRequest`. Fields and their wire types were read from Centrifugo
v6.9.1 (``internal/apiproto/api.proto``, the JSON names of ``api.pb.go``, the
executor ``internal/api/api.go`` and the routes of ``internal/api/handler.go``)
and checked against a running v6.9.1 (request fields → result fields):

- ``publish``: channel, data (raw JSON), b64data, skip_history, tags (str map),
  idempotency_key, delta, version (uint64), version_epoch → offset (uint64), epoch.
- ``broadcast``: channels, then as publish → responses, one ``{"result"}`` or
  ``{"error"}`` per channel.
- ``subscribe``: user, channel, expire_at (int64), info / b64info, client, session,
  data / b64data, recover_since {offset, epoch}, override {presence, join_leave,
  force_recovery, force_positioning, force_push_join_leave: {value}} → ``{}``.
- ``unsubscribe``: user, channel, client, session → ``{}``.
- ``disconnect``: user, disconnect {code (uint32), reason}, client, whitelist,
  session → ``{}``.
- ``refresh``: user, client, session, expired, expire_at (int64), info → ``{}``.
- ``presence``: channel → presence: client id → {user, client, conn_info, chan_info}.
- ``presence_stats``: channel → num_clients, num_users.
- ``history``: channel, limit (int32), since {offset, epoch}, reverse →
  publications [{data, info, offset, tags}], epoch, offset.
- ``history_remove``: channel → ``{}``.
- ``channels``: pattern → channels: name → {num_clients}.
- ``info``: (none) → nodes [{uid, name, version, num_clients, num_users,
  num_channels, num_subs, uptime, metrics {interval, items}, process {cpu, rss}}].
- ``rpc``: method, params (raw JSON) → data (raw JSON).
- ``batch``: commands [{"<route>": request}], parallel → replies
  [{"<route>": result} or {"error"}].

Every answer is ``{"result": ...}`` or ``{"error": {"code", "message"}}`` with
HTTP 200 (batch: ``{"replies": [...]}``, ``{}`` when empty); a bad key is 401
with no body, a body the server cannot parse 400 ``Bad Request`` as text.
Observed on v6.9.1: ``history`` with ``since.offset`` 0 and ``reverse`` is error
100 (not 107 as in the client protocol); ``rpc`` answers 104 "not found" for
every method, since the open-source server registers no server-API RPC handler
(its RPC proxy serves client RPC only). Left out on purpose: the PRO-only
``label_filter`` and ``all_users``, and the map and shared-poll routes (other
subscription types).

Fields left at their defaults are not sent (the server's JSON has ``omitempty``
everywhere). A payload (``data``, ``info``, ``params``) is any JSON value;
``None`` means "not sent" except for ``publish``/``broadcast`` ``data``, which is
always sent unless ``b64data`` is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from ..errors import ApiError, LocalProtocolError
from ..results import (
    HistoryResult,
    PresenceResult,
    PresenceStatsResult,
    RpcResult,
    StreamPosition,
)
from .results import (
    ApiResult,
    BroadcastResult,
    ChannelsResult,
    DisconnectResult,
    HistoryRemoveResult,
    InfoResult,
    PublishResult,
    RefreshResult,
    SubscribeResult,
    UnsubscribeResult,
)
from .validate import (
    check_b64,
    check_bool,
    check_int,
    check_json,
    check_str,
    check_str_map,
    check_strs,
)

__all__ = [
    "ApiRequest",
    "BatchRequest",
    "BroadcastRequest",
    "ChannelsRequest",
    "DisconnectRequest",
    "HistoryRemoveRequest",
    "HistoryRequest",
    "InfoRequest",
    "PresenceRequest",
    "PresenceStatsRequest",
    "PublishRequest",
    "RefreshRequest",
    "RpcRequest",
    "SubscribeOverride",
    "SubscribeRequest",
    "UnsubscribeRequest",
]

R = TypeVar("R")


class ApiRequest(Generic[R]):
    """A server API command whose result is ``R``. ``route`` is its name: the last
    part of its URL and its key inside a batch."""

    __slots__ = ()
    route: ClassVar[str]


# -- field validators (attrs: instance, attribute, value) --------------------------------


def _str(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_str(value, attribute.name)


def _opt_b64(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        check_b64(value, attribute.name)


def _bool(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_bool(value, attribute.name)


def _opt_bool(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        check_bool(value, attribute.name)


def _json(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_json(value, attribute.name)


def _int(bits: int, signed: bool) -> Any:
    def validate(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        check_int(value, attribute.name, bits=bits, signed=signed)

    return validate


def _position(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, StreamPosition):
        raise LocalProtocolError(f"{attribute.name} must be a StreamPosition or None")
    check_int(value.offset, f"{attribute.name}.offset", bits=64, signed=False)
    check_str(value.epoch, f"{attribute.name}.epoch")


def _channels(value: Sequence[str]) -> tuple[str, ...]:
    return check_strs(value, "channels")


def _whitelist(value: Sequence[str]) -> tuple[str, ...]:
    return check_strs(value, "whitelist")


def _tags(value: Mapping[str, str] | None) -> dict[str, str] | None:
    return None if value is None else check_str_map(value, "tags")


_INT32, _INT64, _UINT32, _UINT64 = _int(32, True), _int(64, True), _int(32, False), _int(64, False)


def _one_payload(data: Any, b64data: str | None, what: str) -> None:
    if data is not None and b64data is not None:
        raise LocalProtocolError(f"give {what} or b64{what}, not both")


# -- publishing ----------------------------------------------------------------------------


@attrs.frozen
class PublishRequest(ApiRequest[PublishResult]):
    route: ClassVar[str] = "publish"

    channel: str = attrs.field(validator=_str)
    data: Any = attrs.field(default=None, validator=_json)
    b64data: str | None = attrs.field(default=None, kw_only=True, validator=_opt_b64)
    skip_history: bool = attrs.field(default=False, kw_only=True, validator=_bool)
    tags: dict[str, str] | None = attrs.field(default=None, kw_only=True, converter=_tags)
    idempotency_key: str = attrs.field(default="", kw_only=True, validator=_str)
    delta: bool = attrs.field(default=False, kw_only=True, validator=_bool)
    version: int = attrs.field(default=0, kw_only=True, validator=_UINT64)
    version_epoch: str = attrs.field(default="", kw_only=True, validator=_str)

    def __attrs_post_init__(self) -> None:
        _one_payload(self.data, self.b64data, "data")


@attrs.frozen
class BroadcastRequest(ApiRequest[BroadcastResult]):
    route: ClassVar[str] = "broadcast"

    channels: tuple[str, ...] = attrs.field(converter=_channels)
    data: Any = attrs.field(default=None, validator=_json)
    b64data: str | None = attrs.field(default=None, kw_only=True, validator=_opt_b64)
    skip_history: bool = attrs.field(default=False, kw_only=True, validator=_bool)
    tags: dict[str, str] | None = attrs.field(default=None, kw_only=True, converter=_tags)
    idempotency_key: str = attrs.field(default="", kw_only=True, validator=_str)
    delta: bool = attrs.field(default=False, kw_only=True, validator=_bool)
    version: int = attrs.field(default=0, kw_only=True, validator=_UINT64)
    version_epoch: str = attrs.field(default="", kw_only=True, validator=_str)

    def __attrs_post_init__(self) -> None:
        _one_payload(self.data, self.b64data, "data")


# -- managing connections ----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SubscribeOverride:
    """Channel options to override for this server-side subscription (None: the
    namespace's own)."""

    presence: bool | None = attrs.field(default=None, validator=_opt_bool)
    join_leave: bool | None = attrs.field(default=None, validator=_opt_bool)
    force_recovery: bool | None = attrs.field(default=None, validator=_opt_bool)
    force_positioning: bool | None = attrs.field(default=None, validator=_opt_bool)
    force_push_join_leave: bool | None = attrs.field(default=None, validator=_opt_bool)


def _override(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, SubscribeOverride):
        raise LocalProtocolError(f"{attribute.name} must be a SubscribeOverride or None")


@attrs.frozen
class SubscribeRequest(ApiRequest[SubscribeResult]):
    """Subscribe the user's connections (or one ``client``, or one ``session``) to
    ``channel`` on the server side: they get a ``subscribe`` push."""

    route: ClassVar[str] = "subscribe"

    user: str = attrs.field(validator=_str)
    channel: str = attrs.field(validator=_str)
    client: str = attrs.field(default="", kw_only=True, validator=_str)
    session: str = attrs.field(default="", kw_only=True, validator=_str)
    info: Any = attrs.field(default=None, kw_only=True, validator=_json)
    b64info: str | None = attrs.field(default=None, kw_only=True, validator=_opt_b64)
    data: Any = attrs.field(default=None, kw_only=True, validator=_json)
    b64data: str | None = attrs.field(default=None, kw_only=True, validator=_opt_b64)
    expire_at: int = attrs.field(default=0, kw_only=True, validator=_INT64)
    recover_since: StreamPosition | None = attrs.field(
        default=None, kw_only=True, validator=_position
    )
    override: SubscribeOverride | None = attrs.field(
        default=None, kw_only=True, validator=_override
    )

    def __attrs_post_init__(self) -> None:
        _one_payload(self.info, self.b64info, "info")
        _one_payload(self.data, self.b64data, "data")


@attrs.frozen
class UnsubscribeRequest(ApiRequest[UnsubscribeResult]):
    route: ClassVar[str] = "unsubscribe"

    user: str = attrs.field(validator=_str)
    channel: str = attrs.field(validator=_str)
    client: str = attrs.field(default="", kw_only=True, validator=_str)
    session: str = attrs.field(default="", kw_only=True, validator=_str)


@attrs.frozen
class DisconnectRequest(ApiRequest[DisconnectResult]):
    """Disconnect the user's connections; ``code`` and ``reason`` are the close
    the clients see (0 and "": the server's default, 3000 "force disconnect"...).
    ``whitelist``: client ids to leave connected."""

    route: ClassVar[str] = "disconnect"

    user: str = attrs.field(validator=_str)
    code: int = attrs.field(default=0, kw_only=True, validator=_UINT32)
    reason: str = attrs.field(default="", kw_only=True, validator=_str)
    client: str = attrs.field(default="", kw_only=True, validator=_str)
    session: str = attrs.field(default="", kw_only=True, validator=_str)
    whitelist: tuple[str, ...] = attrs.field(default=(), kw_only=True, converter=_whitelist)


@attrs.frozen
class RefreshRequest(ApiRequest[RefreshResult]):
    """Extend (``expire_at``, Unix seconds) or end (``expired``) the connections'
    lifetime, the server-side alternative to client token refresh."""

    route: ClassVar[str] = "refresh"

    user: str = attrs.field(validator=_str)
    client: str = attrs.field(default="", kw_only=True, validator=_str)
    session: str = attrs.field(default="", kw_only=True, validator=_str)
    expired: bool = attrs.field(default=False, kw_only=True, validator=_bool)
    expire_at: int = attrs.field(default=0, kw_only=True, validator=_INT64)
    info: Any = attrs.field(default=None, kw_only=True, validator=_json)


# -- channel state -----------------------------------------------------------------------------


@attrs.frozen
class PresenceRequest(ApiRequest[PresenceResult]):
    route: ClassVar[str] = "presence"

    channel: str = attrs.field(validator=_str)


@attrs.frozen
class PresenceStatsRequest(ApiRequest[PresenceStatsResult]):
    route: ClassVar[str] = "presence_stats"

    channel: str = attrs.field(validator=_str)


@attrs.frozen
class HistoryRequest(ApiRequest[HistoryResult]):
    """``limit`` 0: no publications, only the stream's position; -1: all the
    server keeps (up to its maximum)."""

    route: ClassVar[str] = "history"

    channel: str = attrs.field(validator=_str)
    limit: int = attrs.field(default=0, kw_only=True, validator=_INT32)
    since: StreamPosition | None = attrs.field(default=None, kw_only=True, validator=_position)
    reverse: bool = attrs.field(default=False, kw_only=True, validator=_bool)


@attrs.frozen
class HistoryRemoveRequest(ApiRequest[HistoryRemoveResult]):
    route: ClassVar[str] = "history_remove"

    channel: str = attrs.field(validator=_str)


@attrs.frozen(kw_only=True)
class ChannelsRequest(ApiRequest[ChannelsResult]):
    """``pattern``: a glob on channel names (``chat:*``); "" for all."""

    route: ClassVar[str] = "channels"

    pattern: str = attrs.field(default="", validator=_str)


@attrs.frozen
class InfoRequest(ApiRequest[InfoResult]):
    route: ClassVar[str] = "info"


@attrs.frozen
class RpcRequest(ApiRequest[RpcResult]):
    route: ClassVar[str] = "rpc"

    method: str = attrs.field(validator=_str)
    params: Any = attrs.field(default=None, validator=_json)


# -- batch ---------------------------------------------------------------------------------------


def _commands(value: Sequence[ApiRequest[Any]]) -> tuple[ApiRequest[Any], ...]:
    if not isinstance(value, Sequence):
        raise LocalProtocolError("commands must be a sequence of API requests")
    for command in value:
        if not isinstance(command, ApiRequest) or isinstance(command, BatchRequest):
            raise LocalProtocolError(
                f"a batch holds API requests other than batch, got {type(command).__name__}"
            )
    return tuple(value)


@attrs.frozen
class BatchRequest(ApiRequest[list[ApiResult | ApiError]]):
    """Several commands in one request. The result has one item per command, in
    order: its result, or its :class:`~centrifugo_proto.errors.ApiError`. With
    ``parallel`` the server runs them at the same time (order of effects is then
    not the order of commands)."""

    route: ClassVar[str] = "batch"

    commands: tuple[ApiRequest[Any], ...] = attrs.field(converter=_commands)
    parallel: bool = attrs.field(default=False, kw_only=True, validator=_bool)
