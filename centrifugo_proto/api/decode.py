"""Server API answers to typed results (Centrifugo v6.9.1 ``api.pb.go`` JSON names).

An answer is ``{"result": {...}}`` or ``{"error": {"code", "message"}}``; a batch
answer is ``{"replies": [{"<route>": {...}} or {"error": {...}}, ...]}`` and a
broadcast result holds one ``{"result"}``/``{"error"}`` per channel. The server
leaves out fields at their defaults (``omitempty``), so a missing field is its
default; a field of the wrong type, a body that is not JSON, or a reply count
that does not match the request is a :class:`DecodeError`. Unknown fields are
ignored (newer servers add some).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from ..errors import ApiError, DecodeError
from ..results import (
    ClientInfo,
    HistoryResult,
    PresenceResult,
    PresenceStatsResult,
    Publication,
    RpcResult,
)
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
from .results import (
    ApiResult,
    BroadcastResult,
    ChannelInfo,
    ChannelsResult,
    DisconnectResult,
    HistoryRemoveResult,
    InfoResult,
    NodeInfo,
    NodeMetrics,
    NodeProcess,
    PublishResult,
    RefreshResult,
    SubscribeResult,
    UnsubscribeResult,
)

__all__ = ["decode_answer", "load_json"]

R = TypeVar("R")
T = TypeVar("T")


# -- field checks ------------------------------------------------------------------------


def load_json(body: bytes) -> Any:
    """The JSON value of ``body``, or :class:`DecodeError`."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
        excerpt = body[:80].decode("utf-8", "replace")
        raise DecodeError(f"the answer is not JSON: {excerpt!r}") from None


def _get(obj: dict[str, Any], key: str, kind: type[T], default: T, where: str) -> T:
    value = obj.get(key, default)
    if kind is int:
        if type(value) is not int:
            raise DecodeError(f"{where}.{key} must be an integer, got {value!r}")
    elif kind is float:
        if type(value) not in (int, float):
            raise DecodeError(f"{where}.{key} must be a number, got {value!r}")
        value = float(value)
    elif not isinstance(value, kind):
        raise DecodeError(f"{where}.{key} must be {kind.__name__}, got {value!r}")
    return cast(T, value)


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DecodeError(f"{where} must be an object, got {value!r}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise DecodeError(f"{where} must be an array, got {value!r}")
    return value


def _error(value: Any) -> ApiError:
    error = _obj(value, "error")
    return ApiError(_get(error, "code", int, 0, "error"), _get(error, "message", str, "", "error"))


# -- results -------------------------------------------------------------------------------


def _publish(raw: dict[str, Any], request: Any) -> PublishResult:
    return PublishResult(
        offset=_get(raw, "offset", int, 0, "result"), epoch=_get(raw, "epoch", str, "", "result")
    )


def _publish_response(value: Any) -> PublishResult | ApiError:
    response = _obj(value, "responses item")
    if "error" in response:
        return _error(response["error"])
    return _publish(_obj(response.get("result", {}), "responses item.result"), None)


def _broadcast(raw: dict[str, Any], request: BroadcastRequest) -> BroadcastResult:
    responses = tuple(map(_publish_response, _list(raw.get("responses", []), "responses")))
    if len(responses) != len(request.channels):
        raise DecodeError(
            f"broadcast to {len(request.channels)} channels got {len(responses)} responses"
        )
    return BroadcastResult(responses=responses)


def _empty(kind: type[T]) -> Callable[[dict[str, Any], Any], T]:
    def decode(raw: dict[str, Any], request: Any) -> T:
        return kind()

    return decode


def _client_info(value: Any, where: str) -> ClientInfo:
    info = _obj(value, where)
    return ClientInfo(
        user=_get(info, "user", str, "", where),
        client=_get(info, "client", str, "", where),
        conn_info=info.get("conn_info"),
        chan_info=info.get("chan_info"),
    )


def _presence(raw: dict[str, Any], request: PresenceRequest) -> PresenceResult:
    clients = _get(raw, "presence", dict, {}, "result")
    return PresenceResult(
        clients={
            client: _client_info(info, f"presence[{client!r}]") for client, info in clients.items()
        }
    )


def _presence_stats(raw: dict[str, Any], request: PresenceStatsRequest) -> PresenceStatsResult:
    return PresenceStatsResult(
        num_clients=_get(raw, "num_clients", int, 0, "result"),
        num_users=_get(raw, "num_users", int, 0, "result"),
    )


def _publication(value: Any, channel: str) -> Publication:
    pub = _obj(value, "publication")
    tags = _get(pub, "tags", dict, {}, "publication")
    if not all(isinstance(tag, str) for tag in tags.values()):
        raise DecodeError(f"publication.tags must map to strings, got {tags!r}")
    info = pub.get("info")
    return Publication(
        channel=channel,
        data=pub.get("data"),
        offset=_get(pub, "offset", int, 0, "publication"),
        info=None if info is None else _client_info(info, "publication.info"),
        tags=tags or None,
    )


def _history(raw: dict[str, Any], request: HistoryRequest) -> HistoryResult:
    publications = _list(raw.get("publications", []), "publications")
    return HistoryResult(
        publications=tuple(_publication(pub, request.channel) for pub in publications),
        offset=_get(raw, "offset", int, 0, "result"),
        epoch=_get(raw, "epoch", str, "", "result"),
    )


def _channels(raw: dict[str, Any], request: ChannelsRequest) -> ChannelsResult:
    channels = _get(raw, "channels", dict, {}, "result")
    return ChannelsResult(
        channels={
            name: ChannelInfo(
                num_clients=_get(_obj(info, "channel"), "num_clients", int, 0, "channel")
            )
            for name, info in channels.items()
        }
    )


def _node(value: Any) -> NodeInfo:
    node = _obj(value, "node")
    metrics = node.get("metrics")
    process = node.get("process")
    return NodeInfo(
        uid=_get(node, "uid", str, "", "node"),
        name=_get(node, "name", str, "", "node"),
        version=_get(node, "version", str, "", "node"),
        num_clients=_get(node, "num_clients", int, 0, "node"),
        num_users=_get(node, "num_users", int, 0, "node"),
        num_channels=_get(node, "num_channels", int, 0, "node"),
        num_subs=_get(node, "num_subs", int, 0, "node"),
        uptime=_get(node, "uptime", int, 0, "node"),
        metrics=None if metrics is None else _metrics(metrics),
        process=None if process is None else _process(process),
    )


def _metrics(value: Any) -> NodeMetrics:
    metrics = _obj(value, "node.metrics")
    items = _get(metrics, "items", dict, {}, "node.metrics")
    return NodeMetrics(
        interval=_get(metrics, "interval", float, 0.0, "node.metrics"),
        items={name: _get(items, name, float, 0.0, "node.metrics.items") for name in items},
    )


def _process(value: Any) -> NodeProcess:
    process = _obj(value, "node.process")
    return NodeProcess(
        cpu=_get(process, "cpu", float, 0.0, "node.process"),
        rss=_get(process, "rss", int, 0, "node.process"),
    )


def _info(raw: dict[str, Any], request: InfoRequest) -> InfoResult:
    return InfoResult(nodes=tuple(map(_node, _list(raw.get("nodes", []), "nodes"))))


def _rpc(raw: dict[str, Any], request: RpcRequest) -> RpcResult:
    return RpcResult(data=raw.get("data"))


_RESULTS: dict[type[ApiRequest[Any]], Callable[[dict[str, Any], Any], Any]] = {
    PublishRequest: _publish,
    BroadcastRequest: _broadcast,
    SubscribeRequest: _empty(SubscribeResult),
    UnsubscribeRequest: _empty(UnsubscribeResult),
    DisconnectRequest: _empty(DisconnectResult),
    RefreshRequest: _empty(RefreshResult),
    PresenceRequest: _presence,
    PresenceStatsRequest: _presence_stats,
    HistoryRequest: _history,
    HistoryRemoveRequest: _empty(HistoryRemoveResult),
    ChannelsRequest: _channels,
    InfoRequest: _info,
    RpcRequest: _rpc,
}


def _result(request: ApiRequest[R], value: Any) -> R:
    decoded = _RESULTS[type(request)](_obj(value, f"{request.route} result"), request)
    return cast(R, decoded)


def _batch(request: BatchRequest, answer: dict[str, Any]) -> list[ApiResult | ApiError]:
    replies = _list(answer.get("replies", []), "replies")
    if len(replies) != len(request.commands):
        raise DecodeError(f"batch of {len(request.commands)} commands got {len(replies)} replies")
    items: list[ApiResult | ApiError] = []
    for command, value in zip(request.commands, replies, strict=True):
        reply = _obj(value, "reply")
        if "error" in reply:
            items.append(_error(reply["error"]))
        elif command.route in reply:
            items.append(_result(command, reply[command.route]))
        else:
            raise DecodeError(f"reply to {command.route} without {command.route!r}: {reply!r}")
    return items


def decode_answer(request: ApiRequest[R], body: bytes) -> R:
    """The result of ``request`` from the body of its 200 answer.

    Raises :class:`ApiError` when the server refused the command (a batch or
    broadcast never raises it for one item: that item is the error), and
    :class:`DecodeError` when the body is not the answer expected.
    """
    answer = _obj(load_json(body), "the answer")
    if isinstance(request, BatchRequest):
        return cast(R, _batch(request, answer))
    if "error" in answer:
        raise _error(answer["error"])
    if "result" not in answer:
        raise DecodeError(f"the answer has neither result nor error: {body[:80]!r}")
    return _result(request, answer["result"])
