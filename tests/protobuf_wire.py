"""The server half of the Protobuf codec, for unit, property and fuzz tests.

Written by hand from the field numbers of PROTOCOL.md §2 and §3, with no
``protobuf`` runtime and nothing from ``centrifugo_proto.codecs.protobuf_schema``:
a wrong field number or type in the client's schema cannot hide behind the same
mistake here. It encodes what the server sends (``Reply`` messages, varint
length-delimited, §1.2) from the core's typed objects, and decodes what the
client sends (``Command`` messages) into the codec-independent view of
``serverside.Command``, as strict as a test should be: an unknown field number,
a wrong wire type, a field written twice or a zero value written out (the
client's runtime leaves zero values out, as proto3 does) fail the test.

The wire format, from the Protobuf encoding guide: a field is a tag
(``number << 3 | wire type``) as a varint, then a varint (type 0), eight bytes
(1), a varint length and that many bytes (2), or four bytes (5). Negative int32
and int64 values are ten-byte varints of their two's complement.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from centrifugo_proto.errors import ReplyError
from centrifugo_proto.messages import (
    Ignored,
    Incoming,
    Join,
    Leave,
    Push,
    PushBody,
    Reply,
    ServerDisconnect,
    ServerMessage,
    ServerPing,
    ServerSubscribe,
    ServerUnsubscribe,
)
from centrifugo_proto.results import (
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
)
from serverside import PONG, Command

__all__ = [
    "decode_command_messages",
    "decode_delimited",
    "delimited",
    "encode_incoming",
    "encode_reply",
    "field",
    "parse_fields",
    "varint",
]

VARINT, I64, LEN, I32 = 0, 1, 2, 5


# -- writing ----------------------------------------------------------------------------


def varint(value: int) -> bytes:
    """An unsigned varint; a negative value as its 64-bit two's complement."""
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def field(number: int, value: int | bool | str | bytes) -> bytes:
    """One field: ints and bools as varints, str and bytes length-delimited."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    if isinstance(value, bytes):
        return varint(number << 3 | LEN) + varint(len(value)) + value
    return varint(number << 3 | VARINT) + varint(int(value))


def _scalars(*pairs: tuple[int, Any]) -> bytes:
    """Fields whose value is not the zero value: proto3 writes no zero (Go's server
    neither)."""
    return b"".join(field(n, v) for n, v in pairs if v)


def _payload(number: int, value: bytes | None) -> bytes:
    return b"" if not value else field(number, value)


def delimited(messages: Iterable[bytes]) -> bytes:
    """Messages one after the other, each after its length (§1.2)."""
    return b"".join(varint(len(m)) + m for m in messages)


def _client_info(info: ClientInfo) -> bytes:
    return (
        _scalars((1, info.user), (2, info.client))
        + _payload(3, info.conn_info)
        + _payload(4, info.chan_info)
    )


def _publication(pub: Publication, *, with_channel: bool) -> bytes:
    out = _payload(4, pub.data)
    if pub.info is not None:
        out += field(5, _client_info(pub.info))
    out += _scalars((6, pub.offset))
    for key, value in (pub.tags or {}).items():
        out += field(7, field(1, key) + field(2, value))  # map entry: key 1, value 2
    out += _scalars((8, pub.delta), (9, pub.time))
    if with_channel:
        out += _scalars((10, pub.channel))
    return out + _scalars((14, pub.epoch))


def _publications(number: int, pubs: Sequence[Publication]) -> bytes:
    return b"".join(field(number, _publication(p, with_channel=True)) for p in pubs)


def _subscribe_result(res: SubscribeResult) -> bytes:
    return (
        _scalars((1, res.expires), (2, res.ttl), (3, res.recoverable), (6, res.epoch))
        + _publications(7, res.publications)
        + _scalars((8, res.recovered), (9, res.offset), (10, res.positioned))
        + _payload(11, res.data)
        + _scalars((12, res.was_recovering), (13, res.delta))
    )


def _result(result: Any) -> tuple[int, bytes]:
    """A command result → (its Reply field number, its message's bytes)."""
    if isinstance(result, ConnectResult):
        body = (
            _scalars((1, result.client), (2, result.version), (3, result.expires), (4, result.ttl))
            + _payload(5, result.data)
            + b"".join(
                field(6, field(1, ch) + field(2, _subscribe_result(sub)))
                for ch, sub in result.subs.items()
            )
            + _scalars(
                (7, result.ping),
                (8, result.pong),
                (9, result.session),
                (10, result.node),
                (11, result.time),
            )
        )
        return 5, body
    if isinstance(result, SubscribeResult):
        return 6, _subscribe_result(result)
    if isinstance(result, UnsubscribeResult):
        return 7, b""
    if isinstance(result, PublishResult):
        return 8, b""
    if isinstance(result, PresenceResult):
        return 9, b"".join(
            field(1, field(1, cid) + field(2, _client_info(info)))
            for cid, info in result.clients.items()
        )
    if isinstance(result, PresenceStatsResult):
        return 10, _scalars((1, result.num_clients), (2, result.num_users))
    if isinstance(result, HistoryResult):
        return 11, (
            _publications(1, result.publications) + _scalars((2, result.epoch), (3, result.offset))
        )
    if isinstance(result, RpcResult):
        return 13, _payload(1, result.data)
    if isinstance(result, RefreshResult):
        return 14, _scalars(
            (1, result.client), (2, result.version), (3, result.expires), (4, result.ttl)
        )
    if isinstance(result, SubRefreshResult):
        return 15, _scalars((1, result.expires), (2, result.ttl))
    raise TypeError(f"no Protobuf form for result {result!r}")


#: A field number no Push has (§2.1 stops at 12): how a push kind newer than the
#: client looks to it.
FUTURE_PUSH_FIELD = 99


def _push_body(body: PushBody) -> tuple[int, bytes]:
    """A push body → (its Push field number, its message's bytes) (§3)."""
    if isinstance(body, Join):
        return 5, field(1, _client_info(body.info))
    if isinstance(body, Leave):
        return 6, field(1, _client_info(body.info))
    if isinstance(body, ServerUnsubscribe):
        return 7, _scalars((2, body.code), (3, body.reason))
    if isinstance(body, ServerMessage):
        return 8, _payload(1, body.data)
    if isinstance(body, ServerSubscribe):
        res = body.result
        return 9, (
            _scalars((1, res.recoverable), (4, res.epoch), (5, res.offset), (6, res.positioned))
            + _payload(7, res.data)
        )
    if isinstance(body, ServerDisconnect):
        return 11, _scalars((1, body.code), (2, body.reason))
    assert isinstance(body, Ignored)
    return {"connect": 10, "refresh": 12, "unknown": FUTURE_PUSH_FIELD}[body.kind], b""


def _error(error: ReplyError) -> bytes:
    return _scalars((1, error.code), (2, error.message), (3, error.temporary))


def encode_reply(message: Incoming) -> bytes:
    """One typed message as the server's ``Reply`` (not length-prefixed)."""
    if isinstance(message, ServerPing):
        return b""
    if isinstance(message, Publication):
        push = _scalars((2, message.channel)) + field(4, _publication(message, with_channel=False))
        return field(4, push)
    if isinstance(message, Push):
        number, body = _push_body(message.body)
        return field(4, _scalars((2, message.channel)) + field(number, body))
    assert isinstance(message, Reply)
    if message.error is not None:
        return field(1, message.id) + field(2, _error(message.error))
    number, body = _result(message.result)
    return field(1, message.id) + field(number, body)


def encode_incoming(messages: Iterable[Incoming]) -> bytes:
    """One server message holding ``messages``."""
    return delimited(encode_reply(m) for m in messages)


# -- reading ----------------------------------------------------------------------------


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        assert pos < len(data), f"varint cut short in {data!r}"
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        assert shift < 70, f"varint longer than ten bytes in {data!r}"


def parse_fields(data: bytes) -> list[tuple[int, int, Any]]:
    """A message's fields in wire order: (number, wire type, int or bytes)."""
    out = []
    pos = 0
    while pos < len(data):
        tag, pos = _read_varint(data, pos)
        number, kind = tag >> 3, tag & 7
        assert number > 0, f"field number 0 in {data!r}"
        value: int | bytes
        if kind == VARINT:
            value, pos = _read_varint(data, pos)
        elif kind == LEN:
            size, pos = _read_varint(data, pos)
            assert pos + size <= len(data), f"field {number} runs past the end of {data!r}"
            value, pos = data[pos : pos + size], pos + size
        else:
            raise AssertionError(f"wire type {kind} (field {number}): the schema has none")
        out.append((number, kind, value))
    return out


def decode_delimited(message: bytes) -> list[bytes]:
    out = []
    pos = 0
    while pos < len(message):
        size, pos = _read_varint(message, pos)
        assert pos + size <= len(message), f"message runs past the frame's end: {message!r}"
        out.append(message[pos : pos + size])
        pos += size
    return out


# Each message the client sends: field number → (name, kind), PROTOCOL.md §2.
# Kinds: "uint" (uint32/uint64), "int32", "int64", "bool", "str", "bytes", a message
# name, "*K" for repeated K, "map:V" for map<string, V>.
_FILTER = {1: ("op", "str"), 2: ("key", "str"), 3: ("cmp", "str"), 4: ("val", "str")}
_FILTER |= {5: ("vals", "*str"), 6: ("nodes", "*FilterNode")}
SCHEMA: dict[str, dict[int, tuple[str, str]]] = {
    "Command": {
        1: ("id", "uint"),
        4: ("connect", "ConnectRequest"),
        5: ("subscribe", "SubscribeRequest"),
        6: ("unsubscribe", "ChannelRequest"),
        7: ("publish", "PublishRequest"),
        8: ("presence", "ChannelRequest"),
        9: ("presence_stats", "ChannelRequest"),
        10: ("history", "HistoryRequest"),
        11: ("ping", "Empty"),
        12: ("send", "SendRequest"),
        13: ("rpc", "RPCRequest"),
        14: ("refresh", "RefreshRequest"),
        15: ("sub_refresh", "SubRefreshRequest"),
    },
    "ConnectRequest": {
        1: ("token", "str"),
        2: ("data", "bytes"),
        3: ("subs", "map:SubscribeRequest"),
        4: ("name", "str"),
        5: ("version", "str"),
        6: ("headers", "map:str"),
        7: ("flag", "int64"),
    },
    "SubscribeRequest": {
        1: ("channel", "str"),
        2: ("token", "str"),
        3: ("recover", "bool"),
        6: ("epoch", "str"),
        7: ("offset", "uint"),
        8: ("data", "bytes"),
        9: ("positioned", "bool"),
        10: ("recoverable", "bool"),
        11: ("join_leave", "bool"),
        12: ("delta", "str"),
        13: ("tf", "FilterNode"),
        14: ("flag", "int64"),
    },
    "FilterNode": _FILTER,
    "ChannelRequest": {1: ("channel", "str")},
    "PublishRequest": {1: ("channel", "str"), 2: ("data", "bytes")},
    "HistoryRequest": {
        1: ("channel", "str"),
        7: ("limit", "int32"),
        8: ("since", "StreamPosition"),
        9: ("reverse", "bool"),
    },
    "StreamPosition": {1: ("offset", "uint"), 2: ("epoch", "str")},
    "SendRequest": {1: ("data", "bytes")},
    "RPCRequest": {1: ("data", "bytes"), 2: ("method", "str")},
    "RefreshRequest": {1: ("token", "str")},
    "SubRefreshRequest": {1: ("channel", "str"), 2: ("token", "str")},
    "Empty": {},
}

#: Fields the codec-independent view always shows (``codec_pairs.wire_view``), with
#: the value proto3 gives them when they are not on the wire.
_ALWAYS: dict[str, dict[str, Any]] = {
    "unsubscribe": {"channel": ""},
    "publish": {"channel": "", "data": b""},
    "presence": {"channel": ""},
    "presence_stats": {"channel": ""},
    "send": {"data": b""},
    "rpc": {"method": ""},
    "refresh": {"token": ""},
    "sub_refresh": {"channel": "", "token": ""},
}


def _scalar(kind: str, wire: int, value: Any, where: str) -> Any:
    if kind in ("str", "bytes"):
        assert wire == LEN, f"{where}: wire type {wire} for a {kind}"
        return value.decode("utf-8") if kind == "str" else value
    assert wire == VARINT, f"{where}: wire type {wire} for a {kind}"
    if kind == "bool":
        assert value in (0, 1), f"{where}: bool {value}"
        return bool(value)
    if kind == "int32":
        value &= 0xFFFFFFFF
        return value - (1 << 32) if value >> 31 else value
    if kind == "int64":
        return value - (1 << 64) if value >> 63 else value
    return value


def _value(kind: str, wire: int, value: Any, where: str) -> Any:
    if kind in SCHEMA:
        assert wire == LEN, f"{where}: wire type {wire} for a message"
        return decode_message(kind, value)
    return _scalar(kind, wire, value, where)


def decode_message(name: str, data: bytes) -> dict[str, Any]:
    """A message the client sent, as {field name: value}; zero values must be absent."""
    schema = SCHEMA[name]
    out: dict[str, Any] = {}
    for number, wire, raw in parse_fields(data):
        assert number in schema, f"{name} has no field {number}: {data!r}"
        key, kind = schema[number]
        where = f"{name}.{key}"
        if kind.startswith("*"):
            out.setdefault(key, []).append(_value(kind[1:], wire, raw, where))
        elif kind.startswith("map:"):
            assert wire == LEN, f"{where}: wire type {wire} for a map entry"
            entry = dict((n, (w, v)) for n, w, v in parse_fields(raw))
            assert set(entry) <= {1, 2}, f"{where}: map entry fields {sorted(entry)}"
            map_key = _scalar("str", *entry.get(1, (LEN, b"")), where)
            value_kind = kind[4:]
            default = (LEN, b"")
            map_value = _value(value_kind, *entry.get(2, default), where)
            out.setdefault(key, {})[map_key] = map_value
        else:
            assert key not in out, f"{where} written twice"
            value = _value(kind, wire, raw, where)
            if kind not in SCHEMA:
                assert value, f"{where}: zero value {value!r} written"
            out[key] = value
    return out


def decode_command(data: bytes) -> Command:
    """One ``Command`` (not length-prefixed) → the server's view of it."""
    fields = decode_message("Command", data)
    wire_id = fields.pop("id", 0)
    if not fields:
        assert wire_id == 0, f"an empty command with id {wire_id}"
        return PONG
    assert len(fields) == 1, f"a command sets exactly one method: {fields!r}"
    ((method, params),) = fields.items()
    params = {**_ALWAYS.get(method, {}), **params}
    if method == "history" and "since" in params:
        params["since"] = {"offset": 0, "epoch": "", **params["since"]}
    return Command(wire_id, method, params)


def decode_command_messages(message: str | bytes) -> list[Command]:
    """One client message → its commands (the server half's decoder)."""
    assert isinstance(message, bytes), f"text frame from a Protobuf client: {message!r}"
    return [decode_command(chunk) for chunk in decode_delimited(message)]
