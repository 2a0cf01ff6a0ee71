"""The JSON codec (PROTOCOL.md §1.1).

One compact JSON object per line, several lines per WebSocket text frame.
Payload fields (``data``, ``info``...) are embedded as raw JSON values, so in
this mode they are Python values. Zero values are omitted by the server, so
every field but the required few has a default (§1.1 "Zero values").

This module holds the codec and its reading half; the writing half (the
command encoders and the writers) is :mod:`.json_commands`.

Decoding is the hot path: one ``loads`` per line, a publication push goes
straight to a :class:`Publication`, dispatch is by table. Strings the client
may send back later (channels of server-side subscriptions, epochs) are checked
to be UTF-8-safe here, so a server cannot plant a value that would fail to
encode on the next reconnect.

**Which JSON library.** Reading, the hot path, is orjson's when it is installed
(the ``fast`` extra: ``pip install 'centrifugo-proto[fast]'``), the standard
library's otherwise. A line orjson refuses is read again by the standard library,
so what is accepted is exactly what the standard library accepts (NaN and
``Infinity`` literals, ``\\ud800`` escapes, deep nesting); the one difference
left is orjson's: it reads integers beyond 64 bits as floats. Writing is the
standard library's strict encoder: commands go out one per call, not per
publication, and orjson's ``dumps`` would need a walk over the value to refuse
NaN (it writes ``null``), which costs most of what it saves
(``bench/bench_codecs.py``).

Any ``loads``/``dumps`` pair plugs in instead, either half alone:
``ClientProtocol(..., codec=JsonCodec(loads=orjson.loads, dumps=orjson.dumps))``.
``loads`` takes a ``str`` and returns plain ``dict``/``list``/``str``/``int``/
``float``/``bool``/None; ``dumps`` returns ``str`` or UTF-8 ``bytes`` and should
write compact JSON. What the codec guarantees holds whatever library does the
work:

- a value that cannot travel is refused at the call with ``LocalProtocolError``:
  whatever ``dumps`` raises, NaN and infinities (not JSON), strings and keys
  holding a lone surrogate (not UTF-8, and so not in a text frame), output with
  a raw newline (it would split the line, PROTOCOL.md §1.1) or that is not UTF-8;
- whatever ``loads`` raises on the server's bytes becomes ``DecodeError``.

Past that, a plugged library is what it is: orjson's ``dumps`` refuses integers
outside 64 bits and dict keys that are not ``str`` (the standard library writes
``2**64`` and turns ``{1: 2}`` into ``{"1": 2}``); orjson's ``loads`` refuses NaN,
lone ``\\ud800`` escapes and nesting past 1024 (a publication holding one is
then a protocol error, and a reconnect) and reads big integers as floats.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ..commands import Command, PingRequest
from ..errors import DecodeError, LocalProtocolError, ReplyError
from ..messages import (
    PING,
    Ignored,
    Incoming,
    Join,
    Leave,
    Push,
    PushBody,
    Reply,
    ServerDisconnect,
    ServerMessage,
    ServerSubscribe,
    ServerUnsubscribe,
)
from ..results import (
    ClientInfo,
    ConnectResult,
    HistoryResult,
    PresenceResult,
    PresenceStatsResult,
    Publication,
    PublishResult,
    RefreshResult,
    RpcResult,
    SubRefreshResult,
    SubscribeResult,
    UnsubscribeResult,
    plain_publication,
)
from . import FrameKind, WireId
from ._fields import boolean as _bool
from ._fields import echo as _echo
from ._fields import integer as _int
from ._fields import obj as _obj
from ._fields import string as _str
from ._fields import string_map as _str_map
from ._fields import uint as _uint
from .json_commands import ENCODERS as _ENCODERS
from .json_commands import Dumps
from .json_commands import plugged_json as _plugged_json
from .json_commands import stdlib_json as _json

__all__ = ["JsonCodec"]

#: Reads one JSON text; raises anything on bad input (the codec catches it).
Loads = Callable[[str], Any]

#: The standard library's scanner, the C one when the accelerator is built: what
#: ``json.loads`` runs after two whitespace matches and a length check of its own,
#: which cost a fifth of a publication's decoding (``bench/core.py``).
#: (typeshed leaves the attribute out; it is set by ``JSONDecoder.__init__`` since 2.6.)
_Scanner = Callable[[str, int], tuple[Any, int]]
_scan_once: Final[_Scanner] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _stdlib_loads(text: str) -> Any:
    """``json.loads(text)``, its result and its errors, faster on a compact line.

    The scanner reads one value from index 0 and says where it ended: a line that
    is one value with nothing around it (what a server writes) is that value. Any
    other line (leading or trailing whitespace, trailing garbage, no value at
    all) goes to ``json.loads`` itself, which accepts or refuses it as always.
    """
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:  # no value starts at 0: whitespace first, or not JSON
        return json.loads(text)
    if end != len(text):
        return json.loads(text)
    return value


def find_orjson() -> Loads | None:
    """orjson's ``loads`` when it is installed (the ``fast`` extra), else None."""
    try:
        import orjson
    except ImportError:
        return None
    loads: Loads = orjson.loads
    return loads


#: What a :class:`JsonCodec` reads with when the caller plugs in nothing, and what
#: reads a line again when that refused it: with orjson, the standard library, so
#: both accept the same texts. orjson is called directly, not through a wrapper
#: that catches its refusal (a Python call per line, 1-2 % of a flood's CPU).
_default_loads: Final[Loads] = find_orjson() or _stdlib_loads
_default_retry: Final[Loads | None] = None if _default_loads is _stdlib_loads else _stdlib_loads


class JsonCodec:
    """The JSON codec: text frames, no subprotocol needed (§1.1).

    ``loads`` and ``dumps`` plug in another JSON library (see the module's
    docstring); by default orjson reads when it is installed, the standard
    library writes.
    """

    name: Final = "json"
    subprotocol: Final = None
    frame_kind: Final = FrameKind.TEXT

    def __init__(self, *, loads: Loads | None = None, dumps: Dumps | None = None) -> None:
        if loads is not None and not callable(loads):
            raise LocalProtocolError(f"loads must be callable, got {type(loads).__name__}")
        if dumps is not None and not callable(dumps):
            raise LocalProtocolError(f"dumps must be callable, got {type(dumps).__name__}")
        self._loads: Loads = _default_loads if loads is None else loads
        self._retry: Loads | None = _default_retry if loads is None else None
        self._text: Callable[[Any], str] = (
            _json if dumps is None else lambda value: _plugged_json(dumps, value)
        )

    def encode(self, command: Command) -> str:
        """``"publish":{...}``: the command's one field, without braces or id."""
        if type(command) is PingRequest:
            return ""  # the pong is the empty Command (§4)
        field, fields = _ENCODERS[type(command)]
        return self._text({field: fields(command)})[1:-1]

    def frame(self, commands: Sequence[tuple[WireId | None, str]]) -> str:
        """Commands joined by single newlines, no trailing one (§1.1)."""
        return "\n".join(
            f"{{{body}}}" if wire_id is None else f'{{"id":{wire_id},{body}}}'
            for wire_id, body in commands
        )

    def decode(self, message: str | bytes) -> list[Incoming]:
        return decode_replies(message, self._loads, self._retry)

    def check_payload(self, value: Any) -> None:
        self._text(value)

    def payload_bytes(self, data: Any) -> bytes:
        """On a delta subscription every ``data`` is a JSON string holding the payload
        (a full one or a delta) as text (§7, "JSON mode quirk")."""
        if type(data) is not str:
            raise DecodeError(f"delta subscription data must be a JSON string, got {data!r}")
        try:
            return data.encode("utf-8")
        except UnicodeEncodeError:
            raise DecodeError("delta subscription data holds a lone surrogate") from None

    def payload_value(self, data: bytes) -> Any:
        try:
            text = data.decode("utf-8")
            try:
                return self._loads(text)
            except Exception as refused:
                return _read_again(text, self._retry, refused)
        except RecursionError:
            raise DecodeError("a payload rebuilt from deltas is nested too deeply") from None
        # UnicodeDecodeError, and whatever the plugged loads raises on bad JSON.
        except Exception as exc:
            raise DecodeError(f"a payload rebuilt from deltas is not JSON: {exc}") from None


# -- shared messages (§2.2) ------------------------------------------------------------


def _client_info(raw: Any) -> ClientInfo:
    info = _obj(raw, "info")
    return ClientInfo(
        user=_str(info.get("user", ""), "info.user"),
        client=_str(info.get("client", ""), "info.client"),
        conn_info=info.get("conn_info"),
        chan_info=info.get("chan_info"),
    )


def _publication(channel: str, raw: Any) -> Publication:
    pub = _obj(raw, "pub")
    info = pub.get("info")
    tags = pub.get("tags")
    return Publication(
        channel=_str(pub.get("channel", channel), "pub.channel"),
        data=pub.get("data"),
        offset=_uint(pub.get("offset", 0), "pub.offset"),
        info=None if info is None else _client_info(info),
        tags=None if tags is None else _str_map(tags, "pub.tags"),
        time=_int(pub.get("time", 0), "pub.time"),
        epoch=_echo(pub.get("epoch", ""), "pub.epoch"),
        delta=_bool(pub.get("delta", False), "pub.delta"),
    )


def _publications(raw: Any) -> tuple[Publication, ...]:
    if raw is None:
        return ()
    if type(raw) is not list:
        raise DecodeError(f"publications must be a list, got {raw!r}")
    return tuple(_publication("", item) for item in raw)


def _error(raw: Any) -> ReplyError:
    error = _obj(raw, "error")
    return ReplyError(
        _uint(error.get("code", 0), "error.code"),
        _str(error.get("message", ""), "error.message"),
        _bool(error.get("temporary", False), "error.temporary"),
    )


# -- results (§2.3) --------------------------------------------------------------------


def _subscribe_result(raw: Any) -> SubscribeResult:
    res = _obj(raw, "subscribe")
    return SubscribeResult(
        expires=_bool(res.get("expires", False), "expires"),
        ttl=_uint(res.get("ttl", 0), "ttl"),
        recoverable=_bool(res.get("recoverable", False), "recoverable"),
        positioned=_bool(res.get("positioned", False), "positioned"),
        epoch=_echo(res.get("epoch", ""), "epoch"),
        offset=_uint(res.get("offset", 0), "offset"),
        publications=_publications(res.get("publications")),
        recovered=_bool(res.get("recovered", False), "recovered"),
        was_recovering=_bool(res.get("was_recovering", False), "was_recovering"),
        data=res.get("data"),
        delta=_bool(res.get("delta", False), "delta"),
    )


def _connect_result(raw: Any) -> ConnectResult:
    res = _obj(raw, "connect")
    subs = _obj(res.get("subs", {}), "subs")
    return ConnectResult(
        client=_str(res.get("client", ""), "client"),
        version=_str(res.get("version", ""), "version"),
        expires=_bool(res.get("expires", False), "expires"),
        ttl=_uint(res.get("ttl", 0), "ttl"),
        data=res.get("data"),
        subs={_echo(ch, "subs"): _subscribe_result(sub) for ch, sub in subs.items()},
        ping=_uint(res.get("ping", 0), "ping"),
        pong=_bool(res.get("pong", False), "pong"),
        session=_str(res.get("session", ""), "session"),
        node=_str(res.get("node", ""), "node"),
        time=_int(res.get("time", 0), "time"),
    )


def _history_result(raw: Any) -> HistoryResult:
    res = _obj(raw, "history")
    return HistoryResult(
        publications=_publications(res.get("publications")),
        offset=_uint(res.get("offset", 0), "offset"),
        epoch=_str(res.get("epoch", ""), "epoch"),
    )


def _presence_result(raw: Any) -> PresenceResult:
    res = _obj(raw, "presence")
    clients = _obj(res.get("presence", {}), "presence.presence")
    return PresenceResult(clients={cid: _client_info(info) for cid, info in clients.items()})


def _presence_stats_result(raw: Any) -> PresenceStatsResult:
    res = _obj(raw, "presence_stats")
    return PresenceStatsResult(
        num_clients=_uint(res.get("num_clients", 0), "num_clients"),
        num_users=_uint(res.get("num_users", 0), "num_users"),
    )


def _refresh_result(raw: Any) -> RefreshResult:
    res = _obj(raw, "refresh")
    return RefreshResult(
        client=_str(res.get("client", ""), "client"),
        version=_str(res.get("version", ""), "version"),
        expires=_bool(res.get("expires", False), "expires"),
        ttl=_uint(res.get("ttl", 0), "ttl"),
    )


def _sub_refresh_result(raw: Any) -> SubRefreshResult:
    res = _obj(raw, "sub_refresh")
    return SubRefreshResult(
        expires=_bool(res.get("expires", False), "expires"),
        ttl=_uint(res.get("ttl", 0), "ttl"),
    )


def _publish_result(raw: Any) -> PublishResult:
    _obj(raw, "publish")
    return PublishResult()


def _unsubscribe_result(raw: Any) -> UnsubscribeResult:
    _obj(raw, "unsubscribe")
    return UnsubscribeResult()


def _rpc_result(raw: Any) -> RpcResult:
    return RpcResult(data=_obj(raw, "rpc").get("data"))


#: Reply field → decoder of its result (Reply fields 5-15, §2.1).
_RESULTS: Final[Mapping[str, Callable[[Any], object]]] = {
    "connect": _connect_result,
    "subscribe": _subscribe_result,
    "unsubscribe": _unsubscribe_result,
    "publish": _publish_result,
    "presence": _presence_result,
    "presence_stats": _presence_stats_result,
    "history": _history_result,
    "rpc": _rpc_result,
    "refresh": _refresh_result,
    "sub_refresh": _sub_refresh_result,
}


# -- pushes (§3) -----------------------------------------------------------------------


def _join(raw: Any) -> PushBody:
    return Join(_client_info(_obj(raw, "join").get("info", {})))


def _leave(raw: Any) -> PushBody:
    return Leave(_client_info(_obj(raw, "leave").get("info", {})))


def _unsubscribe(raw: Any) -> PushBody:
    body = _obj(raw, "unsubscribe")
    return ServerUnsubscribe(
        _uint(body.get("code", 0), "unsubscribe.code"),
        _str(body.get("reason", ""), "unsubscribe.reason"),
    )


def _subscribe(raw: Any) -> PushBody:
    return ServerSubscribe(_subscribe_result(raw))


def _message(raw: Any) -> PushBody:
    return ServerMessage(_obj(raw, "message").get("data"))


def _disconnect(raw: Any) -> PushBody:
    body = _obj(raw, "disconnect")
    return ServerDisconnect(
        _uint(body.get("code", 0), "disconnect.code"),
        _str(body.get("reason", ""), "disconnect.reason"),
    )


def _ignored(kind: str) -> Callable[[Any], PushBody]:
    return lambda raw: Ignored(kind)


#: Push field → decoder of its body; ``pub`` is handled before the table (hot path).
_PUSHES: Final[Mapping[str, Callable[[Any], PushBody]]] = {
    "join": _join,
    "leave": _leave,
    "unsubscribe": _unsubscribe,
    "subscribe": _subscribe,
    "message": _message,
    "disconnect": _disconnect,
    # Only unidirectional transports receive these (§3).
    "connect": _ignored("connect"),
    "refresh": _ignored("refresh"),
}


def _push(raw: Any) -> Incoming:
    push = _obj(raw, "push")
    channel = push.get("channel", "")
    if type(channel) is not str:
        raise DecodeError(f"push.channel must be a string, got {channel!r}")
    pub = push.get("pub")
    if pub is not None:
        return _publication(channel, pub)
    for key, value in push.items():
        decoder = _PUSHES.get(key)
        if decoder is not None:
            if decoder is _subscribe:
                # A server-side subscription: its channel goes back in the next
                # connect's ``subs`` (§6.5), so it must encode.
                _echo(channel, "push.channel")
            return Push(channel, decoder(value))
    # A push kind newer than this client: nothing to act on.
    return Push(channel, Ignored("unknown"))


def _reply(obj: dict[str, Any]) -> Incoming:
    """Any Reply; ``decode_replies`` took the plain publication push already."""
    push = obj.get("push")
    if push is not None:
        return _push(push)
    reply_id = obj.get("id", 0)
    if reply_id == 0 and type(reply_id) is int:
        if len(obj) <= ("id" in obj):
            return PING  # an empty Reply (§4)
        raise DecodeError(f"reply without id or push: {obj!r}")
    _uint(reply_id, "id")
    error = obj.get("error")
    if error is not None:
        return Reply(reply_id, None, _error(error))
    for key, value in obj.items():
        decoder = _RESULTS.get(key)
        if decoder is not None:
            return Reply(reply_id, decoder(value))
    raise DecodeError(f"reply {reply_id} has no result: {obj!r}")


def decode_replies(
    message: str | bytes, loads: Loads = _default_loads, retry: Loads | None = _default_retry
) -> list[Incoming]:
    """Decode one WebSocket message: newline-separated Replies, empty lines skipped.
    A line ``loads`` refuses is read by ``retry`` when there is one."""
    if not isinstance(message, str):  # the WebSocket layer delivers text frames only
        raise DecodeError("binary frame in JSON mode")
    out: list[Incoming] = []
    for line in message.split("\n"):
        if not line:
            continue
        try:
            try:
                obj = loads(line)
            except Exception as refused:
                if line.isspace():  # checked only here: a reader refuses it anyway
                    continue
                obj = _read_again(line, retry, refused)
        except RecursionError:
            raise DecodeError("JSON nested too deeply") from None
        # JSONDecodeError (a ValueError) from the stdlib and orjson; anything from
        # a plugged library: the server's bytes are no reason to raise anything else.
        except Exception as exc:
            raise DecodeError(f"not JSON: {exc}") from None
        if type(obj) is not dict:
            raise DecodeError(f"reply must be a JSON object, got {obj!r}")
        # The hot path (DESIGN "The hot path"), here and not in a call: a push of
        # a publication with data and an offset and nothing else is most of what a
        # subscriber reads. The checks are ``_publication``'s, fewer because fewer
        # fields, and counts and membership rather than key views compared with
        # sets (a third of their cost, bench/core.py's batched stream).
        push = obj.get("push")
        if type(push) is dict and len(push) == 2:
            pub, channel = push.get("pub"), push.get("channel")
            if type(pub) is dict and type(channel) is str:
                offset = pub.get("offset", 0)
                if (
                    type(offset) is int
                    and offset >= 0
                    and len(pub) == ("data" in pub) + ("offset" in pub)
                ):
                    out.append(plain_publication(channel, pub.get("data"), offset))
                    continue
        out.append(_reply(obj))
    return out


def _read_again(text: str, retry: Loads | None, refused: Exception) -> Any:
    """``retry(text)`` for a text the first reader refused; without one (or too deep
    for any reader), what refused it is raised again."""
    if retry is None or isinstance(refused, RecursionError):
        raise refused
    return retry(text)
