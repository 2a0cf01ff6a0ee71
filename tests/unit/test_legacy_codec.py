"""The 1.x JSON codec (LEGACY-V1.md §1-§4), on the frames a real 1.8.0 sent (§11).

Typed commands out, typed replies and messages in, ``DecodeError`` only.
"""

from __future__ import annotations

import json

import pytest

from centrifugo_proto import (
    ClientInfo,
    ConnectResult,
    DecodeError,
    HistoryResult,
    LocalProtocolError,
    PingResult,
    PresenceResult,
    Publication,
    PublishResult,
    RefreshResult,
    ReplyError,
    StreamPosition,
    SubscribeResult,
    UnsubscribeResult,
)
from centrifugo_proto.codecs.legacy import LegacyCodec
from centrifugo_proto.commands import (
    ConnectRequest,
    HistoryRequest,
    PingRequest,
    PresenceRequest,
    PublishRequest,
    RefreshRequest,
    RpcRequest,
    SubscribeRequest,
    UnsubscribeRequest,
)
from centrifugo_proto.messages import Ignored, Join, Leave, Push, Reply, ServerDisconnect

CODEC = LegacyCodec()


def sent(*commands):
    """The client's message for ``(uid, command)`` pairs, parsed back."""
    return json.loads(CODEC.frame([(uid, CODEC.encode(c)) for uid, c in commands]))


def one(entry):
    (decoded,) = CODEC.decode(json.dumps(entry))
    return decoded


def test_commands_encode_as_the_1x_envelope_with_string_params():
    assert sent(("1", ConnectRequest(user="42", timestamp="1796155255", token="02da"))) == {
        "uid": "1",
        "method": "connect",
        "params": {"user": "42", "timestamp": "1796155255", "token": "02da"},
    }
    batch = sent(
        ("8", PingRequest()),
        ("9", PresenceRequest("news")),
        ("10", PingRequest("hey")),
        ("11", SubscribeRequest(channel="news", recover=True, last="hmebKh")),
        ("12", SubscribeRequest(channel="$secret", token="fbaa", client="4b92", info="")),
        ("13", UnsubscribeRequest("news")),
        ("14", PublishRequest("news", {"text": "hi"})),
        ("15", HistoryRequest(channel="news")),
        ("16", RefreshRequest(token="34f1", user="42", timestamp="1796156348", info="{}")),
    )
    assert batch == [
        {"uid": "8", "method": "ping"},  # no params: servers from 1.6.0 take it (§2.8)
        {"uid": "9", "method": "presence", "params": {"channel": "news"}},
        {"uid": "10", "method": "ping", "params": {"data": "hey"}},
        {
            "uid": "11",
            "method": "subscribe",
            "params": {"channel": "news", "recover": True, "last": "hmebKh"},
        },
        {
            "uid": "12",
            "method": "subscribe",
            "params": {"channel": "$secret", "client": "4b92", "info": "", "sign": "fbaa"},
        },
        {"uid": "13", "method": "unsubscribe", "params": {"channel": "news"}},
        {"uid": "14", "method": "publish", "params": {"channel": "news", "data": {"text": "hi"}}},
        {"uid": "15", "method": "history", "params": {"channel": "news"}},
        {
            "uid": "16",
            "method": "refresh",
            "params": {"user": "42", "timestamp": "1796156348", "info": "{}", "token": "34f1"},
        },
    ]  # fmt: skip


@pytest.mark.parametrize(
    "command",
    [
        RpcRequest("m"),
        HistoryRequest(channel="c", limit=5),
        HistoryRequest(channel="c", since=StreamPosition(1, "e")),
    ],
    ids=["rpc", "history limit", "history since"],
)
def test_what_1x_cannot_say_is_refused(command):
    with pytest.raises(LocalProtocolError):
        CODEC.encode(command)


@pytest.mark.parametrize("data", [float("nan"), {"\ud800": 1}, object(), [[[]]] * 0 or None])
def test_payloads_are_checked(data):
    if data is None:
        CODEC.check_payload(data)
        return
    with pytest.raises(LocalProtocolError):
        CODEC.check_payload(data)


def test_the_nesting_limit_is_a_refusal_too():
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(LocalProtocolError, match="nested"):
        CODEC.check_payload(deep)


def test_the_frames_a_real_1_8_0_sent_decode_as_typed_objects():
    """Verbatim from LEGACY-V1.md §11."""
    frames = [
        '{"uid":"1","method":"connect","body":{"version":"1.8.0","client":"4b92d9bd-87a0-4ddc-8c85-d2bcd902a9b2","expires":false,"expired":false,"ttl":0}}',
        '{"method":"join","body":{"channel":"public:chat","data":{"default_info":{"name":"anon"},"user":"","client":"ccb422dd"}}}',
        '{"uid":"17","method":"subscribe","body":{"channel":"news","status":true,"last":"","messages":[{"uid":"hmebKhjjaKmen1t8HPeKyS","channel":"news","data":{"n":4}},{"uid":"hmebKhjjaKmen1t8HPeKxp","channel":"news","data":{"n":3}}],"recovered":true}}',
        '{"method":"message","body":{"uid":"hmebKhjjaKmen1t8HPeKwZ","client":"ccb422dd","info":{"default_info":{"name":"anon"},"user":"","client":"ccb422dd"},"channel":"public:chat","data":{"input":"hi"}}}',
        '{"uid":"3","method":"publish","body":{"channel":"public:chat","status":true}}',
        '{"method":"leave","body":{"channel":"public:chat","data":{"user":"","client":"ccb422dd"}}}',
        '{"uid":"4","method":"unsubscribe","body":{"channel":"public:chat","status":true}}',
        '{"uid":"6","method":"ping"}',
        '{"uid":"2","method":"refresh","body":{"version":"1.8.0","client":"fb76","expires":true,"expired":true,"ttl":10}}',
        '{"method":"unsubscribe","body":{"channel":"news","status":true}}',
    ]  # fmt: skip
    decoded = [m for frame in frames for m in CODEC.decode(frame)]
    assert decoded[0] == Reply(
        "1",
        ConnectResult(client="4b92d9bd-87a0-4ddc-8c85-d2bcd902a9b2", version="1.8.0", uid="1"),
    )
    assert decoded[1] == Push(
        "public:chat", Join(ClientInfo(user="", client="ccb422dd", conn_info={"name": "anon"}))
    )
    assert decoded[2] == Reply(
        "17",
        SubscribeResult(
            publications=(
                Publication(channel="news", data={"n": 3}, uid="hmebKhjjaKmen1t8HPeKxp"),
                Publication(channel="news", data={"n": 4}, uid="hmebKhjjaKmen1t8HPeKyS"),
            ),
            recovered=True,
            uid="17",
        ),
    )
    message = decoded[3]
    assert isinstance(message, Publication)
    assert (message.uid, message.data, message.info.conn_info) == (
        "hmebKhjjaKmen1t8HPeKwZ",
        {"input": "hi"},
        {"name": "anon"},
    )
    assert decoded[4] == Reply("3", PublishResult(uid="3"))
    assert decoded[5] == Push("public:chat", Leave(ClientInfo(user="", client="ccb422dd")))
    assert decoded[6] == Reply("4", UnsubscribeResult(uid="4"))
    assert decoded[7] == Reply("6", PingResult(uid="6"))
    assert decoded[8] == Reply(
        "2",
        RefreshResult(client="fb76", version="1.8.0", expires=True, expired=True, ttl=10, uid="2"),
    )
    assert decoded[9].body.code == 2000  # a server unsubscribe: no uid (§3)


def test_an_array_holds_replies_in_command_order_and_history_comes_oldest_first():
    batch = json.dumps(
        [
            {"uid": "8", "method": "ping"},
            {
                "uid": "9",
                "method": "history",
                "body": {
                    "channel": "news",
                    "data": [
                        {"uid": "B", "channel": "news", "data": 2},
                        {"uid": "A", "channel": "news", "data": 1},
                    ],
                },
            },
            {
                "uid": "10",
                "method": "presence",
                "body": {"channel": "news", "data": {"c1": {"user": "42", "client": "c1"}}},
            },
        ]
    )  # fmt: skip
    ping, history, presence = CODEC.decode(batch)
    assert ping == Reply("8", PingResult(uid="8"))
    assert history.result == HistoryResult(
        publications=(
            Publication(channel="news", data=1, uid="A"),
            Publication(channel="news", data=2, uid="B"),
        ),
        offset=0,
        epoch="",
        uid="9",
    )
    assert presence.result == PresenceResult(
        clients={"c1": ClientInfo(user="42", client="c1")}, uid="10"
    )


@pytest.mark.parametrize(
    ("error", "advice", "expected"),
    [
        ("permission denied", "fix", ReplyError(103, "permission denied")),
        ("not available", "retry", ReplyError(108, "not available", temporary=True)),
        ("namespace not found", "fix", ReplyError(102, "namespace not found")),
        ("already subscribed", None, ReplyError(105, "already subscribed")),
        ("something new", "retry", ReplyError(100, "something new", temporary=True)),
        ("something new", "fix", ReplyError(107, "something new")),
    ],
)
def test_errors_map_to_the_current_codes_and_retry_is_temporary(error, advice, expected):
    entry = {"uid": "5", "method": "publish", "error": error, "body": {"status": False}}
    if advice is not None:
        entry["advice"] = advice
    assert one(entry) == Reply("5", None, expected)


def test_an_error_of_null_or_empty_is_success():
    """Servers before 1.3.2 wrote ``"error": null`` on every reply (§4)."""
    for empty in (None, ""):
        entry = {"uid": "5", "method": "publish", "error": empty, "body": {"status": True}}
        assert one(entry) == Reply("5", PublishResult(uid="5"))


def test_old_servers_disconnect_push_and_unknown_messages():
    disconnect = one(
        {"method": "disconnect", "body": {"reason": "shutting down", "reconnect": True}}
    )
    assert disconnect == Push(
        "", ServerDisconnect(3000, json.dumps({"reason": "shutting down", "reconnect": True}))
    )
    assert one({"method": "novelty", "body": {"channel": "x"}}) == Push("x", Ignored("novelty"))


@pytest.mark.parametrize(
    "frame",
    [
        "{not json",
        "[" * 100_000 + "]" * 100_000,
        '"a string"',
        "[1]",
        '{"uid":"1","method":"frobnicate","body":{}}',
        '{"uid":"1","method":"connect","body":{"client":5}}',
        '{"uid":"1","method":"connect","body":{"expired":"no"}}',
        '{"uid":"1","method":"connect","body":{"ttl":-1}}',
        '{"uid":"1","method":"subscribe","body":{"messages":{}}}',
        '{"uid":"1","method":"subscribe","body":{"recovered":1}}',
        '{"uid":"1","method":"publish","error":5}',
        '{"uid":"1","method":"publish","error":"x","advice":7}',
        '{"uid":7,"method":"publish"}',
        '{"uid":"1","method":"publish","body":[]}',
        '{"method":"message","body":{"uid":5}}',
        '{"method":"join","body":{"channel":"c","data":{"user":1}}}',
        '{"method":"join","body":"x"}',
        '{"uid":"1","method":"ping","body":{"data":1}}',
        '{"method":3}',
    ],
)
def test_frames_that_break_the_grammar_are_decode_errors(frame):
    with pytest.raises(DecodeError):
        CODEC.decode(frame)


def test_binary_frames_and_deltas_do_not_exist_in_1x():
    with pytest.raises(DecodeError, match="binary"):
        CODEC.decode(b"{}")
    with pytest.raises(DecodeError, match="delta"):
        CODEC.payload_bytes("x")
    with pytest.raises(DecodeError, match="delta"):
        CODEC.payload_value(b"x")
