"""The Protobuf codec (PROTOCOL.md §1.2, §2): exact bytes for every command, every
reply and push decoded, payloads as bytes, and every malformed input a DecodeError.

Server bytes are built by the test: by hand (the hex below is worked out from the
field table) or by ``tests/protobuf_wire.py``, the server half written from the
same table without the client's schema. Also run on the oldest and newest
supported ``protobuf`` (``make test-protobuf-range``).
"""

from __future__ import annotations

import pytest

from centrifugo_proto import (
    ClientProtocol,
    ClientState,
    ConnectResult,
    LocalProtocolError,
    OpenTransport,
    PingReceived,
    PublicationReceived,
)
from centrifugo_proto.codecs import FrameKind, protobuf_codec
from centrifugo_proto.codecs.json import JsonCodec
from centrifugo_proto.codecs.protobuf import ProtobufCodec, decode_replies, runtime_reply
from centrifugo_proto.codecs.protobuf_pubs import read_publication
from centrifugo_proto.commands import (
    PONG,
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
from centrifugo_proto.errors import DecodeError, ReplyError
from centrifugo_proto.filters import tags
from centrifugo_proto.messages import (
    PING,
    Ignored,
    Join,
    Leave,
    Push,
    Reply,
    ServerDisconnect,
    ServerMessage,
    ServerSubscribe,
    ServerUnsubscribe,
)
from centrifugo_proto.results import (
    ClientInfo,
    HistoryResult,
    PresenceResult,
    PresenceStatsResult,
    Publication,
    PublishResult,
    RefreshResult,
    RpcResult,
    StreamPosition,
    SubRefreshResult,
    SubscribeResult,
    UnsubscribeResult,
)
from protobuf_wire import delimited, encode_incoming, encode_reply, field, varint
from serverside import ENDPOINT, FixedRandom, ServerWebSocket, options

CODEC = ProtobufCodec()


def framed(wire_id: int | None, command: object) -> bytes:
    return CODEC.frame([(wire_id, CODEC.encode(command))])  # type: ignore[arg-type]


# -- what it is ---------------------------------------------------------------------


def test_it_asks_for_binary_frames_under_centrifuge_protobuf():
    assert (CODEC.name, CODEC.subprotocol, CODEC.frame_kind) == (
        "protobuf",
        "centrifuge-protobuf",
        FrameKind.BINARY,
    )
    assert isinstance(protobuf_codec(), ProtobufCodec)
    client = ClientProtocol(ENDPOINT, codec="protobuf", options=options())
    client.connect(now=0.0)
    (opened,) = [e for e in iter(client.next_event, None) if isinstance(e, OpenTransport)]
    assert opened.endpoint.subprotocols == ("centrifuge-protobuf",)


def test_without_the_runtime_the_name_says_what_to_install(monkeypatch):
    import sys

    for module in ("protobuf", "protobuf_schema"):
        monkeypatch.delitem(sys.modules, f"centrifugo_proto.codecs.{module}")
    monkeypatch.setitem(sys.modules, "google.protobuf", None)  # its import fails
    with pytest.raises(LocalProtocolError, match=r"centrifugo-proto\[protobuf\]"):
        protobuf_codec()


# -- encoding: the bytes of the field table (§2.1, §2.3) ------------------------------------


@pytest.mark.parametrize(
    ("wire_id", "command", "expected"),
    [
        # Command.subscribe = 5 (0x2a), SubscribeRequest.channel = 1 (0x0a)
        (2, SubscribeRequest(channel="news"), "0a 08 02 2a 06 0a 04" + b"news".hex()),
        # ConnectRequest.name = 4 (0x22) inside Command.connect = 4 (0x22)
        (1, ConnectRequest(name="py"), "08 08 01 22 04 22 02" + b"py".hex()),
        # The pong: the empty Command (§4)
        (None, PONG, "00"),
        # PublishRequest channel 1, data 2 inside Command.publish = 7 (0x3a)
        (3, PublishRequest("c", b"\x00\xff"), "0b 08 03 3a 07 0a 01 63 12 02 00 ff"),
        # history = 10 (0x52); limit = 7 (0x38), -1 as a ten-byte varint; since = 8 (0x42)
        (
            4,
            HistoryRequest(channel="c", limit=-1, since=StreamPosition(5, "e"), reverse=True),
            "1b 08 04 52 17 0a 01 63 38 ff ff ff ff ff ff ff ff ff 01 42 05 08 05 12 01 65 48 01",
        ),
        # no since, no limit: only the channel
        (12, HistoryRequest(channel="c"), "07 08 0c 52 03 0a 01 63"),
        # since with zero values is still there: an empty StreamPosition
        (
            5,
            HistoryRequest(channel="c", since=StreamPosition(0, "")),
            "09 08 05 52 05 0a 01 63 42 00",
        ),
        # send = 12 (0x62), no id
        (None, SendRequest(b"hi"), "06 62 04 0a 02 68 69"),
        # rpc = 13 (0x6a): data 1, method 2; no data, nothing written for it
        (6, RpcRequest("m"), "07 08 06 6a 03 12 01 6d"),
        # refresh = 14 (0x72) with an empty token: present, and empty
        (7, RefreshRequest(token=""), "04 08 07 72 00"),
        # sub_refresh = 15 (0x7a): channel 1, token 2
        (8, SubRefreshRequest("c", "t"), "0a 08 08 7a 06 0a 01 63 12 01 74"),
        # unsubscribe 6 (0x32), presence 8 (0x42), presence_stats 9 (0x4a)
        (9, UnsubscribeRequest("c"), "07 08 09 32 03 0a 01 63"),
        (10, PresenceRequest("c"), "07 08 0a 42 03 0a 01 63"),
        (11, PresenceStatsRequest("c"), "07 08 0b 4a 03 0a 01 63"),
        # ids past one byte are varints too
        (300, UnsubscribeRequest("c"), "08 08 ac 02 32 03 0a 01 63"),
    ],
)
def test_commands_encode_to_the_bytes_of_the_field_table(wire_id, command, expected):
    assert framed(wire_id, command).hex() == expected.replace(" ", "")


def test_subscribe_carries_every_field_under_its_number():
    request = SubscribeRequest(
        channel="c",
        token="t",
        recover=True,
        epoch="e",
        offset=300,
        data=b"d",
        positioned=True,
        recoverable=True,
        join_leave=True,
        delta="fossil",
    )
    body = CODEC.encode(request)
    # Command.subscribe (5), then channel 1, token 2, recover 3, epoch 6, offset 7,
    # data 8, positioned 9, recoverable 10, join_leave 11, delta 12.
    fields = (
        "0a 01 63 12 01 74 18 01 32 01 65 38 ac 02 42 01 64 48 01 50 01 58 01"
        " 62 06" + b"fossil".hex()
    )
    inner = bytes.fromhex(fields.replace(" ", ""))
    assert body == b"\x2a" + varint(len(inner)) + inner


def test_a_tags_filter_goes_as_field_13_a_tree_of_filter_nodes():
    filt = tags.eq("a", "b") | ~tags.in_("k", ["x", ""])
    body = CODEC.encode(SubscribeRequest(channel="c", tags_filter=filt))
    # FilterNode: op 1, key 2, cmp 3, val 4, vals 5 (repeated: "" is written), nodes 6
    leaf = field(2, "a") + field(3, "eq") + field(4, "b")
    in_leaf = field(2, "k") + field(3, "in") + field(5, "x") + field(5, "")
    not_node = field(1, "not") + field(6, in_leaf)
    node = field(1, "or") + field(6, leaf) + field(6, not_node)
    assert body == field(5, field(1, "c") + field(13, node))


def test_connect_subs_are_a_map_of_subscribe_requests_without_their_channel():
    request = ConnectRequest(
        token="t", subs={"news": SubscribeRequest(channel="", recover=True, offset=2)}
    )
    entry = field(1, "news") + field(2, field(3, 1) + field(7, 2))
    assert CODEC.encode(request) == field(4, field(1, "t") + field(3, entry))


def test_an_empty_command_field_is_still_written():
    """A command whose fields are all zero must still say which command it is."""
    assert CODEC.encode(ConnectRequest()) == b"\x22\x00"


def test_several_commands_share_a_frame_each_after_its_length():
    frame = CODEC.frame(
        [(1, CODEC.encode(UnsubscribeRequest("a"))), (None, b""), (2, CODEC.encode(PONG))]
    )
    assert frame.hex() == "07080132030a0161" + "00" + "020802"


def test_command_ids_are_integers():
    with pytest.raises(LocalProtocolError, match="integers"):
        CODEC.frame([("uid-1", b"")])


# -- payloads are bytes ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["text", {"a": 1}, None, 5, bytearray(b"x"), memoryview(b"x")])
def test_payloads_must_be_bytes(value):
    with pytest.raises(LocalProtocolError, match="must be bytes in Protobuf mode"):
        CODEC.check_payload(value)
    for command in (
        PublishRequest("c", value),
        SendRequest(value),
        RpcRequest("m", value) if value is not None else RpcRequest("m", "x"),
        SubscribeRequest(channel="c", data=value if value is not None else "x"),
        ConnectRequest(data=value if value is not None else "x"),
    ):
        with pytest.raises(LocalProtocolError, match="must be bytes"):
            CODEC.encode(command)


def test_bytes_of_any_value_travel_unchanged():
    CODEC.check_payload(b"")
    CODEC.check_payload(bytes(range(256)))
    assert CODEC.encode(PublishRequest("c", bytes(range(256)))).endswith(bytes(range(256)))


def test_the_json_codec_keeps_refusing_bytes():
    with pytest.raises(LocalProtocolError, match="not JSON-serialisable"):
        JsonCodec().check_payload(b"bytes")


def test_a_wrong_payload_is_refused_at_the_call_and_nothing_is_queued():
    client = ClientProtocol(ENDPOINT, codec="protobuf", options=options(), rng=FixedRandom())
    with pytest.raises(LocalProtocolError, match="must be bytes"):
        client.publish("chat", {"text": "hi"}, now=0.0)
    with pytest.raises(LocalProtocolError, match="must be bytes"):
        client.subscribe("chat", data="token-ish", now=0.0)
    with pytest.raises(LocalProtocolError, match="must be bytes"):
        ClientProtocol(ENDPOINT, codec="protobuf", data="hello")
    client.connect(now=0.0)
    client.transport_opened(now=0.0)
    ws = ServerWebSocket()
    ws.receive(client.data_to_send())
    assert ws.messages == []  # the handshake only: nothing was queued by the failed calls


def test_delta_payloads_are_the_bytes_themselves():
    assert CODEC.payload_bytes(b"\x00abc") == b"\x00abc"
    assert CODEC.payload_value(b"\x00abc") == b"\x00abc"
    with pytest.raises(DecodeError, match="must be bytes"):
        CODEC.payload_bytes("text")


# -- decoding (§2, §3) -----------------------------------------------------------------


def test_the_empty_message_is_a_ping_and_an_explicit_id_0_too():
    assert decode_replies(b"\x00") == [PING]
    assert decode_replies(b"\x00\x00\x00") == [PING, PING, PING]
    assert decode_replies(b"\x02\x08\x00") == [PING]  # id 0 written out: still empty
    assert decode_replies(b"\x05\x08\x00\x08\x80\x00") == [PING]  # twice, once long-hand
    assert decode_replies(b"") == []


def test_replies_and_errors_by_hand():
    # Reply id 3 (08 03), publish result (8: 0x42) empty
    assert decode_replies(bytes.fromhex("04 08 03 42 00")) == [Reply(3, PublishResult())]
    # Reply id 5, error (2: 0x12) code 103, message "denied", temporary
    error = bytes.fromhex("08 67 12 06") + b"denied" + bytes.fromhex("18 01")
    message = bytes.fromhex("08 05 12") + varint(len(error)) + error
    assert decode_replies(varint(len(message)) + message) == [
        Reply(5, None, ReplyError(103, "denied", True))
    ]


def test_a_publication_push_by_hand():
    # push (4): channel (2) "news", pub (4): data (4) "hi", offset (6) 7, time (9) -1
    pub = bytes.fromhex("22 02 68 69 30 07 48") + b"\xff" * 9 + b"\x01"
    push = bytes.fromhex("12 04") + b"news" + b"\x22" + varint(len(pub)) + pub
    reply = b"\x22" + varint(len(push)) + push
    assert decode_replies(varint(len(reply)) + reply) == [
        Publication(channel="news", data=b"hi", offset=7, time=-1)
    ]


EVERY_KIND = [
    PING,
    Publication(
        channel="c",
        data=b"\x00\x01",
        offset=2**64 - 1,
        info=ClientInfo(user="u", client="id", conn_info=b"{}", chan_info=b"x"),
        tags={"a": "1", "": ""},
        time=-(2**63),
        epoch="ep",
        delta=True,
    ),
    Publication(channel="", data=b"", offset=0),
    Push("c", Join(ClientInfo(user="u", client="k"))),
    Push("c", Leave(ClientInfo(user="", client=""))),
    Push("c", ServerUnsubscribe(2500, "resubscribe")),
    Push("", ServerMessage(b"hello")),
    Push("", ServerMessage(None)),
    Push(
        "s",
        ServerSubscribe(
            SubscribeResult(recoverable=True, positioned=True, epoch="e", offset=9, data=b"d")
        ),
    ),
    Push("", ServerDisconnect(3001, "shutdown")),
    Push("", Ignored("connect")),
    Push("", Ignored("refresh")),
    Push("c", Ignored("unknown")),
    Reply(1, ConnectResult(client="id", version="6.9.1", ping=25, pong=True, time=1700000000000)),
    Reply(
        1,
        ConnectResult(
            client="id",
            expires=True,
            ttl=60,
            data=b"proxy",
            subs={"#42": SubscribeResult(recoverable=True, epoch="e", offset=3, positioned=True)},
            session="s",
            node="n",
        ),
    ),
    Reply(
        2,
        SubscribeResult(
            expires=True,
            ttl=3600,
            recoverable=True,
            positioned=True,
            epoch="e",
            offset=7,
            publications=(Publication(channel="", data=b"m", offset=8),),
            recovered=True,
            was_recovering=True,
            data=b"sub",
            delta=True,
        ),
    ),
    Reply(3, UnsubscribeResult()),
    Reply(4, PublishResult()),
    Reply(5, PresenceResult(clients={"k": ClientInfo(user="u", client="k", conn_info=b"c")})),
    Reply(6, PresenceStatsResult(num_clients=2**32 - 1, num_users=1)),
    Reply(
        7,
        HistoryResult(
            publications=(
                Publication(channel="", data=b"a", offset=6),
                Publication(channel="wild:1", data=b"b", offset=7, tags={"k": "v"}),
            ),
            offset=7,
            epoch="e",
        ),
    ),
    Reply(8, RpcResult(data=b"answer")),
    Reply(8, RpcResult(data=None)),
    Reply(9, RefreshResult(client="c", version="v", expires=True, ttl=5)),
    Reply(10, SubRefreshResult(expires=True, ttl=10)),
    Reply(2**32 - 1, None, ReplyError(107, "bad request", False)),
]


@pytest.mark.parametrize("message", EVERY_KIND, ids=lambda m: type(m).__name__)
def test_every_reply_and_push_decodes_from_the_server_half(message):
    assert decode_replies(encode_incoming([message])) == [message]
    # and through the runtime alone, where the fast reader would take it
    assert runtime_reply(encode_reply(message)) == message


def test_a_whole_frame_of_every_kind_decodes_in_order():
    assert decode_replies(encode_incoming(EVERY_KIND)) == EVERY_KIND


def test_empty_payloads_arrive_as_proto3_has_them():
    """Publication data is always bytes; the other payloads are None when empty."""
    info = ClientInfo(user="u", client="c", conn_info=b"", chan_info=b"")
    (pub,) = decode_replies(
        encode_incoming([Publication(channel="c", data=b"", info=info, tags={})])
    )
    assert pub == Publication(channel="c", data=b"", info=ClientInfo(user="u", client="c"))
    (reply,) = decode_replies(encode_incoming([Reply(1, RpcResult(data=b""))]))
    assert reply == Reply(1, RpcResult(data=None))


def test_a_publication_names_its_own_channel_on_a_wildcard_subscription():
    # Publication.channel (10) wins over Push.channel (2).
    pub = field(4, b"x") + field(10, "news:1")
    reply = field(4, field(2, "news:*") + field(4, pub))
    assert decode_replies(delimited([reply])) == [Publication(channel="news:1", data=b"x")]


def test_unknown_fields_are_skipped():
    unknown = field(99, b"future") + field(98, 7)
    pub = field(4, b"x") + unknown + field(6, 3)
    reply = field(4, field(2, "c") + field(4, pub) + unknown)
    assert read_publication(reply) is None  # not the fast reader's: the runtime's
    assert decode_replies(delimited([reply])) == [Publication(channel="c", data=b"x", offset=3)]
    answer = field(1, 4) + unknown + field(8, b"")
    assert decode_replies(delimited([answer])) == [Reply(4, PublishResult())]


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"\x80", "inside a length varint"),
        (b"\x05\x80", "runs past"),
        (b"\xff" * 11, "longer than ten bytes"),
        (b"\x05ab", "runs past the frame's end"),
        (b"\x02\x08\x05", "has no result"),
        (b"\x04\x08\x05\x62\x00", "has no result"),  # a PingResult (12): no result of ours
        (b"\x02\x12\x00", "without id or push"),  # an error with no id
        (b"\x02\x2a\x00", "without id or push"),  # a connect result with no id
        (b"\x03\xa8\x06\x01", "without id or push"),  # only an unknown field
        (b"\x05\x08\x00\xa8\x06\x01", "without id or push"),  # id 0 and an unknown field
        (b"\x03\x08\x80\x01", "has no result"),  # id 128: not zero
        (b"\x04\x08\x05\x08\x00", "without id or push"),  # id 5, then 0: the last wins
        (b"\x06\x08\x80\x80\x80\x80\x10", "without id or push"),  # 2**32: 0 in a uint32
        (b"\x02\x20\x01", "without id or push"),  # push (4) as a varint: an unknown field
        (b"\x03\x08\x05\x42", "not a Protobuf Reply"),  # a length cut short
        (b"\x02\x08\x80", "not a Protobuf Reply"),  # a varint cut short
        (b"\x01\x07", "not a Protobuf Reply"),  # wire type 7 does not exist
        (b"\x01\x00", "not a Protobuf Reply"),  # field number 0
    ],
)
def test_malformed_messages_are_decode_errors(message, reason):
    with pytest.raises(DecodeError, match=reason):
        decode_replies(message)


@pytest.mark.parametrize("text", [b"\xff", b"\xed\xa0\x80", b"\xc0\x80", b"ok\xe2\x82"])
def test_text_that_is_not_utf8_is_a_decode_error(text):
    """Strings are UTF-8 (surrogates and overlong forms are not): in every string field."""
    for reply in (
        field(4, field(2, text) + field(4, field(4, b"x"))),  # push channel
        field(4, field(2, "c") + field(4, field(14, text))),  # publication epoch
        field(4, field(2, "c") + field(4, field(5, field(1, text)))),  # info.user
        field(4, field(2, "c") + field(4, field(7, field(1, text) + field(2, "v")))),  # a tag
        field(1, 1) + field(5, field(1, text)),  # connect result client
    ):
        with pytest.raises(DecodeError):
            decode_replies(delimited([reply]))


def test_deeply_nested_unknown_groups_are_a_decode_error():
    # Wire types 3 and 4 (start and end group) nest without bound in unknown fields.
    depth = 5000
    reply = field(1, 1) + b"\xab\x06" * depth + b"\xac\x06" * depth
    with pytest.raises(DecodeError):
        decode_replies(delimited([reply]))


def test_a_text_frame_is_a_decode_error():
    with pytest.raises(DecodeError, match="text frame in Protobuf mode"):
        CODEC.decode("\x00")


# -- the publication reader's edges (codecs/protobuf_pubs.py) -----------------------------


def _pub_reply(pub: bytes, channel: str = "c") -> bytes:
    return field(4, field(2, channel) + field(4, pub))


@pytest.mark.parametrize(
    ("pub", "taken"),
    [
        # lengths of two bytes: data, the publication, the push
        (field(4, b"x" * 300) + field(6, 1), True),
        (field(5, field(1, "u") + field(3, b"c" * 200)), True),  # a long conn_info
        (field(7, field(1, "k" * 130) + field(2, "v")), True),  # a long tag key
        (field(7, field(2, "v")) + field(7, field(1, "k")), True),  # halves of entries
        (field(7, field(1, "k") + field(2, "1")) + field(7, field(1, "k") + field(2, "2")), True),
        (b"\x30" + b"\x80" * 3 + b"\x01", True),  # a varint with needless groups
        (b"\x22\x05ab", False),  # data runs past the end
        (b"\x2a\x05ab", False),  # info runs past the end
        (b"\x30" + b"\xff" * 9 + b"\x02", False),  # offset past 64 bits: the runtime's
        (b"\x30" + b"\xff" * 10 + b"\x01", False),  # an eleven-byte varint
        (b"\x30", False),  # a varint cut short
        (b"\x40\x02", False),  # a bool that is not 0 or 1
        (field(6, 1) + field(6, 2), False),  # written twice
        (field(4, b"a") + field(4, b"b"), False),  # data written twice
        (field(5, field(1, "a") + field(1, "b")), False),  # info.user written twice
        (field(5, field(1, 5)), False),  # info.user as a varint
        (field(7, field(1, "k") + field(3, "x")), False),  # a tag entry's unknown field
        (field(7, field(1, "k") + field(1, "k")), False),  # a tag key written twice
        (field(11, "key"), False),  # a map-subscription field
    ],
)
def test_the_publication_reader_takes_what_it_can_and_the_runtime_agrees(pub, taken):
    reply = _pub_reply(pub)
    fast = read_publication(reply)
    assert (fast is not None) is taken
    try:
        expected = runtime_reply(reply)
    except DecodeError:
        assert not taken
    else:
        assert fast is None or fast == expected
        assert decode_replies(delimited([reply])) == [expected]


def test_the_publication_reader_takes_long_channels_and_empty_ones():
    for channel in ("c" * 200, ""):
        reply = field(4, field(2, channel) + field(4, field(4, b"x")))
        assert (
            read_publication(reply)
            == runtime_reply(reply)
            == Publication(channel=channel, data=b"x")
        )


@pytest.mark.parametrize(
    "reply",
    [
        field(4, field(4, field(4, b"x"))),  # no channel: the server always writes one
        field(4, field(4, field(4, b"x")) + field(2, "c")),  # pub before channel
        field(4, field(2, "c") + field(4, b"") + field(5, b"")),  # pub and join
        field(4, field(2, "c")),  # no pub
        field(4, field(2, "c") + field(4, b"")) + field(1, 3),  # an id after the push
        field(4, b"\x12\x05ab"),  # channel runs past the end
        b"\x22\x81",  # the push's length cut short
        field(1, 1) + field(4, field(2, "c") + field(4, b"")),  # id first
    ],
)
def test_the_publication_reader_leaves_other_shapes_to_the_runtime(reply):
    assert read_publication(reply) is None


# -- through the facade ----------------------------------------------------------------


def test_a_session_in_protobuf_mode():
    client = ClientProtocol(ENDPOINT, codec="protobuf", options=options(), rng=FixedRandom())
    client.connect(now=0.0)
    client.transport_opened(now=0.0)
    ws = ServerWebSocket()
    client.receive_data(ws.receive(client.data_to_send()), now=0.0)  # the 101
    ws.receive(client.data_to_send())
    (connect,) = ws.messages
    assert connect == framed(1, ConnectRequest(name="python"))
    ws.messages.clear()
    accept = Reply(1, ConnectResult(client="c1", ping=25, pong=True))
    client.receive_data(ws.send_bytes(encode_incoming([accept])), now=0.0)
    assert client.state is ClientState.CONNECTED
    client.subscribe("news", now=0.0)
    ws.receive(client.data_to_send())
    assert ws.messages == [framed(2, SubscribeRequest(channel="news"))]
    ws.messages.clear()
    stream = encode_incoming(
        [Reply(2, SubscribeResult()), PING, Publication(channel="news", data=b"\x01", offset=1)]
    )
    client.receive_data(ws.send_bytes(stream), now=1.0)
    events = list(iter(client.next_event, None))
    assert any(isinstance(e, PingReceived) for e in events)
    (pub,) = [e for e in events if isinstance(e, PublicationReceived)]
    assert (pub.publication.channel, pub.publication.data) == ("news", b"\x01")
    ws.receive(client.data_to_send())
    assert ws.messages == [b"\x00"]  # one pong for the one ping
