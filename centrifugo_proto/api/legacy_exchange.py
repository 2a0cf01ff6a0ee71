"""One 1.x server API call as HTTP: the signed request and what its answer means.

LEGACY-V1.md §5: ``X-API-Sign`` is ``generate_token(secret, body)``, the
HMAC-SHA256 of the exact body bytes, so the body is built once here and signed
as sent. §11.9: the answer is an array with one entry per command; a failed
command is an entry with an ``error`` string (and an ``advice``), never an HTTP
error; 400 and 401 are plain text for the whole request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from ..errors import DecodeError, LegacyApiError, LocalProtocolError
from ..http import HttpRequest, HttpResponse
from ..http_url import HttpUrl
from ..results import ClientInfo
from ..tokens import generate_token
from .decode import load_json
from .exchange import JSON_HEADERS, check_status
from .legacy import (
    LegacyBatch,
    LegacyBroadcast,
    LegacyChannels,
    LegacyChannelsResult,
    LegacyDisconnect,
    LegacyHistory,
    LegacyHistoryResult,
    LegacyMessage,
    LegacyNode,
    LegacyNodeInfo,
    LegacyPresence,
    LegacyPresenceResult,
    LegacyPublish,
    LegacyRequest,
    LegacyResult,
    LegacyStats,
    LegacyStatsResult,
    LegacyUnsubscribe,
)
from .validate import encode_json

__all__ = ["encode_legacy_body", "legacy_http_request", "read_legacy_response"]

R = TypeVar("R")
Params = dict[str, Any]

# -- encoding ------------------------------------------------------------------------------


def _publish(request: LegacyPublish) -> Params:
    params: Params = {"channel": request.channel, "data": request.data}
    if request.client:
        params["client"] = request.client
    if request.uid:
        params["uid"] = request.uid
    return params


def _broadcast(request: LegacyBroadcast) -> Params:
    params: Params = {"channels": list(request.channels), "data": request.data}
    if request.client:
        params["client"] = request.client
    return params


_PARAMS: dict[type[LegacyRequest[Any]], Callable[[Any], Params]] = {
    LegacyPublish: _publish,
    LegacyBroadcast: _broadcast,
    LegacyUnsubscribe: lambda r: {"channel": r.channel, "user": r.user},
    LegacyDisconnect: lambda r: {"user": r.user},
    LegacyPresence: lambda r: {"channel": r.channel},
    LegacyHistory: lambda r: {"channel": r.channel},
    LegacyChannels: lambda r: {},
    LegacyStats: lambda r: {},
    LegacyNode: lambda r: {},
}


def _command(request: LegacyRequest[Any]) -> Params:
    return {"method": request.method, "params": _PARAMS[type(request)](request)}


def encode_legacy_body(request: LegacyRequest[Any]) -> bytes:
    """One command as an object (``{"method", "params"}``), a batch as an array."""
    if isinstance(request, LegacyBatch):
        return encode_json([_command(c) for c in request.commands], "1.x batch")
    return encode_json(_command(request), f"1.x {request.method} request")


def legacy_http_request(url: HttpUrl, secret: str, request: LegacyRequest[Any]) -> HttpRequest:
    """The signed ``POST`` of ``request`` to ``url`` (the server's ``/api/``)."""
    if not isinstance(request, LegacyRequest):
        raise LocalProtocolError(f"expected a 1.x API request, got {type(request).__name__}")
    body = encode_legacy_body(request)
    sign = generate_token(secret, body.decode("utf-8"))
    return HttpRequest(
        method="POST",
        target=url.target,
        headers=(*JSON_HEADERS, ("X-API-Sign", sign)),
        body=body,
    )


# -- decoding ------------------------------------------------------------------------------


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DecodeError(f"{where} must be an object, got {value!r}")
    return value


def _str(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key, "")
    if not isinstance(value, str):
        raise DecodeError(f"{where}.{key} must be a string, got {value!r}")
    return value


def _int(obj: dict[str, Any], key: str, where: str) -> int:
    value = obj.get(key, 0)
    if type(value) is not int:
        raise DecodeError(f"{where}.{key} must be an integer, got {value!r}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise DecodeError(f"{where} must be an array, got {value!r}")
    return value


def _client_info(value: Any, where: str) -> ClientInfo:
    info = _obj(value, where)
    return ClientInfo(
        user=_str(info, "user", where),
        client=_str(info, "client", where),
        conn_info=info.get("default_info"),
        chan_info=info.get("channel_info"),
    )


def _message(value: Any) -> LegacyMessage:
    message = _obj(value, "message")
    info = message.get("info")
    return LegacyMessage(
        uid=_str(message, "uid", "message"),
        channel=_str(message, "channel", "message"),
        data=message.get("data"),
        client=_str(message, "client", "message"),
        info=None if info is None else _client_info(info, "message.info"),
    )


def _node(value: Any) -> LegacyNodeInfo:
    node = _obj(value, "node")
    metrics = _obj(node.get("metrics") or {}, "node.metrics")
    return LegacyNodeInfo(
        uid=_str(node, "uid", "node"),
        name=_str(node, "name", "node"),
        version=_str(node, "version", "node"),
        started_at=_int(node, "started_at", "node"),
        metrics={name: _int(metrics, name, "node.metrics") for name in metrics},
    )


def _no_body(body: Any) -> None:
    return None


def _presence(body: Any) -> LegacyPresenceResult:
    obj = _obj(body, "presence body")
    clients = _obj(obj.get("data") or {}, "presence data")
    return LegacyPresenceResult(
        channel=_str(obj, "channel", "presence body"),
        clients={cid: _client_info(info, f"presence[{cid!r}]") for cid, info in clients.items()},
    )


def _history(body: Any) -> LegacyHistoryResult:
    obj = _obj(body, "history body")
    return LegacyHistoryResult(
        channel=_str(obj, "channel", "history body"),
        messages=tuple(map(_message, _list(obj.get("data") or [], "history data"))),
    )


def _channels(body: Any) -> LegacyChannelsResult:
    names = _list(_obj(body, "channels body").get("data") or [], "channels data")
    if not all(isinstance(name, str) for name in names):
        raise DecodeError(f"channels data must hold strings, got {names!r}")
    return LegacyChannelsResult(channels=tuple(names))


def _stats(body: Any) -> LegacyStatsResult:
    data = _obj(_obj(body, "stats body").get("data"), "stats data")
    return LegacyStatsResult(
        nodes=tuple(map(_node, _list(data.get("nodes") or [], "stats nodes"))),
        metrics_interval=_int(data, "metrics_interval", "stats data"),
    )


def _node_body(body: Any) -> LegacyNodeInfo:
    return _node(_obj(body, "node body").get("data"))


_BODIES: dict[str, Callable[[Any], Any]] = {
    "publish": _no_body,
    "broadcast": _no_body,
    "unsubscribe": _no_body,
    "disconnect": _no_body,
    "presence": _presence,
    "history": _history,
    "channels": _channels,
    "stats": _stats,
    "node": _node_body,
}


def _entry(command: LegacyRequest[Any], value: Any) -> LegacyResult | LegacyApiError:
    entry = _obj(value, "answer entry")
    method = entry.get("method")
    if method != command.method:
        raise DecodeError(f"a {command.method} command got a {method!r} answer")
    error = entry.get("error")
    if error is not None:
        if not isinstance(error, str):
            raise DecodeError(f"answer entry error must be a string, got {error!r}")
        return LegacyApiError(command.method, error, _str(entry, "advice", "answer entry"))
    result: LegacyResult = _BODIES[command.method](entry.get("body"))
    return result


def read_legacy_response(request: LegacyRequest[R], response: HttpResponse) -> R:
    """The result of ``request``: for one command its result (its error raised),
    for a batch one item per command (errors as items)."""
    check_status(response)
    answer = _list(load_json(response.body), "the 1.x answer")
    commands = request.commands if isinstance(request, LegacyBatch) else (request,)
    if len(answer) != len(commands):
        raise DecodeError(f"{len(commands)} commands got {len(answer)} answers")
    items = [_entry(command, value) for command, value in zip(commands, answer, strict=True)]
    if isinstance(request, LegacyBatch):
        return cast(R, items)
    (item,) = items
    if isinstance(item, LegacyApiError):
        raise item
    return cast(R, item)
