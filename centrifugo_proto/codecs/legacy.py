"""The 1.x JSON codec (LEGACY-V1.md §1-§4, and §11: the frames a real 1.8.0 sent).

A client message is one command object, or an array of them for a batch:
``{"uid": "3", "method": "publish", "params": {...}}``. A server message is one
object or an array of them, in command order; an entry with a ``uid`` answers the
command of that uid, one without is an asynchronous message (``message``,
``join``, ``leave``, ``unsubscribe``, and the ``disconnect`` of servers up to
1.6.1). Every ``params`` field is a string, except ``recover`` (bool) and
``data`` (any JSON). History and recovered messages come newest first; they are
handed on oldest first, like the current protocol's.

Errors are strings with an advice (``fix`` or ``retry``); they map to the error
codes of the current protocol (PROTOCOL.md §5.1) so that one rule table decides
what is retryable: ``temporary`` is the advice ``retry``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ..commands import (
    Command,
    ConnectRequest,
    HistoryRequest,
    PingRequest,
    PresenceRequest,
    PublishRequest,
    RefreshRequest,
    SubscribeRequest,
    UnsubscribeRequest,
)
from ..errors import DecodeError, LocalProtocolError, ReplyError
from ..messages import (
    Ignored,
    Incoming,
    Join,
    Leave,
    Push,
    Reply,
    ServerDisconnect,
    ServerUnsubscribe,
)
from ..results import (
    ClientInfo,
    ConnectResult,
    HistoryResult,
    PingResult,
    PresenceResult,
    Publication,
    PublishResult,
    RefreshResult,
    SubscribeResult,
    UnsubscribeResult,
)
from ..validate import utf8_safe
from . import FrameKind, WireId
from ._fields import boolean as _bool
from ._fields import obj as _obj
from ._fields import string as _str
from ._fields import uint as _int

__all__ = ["ERROR_CODES", "LegacyCodec"]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_loads = json.loads

#: 1.x error strings (LEGACY-V1.md §4) to the current protocol's codes (PROTOCOL.md §5.1).
ERROR_CODES: Final[Mapping[str, int]] = {
    "internal server error": 100,
    "unauthorized": 101,
    "namespace not found": 102,
    "permission denied": 103,
    "method not found": 104,
    "already subscribed": 105,
    "limit exceeded": 106,
    "invalid message": 107,
    "not available": 108,
    "invalid token": 101,
    "client is closed": 101,
    "send timeout": 100,
}


# -- encoding ----------------------------------------------------------------------------


def _strings(**fields: str) -> dict[str, str]:
    """Credentials, each sent as a string (§2.1); ``info`` only when there is one."""
    return {k: v for k, v in fields.items() if v or k != "info"}


def _credentials(req: ConnectRequest | RefreshRequest) -> dict[str, str]:
    return _strings(user=req.user, timestamp=req.timestamp, info=req.info, token=req.token)


def _connect(req: ConnectRequest) -> tuple[str, dict[str, Any]]:
    return "connect", _credentials(req)


def _refresh(req: RefreshRequest) -> tuple[str, dict[str, Any]]:
    return "refresh", _credentials(req)


def _subscribe(req: SubscribeRequest) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"channel": req.channel}
    if req.token:  # a private channel's sign (§6): sent with the info exactly as signed
        params.update(client=req.client, info=req.info, sign=req.token)
    if req.recover:
        params.update(recover=True, last=req.last)
    return "subscribe", params


def _history(req: HistoryRequest) -> tuple[str, dict[str, Any]]:
    if req.limit or req.since is not None or req.reverse:
        raise LocalProtocolError("1.x history takes a channel only: no limit, since or reverse")
    return "history", {"channel": req.channel}


def _ping(req: PingRequest) -> tuple[str, dict[str, Any] | None]:
    return "ping", ({"data": req.data} if req.data else None)


_ENCODERS: Final[Mapping[type, Callable[[Any], tuple[str, dict[str, Any] | None]]]] = {
    ConnectRequest: _connect,
    RefreshRequest: _refresh,
    SubscribeRequest: _subscribe,
    UnsubscribeRequest: lambda r: ("unsubscribe", {"channel": r.channel}),
    PublishRequest: lambda r: ("publish", {"channel": r.channel, "data": r.data}),
    PresenceRequest: lambda r: ("presence", {"channel": r.channel}),
    HistoryRequest: _history,
    PingRequest: _ping,
}


def _json(value: Any) -> str:
    try:
        text: str = _dumps(value)
    except (TypeError, ValueError) as exc:
        raise LocalProtocolError(f"payload is not JSON-serialisable: {exc}") from None
    except RecursionError:
        raise LocalProtocolError("payload is nested too deeply for JSON") from None
    if not utf8_safe(text):
        raise LocalProtocolError("payload cannot be sent: it holds a lone surrogate")
    return text


# -- decoding: shared shapes (§3) ---------------------------------------------------------


def _client_info(raw: Any) -> ClientInfo:
    info = _obj(raw, "info")
    return ClientInfo(
        user=_str(info.get("user", ""), "info.user"),
        client=_str(info.get("client", ""), "info.client"),
        conn_info=info.get("default_info"),
        chan_info=info.get("channel_info"),
    )


def _message(raw: Any, channel: str = "") -> Publication:
    """A 1.x message (§3): uid, channel, data, and for client publishes client and info."""
    body = _obj(raw, "message")
    info = body.get("info")
    return Publication(
        channel=_str(body.get("channel", channel), "message.channel"),
        data=body.get("data"),
        info=None if info is None else _client_info(info),
        uid=_str(body.get("uid", ""), "message.uid"),
    )


def _oldest_first(raw: Any, channel: str) -> tuple[Publication, ...]:
    """History and recovered messages come newest first (§2.3, §2.7)."""
    if raw is None:
        return ()
    if type(raw) is not list:
        raise DecodeError(f"messages must be a list, got {raw!r}")
    return tuple(_message(item, channel) for item in reversed(raw))


# -- decoding: replies (§2) ---------------------------------------------------------------


def _connect_result(body: dict[str, Any], uid: str) -> ConnectResult:
    return ConnectResult(
        client=_str(body.get("client", ""), "client"),
        version=_str(body.get("version", ""), "version"),
        expires=_bool(body.get("expires", False), "expires"),
        expired=_bool(body.get("expired", False), "expired"),
        ttl=_int(body.get("ttl", 0), "ttl"),
        uid=uid,
    )


def _refresh_result(body: dict[str, Any], uid: str) -> RefreshResult:
    return RefreshResult(
        client=_str(body.get("client", ""), "client"),
        version=_str(body.get("version", ""), "version"),
        expires=_bool(body.get("expires", False), "expires"),
        expired=_bool(body.get("expired", False), "expired"),
        ttl=_int(body.get("ttl", 0), "ttl"),
        uid=uid,
    )


def _subscribe_result(body: dict[str, Any], uid: str) -> SubscribeResult:
    channel = _str(body.get("channel", ""), "channel")
    return SubscribeResult(
        publications=_oldest_first(body.get("messages"), channel),
        recovered=_bool(body.get("recovered", False), "recovered"),
        last=_str(body.get("last", ""), "last"),
        uid=uid,
    )


def _presence_result(body: dict[str, Any], uid: str) -> PresenceResult:
    clients = _obj(body.get("data") or {}, "presence.data")
    return PresenceResult(clients={c: _client_info(i) for c, i in clients.items()}, uid=uid)


def _history_result(body: dict[str, Any], uid: str) -> HistoryResult:
    channel = _str(body.get("channel", ""), "channel")
    return HistoryResult(
        publications=_oldest_first(body.get("data"), channel), offset=0, epoch="", uid=uid
    )


def _ping_result(body: dict[str, Any], uid: str) -> PingResult:
    return PingResult(data=_str(body.get("data", ""), "ping.data"), uid=uid)


#: Reply method → its result (§2).
_RESULTS: Final[Mapping[str, Callable[[dict[str, Any], str], object]]] = {
    "connect": _connect_result,
    "refresh": _refresh_result,
    "subscribe": _subscribe_result,
    "unsubscribe": lambda body, uid: UnsubscribeResult(uid=uid),
    "publish": lambda body, uid: PublishResult(uid=uid),
    "presence": _presence_result,
    "history": _history_result,
    "ping": _ping_result,
}


def _error(text: Any, advice: Any) -> ReplyError:
    message = _str(text, "error")
    if advice is not None:
        _str(advice, "advice")
    # An unknown error string: temporary by its advice, terminal otherwise (107).
    code = ERROR_CODES.get(message, 107 if advice != "retry" else 100)
    return ReplyError(code, message, temporary=advice == "retry")


def _reply(uid: str, method: str, entry: dict[str, Any]) -> Reply:
    error = entry.get("error")
    if error is not None and error != "":  # servers before 1.3.2 send "error": null
        return Reply(uid, None, _error(error, entry.get("advice")))
    decoder = _RESULTS.get(method)
    if decoder is None:
        raise DecodeError(f"a reply to a method this client never sends: {method!r}")
    body = entry.get("body")
    return Reply(uid, decoder(_obj(body if body is not None else {}, f"{method} body"), uid))


# -- decoding: asynchronous messages (§3) -------------------------------------------------


def _async(method: str, body: Any) -> Incoming:
    if method == "message":
        return _message(body)
    raw = _obj(body, f"{method} body")
    channel = _str(raw.get("channel", ""), "channel")
    if method in ("join", "leave"):
        info = _client_info(raw.get("data", {}))
        return Push(channel, Join(info) if method == "join" else Leave(info))
    if method == "unsubscribe":
        # The server unsubscribed this client (no uid): no resubscribe (§3).
        return Push(channel, ServerUnsubscribe(2000, "server unsubscribe"))
    if method == "disconnect":  # servers up to 1.6.1, before the JSON close reason
        advice = {"reason": raw.get("reason", ""), "reconnect": raw.get("reconnect", False)}
        return Push("", ServerDisconnect(3000, json.dumps(advice)))
    return Push(channel, Ignored(method))


def _entry(raw: Any) -> Incoming:
    entry = _obj(raw, "entry")
    method = _str(entry.get("method", ""), "method")
    uid = entry.get("uid", "")
    if uid:
        return _reply(_str(uid, "uid"), method, entry)
    return _async(method, entry.get("body"))


class LegacyCodec:
    """JSON of the 1.x protocol: one object or an array per text frame."""

    name: Final = "json"
    subprotocol: Final = None
    frame_kind: Final = FrameKind.TEXT

    def encode(self, command: Command) -> str:
        """``"method":"publish","params":{...}``: the command without braces or uid."""
        encoder = _ENCODERS.get(type(command))
        if encoder is None:
            raise LocalProtocolError(f"{type(command).__name__} is not in the 1.x protocol")
        method, params = encoder(command)
        fields: dict[str, Any] = {"method": method}
        if params is not None:
            fields["params"] = params
        return _json(fields)[1:-1]

    def frame(self, commands: Sequence[tuple[WireId | None, str]]) -> str:
        """One object, or an array for a batch (§1)."""
        objects = [f'{{"uid":{_dumps(str(uid))},{body}}}' for uid, body in commands]
        return objects[0] if len(objects) == 1 else f"[{','.join(objects)}]"

    def decode(self, message: str | bytes) -> list[Incoming]:
        if not isinstance(message, str):
            raise DecodeError("binary frame in 1.x mode")
        try:
            raw = _loads(message)
        except ValueError as exc:
            raise DecodeError(f"not JSON: {exc}") from None
        except RecursionError:
            raise DecodeError("JSON nested too deeply") from None
        entries = raw if type(raw) is list else [raw]
        return [_entry(entry) for entry in entries]

    def check_payload(self, value: Any) -> None:
        _json(value)

    def payload_bytes(self, data: Any) -> bytes:
        raise DecodeError("the 1.x protocol has no delta compression")

    def payload_value(self, data: bytes) -> Any:
        raise DecodeError("the 1.x protocol has no delta compression")
