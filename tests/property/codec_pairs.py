"""Every codec the core has, with its server half: the one list properties run over.

A new codec joins every property by getting a :class:`CodecPair` in :data:`CODECS`:
its client module (``centrifugo_proto.codecs.<name>``), the server half (decode the
client's commands, encode replies and pushes, as ``tests/serverside.py`` does for
JSON and ``tests/protobuf_wire.py`` for Protobuf) and a strategy for the payloads it
carries (JSON values; bytes for Protobuf).

:class:`Peer` plays the server side of one client with any codec: a wsproto server
connection, frames of typed messages out, typed commands in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs
from hypothesis import strategies as st

from centrifugo_proto import ClientOptions, ClientProtocol, Event, OpenTransport
from centrifugo_proto.codecs import Codec
from centrifugo_proto.codecs.json import JsonCodec
from centrifugo_proto.codecs.protobuf import ProtobufCodec
from centrifugo_proto.commands import (
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
from centrifugo_proto.filters import FilterNode
from centrifugo_proto.messages import Incoming, Reply
from centrifugo_proto.results import ConnectResult
from protobuf_wire import decode_command_messages
from protobuf_wire import encode_incoming as encode_protobuf_incoming
from serverside import (
    ENDPOINT,
    Command,
    FixedRandom,
    ServerWebSocket,
    decode_command_objects,
    encode_incoming,
)

#: JSON values as the JSON codec carries them: no NaN or infinities (not JSON), and
#: floats only where they survive a round trip, which Python's are. Integers within
#: 64 bits: orjson, which reads when it is installed, reads bigger ones as floats
#: (tests/unit/test_json_libraries.py has those).
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=8,
)


@attrs.frozen
class CodecPair:
    #: The ``codec=`` name of :class:`ClientProtocol`.
    name: str
    #: The client's codec (``centrifugo_proto.codecs``).
    client: Codec
    #: The server half: one client message to its commands.
    server_decode: Callable[[str | bytes], list[Command]]
    #: The server half: typed messages to one server message.
    server_encode: Callable[[Sequence[Incoming]], str | bytes]
    #: Payload values (``data``, ``info``...) in this codec's mode.
    payloads: st.SearchStrategy[Any]
    #: A JSON value as a payload of this codec (a test's literal ``{"n": 1}``):
    #: itself in JSON mode, its JSON text's bytes in Protobuf mode.
    payload: Callable[[Any], Any] = lambda value: value

    def frame(self, ws: ServerWebSocket, messages: Sequence[Incoming]) -> bytes:
        """The bytes of one WebSocket frame carrying ``messages``."""
        message = self.server_encode(messages)
        if isinstance(message, str):
            return ws.send_text(message)
        return ws.send_bytes(message)


#: Payloads in Protobuf mode: bytes. Never empty here, since proto3 cannot tell an
#: empty payload from none (b"" travels as absent and arrives as None or b"",
#: tests/unit/test_protobuf_codec.py has those).
PROTOBUF_PAYLOADS: st.SearchStrategy[bytes] = st.binary(min_size=1, max_size=24)

CODECS: list[CodecPair] = [
    CodecPair(
        name="json",
        client=JsonCodec(),
        server_decode=decode_command_objects,
        server_encode=encode_incoming,
        payloads=JSON_VALUES,
    ),
    CodecPair(
        name="protobuf",
        client=ProtobufCodec(),
        server_decode=decode_command_messages,
        server_encode=encode_protobuf_incoming,
        payloads=PROTOBUF_PAYLOADS,
        payload=lambda value: json.dumps(value, separators=(",", ":")).encode(),
    ),
]

#: For ``pytest.mark.parametrize("codec", CODECS, ids=CODEC_IDS)``.
CODEC_IDS = [c.name for c in CODECS]


class Peer:
    """The server side of one :class:`ClientProtocol`, codec-generic.

    The test plays the adapter too: ``open()`` answers the client's
    ``OpenTransport`` with a fresh server connection.
    """

    def __init__(self, codec: CodecPair, client: ClientProtocol) -> None:
        self.codec = codec
        self.client = client
        self.ws: ServerWebSocket | None = None
        #: Every event the client emitted, in order.
        self.log: list[Event] = []

    def events(self) -> list[Event]:
        out = []
        while (event := self.client.next_event()) is not None:
            out.append(event)
        self.log += out
        return out

    def pump(self) -> None:
        data = self.client.data_to_send()
        if data:
            assert self.ws is not None, "the client wrote bytes with no transport open"
            self.ws.receive(data)

    def messages(self) -> list[list[Command]]:
        """The client's messages since the last call, each as its commands."""
        self.pump()
        if self.ws is None:
            return []
        raw, self.ws.messages = self.ws.messages, []
        return [self.codec.server_decode(m) for m in raw]

    def commands(self) -> list[Command]:
        return [c for m in self.messages() for c in m]

    def open(self, *, now: float) -> bytes:
        """Socket up and handshake read: returns the server's 101 response, not fed yet."""
        self.pump()
        self.client.transport_opened(now=now)
        self.ws = ServerWebSocket()
        accept = self.ws.receive(self.client.data_to_send())
        assert self.ws.request is not None
        return accept

    def frame(self, *messages: Incoming) -> bytes:
        assert self.ws is not None
        return self.codec.frame(self.ws, messages)

    def feed(self, *messages: Incoming, now: float) -> list[Event]:
        self.client.receive_data(self.frame(*messages), now=now)
        return self.events()


def make_client(
    codec: CodecPair, options: ClientOptions | None = None, **kwargs: Any
) -> ClientProtocol:
    kwargs.setdefault("rng", FixedRandom())
    return ClientProtocol(ENDPOINT, codec=codec.name, options=options, **kwargs)


def connected(
    codec: CodecPair,
    *,
    now: float = 0.0,
    result: ConnectResult | None = None,
    options: ClientOptions | None = None,
    **kwargs: Any,
) -> tuple[ClientProtocol, Peer]:
    """A client connected through a :class:`Peer` (connect id 1), events drained."""
    client = make_client(codec, options, **kwargs)
    peer = Peer(codec, client)
    client.connect(now=now)
    assert any(isinstance(e, OpenTransport) for e in peer.events())
    client.receive_data(peer.open(now=now), now=now)
    assert peer.commands() == [Command(1, "connect", {"name": "python"})]
    peer.feed(Reply(1, result or ConnectResult(client="c1", ping=25, pong=True)), now=now)
    return client, peer


def flatten(messages: Iterable[list[Command]]) -> list[Command]:
    return [c for m in messages for c in m]


# -- what a typed command looks like to the server ---------------------------------------


#: Request fields that carry payloads: absent only when None (``0`` or ``""`` is data).
_PAYLOADS = frozenset({"data"})


def _omit_zero(fields: dict[str, Any]) -> dict[str, Any]:
    """The schema's zero values (PROTOCOL.md §1.1): absent on the wire."""
    return {k: v for k, v in fields.items() if (v is not None if k in _PAYLOADS else bool(v))}


def filter_view(node: FilterNode) -> dict[str, Any]:
    """A tags filter node (PROTOCOL.md §2.2): its fields, zero values left out."""
    view = _omit_zero({"op": node.op, "key": node.key, "cmp": node.cmp, "val": node.val})
    if node.vals:
        view["vals"] = list(node.vals)
    if node.nodes:
        view["nodes"] = [filter_view(child) for child in node.nodes]
    return view


def _subscribe_view(req: SubscribeRequest) -> dict[str, Any]:
    return _omit_zero(
        {
            "channel": req.channel,
            "token": req.token,
            "recover": req.recover,
            "epoch": req.epoch,
            "offset": req.offset,
            "data": req.data,
            "positioned": req.positioned,
            "recoverable": req.recoverable,
            "join_leave": req.join_leave,
            "delta": req.delta,
            "tf": None if req.tags_filter is None else filter_view(req.tags_filter),
        }
    )


def _params(command: Any) -> tuple[str, dict[str, Any]]:
    """The Command field and its request fields, written from PROTOCOL.md §2.3, not
    from the codec (an oracle the codecs are compared with)."""
    if isinstance(command, ConnectRequest):
        subs = {ch: _subscribe_view(sub) for ch, sub in command.subs.items()}
        return "connect", _omit_zero(
            {
                "token": command.token,
                "data": command.data,
                "subs": subs,
                "name": command.name,
                "version": command.version,
            }
        )
    if isinstance(command, SubscribeRequest):
        return "subscribe", _subscribe_view(command)
    if isinstance(command, HistoryRequest):
        since = command.since
        return "history", _omit_zero(
            {
                "channel": command.channel,
                "limit": command.limit,
                "since": None if since is None else {"offset": since.offset, "epoch": since.epoch},
                "reverse": command.reverse,
            }
        )
    if isinstance(command, PublishRequest):  # data is always there, null included
        return "publish", {"channel": command.channel, "data": command.data}
    if isinstance(command, SendRequest):
        return "send", {"data": command.data}
    if isinstance(command, RefreshRequest):  # the current protocol's field only
        return "refresh", {"token": command.token}
    if isinstance(command, RpcRequest):
        return "rpc", {"method": command.method} | _omit_zero({"data": command.data})
    simple = {
        UnsubscribeRequest: "unsubscribe",
        PresenceRequest: "presence",
        PresenceStatsRequest: "presence_stats",
        SubRefreshRequest: "sub_refresh",
    }
    return simple[type(command)], attrs.asdict(command)


def wire_view(wire_id: int | None, command: Any) -> Command:
    """What the server half must decode ``command`` sent with ``wire_id`` into."""
    if isinstance(command, PingRequest):
        return Command(wire_id or 0, "", {})
    method, params = _params(command)
    return Command(wire_id or 0, method, params)
