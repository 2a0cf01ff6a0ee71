"""The JSON codec (PROTOCOL.md §1.1, §2, §3): typed objects out, DecodeError only."""

from __future__ import annotations

import json

import pytest

from centrifugo_proto import (
    ClientInfo,
    ConnectResult,
    DecodeError,
    HistoryResult,
    LocalProtocolError,
    PresenceResult,
    PresenceStatsResult,
    Publication,
    PublishResult,
    RefreshResult,
    ReplyError,
    RpcResult,
    StreamPosition,
    SubRefreshResult,
    SubscribeResult,
    UnsubscribeResult,
)
from centrifugo_proto.codecs import json as codec
from centrifugo_proto.codecs.json import JsonCodec
from centrifugo_proto.commands import (
    PONG as PONG_REQUEST,
)
from centrifugo_proto.commands import (
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
from serverside import (
    decode_commands,
    encode_replies,
    error,
    ping,
    push_join,
    push_leave,
    push_message,
    push_pub,
    push_subscribe,
    push_unsubscribe,
    reply,
)

JSON = JsonCodec()


def decode_one(line):
    (message,) = codec.decode_replies(encode_replies(line))
    return message


# -- encoding ----------------------------------------------------------------------------


def test_commands_encode_as_compact_lines_the_server_reads_back():
    commands = [
        (1, ConnectRequest(token="t", name="python")),
        (2, SubscribeRequest(channel="chat:room", recover=True, offset=7)),
        (3, PublishRequest("chat:room", {"text": "héllo\nworld"})),
        (None, SendRequest([1, 2])),
        (None, PONG_REQUEST),
    ]
    text = JSON.frame([(wire_id, JSON.encode(command)) for wire_id, command in commands])
    assert " " not in text.replace("héllo", "")  # compact: no separators with spaces
    assert text.count("\n") == len(commands) - 1  # newlines inside payloads are escaped
    assert not text.endswith("\n")
    assert decode_commands(text) == [
        {"id": 1, "connect": {"token": "t", "name": "python"}},
        {"id": 2, "subscribe": {"channel": "chat:room", "recover": True, "offset": 7}},
        {"id": 3, "publish": {"channel": "chat:room", "data": {"text": "héllo\nworld"}}},
        {"send": {"data": [1, 2]}},
        {},
    ]


def test_every_request_field_has_its_wire_name():
    """History, RPC, refreshes and the connect ``subs`` map (§2.3), zero values left out."""
    encoded = [
        HistoryRequest(channel="c", limit=-1, since=StreamPosition(3, "e"), reverse=True),
        HistoryRequest(channel="c"),
        RpcRequest("m", {"x": 1}),
        RpcRequest("m"),
        RefreshRequest(token="t"),
        SubRefreshRequest("c", "t"),
        PresenceRequest("c"),
        PresenceStatsRequest("c"),
        UnsubscribeRequest("c"),
        SubscribeRequest(
            channel="c", token="t", data=1, positioned=True, recoverable=True,
            join_leave=True, delta="fossil",
        ),
        ConnectRequest(
            data={"d": 1}, version="1.0",
            subs={"s": SubscribeRequest(channel="s", recover=True, epoch="e", offset=2)},
        ),
    ]  # fmt: skip
    text = JSON.frame([(n, JSON.encode(c)) for n, c in enumerate(encoded, 1)])
    assert [next(iter(set(c) - {"id"})) for c in decode_commands(text)] == [
        "history", "history", "rpc", "rpc", "refresh", "sub_refresh", "presence",
        "presence_stats", "unsubscribe", "subscribe", "connect",
    ]  # fmt: skip
    bodies = [c[next(iter(set(c) - {"id"}))] for c in decode_commands(text)]
    assert bodies == [
        {"channel": "c", "limit": -1, "since": {"offset": 3, "epoch": "e"}, "reverse": True},
        {"channel": "c"},
        {"method": "m", "data": {"x": 1}},
        {"method": "m"},
        {"token": "t"},
        {"channel": "c", "token": "t"},
        {"channel": "c"},
        {"channel": "c"},
        {"channel": "c"},
        {
            "channel": "c", "token": "t", "data": 1, "recoverable": True,
            "positioned": True, "join_leave": True, "delta": "fossil",
        },
        {"data": {"d": 1}, "subs": {"s": {"recover": True, "epoch": "e", "offset": 2}},
         "version": "1.0"},
    ]  # fmt: skip


def test_non_ascii_payloads_stay_utf8_not_escaped():
    text = JSON.frame([(1, JSON.encode(PublishRequest("c", "日本")))])
    assert "日本" in text


@pytest.mark.parametrize("payload", [object(), {1, 2}, float("nan"), float("inf"), b"raw"])
def test_check_payload_refuses_what_json_cannot_carry(payload):
    with pytest.raises(LocalProtocolError, match="not JSON-serialisable"):
        JSON.check_payload(payload)


def test_check_payload_accepts_json_values():
    for value in (None, 1, 1.5, "s", [1, {"a": None}], {"nested": {"list": [True]}}):
        JSON.check_payload(value)


# -- decoding: framing -------------------------------------------------------------------


def test_several_lines_decode_in_order_and_empty_lines_are_skipped():
    text = "\n".join(
        [
            encode_replies(ping()),
            "",
            encode_replies(push_pub("a", 1, 1)),
            "   ",
            encode_replies(reply(3, publish={})),
        ]
    )
    assert codec.decode_replies(text + "\n") == [
        PING,
        Publication(channel="a", data=1, offset=1),
        Reply(3, PublishResult()),
    ]


def test_empty_message_decodes_to_nothing():
    assert codec.decode_replies("") == []


def test_ping_is_an_empty_reply():
    assert decode_one(ping()) is PING
    assert decode_one({"id": 0}) is PING


# -- decoding: results -------------------------------------------------------------------


def test_connect_result_decodes_every_field():
    line = reply(
        1,
        connect={
            "client": "c1",
            "version": "6.9.1",
            "expires": True,
            "ttl": 3599,
            "data": {"greeting": "hi"},
            "subs": {"#42": {"recoverable": True, "epoch": "xR2b", "offset": 3}},
            "ping": 25,
            "pong": True,
            "session": "s",
            "node": "n",
            "time": 1700000000000,
        },
    )
    assert decode_one(line) == Reply(
        1,
        ConnectResult(
            client="c1",
            version="6.9.1",
            expires=True,
            ttl=3599,
            data={"greeting": "hi"},
            subs={"#42": SubscribeResult(recoverable=True, epoch="xR2b", offset=3)},
            ping=25,
            pong=True,
            session="s",
            node="n",
            time=1700000000000,
        ),
    )


def test_subscribe_result_with_recovered_publications():
    line = reply(
        9,
        subscribe={
            "recoverable": True,
            "epoch": "mpLo",
            "offset": 7,
            "positioned": True,
            "publications": [{"data": {"text": "missed"}, "offset": 8}],
            "recovered": True,
            "was_recovering": True,
            "expires": True,
            "ttl": 60,
            "data": [1],
            "delta": True,
        },
    )
    assert decode_one(line) == Reply(
        9,
        SubscribeResult(
            recoverable=True,
            epoch="mpLo",
            offset=7,
            positioned=True,
            publications=(Publication(channel="", data={"text": "missed"}, offset=8),),
            recovered=True,
            was_recovering=True,
            expires=True,
            ttl=60,
            data=[1],
            delta=True,
        ),
    )


def test_zero_values_omitted_by_the_server_take_defaults():
    assert decode_one(reply(2, subscribe={})) == Reply(2, SubscribeResult())
    assert decode_one(reply(1, connect={"client": "c"})) == Reply(1, ConnectResult(client="c"))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (reply(4, unsubscribe={}), UnsubscribeResult()),
        (reply(5, publish={}), PublishResult()),
        (
            reply(
                6,
                presence={
                    "presence": {
                        "c1": {"user": "42", "client": "c1", "conn_info": {"name": "Alice"}},
                    }
                },
            ),
            PresenceResult(
                clients={"c1": ClientInfo(user="42", client="c1", conn_info={"name": "Alice"})}
            ),
        ),
        (
            reply(7, presence_stats={"num_clients": 2, "num_users": 1}),
            PresenceStatsResult(num_clients=2, num_users=1),
        ),
        (
            reply(
                8,
                history={
                    "publications": [
                        {"data": {"text": "a"}, "offset": 6},
                        {"data": {"text": "b"}, "offset": 7, "tags": {"k": "v"}},
                    ],
                    "epoch": "mpLo",
                    "offset": 7,
                },
            ),
            HistoryResult(
                publications=(
                    Publication(channel="", data={"text": "a"}, offset=6),
                    Publication(channel="", data={"text": "b"}, offset=7, tags={"k": "v"}),
                ),
                epoch="mpLo",
                offset=7,
            ),
        ),
        (
            reply(8, history={"publications": None, "epoch": "e", "offset": 0}),
            HistoryResult(publications=(), epoch="e", offset=0),
        ),
        (reply(9, rpc={"data": {"name": "Alice"}}), RpcResult(data={"name": "Alice"})),
        (reply(9, rpc={}), RpcResult(data=None)),
        (
            reply(10, refresh={"client": "c", "version": "v", "expires": True, "ttl": 3600}),
            RefreshResult(client="c", version="v", expires=True, ttl=3600),
        ),
        (
            reply(11, sub_refresh={"expires": True, "ttl": 3600}),
            SubRefreshResult(expires=True, ttl=3600),
        ),
    ],
)
def test_each_result_type_decodes_to_its_class(line, expected):
    decoded = decode_one(line)
    assert decoded == Reply(line["id"], expected)
    assert type(decoded.result) is type(expected)


def test_error_reply_decodes_to_reply_error():
    assert decode_one(error(6, 103, "permission denied")) == Reply(
        6, None, ReplyError(103, "permission denied", False)
    )
    decoded = decode_one(error(6, 100, "internal server error", temporary=True))
    assert decoded.error == ReplyError(100, "internal server error", True)
    assert decoded.error.retryable


# -- decoding: pushes --------------------------------------------------------------------


def test_publication_push_decodes_straight_to_a_publication():
    line = push_pub(
        "chat:room1",
        {"text": "hi"},
        8,
        info={"user": "42", "client": "c1", "chan_info": {"role": "x"}},
        tags={"kind": "chat"},
        time=1700000000000,
    )
    assert decode_one(line) == Publication(
        channel="chat:room1",
        data={"text": "hi"},
        offset=8,
        info=ClientInfo(user="42", client="c1", chan_info={"role": "x"}),
        tags={"kind": "chat"},
        time=1700000000000,
    )


def test_publication_of_a_wildcard_subscription_keeps_its_own_channel():
    line = {"push": {"channel": "news:*", "pub": {"data": 1, "channel": "news:sport"}}}
    assert decode_one(line).channel == "news:sport"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (push_join("c", "43", "a1"), Push("c", Join(ClientInfo(user="43", client="a1")))),
        (push_leave("c", "43", "a1"), Push("c", Leave(ClientInfo(user="43", client="a1")))),
        (
            push_unsubscribe("c", 2000, "server unsubscribe"),
            Push("c", ServerUnsubscribe(2000, "server unsubscribe")),
        ),
        (
            push_subscribe("news", recoverable=True, epoch="e1", positioned=True),
            Push(
                "news",
                ServerSubscribe(SubscribeResult(recoverable=True, epoch="e1", positioned=True)),
            ),
        ),
        (push_message({"alert": "x"}), Push("", ServerMessage({"alert": "x"}))),
        (
            {"push": {"disconnect": {"code": 3001, "reason": "shutdown"}}},
            Push("", ServerDisconnect(3001, "shutdown")),
        ),
        ({"push": {"connect": {"client": "c"}}}, Push("", Ignored("connect"))),
        ({"push": {"refresh": {"ttl": 5}}}, Push("", Ignored("refresh"))),
        ({"push": {"channel": "c", "future_kind": {}}}, Push("c", Ignored("unknown"))),
    ],
)
def test_each_push_type_decodes_to_its_class(line, expected):
    decoded = decode_one(line)
    assert decoded == expected
    assert type(decoded.body) is type(expected.body)


# -- decoding: bad input raises DecodeError and nothing else ------------------------------

BAD_LINES = {
    "not json": "not json",
    "truncated json": '{"id":1,"publish":{}',
    "trailing garbage": '{"id":1,"publish":{}}x',
    "array": "[1,2]",
    "string": '"hello"',
    "number": "42",
    "null": "null",
    "nested too deep": "[" * 100_000 + "]" * 100_000,
    "object nested too deep": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "huge integer": "1" * 10_000,
    "id as string": '{"id":"1","publish":{}}',
    "id as float": '{"id":1.0,"publish":{}}',
    "id zero as float": '{"id":0.0}',
    "id as bool": '{"id":true,"publish":{}}',
    "id false": '{"id":false}',
    "id null": '{"id":null,"publish":{}}',
    "negative id": '{"id":-1,"publish":{}}',
    "id without result": '{"id":3}',
    "id with unknown result": '{"id":3,"frobnicate":{}}',
    "id with null error": '{"id":3,"error":null}',
    "reply without id or push": '{"connect":{"client":"c"}}',
    "push not an object": '{"push":5}',
    "push null": '{"push":null}',
    "channel not a string": '{"push":{"channel":5,"pub":{"data":1}}}',
    "pub not an object": '{"push":{"channel":"c","pub":[1]}}',
    "offset as string": '{"push":{"channel":"c","pub":{"data":1,"offset":"8"}}}',
    "offset as bool": '{"push":{"channel":"c","pub":{"data":1,"offset":true}}}',
    "offset as float": '{"push":{"channel":"c","pub":{"data":1,"offset":8.0}}}',
    "negative offset": '{"push":{"channel":"c","pub":{"data":1,"offset":-8}}}',
    "time as string": '{"push":{"channel":"c","pub":{"data":1,"time":"x"}}}',
    "tags not strings": '{"push":{"channel":"c","pub":{"data":1,"tags":{"k":1}}}}',
    "tags a list": '{"push":{"channel":"c","pub":{"data":1,"tags":["k"]}}}',
    "info a string": '{"push":{"channel":"c","pub":{"data":1,"info":"me"}}}',
    "info user a number": '{"push":{"channel":"c","join":{"info":{"user":42}}}}',
    "join not an object": '{"push":{"channel":"c","join":true}}',
    "unsubscribe code a string": '{"push":{"channel":"c","unsubscribe":{"code":"2000"}}}',
    "unsubscribe reason a number": '{"push":{"channel":"c","unsubscribe":{"code":1,"reason":2}}}',
    "disconnect code negative": '{"push":{"disconnect":{"code":-1}}}',
    "message not an object": '{"push":{"message":"hi"}}',
    "error not an object": '{"id":1,"error":"boom"}',
    "error code a string": '{"id":1,"error":{"code":"103","message":"x"}}',
    "error temporary a string": '{"id":1,"error":{"code":100,"temporary":"yes"}}',
    "error message a number": '{"id":1,"error":{"code":100,"message":1}}',
    "connect not an object": '{"id":1,"connect":[]}',
    "connect ping a bool": '{"id":1,"connect":{"client":"c","ping":true}}',
    "connect pong a number": '{"id":1,"connect":{"client":"c","pong":1}}',
    "connect client a number": '{"id":1,"connect":{"client":5}}',
    "connect subs a list": '{"id":1,"connect":{"client":"c","subs":[]}}',
    "connect sub not an object": '{"id":1,"connect":{"client":"c","subs":{"a":1}}}',
    "subscribe offset negative": '{"id":2,"subscribe":{"offset":-1}}',
    "subscribe epoch a number": '{"id":2,"subscribe":{"epoch":5}}',
    "subscribe recovered a string": '{"id":2,"subscribe":{"recovered":"true"}}',
    "publications an object": '{"id":2,"subscribe":{"publications":{}}}',
    "publication in list not an object": '{"id":2,"subscribe":{"publications":[1]}}',
    "history offset a bool": '{"id":8,"history":{"publications":[],"epoch":"e","offset":false}}',
    "presence map a list": '{"id":6,"presence":{"presence":[]}}',
    "presence entry a string": '{"id":6,"presence":{"presence":{"c":"x"}}}',
    "presence_stats count a float": '{"id":7,"presence_stats":{"num_clients":1.5}}',
    "refresh ttl a string": '{"id":9,"refresh":{"ttl":"10"}}',
    "sub_refresh expires a number": '{"id":9,"sub_refresh":{"expires":1}}',
    "publish result a list": '{"id":5,"publish":[]}',
    "rpc result a string": '{"id":5,"rpc":"x"}',
}


@pytest.mark.parametrize("line", list(BAD_LINES.values()), ids=list(BAD_LINES))
def test_bad_line_raises_decode_error_only(line):
    with pytest.raises(DecodeError):
        codec.decode_replies(line)
    # The same line after a good one: still only DecodeError, nothing half-applied.
    with pytest.raises(DecodeError):
        codec.decode_replies(encode_replies(ping(), line))


def test_binary_message_is_a_decode_error():
    with pytest.raises(DecodeError, match="binary"):
        codec.decode_replies(b'{"id":1,"publish":{}}')


def test_decode_error_is_raised_without_a_chained_cause():
    # The session reports str(exc); a chained JSONDecodeError would only be noise.
    with pytest.raises(DecodeError) as info:
        codec.decode_replies("{")
    assert info.value.__cause__ is None


def test_a_valid_line_is_valid_json_from_the_server_codec():
    # Guard for the helpers themselves: what the tests feed is what the server sends.
    assert json.loads(encode_replies(push_pub("c", {"x": "y"}, 3))) == {
        "push": {"channel": "c", "pub": {"data": {"x": "y"}, "offset": 3}}
    }


# -- tags filters and delta payloads (§2.2, §7) -------------------------------------------


def test_a_tags_filter_travels_as_tf_with_zero_values_left_out():
    from centrifugo_proto.filters import tags

    wanted = tags.eq("type", "goal") & (tags.in_("team", ["a", "b"]) | ~tags.exists("vip"))
    text = JSON.frame([(1, JSON.encode(SubscribeRequest(channel="c", tags_filter=wanted)))])
    (command,) = decode_commands(text)
    assert command["subscribe"]["tf"] == {
        "op": "and",
        "nodes": [
            {"key": "type", "cmp": "eq", "val": "goal"},
            {
                "op": "or",
                "nodes": [
                    {"key": "team", "cmp": "in", "vals": ["a", "b"]},
                    {"op": "not", "nodes": [{"key": "vip", "cmp": "ex"}]},
                ],
            },
        ],
    }


def test_delta_payloads_are_json_strings_holding_the_payload_text():
    assert JSON.payload_bytes('{"a":"é"}') == '{"a":"é"}'.encode()
    assert JSON.payload_value(b'{"a":"\\u00e9"}') == {"a": "é"}
    for bad in ({"a": 1}, 5, None):
        with pytest.raises(DecodeError, match="must be a JSON string"):
            JSON.payload_bytes(bad)
    with pytest.raises(DecodeError, match="lone surrogate"):
        JSON.payload_bytes("\ud800")
    with pytest.raises(DecodeError, match="not JSON"):
        JSON.payload_value(b"{oops")
    with pytest.raises(DecodeError, match="not JSON"):
        JSON.payload_value(b"\xff")
    with pytest.raises(DecodeError, match="nested too deeply"):
        JSON.payload_value(b"[" * 100_000 + b"]" * 100_000)


def test_a_publication_says_whether_its_data_is_a_delta():
    line = {"push": {"channel": "c", "pub": {"data": "x", "offset": 2, "delta": True}}}
    assert decode_one(line).delta is True
    with pytest.raises(DecodeError, match=r"pub\.delta"):
        decode_one({"push": {"channel": "c", "pub": {"data": "x", "delta": 1}}})


def test_the_hot_path_builds_the_same_publication_as_the_general_path():
    """``plain_publication`` fills the slots itself (DESIGN "The hot path"): the
    object must be indistinguishable from one attrs built."""
    from centrifugo_proto.results import plain_publication

    fast = plain_publication("chat", {"n": 1}, 7)
    slow = Publication(channel="chat", data={"n": 1}, offset=7)
    assert fast == slow
    assert hash(plain_publication("c", 1, 0)) == hash(Publication(channel="c", data=1))
    assert repr(fast) == repr(slow)
    assert [getattr(fast, f) for f in slow.__slots__ if f != "__weakref__"] == [
        getattr(slow, f) for f in slow.__slots__ if f != "__weakref__"
    ]
    # Both paths decode the same line to equal objects.
    line = {"push": {"channel": "chat", "pub": {"data": {"n": 1}, "offset": 7}}}
    assert decode_one(line) == slow
    assert codec._push(line["push"]) == slow


def test_the_hot_path_builds_the_same_event_as_attrs():
    """``received`` fills the event's slots itself, as ``plain_publication`` does."""
    from centrifugo_proto.events import PublicationReceived, received

    pub = Publication(channel="chat", data=1)
    fast, slow = received(pub), PublicationReceived(publication=pub)
    assert fast == slow
    assert hash(fast) == hash(slow)
    assert repr(fast) == repr(slow)
    assert fast.publication is pub
    assert fast.server_side is False
