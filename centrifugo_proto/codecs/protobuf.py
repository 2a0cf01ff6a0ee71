"""The Protobuf codec (PROTOCOL.md §1.2, §2): ``ClientProtocol(..., codec="protobuf")``.

Binary WebSocket frames under the subprotocol ``centrifuge-protobuf``, each holding
varint length-delimited messages (:mod:`.varint`): ``Command``s out, ``Reply``s in.
The empty message (the byte ``0x00``) is the server's ping and the client's pong.
Pick it by name, ``ClientProtocol(..., codec="protobuf")``, or hand in
``codec=ProtobufCodec()``.

**Runtime.** Needs the ``protobuf`` package (``pip install
'centrifugo-proto[protobuf]'``): any release from 3.8.0 (the oldest that imports
on Python 3.10) through 7.x, pure-Python or upb. The schema is the project's own
(:mod:`.protobuf_schema`, written from PROTOCOL.md's field table and checked
against upstream's ``client.proto``), built into classes at import, so no
generated ``_pb2`` file pins the runtime (centrifuge-python #29).
``make test-protobuf-range`` runs this codec's unit and property tests on 3.8.0
and on 7.36.2 (upb and pure Python); 3.12, 3.20, 4.21, 4.25, 5.29 and 6.33
passed them too. Without the package, ``codec="protobuf"`` raises
``LocalProtocolError`` saying what to install.

**Payloads are bytes.** ``publish``, ``send``, ``rpc`` and the ``data`` of
connect and subscribe take ``bytes`` only (anything else is refused at the call
with ``LocalProtocolError``, before anything is queued); what arrives is bytes,
never decoded: a publication's ``data`` is always ``bytes`` (``b""`` when empty),
every other payload (``conn_info``, ``chan_info``, connect, subscribe and RPC
result data, a message push's data) is ``bytes``, or None when the server sent
none, as in JSON mode, where those fields are then absent. Proto3 cannot tell an
empty value from a missing one: an empty ``data`` in a command is not sent, and
empty ``tags`` arrive as None.

**Decoding.** Parsed messages map straight to the typed objects of
:mod:`..results` and :mod:`..messages`: no dict conversion, no base64. A ``pub``
push, the hot path, is read by a small hand-written reader
(:mod:`.protobuf_pubs`) that hands anything unusual to the runtime, which reads
everything else. Decoding raises only :class:`~centrifugo_proto.errors.DecodeError`:
a length varint cut short, overlong or running past the frame; bytes the runtime
cannot parse as a ``Reply``; a Reply with neither id nor push that is not empty
(only the empty one, or one holding an id 0 alone, is a ping); a reply with an
id and no result. Unknown fields are skipped (a newer server).

**Speed** (``bench/bench_codecs.py``: CPU microseconds per publication of a
65-byte JSON document through ``ClientProtocol.receive_data``, events drained,
best of 7; Python 3.11, protobuf 7.36.2, orjson 3.13, a shared two-core machine,
2026-12-02):

=====================================  ==============  ===============
codec                                  1 per frame     20 per frame
=====================================  ==============  ===============
JSON, stdlib                           6.1             4.1
JSON, orjson reading                   4.6             2.6
Protobuf, upb, runtime only            6.1             3.9
Protobuf, upb                          4.7             2.7
Protobuf, pure Python, runtime only    19.0            16.8
Protobuf, pure Python                  4.8             2.7
=====================================  ==============  ===============

The codec's ``decode`` alone: 2.2 µs per publication (runtime only: 3.5; pure
Python runtime only: 16.3), against 3.4 for JSON on the stdlib and 2.0 with
orjson. The publication reader makes the runtime's speed matter only for the
rarer replies. (centrifuge-python's Protobuf path costs more than its JSON:
15.4 against 11.8 µs per publication in the last ``make bench`` flood.)

Left out of the schema (the current server sends none of it to this client):
see :mod:`.protobuf_schema`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ..commands import (
    Command,
    ConnectRequest,
    HistoryRequest,
    PingRequest,
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
from ..errors import DecodeError, LocalProtocolError, ReplyError
from ..filters import FilterNode
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
)
from . import FrameKind, WireId
from .protobuf_pubs import read_publication
from .protobuf_schema import build_classes
from .varint import encode_varint, split_delimited

__all__ = ["SUBPROTOCOL", "ProtobufCodec", "decode_replies", "runtime_reply"]

SUBPROTOCOL: Final = "centrifuge-protobuf"

_pb: Final = build_classes()

#: ``Command.id`` (field 1, varint): the tag byte put before an encoded command's
#: fields. Fields may come in any order on the wire, so the id goes first.
_ID_TAG: Final = b"\x08"
#: ``Reply.push`` (field 4, length-delimited): how a push's bytes begin.
_PUSH_TAG: Final = 0x22


# -- encoding (§2.3) -----------------------------------------------------------------


def _payload(value: Any, what: str) -> bytes:
    if not isinstance(value, bytes):
        raise LocalProtocolError(
            f"{what} must be bytes in Protobuf mode, got {type(value).__name__}"
        )
    return value


def _fill_filter(msg: Any, node: FilterNode) -> None:
    msg.op = node.op
    msg.key = node.key
    msg.cmp = node.cmp
    msg.val = node.val
    msg.vals.extend(node.vals)
    for child in node.nodes:
        _fill_filter(msg.nodes.add(), child)


def _fill_subscribe(msg: Any, req: SubscribeRequest) -> None:
    """A SubscribeRequest's fields but its channel (also the entries of connect ``subs``)."""
    msg.SetInParent()
    msg.token = req.token
    msg.recover = req.recover
    msg.epoch = req.epoch
    msg.offset = req.offset
    if req.data is not None:
        msg.data = _payload(req.data, "subscribe data")
    msg.positioned = req.positioned
    msg.recoverable = req.recoverable
    msg.join_leave = req.join_leave
    msg.delta = req.delta
    if req.tags_filter is not None:
        _fill_filter(msg.tf, req.tags_filter)


def _connect(cmd: Any, req: ConnectRequest) -> None:
    msg = cmd.connect
    msg.SetInParent()
    msg.token = req.token
    if req.data is not None:
        msg.data = _payload(req.data, "connect data")
    for channel, sub in req.subs.items():
        _fill_subscribe(msg.subs[channel], sub)
    msg.name = req.name
    msg.version = req.version


def _subscribe(cmd: Any, req: SubscribeRequest) -> None:
    cmd.subscribe.channel = req.channel
    _fill_subscribe(cmd.subscribe, req)


def _history(cmd: Any, req: HistoryRequest) -> None:
    msg = cmd.history
    msg.channel = req.channel
    msg.limit = req.limit
    if req.since is not None:
        msg.since.SetInParent()
        msg.since.offset = req.since.offset
        msg.since.epoch = req.since.epoch
    msg.reverse = req.reverse


def _publish(cmd: Any, req: PublishRequest) -> None:
    cmd.publish.channel = req.channel
    cmd.publish.data = _payload(req.data, "publish data")


def _rpc(cmd: Any, req: RpcRequest) -> None:
    cmd.rpc.method = req.method
    if req.data is not None:
        cmd.rpc.data = _payload(req.data, "rpc data")


def _send(cmd: Any, req: SendRequest) -> None:
    cmd.send.data = _payload(req.data, "send data")


def _channel_only(field: str) -> Callable[[Any, Any], None]:
    def fill(cmd: Any, req: Any) -> None:
        getattr(cmd, field).channel = req.channel

    return fill


def _refresh(cmd: Any, req: RefreshRequest) -> None:
    cmd.refresh.token = req.token


def _sub_refresh(cmd: Any, req: SubRefreshRequest) -> None:
    cmd.sub_refresh.channel = req.channel
    cmd.sub_refresh.token = req.token


#: Command type → (Command field, filler of that field's request) (§2.1).
_ENCODERS: Final[Mapping[type, tuple[str, Callable[[Any, Any], None]]]] = {
    ConnectRequest: ("connect", _connect),
    SubscribeRequest: ("subscribe", _subscribe),
    UnsubscribeRequest: ("unsubscribe", _channel_only("unsubscribe")),
    PublishRequest: ("publish", _publish),
    PresenceRequest: ("presence", _channel_only("presence")),
    PresenceStatsRequest: ("presence_stats", _channel_only("presence_stats")),
    HistoryRequest: ("history", _history),
    RpcRequest: ("rpc", _rpc),
    SendRequest: ("send", _send),
    RefreshRequest: ("refresh", _refresh),
    SubRefreshRequest: ("sub_refresh", _sub_refresh),
}


# -- decoding: runtime messages to the core's objects --------------------------------


# Maps come out in key order: the runtime iterates a map in an order of its own, not
# the wire's, which varies between processes (upb seeds its hash), and the same bytes
# must always mean the same events (connect ``subs`` become Subscribed events in order).


def _client_info(msg: Any) -> ClientInfo:
    return ClientInfo(
        user=msg.user,
        client=msg.client,
        conn_info=msg.conn_info or None,
        chan_info=msg.chan_info or None,
    )


def _publication(msg: Any, channel: str) -> Publication:
    tags = msg.tags
    return Publication(
        channel=msg.channel or channel,
        data=msg.data,
        offset=msg.offset,
        info=_client_info(msg.info) if msg.HasField("info") else None,
        tags=dict(sorted(tags.items())) if tags else None,
        time=msg.time,
        epoch=msg.epoch,
        delta=msg.delta,
    )


def _publications(items: Any) -> tuple[Publication, ...]:
    return tuple(_publication(item, "") for item in items)


def _subscribe_result(msg: Any) -> SubscribeResult:
    return SubscribeResult(
        expires=msg.expires,
        ttl=msg.ttl,
        recoverable=msg.recoverable,
        positioned=msg.positioned,
        epoch=msg.epoch,
        offset=msg.offset,
        publications=_publications(msg.publications),
        recovered=msg.recovered,
        was_recovering=msg.was_recovering,
        data=msg.data or None,
        delta=msg.delta,
    )


def _connect_result(msg: Any) -> ConnectResult:
    return ConnectResult(
        client=msg.client,
        version=msg.version,
        expires=msg.expires,
        ttl=msg.ttl,
        data=msg.data or None,
        subs={channel: _subscribe_result(sub) for channel, sub in sorted(msg.subs.items())},
        ping=msg.ping,
        pong=msg.pong,
        session=msg.session,
        node=msg.node,
        time=msg.time,
    )


#: Reply field → decoder of its result (Reply fields 5-15, §2.1); ``ping`` (12) has
#: none: the current server answers a ping command with error 108, never a result.
_RESULTS: Final[Mapping[str, Callable[[Any], object]]] = {
    "connect": _connect_result,
    "subscribe": _subscribe_result,
    "unsubscribe": lambda msg: UnsubscribeResult(),
    "publish": lambda msg: PublishResult(),
    "presence": lambda msg: PresenceResult(
        clients={cid: _client_info(info) for cid, info in sorted(msg.presence.items())}
    ),
    "presence_stats": lambda msg: PresenceStatsResult(
        num_clients=msg.num_clients, num_users=msg.num_users
    ),
    "history": lambda msg: HistoryResult(
        publications=_publications(msg.publications), offset=msg.offset, epoch=msg.epoch
    ),
    "rpc": lambda msg: RpcResult(data=msg.data or None),
    "refresh": lambda msg: RefreshResult(
        client=msg.client, version=msg.version, expires=msg.expires, ttl=msg.ttl
    ),
    "sub_refresh": lambda msg: SubRefreshResult(expires=msg.expires, ttl=msg.ttl),
}


#: Push field → decoder of its body (§3), in field order; ``pub`` is handled first.
_PUSHES: Final[tuple[tuple[str, Callable[[Any], PushBody]], ...]] = (
    ("join", lambda msg: Join(_client_info(msg.info))),
    ("leave", lambda msg: Leave(_client_info(msg.info))),
    ("unsubscribe", lambda msg: ServerUnsubscribe(msg.code, msg.reason)),
    ("message", lambda msg: ServerMessage(msg.data or None)),
    (
        "subscribe",
        lambda msg: ServerSubscribe(
            SubscribeResult(
                recoverable=msg.recoverable,
                epoch=msg.epoch,
                offset=msg.offset,
                positioned=msg.positioned,
                data=msg.data or None,
            )
        ),
    ),
    # Only unidirectional transports receive these (§3).
    ("connect", lambda msg: Ignored("connect")),
    ("disconnect", lambda msg: ServerDisconnect(msg.code, msg.reason)),
    ("refresh", lambda msg: Ignored("refresh")),
)


def _push(msg: Any) -> Incoming:
    channel: str = msg.channel
    if msg.HasField("pub"):
        return _publication(msg.pub, channel)
    for field, decoder in _PUSHES:
        if msg.HasField(field):
            return Push(channel, decoder(getattr(msg, field)))
    # A push kind newer than this client: nothing to act on.
    return Push(channel, Ignored("unknown"))


def _only_zero_ids(data: bytes) -> bool:
    """Whether a Reply's bytes hold nothing but ``id`` fields (tag 0x08) of value 0.

    Read from the bytes, not the runtime: proto3 runtimes before 3.10 count an id 0
    written out as a field that is set (``ByteSize`` 2), later ones as nothing."""
    pos, end = 0, len(data)
    while pos < end:
        if data[pos] != 0x08:
            return False
        pos += 1
        while pos < end and data[pos] == 0x80:  # a zero varint with needless groups
            pos += 1
        if pos == end or data[pos] != 0x00:
            return False
        pos += 1
    return True


def _parse_reply(data: bytes) -> Any:
    reply = _pb.Reply()
    try:
        reply.ParseFromString(data)
    # The runtime is a third-party parser of untrusted bytes: whatever it raises
    # (DecodeError; in pure-Python versions also struct, index and Unicode errors,
    # RecursionError in nested unknown groups) means these bytes are no Reply.
    except Exception as exc:
        raise DecodeError(f"not a Protobuf Reply: {exc}") from None
    return reply


def _reply(data: bytes) -> Incoming:
    if not data:
        return PING  # the empty Reply (§4)
    if data[0] == _PUSH_TAG:  # maybe a publication: the hot path (.protobuf_pubs)
        pub = read_publication(data)
        if pub is not None:
            return pub
    return runtime_reply(data)


def runtime_reply(data: bytes) -> Incoming:
    """One serialised Reply read by the runtime alone: what :func:`read_publication`
    stands in for on its messages (the differential tests compare the two)."""
    if not data:
        return PING
    reply = _parse_reply(data)
    if reply.HasField("push"):
        return _push(reply.push)
    reply_id: int = reply.id
    if reply_id == 0:
        if _only_zero_ids(data):
            return PING  # empty after all: an id 0 written out, as JSON's {"id":0}
        raise DecodeError(f"Reply without id or push: {data[:64]!r}")
    if reply.HasField("error"):
        error = reply.error
        return Reply(reply_id, None, ReplyError(error.code, error.message, error.temporary))
    for field, value in reply.ListFields():
        decoder = _RESULTS.get(field.name)
        if decoder is not None:
            return Reply(reply_id, decoder(value))
    raise DecodeError(f"Reply {reply_id} has no result")


def decode_replies(message: str | bytes) -> list[Incoming]:
    """One binary WebSocket message to what it holds, in order (§1.2)."""
    if not isinstance(message, bytes):  # the WebSocket layer delivers binary frames only
        raise DecodeError("text frame in Protobuf mode")
    return [_reply(chunk) for chunk in split_delimited(message)]


class ProtobufCodec:
    """The Protobuf codec: binary frames under ``centrifuge-protobuf`` (§1.2)."""

    name: Final = "protobuf"
    subprotocol: Final = SUBPROTOCOL
    frame_kind: Final = FrameKind.BINARY

    def encode(self, command: Command) -> bytes:
        """The serialised ``Command`` without its id (``b""`` for the pong, §4)."""
        if type(command) is PingRequest:
            return b""
        field, fill = _ENCODERS[type(command)]
        cmd = _pb.Command()
        fill(cmd, command)
        getattr(cmd, field).SetInParent()  # present even when all its fields are zero
        encoded: bytes = cmd.SerializeToString()
        return encoded

    def frame(self, commands: Sequence[tuple[WireId | None, bytes]]) -> bytes:
        """Each command after its length; the id, when there is one, as field 1."""
        out = bytearray()
        for wire_id, body in commands:
            if wire_id is None:
                message = body
            elif type(wire_id) is int:
                message = _ID_TAG + encode_varint(wire_id) + body
            else:
                raise LocalProtocolError(f"Protobuf command ids are integers, got {wire_id!r}")
            out += encode_varint(len(message))
            out += message
        return bytes(out)

    def decode(self, message: str | bytes) -> list[Incoming]:
        return decode_replies(message)

    def check_payload(self, value: Any) -> None:
        _payload(value, "data")

    def payload_bytes(self, data: Any) -> bytes:
        """A delta subscription's ``data`` is already the payload's bytes (§7)."""
        if not isinstance(data, bytes):
            raise DecodeError(f"publication data must be bytes, got {type(data).__name__}")
        return data

    def payload_value(self, data: bytes) -> Any:
        """Payloads reach the application as bytes in this mode."""
        return data
