"""Server API requests to JSON bodies (the JSON names of Centrifugo v6.9.1 ``api.pb.go``).

A field at its default is left out, as the server's own encoder does
(``omitempty``), so a body carries only what the caller asked for. ``data``
of publish and broadcast is always there unless ``b64data`` replaces it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..results import StreamPosition
from .requests import (
    ApiRequest,
    BatchRequest,
    BroadcastRequest,
    ChannelsRequest,
    DisconnectRequest,
    HistoryRemoveRequest,
    HistoryRequest,
    InfoRequest,
    PresenceRequest,
    PresenceStatsRequest,
    PublishRequest,
    RefreshRequest,
    RpcRequest,
    SubscribeRequest,
    UnsubscribeRequest,
)
from .validate import encode_json

__all__ = ["encode_body", "encode_params"]

Params = dict[str, Any]


def _put(into: Params, /, **fields: Any) -> Params:
    """Add the scalar and object fields not at their default (None, False, "", 0)."""
    for key, value in fields.items():
        if value is not None and value is not False and value != "" and value != 0:
            into[key] = value
    return into


def _payloads(into: Params, /, **fields: Any) -> Params:
    """Add the JSON payloads given (None: not sent; 0, "" and false are values)."""
    for key, value in fields.items():
        if value is not None:
            into[key] = value
    return into


def _position(position: StreamPosition | None) -> Params | None:
    if position is None:
        return None
    return _put({}, offset=position.offset, epoch=position.epoch)


def _publication_options(request: PublishRequest | BroadcastRequest, params: Params) -> Params:
    if request.b64data is not None:
        params["b64data"] = request.b64data
    else:
        params["data"] = request.data
    return _put(
        params,
        skip_history=request.skip_history,
        tags=request.tags or None,
        idempotency_key=request.idempotency_key,
        delta=request.delta,
        version=request.version,
        version_epoch=request.version_epoch,
    )


def _publish(request: PublishRequest) -> Params:
    return _publication_options(request, {"channel": request.channel})


def _broadcast(request: BroadcastRequest) -> Params:
    return _publication_options(request, {"channels": list(request.channels)})


def _subscribe(request: SubscribeRequest) -> Params:
    override = None
    if request.override is not None:
        flags = request.override
        override = {
            name: {"value": value}
            for name, value in (
                ("presence", flags.presence),
                ("join_leave", flags.join_leave),
                ("force_recovery", flags.force_recovery),
                ("force_positioning", flags.force_positioning),
                ("force_push_join_leave", flags.force_push_join_leave),
            )
            if value is not None
        }
    params = _put(
        {"user": request.user, "channel": request.channel},
        client=request.client,
        session=request.session,
        b64info=request.b64info,
        b64data=request.b64data,
        expire_at=request.expire_at,
        recover_since=_position(request.recover_since),
        override=override,
    )
    return _payloads(params, info=request.info, data=request.data)


def _unsubscribe(request: UnsubscribeRequest) -> Params:
    return _put(
        {"user": request.user, "channel": request.channel},
        client=request.client,
        session=request.session,
    )


def _disconnect(request: DisconnectRequest) -> Params:
    disconnect = _put({}, code=request.code, reason=request.reason) or None
    return _put(
        {"user": request.user},
        disconnect=disconnect,
        client=request.client,
        session=request.session,
        whitelist=list(request.whitelist) or None,
    )


def _refresh(request: RefreshRequest) -> Params:
    params = _put(
        {"user": request.user},
        client=request.client,
        session=request.session,
        expired=request.expired,
        expire_at=request.expire_at,
    )
    return _payloads(params, info=request.info)


def _channel(request: PresenceRequest | PresenceStatsRequest | HistoryRemoveRequest) -> Params:
    return {"channel": request.channel}


def _history(request: HistoryRequest) -> Params:
    return _put(
        {"channel": request.channel},
        limit=request.limit,
        since=_position(request.since),
        reverse=request.reverse,
    )


def _channels(request: ChannelsRequest) -> Params:
    return _put({}, pattern=request.pattern)


def _info(request: InfoRequest) -> Params:
    return {}


def _rpc(request: RpcRequest) -> Params:
    return _payloads({"method": request.method}, params=request.params)


def _batch(request: BatchRequest) -> Params:
    commands = [{command.route: encode_params(command)} for command in request.commands]
    return _put({"commands": commands}, parallel=request.parallel)


_ENCODERS: dict[type[ApiRequest[Any]], Callable[[Any], Params]] = {
    PublishRequest: _publish,
    BroadcastRequest: _broadcast,
    SubscribeRequest: _subscribe,
    UnsubscribeRequest: _unsubscribe,
    DisconnectRequest: _disconnect,
    RefreshRequest: _refresh,
    PresenceRequest: _channel,
    PresenceStatsRequest: _channel,
    HistoryRequest: _history,
    HistoryRemoveRequest: _channel,
    ChannelsRequest: _channels,
    InfoRequest: _info,
    RpcRequest: _rpc,
    BatchRequest: _batch,
}


def encode_params(request: ApiRequest[Any]) -> Params:
    """The JSON object of ``request`` (the body of its route, or its batch entry)."""
    return _ENCODERS[type(request)](request)


def encode_body(request: ApiRequest[Any]) -> bytes:
    """The UTF-8 JSON body to POST to ``<api url>/<request.route>``."""
    return encode_json(encode_params(request), f"{request.route} request")
