"""The writing half of the JSON codec (PROTOCOL.md §1.1, §2.3).

Each command as the fields of its request, zero values left out, and the writers
that turn a value into compact JSON that can travel in a text frame: the standard
library's strict encoder, or a plugged ``dumps`` held to the same guarantees
(:mod:`.json` says which). Commands go out one per call, not per publication:
none of this is on the hot path.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Final

from ..commands import (
    ConnectRequest,
    HistoryRequest,
    PresenceRequest,
    PresenceStatsRequest,
    PublishRequest,
    RefreshRequest,
    RpcRequest,
    SendRequest,
    SubRefreshRequest,
    SubscribeRequest,
    UnsubscribeRequest,
)
from ..errors import LocalProtocolError
from ..filters import FilterNode
from ..validate import utf8_safe

__all__ = ["ENCODERS", "Dumps", "plugged_json", "stdlib_json"]

#: Writes one JSON text, as ``str`` or UTF-8 ``bytes``.
Dumps = Callable[[Any], "str | bytes"]

_stdlib_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


# -- encoding (§2.3): each command as the fields of its request, zero values left out ---


def _subscribe_fields(req: SubscribeRequest) -> dict[str, Any]:
    fields: dict[str, Any] = {"channel": req.channel}
    if req.token:
        fields["token"] = req.token
    if req.data is not None:
        fields["data"] = req.data
    if req.recoverable:
        fields["recoverable"] = True
    if req.positioned:
        fields["positioned"] = True
    if req.join_leave:
        fields["join_leave"] = True
    if req.delta:
        fields["delta"] = req.delta
    if req.tags_filter is not None:
        fields["tf"] = _filter_fields(req.tags_filter)
    if req.recover:
        fields["recover"] = True
    if req.epoch:
        fields["epoch"] = req.epoch
    if req.offset:
        fields["offset"] = req.offset
    return fields


def _filter_fields(node: FilterNode) -> dict[str, Any]:
    """A FilterNode as JSON (§2.2), zero values left out."""
    fields: dict[str, Any] = {}
    if node.op:
        fields["op"] = node.op
    if node.key:
        fields["key"] = node.key
    if node.cmp:
        fields["cmp"] = node.cmp
    if node.val:
        fields["val"] = node.val
    if node.vals:
        fields["vals"] = list(node.vals)
    if node.nodes:
        fields["nodes"] = [_filter_fields(child) for child in node.nodes]
    return fields


def _connect_fields(req: ConnectRequest) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if req.token:
        fields["token"] = req.token
    if req.data is not None:
        fields["data"] = req.data
    if req.subs:
        fields["subs"] = {
            channel: {k: v for k, v in _subscribe_fields(sub).items() if k != "channel"}
            for channel, sub in req.subs.items()
        }
    if req.name:
        fields["name"] = req.name
    if req.version:
        fields["version"] = req.version
    return fields


def _history_fields(req: HistoryRequest) -> dict[str, Any]:
    fields: dict[str, Any] = {"channel": req.channel}
    if req.limit:
        fields["limit"] = req.limit
    if req.since is not None:
        fields["since"] = {"offset": req.since.offset, "epoch": req.since.epoch}
    if req.reverse:
        fields["reverse"] = True
    return fields


def _rpc_fields(req: RpcRequest) -> dict[str, Any]:
    fields: dict[str, Any] = {"method": req.method}
    if req.data is not None:
        fields["data"] = req.data
    return fields


#: Command type → (Command field name, its request's fields) (§2.1).
ENCODERS: Final[Mapping[type, tuple[str, Callable[[Any], dict[str, Any]]]]] = {
    ConnectRequest: ("connect", _connect_fields),
    SubscribeRequest: ("subscribe", _subscribe_fields),
    UnsubscribeRequest: ("unsubscribe", lambda r: {"channel": r.channel}),
    PublishRequest: ("publish", lambda r: {"channel": r.channel, "data": r.data}),
    PresenceRequest: ("presence", lambda r: {"channel": r.channel}),
    PresenceStatsRequest: ("presence_stats", lambda r: {"channel": r.channel}),
    HistoryRequest: ("history", _history_fields),
    RpcRequest: ("rpc", _rpc_fields),
    SendRequest: ("send", lambda r: {"data": r.data}),
    RefreshRequest: ("refresh", lambda r: {"token": r.token}),
    SubRefreshRequest: ("sub_refresh", lambda r: {"channel": r.channel, "token": r.token}),
}


def stdlib_json(value: Any) -> str:
    """Compact JSON that can travel in a text frame, or ``LocalProtocolError`` (stdlib)."""
    try:
        text: str = _stdlib_dumps(value)
    except (TypeError, ValueError) as exc:  # a set, bytes, NaN, a circular list...
        raise LocalProtocolError(f"payload is not JSON-serialisable: {exc}") from None
    except RecursionError:
        raise LocalProtocolError("payload is nested too deeply for JSON") from None
    if not utf8_safe(text):  # RFC 6455 §5.6: text frames are UTF-8
        raise LocalProtocolError("payload cannot be sent: it holds a lone surrogate")
    return text


def check_plugged(value: Any) -> None:
    """What another library's ``dumps`` may let through but the JSON codec refuses:
    non-finite floats and lone surrogates (in strings and keys), anywhere in ``value``."""
    if isinstance(value, str):
        if not utf8_safe(value):
            raise LocalProtocolError("payload cannot be sent: it holds a lone surrogate")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise LocalProtocolError(f"payload is not JSON-serialisable: {value!r} is not JSON")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_plugged(key)
            check_plugged(item)
    elif isinstance(value, list | tuple):
        for item in value:
            check_plugged(item)


def plugged_json(dumps: Dumps, value: Any) -> str:
    """JSON by another library's ``dumps``, held to what :func:`stdlib_json` guarantees."""
    try:
        check_plugged(value)
        out = dumps(value)
    except LocalProtocolError:
        raise
    except RecursionError:
        raise LocalProtocolError("payload is nested too deeply for JSON") from None
    # Whatever the library raises for what it cannot write (orjson: a TypeError).
    except Exception as exc:
        raise LocalProtocolError(f"payload is not JSON-serialisable: {exc}") from None
    if isinstance(out, bytes):
        try:
            out = out.decode("utf-8")
        except UnicodeDecodeError:
            raise LocalProtocolError("dumps wrote bytes that are not UTF-8") from None
    elif type(out) is not str:
        raise LocalProtocolError(f"dumps must return str or bytes, got {type(out).__name__}")
    elif not utf8_safe(out):
        raise LocalProtocolError("payload cannot be sent: it holds a lone surrogate")
    if "\n" in out:  # one command per line (§1.1): a pretty-printer would split it
        raise LocalProtocolError("dumps wrote a newline: JSON commands must be one line")
    return out
