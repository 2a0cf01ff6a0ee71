"""The project's own Protobuf schema of the client protocol (PROTOCOL.md §2).

Written from the field table of PROTOCOL.md §2 (field names, numbers and types;
checked against centrifugal/protocol's ``client.proto`` at v0.19.2, the version
Centrifugo v6.9.1 pins, and at HEAD), as data: :data:`MESSAGES`. At import it
becomes a ``FileDescriptorProto`` in a private descriptor pool, and the
``protobuf`` runtime builds the message classes from it. No generated ``_pb2``
file exists, so nothing pins the runtime's version (centrifuge-python #29: its
generated code demanded the runtime it was generated with); the private pool
keeps these names clear of any ``client.proto`` the application loads itself.

Left out, as the current server sends none of them to this client:

- the ``[ext]`` fields of map and shared-poll subscriptions: Publication ``key``,
  ``removed``, ``score``, ``prev_data``, ``version`` (11-13, 15, 16), SubscribeRequest
  and SubscribeResult 15-19, PublishRequest 3-5, SubRefreshRequest 3-5,
  SubRefreshResult ``items`` (3), and their messages (KeyedItem, TrackBatch);
- what arrived after v0.19.2 (``[v0.21+]``): ConnectRequest ``dict``, ``profile``
  (8, 9), ConnectResult ``flag``, ``dict`` (12, 13), the Dictionary message;
- EmulationRequest (the HTTP emulation endpoint, not a WebSocket message).

An unknown field is skipped by the runtime, so a server that sends them is fine.
Publication ``epoch`` (14) is in: the current server sets it when a stream's epoch
changes (PROTOCOL.md §11).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, Final

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = ["MESSAGES", "PACKAGE", "build_classes", "file_descriptor"]

PACKAGE: Final = "centrifugo_proto.protocol"

_F = descriptor_pb2.FieldDescriptorProto

#: Scalar kinds of the field table, by the names it uses.
_SCALARS: Final[Mapping[str, int]] = {
    "uint32": _F.TYPE_UINT32,
    "uint64": _F.TYPE_UINT64,
    "int32": _F.TYPE_INT32,
    "int64": _F.TYPE_INT64,
    "sint64": _F.TYPE_SINT64,
    "bool": _F.TYPE_BOOL,
    "string": _F.TYPE_STRING,
    "bytes": _F.TYPE_BYTES,
}

#: Message → its fields as (name, number, type). A type is a scalar of :data:`_SCALARS`,
#: a message name, ``"repeated T"`` or ``"map<K,V>"`` (PROTOCOL.md §2 spells them so).
MESSAGES: Final[Mapping[str, tuple[tuple[str, int, str], ...]]] = {
    # -- envelopes (§2.1) --
    "Command": (
        ("id", 1, "uint32"),
        ("connect", 4, "ConnectRequest"),
        ("subscribe", 5, "SubscribeRequest"),
        ("unsubscribe", 6, "UnsubscribeRequest"),
        ("publish", 7, "PublishRequest"),
        ("presence", 8, "PresenceRequest"),
        ("presence_stats", 9, "PresenceStatsRequest"),
        ("history", 10, "HistoryRequest"),
        ("ping", 11, "PingRequest"),
        ("send", 12, "SendRequest"),
        ("rpc", 13, "RPCRequest"),
        ("refresh", 14, "RefreshRequest"),
        ("sub_refresh", 15, "SubRefreshRequest"),
    ),
    "Reply": (
        ("id", 1, "uint32"),
        ("error", 2, "Error"),
        ("push", 4, "Push"),
        ("connect", 5, "ConnectResult"),
        ("subscribe", 6, "SubscribeResult"),
        ("unsubscribe", 7, "UnsubscribeResult"),
        ("publish", 8, "PublishResult"),
        ("presence", 9, "PresenceResult"),
        ("presence_stats", 10, "PresenceStatsResult"),
        ("history", 11, "HistoryResult"),
        ("ping", 12, "PingResult"),
        ("rpc", 13, "RPCResult"),
        ("refresh", 14, "RefreshResult"),
        ("sub_refresh", 15, "SubRefreshResult"),
    ),
    "Error": (("code", 1, "uint32"), ("message", 2, "string"), ("temporary", 3, "bool")),
    "Push": (
        ("id", 1, "int64"),
        ("channel", 2, "string"),
        ("pub", 4, "Publication"),
        ("join", 5, "Join"),
        ("leave", 6, "Leave"),
        ("unsubscribe", 7, "Unsubscribe"),
        ("message", 8, "Message"),
        ("subscribe", 9, "Subscribe"),
        ("connect", 10, "Connect"),
        ("disconnect", 11, "Disconnect"),
        ("refresh", 12, "Refresh"),
    ),
    # -- shared messages (§2.2) --
    "ClientInfo": (
        ("user", 1, "string"),
        ("client", 2, "string"),
        ("conn_info", 3, "bytes"),
        ("chan_info", 4, "bytes"),
    ),
    "Publication": (
        ("data", 4, "bytes"),
        ("info", 5, "ClientInfo"),
        ("offset", 6, "uint64"),
        ("tags", 7, "map<string,string>"),
        ("delta", 8, "bool"),
        ("time", 9, "int64"),
        ("channel", 10, "string"),
        ("epoch", 14, "string"),
    ),
    "StreamPosition": (("offset", 1, "uint64"), ("epoch", 2, "string")),
    "FilterNode": (
        ("op", 1, "string"),
        ("key", 2, "string"),
        ("cmp", 3, "string"),
        ("val", 4, "string"),
        ("vals", 5, "repeated string"),
        ("nodes", 6, "repeated FilterNode"),
    ),
    # -- push bodies (§3) --
    "Join": (("info", 1, "ClientInfo"),),
    "Leave": (("info", 1, "ClientInfo"),),
    "Unsubscribe": (("code", 2, "uint32"), ("reason", 3, "string")),
    "Subscribe": (
        ("recoverable", 1, "bool"),
        ("epoch", 4, "string"),
        ("offset", 5, "uint64"),
        ("positioned", 6, "bool"),
        ("data", 7, "bytes"),
    ),
    "Message": (("data", 1, "bytes"),),
    "Connect": (
        ("client", 1, "string"),
        ("version", 2, "string"),
        ("data", 3, "bytes"),
        ("subs", 4, "map<string,SubscribeResult>"),
        ("expires", 5, "bool"),
        ("ttl", 6, "uint32"),
        ("ping", 7, "uint32"),
        ("pong", 8, "bool"),
        ("session", 9, "string"),
        ("node", 10, "string"),
        ("time", 11, "int64"),
    ),
    "Disconnect": (("code", 1, "uint32"), ("reason", 2, "string"), ("reconnect", 3, "bool")),
    "Refresh": (("expires", 1, "bool"), ("ttl", 2, "uint32")),
    # -- commands and results (§2.3) --
    "ConnectRequest": (
        ("token", 1, "string"),
        ("data", 2, "bytes"),
        ("subs", 3, "map<string,SubscribeRequest>"),
        ("name", 4, "string"),
        ("version", 5, "string"),
        ("headers", 6, "map<string,string>"),
        ("flag", 7, "int64"),
    ),
    "ConnectResult": (
        ("client", 1, "string"),
        ("version", 2, "string"),
        ("expires", 3, "bool"),
        ("ttl", 4, "uint32"),
        ("data", 5, "bytes"),
        ("subs", 6, "map<string,SubscribeResult>"),
        ("ping", 7, "uint32"),
        ("pong", 8, "bool"),
        ("session", 9, "string"),
        ("node", 10, "string"),
        ("time", 11, "int64"),
    ),
    "RefreshRequest": (("token", 1, "string"),),
    "RefreshResult": (
        ("client", 1, "string"),
        ("version", 2, "string"),
        ("expires", 3, "bool"),
        ("ttl", 4, "uint32"),
    ),
    "SubscribeRequest": (
        ("channel", 1, "string"),
        ("token", 2, "string"),
        ("recover", 3, "bool"),
        ("epoch", 6, "string"),
        ("offset", 7, "uint64"),
        ("data", 8, "bytes"),
        ("positioned", 9, "bool"),
        ("recoverable", 10, "bool"),
        ("join_leave", 11, "bool"),
        ("delta", 12, "string"),
        ("tf", 13, "FilterNode"),
        ("flag", 14, "int64"),
    ),
    "SubscribeResult": (
        ("expires", 1, "bool"),
        ("ttl", 2, "uint32"),
        ("recoverable", 3, "bool"),
        ("epoch", 6, "string"),
        ("publications", 7, "repeated Publication"),
        ("recovered", 8, "bool"),
        ("offset", 9, "uint64"),
        ("positioned", 10, "bool"),
        ("data", 11, "bytes"),
        ("was_recovering", 12, "bool"),
        ("delta", 13, "bool"),
        ("id", 14, "int64"),
    ),
    "SubRefreshRequest": (("channel", 1, "string"), ("token", 2, "string")),
    "SubRefreshResult": (("expires", 1, "bool"), ("ttl", 2, "uint32")),
    "UnsubscribeRequest": (("channel", 1, "string"),),
    "UnsubscribeResult": (),
    "PublishRequest": (("channel", 1, "string"), ("data", 2, "bytes")),
    "PublishResult": (),
    "PresenceRequest": (("channel", 1, "string"),),
    "PresenceResult": (("presence", 1, "map<string,ClientInfo>"),),
    "PresenceStatsRequest": (("channel", 1, "string"),),
    "PresenceStatsResult": (("num_clients", 1, "uint32"), ("num_users", 2, "uint32")),
    "HistoryRequest": (
        ("channel", 1, "string"),
        ("limit", 7, "int32"),
        ("since", 8, "StreamPosition"),
        ("reverse", 9, "bool"),
    ),
    "HistoryResult": (
        ("publications", 1, "repeated Publication"),
        ("epoch", 2, "string"),
        ("offset", 3, "uint64"),
    ),
    "PingRequest": (),
    "PingResult": (),
    "RPCRequest": (("data", 1, "bytes"), ("method", 2, "string")),
    "RPCResult": (("data", 1, "bytes"),),
    "SendRequest": (("data", 1, "bytes"),),
}


def _set_type(field: Any, kind: str) -> None:
    """A singular field's type: a scalar, or a message of this file."""
    scalar = _SCALARS.get(kind)
    if scalar is not None:
        field.type = scalar
    else:
        field.type = _F.TYPE_MESSAGE
        field.type_name = f".{PACKAGE}.{kind}"


def _add_field(message: Any, name: str, number: int, kind: str) -> None:
    field = message.field.add(name=name, number=number, label=_F.LABEL_OPTIONAL)
    if kind.startswith("repeated "):
        field.label = _F.LABEL_REPEATED
        _set_type(field, kind[len("repeated ") :])
    elif kind.startswith("map<"):
        # A map is a repeated message of a nested "<Name>Entry" type with map_entry
        # set: key 1, value 2 (the Protobuf language guide's "Maps", wire form).
        key, value = kind[len("map<") : -1].split(",")
        entry = message.nested_type.add(name="".join(p.title() for p in name.split("_")) + "Entry")
        entry.options.map_entry = True
        _add_field(entry, "key", 1, key)
        _add_field(entry, "value", 2, value)
        field.label = _F.LABEL_REPEATED
        field.type = _F.TYPE_MESSAGE
        field.type_name = f".{PACKAGE}.{message.name}.{entry.name}"
    else:
        _set_type(field, kind)


def file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    """The schema as a ``FileDescriptorProto`` (proto3)."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="centrifugo_proto/client.proto", package=PACKAGE, syntax="proto3"
    )
    for name, fields in MESSAGES.items():
        message = proto.message_type.add(name=name)
        for field_name, number, kind in fields:
            _add_field(message, field_name, number, kind)
    return proto


def build_classes() -> SimpleNamespace:
    """Every message of :data:`MESSAGES` as a class of the installed runtime.

    ``message_factory.GetMessageClass`` is the way from protobuf 4.22 on (and the
    only one from 6.0, which removed ``MessageFactory.GetPrototype``); before 4.22
    ``MessageFactory(pool).GetPrototype`` is. Serialising the descriptor and adding
    the bytes works with both the pure-Python and the upb runtime, in every version.
    """
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(file_descriptor().SerializeToString())
    get_class = getattr(message_factory, "GetMessageClass", None)
    # Only protobuf < 4.22 takes this branch: make test-protobuf-range runs it, the
    # coverage gate's environment (the newest runtime) cannot.
    if get_class is None:  # pragma: no cover
        get_class = message_factory.MessageFactory(pool).GetPrototype
    return SimpleNamespace(
        **{name: get_class(pool.FindMessageTypeByName(f"{PACKAGE}.{name}")) for name in MESSAGES}
    )
