"""Server API requests: the caller's input is checked where it is given, and each
request becomes the JSON body the v6.9.1 server reads (centrifugo_proto/api)."""

from __future__ import annotations

import json
import math

import pytest

from centrifugo_proto import LocalProtocolError, StreamPosition
from centrifugo_proto.api import (
    BatchRequest,
    BroadcastRequest,
    ChannelsRequest,
    DisconnectRequest,
    HistoryRemoveRequest,
    HistoryRequest,
    InfoRequest,
    PresenceRequest,
    PresenceStatsRequest,
    PublishRequest,
    RefreshRequest,
    RpcRequest,
    SubscribeOverride,
    SubscribeRequest,
    UnsubscribeRequest,
)
from centrifugo_proto.api.encode import encode_body, encode_params
from centrifugo_proto.api.validate import check_strs, encode_json


def body(request):
    return json.loads(encode_body(request))


# -- bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (PublishRequest("chat:a", {"x": 1}), {"channel": "chat:a", "data": {"x": 1}}),
        (PublishRequest("chat:a"), {"channel": "chat:a", "data": None}),
        (PublishRequest("chat:a", 0), {"channel": "chat:a", "data": 0}),
        (
            PublishRequest(
                "chat:a",
                [1],
                skip_history=True,
                tags={"k": "v"},
                idempotency_key="id-1",
                delta=True,
                version=7,
                version_epoch="e1",
            ),
            {
                "channel": "chat:a",
                "data": [1],
                "skip_history": True,
                "tags": {"k": "v"},
                "idempotency_key": "id-1",
                "delta": True,
                "version": 7,
                "version_epoch": "e1",
            },
        ),
        (PublishRequest("c", b64data="eyJ4IjoxfQ=="), {"channel": "c", "b64data": "eyJ4IjoxfQ=="}),
        (PublishRequest("c", "", tags={}), {"channel": "c", "data": ""}),
        (
            BroadcastRequest(["a", "b"], {"y": 2}, skip_history=True),
            {"channels": ["a", "b"], "data": {"y": 2}, "skip_history": True},
        ),
        (BroadcastRequest(("a",), b64data="AA=="), {"channels": ["a"], "b64data": "AA=="}),
        (SubscribeRequest("42", "chat:b"), {"user": "42", "channel": "chat:b"}),
        (
            SubscribeRequest(
                "42",
                "chat:b",
                client="c1",
                session="s1",
                info={"i": 1},
                data=False,
                expire_at=1_900_000_000,
                recover_since=StreamPosition(5, "ep"),
                override=SubscribeOverride(presence=False, force_push_join_leave=True),
            ),
            {
                "user": "42",
                "channel": "chat:b",
                "client": "c1",
                "session": "s1",
                "info": {"i": 1},
                "data": False,
                "expire_at": 1_900_000_000,
                "recover_since": {"offset": 5, "epoch": "ep"},
                "override": {
                    "presence": {"value": False},
                    "force_push_join_leave": {"value": True},
                },
            },
        ),
        (
            SubscribeRequest("", "c", b64info="AA==", b64data="AQ==", override=SubscribeOverride()),
            {"user": "", "channel": "c", "b64info": "AA==", "b64data": "AQ==", "override": {}},
        ),
        (
            SubscribeRequest(
                "u",
                "c",
                override=SubscribeOverride(
                    join_leave=True, force_recovery=True, force_positioning=False
                ),
            ),
            {
                "user": "u",
                "channel": "c",
                "override": {
                    "join_leave": {"value": True},
                    "force_recovery": {"value": True},
                    "force_positioning": {"value": False},
                },
            },
        ),
        (UnsubscribeRequest("42", "chat:b"), {"user": "42", "channel": "chat:b"}),
        (
            UnsubscribeRequest("42", "chat:b", client="c", session="s"),
            {"user": "42", "channel": "chat:b", "client": "c", "session": "s"},
        ),
        (DisconnectRequest("42"), {"user": "42"}),
        (
            DisconnectRequest(
                "42", code=4500, reason="bye", client="c", whitelist=["w"], session="s"
            ),
            {
                "user": "42",
                "disconnect": {"code": 4500, "reason": "bye"},
                "client": "c",
                "session": "s",
                "whitelist": ["w"],
            },
        ),
        (DisconnectRequest("42", reason="r"), {"user": "42", "disconnect": {"reason": "r"}}),
        (RefreshRequest("42"), {"user": "42"}),
        (
            RefreshRequest("42", client="c", session="s", expired=True, expire_at=5, info=[]),
            {
                "user": "42",
                "client": "c",
                "session": "s",
                "expired": True,
                "expire_at": 5,
                "info": [],
            },
        ),
        (PresenceRequest("chat:a"), {"channel": "chat:a"}),
        (PresenceStatsRequest("chat:a"), {"channel": "chat:a"}),
        (HistoryRequest("chat:a"), {"channel": "chat:a"}),
        (
            HistoryRequest("chat:a", limit=-1, since=StreamPosition(0, "e"), reverse=True),
            {"channel": "chat:a", "limit": -1, "since": {"epoch": "e"}, "reverse": True},
        ),
        (HistoryRemoveRequest("chat:a"), {"channel": "chat:a"}),
        (ChannelsRequest(), {}),
        (ChannelsRequest(pattern="chat:*"), {"pattern": "chat:*"}),
        (InfoRequest(), {}),
        (RpcRequest("echo"), {"method": "echo"}),
        (RpcRequest("echo", {"p": None}), {"method": "echo", "params": {"p": None}}),
        (BatchRequest([]), {"commands": []}),
        (
            BatchRequest([PublishRequest("a", 1), InfoRequest()], parallel=True),
            {
                "commands": [{"publish": {"channel": "a", "data": 1}}, {"info": {}}],
                "parallel": True,
            },
        ),
    ],
)
def test_request_bodies(request_, expected):
    assert body(request_) == expected


def test_body_is_compact_utf8():
    assert encode_body(PublishRequest("ч", "é")) == '{"channel":"ч","data":"é"}'.encode()


def test_encode_params_is_the_batch_entry():
    assert encode_params(PresenceRequest("a")) == {"channel": "a"}


def test_routes():
    routes = [
        r.route
        for r in (
            PublishRequest("a"),
            BroadcastRequest(["a"]),
            SubscribeRequest("u", "a"),
            UnsubscribeRequest("u", "a"),
            DisconnectRequest("u"),
            RefreshRequest("u"),
            PresenceRequest("a"),
            PresenceStatsRequest("a"),
            HistoryRequest("a"),
            HistoryRemoveRequest("a"),
            ChannelsRequest(),
            InfoRequest(),
            RpcRequest("m"),
            BatchRequest([]),
        )
    ]
    assert routes == [
        "publish",
        "broadcast",
        "subscribe",
        "unsubscribe",
        "disconnect",
        "refresh",
        "presence",
        "presence_stats",
        "history",
        "history_remove",
        "channels",
        "info",
        "rpc",
        "batch",
    ]


def test_requests_are_frozen_values():
    a, b = PublishRequest("c", 1, tags={"k": "v"}), PublishRequest("c", 1, tags={"k": "v"})
    assert a == b
    with pytest.raises(AttributeError):
        a.channel = "d"  # type: ignore[misc]


def test_tags_are_copied():
    tags = {"k": "v"}
    request = PublishRequest("c", 1, tags=tags)
    tags["k"] = "changed"
    assert request.tags == {"k": "v"}


# -- the caller's mistakes, refused at the call ----------------------------------------------


class Unencodable:
    pass


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: PublishRequest(b"chan", 1), "channel must be a str"),
        (lambda: PublishRequest("\ud800", 1), "channel cannot be sent: it holds a lone surrogate"),
        (lambda: PublishRequest("c", math.nan), "data is not JSON"),
        (lambda: PublishRequest("c", {"x": math.inf}), "data is not JSON"),
        (lambda: PublishRequest("c", {"x": "\udfff"}), "data holds a lone surrogate"),
        (lambda: PublishRequest("c", Unencodable()), "data is not JSON"),
        (lambda: PublishRequest("c", {1: {"a"}}), "data is not JSON"),
        (lambda: PublishRequest("c", 1, b64data="AA=="), "give data or b64data"),
        (lambda: PublishRequest("c", b64data="not base64!"), "b64data is not standard base64"),
        (lambda: PublishRequest("c", b64data="AA="), "b64data is not standard base64"),
        (lambda: PublishRequest("c", b64data="é"), "b64data is not standard base64"),
        (lambda: PublishRequest("c", b64data=b"AA=="), "b64data must be a str"),
        (lambda: PublishRequest("c", 1, skip_history=1), "skip_history must be a bool"),
        (lambda: PublishRequest("c", 1, tags={"k": 1}), "tags value must be a str"),
        (lambda: PublishRequest("c", 1, tags={1: "v"}), "tags key must be a str"),
        (lambda: PublishRequest("c", 1, tags=[("k", "v")]), "tags must be a mapping"),
        (lambda: PublishRequest("c", 1, version=-1), r"version must be in \[0, "),
        (lambda: PublishRequest("c", 1, version=1 << 64), r"version must be in \[0, "),
        (lambda: PublishRequest("c", 1, version=True), "version must be an int"),
        (lambda: PublishRequest("c", 1, version=1.0), "version must be an int"),
        (lambda: PublishRequest("c", 1, idempotency_key=None), "idempotency_key must be a str"),
        (lambda: PublishRequest("c", 1, delta="yes"), "delta must be a bool"),
        (lambda: PublishRequest("c", 1, version_epoch=1), "version_epoch must be a str"),
        (lambda: BroadcastRequest("chat:a", 1), "channels must be a sequence of str"),
        (lambda: BroadcastRequest(None, 1), "channels must be a sequence of str"),
        (lambda: BroadcastRequest(["a", b"b"], 1), "channels item must be a str"),
        (lambda: BroadcastRequest(["a"], 1, b64data="AA=="), "give data or b64data"),
        (lambda: SubscribeRequest(42, "c"), "user must be a str"),
        (lambda: SubscribeRequest("u", "c", info={1, 2}), "info is not JSON"),
        (lambda: SubscribeRequest("u", "c", info=1, b64info="AA=="), "give info or b64info"),
        (lambda: SubscribeRequest("u", "c", data=1, b64data="AA=="), "give data or b64data"),
        (lambda: SubscribeRequest("u", "c", expire_at=1 << 63), "expire_at must be in"),
        (lambda: SubscribeRequest("u", "c", recover_since=(1, "e")), "StreamPosition or None"),
        (
            lambda: SubscribeRequest("u", "c", recover_since=StreamPosition(-1, "e")),
            "recover_since.offset must be in",
        ),
        (
            lambda: SubscribeRequest("u", "c", recover_since=StreamPosition(1, 2)),
            "recover_since.epoch must be a str",
        ),
        (lambda: SubscribeRequest("u", "c", override={"presence": True}), "SubscribeOverride"),
        (lambda: SubscribeOverride(presence="yes"), "presence must be a bool"),
        (lambda: UnsubscribeRequest("u", None), "channel must be a str"),
        (lambda: DisconnectRequest("u", code=-1), "code must be in"),
        (lambda: DisconnectRequest("u", code=1 << 32), "code must be in"),
        (lambda: DisconnectRequest("u", whitelist="client"), "whitelist must be a sequence"),
        (lambda: RefreshRequest("u", expired=None), "expired must be a bool"),
        (lambda: RefreshRequest("u", info=math.nan), "info is not JSON"),
        (lambda: HistoryRequest("c", limit=1 << 31), "limit must be in"),
        (lambda: HistoryRequest("c", limit="10"), "limit must be an int"),
        (lambda: HistoryRequest("c", since=StreamPosition(1 << 64, "")), "since.offset"),
        (lambda: ChannelsRequest(pattern=None), "pattern must be a str"),
        (lambda: RpcRequest(b"m"), "method must be a str"),
        (lambda: RpcRequest("m", Unencodable()), "params is not JSON"),
        (lambda: BatchRequest(PublishRequest("a")), "commands must be a sequence"),
        (lambda: BatchRequest([{"publish": {}}]), "a batch holds API requests"),
        (lambda: BatchRequest([BatchRequest([])]), "a batch holds API requests other than batch"),
        (lambda: BatchRequest([], parallel=1), "parallel must be a bool"),
    ],
)
def test_bad_input_is_refused_at_the_call(build, message):
    with pytest.raises(LocalProtocolError, match=message):
        build()


def test_encode_json_refuses_what_json_cannot_carry():
    with pytest.raises(LocalProtocolError, match="body is not JSON"):
        encode_json(object())
    assert encode_json([1, "x"]) == b'[1,"x"]'


def test_check_strs_takes_any_iterable_of_str():
    assert check_strs(iter(["a", "b"]), "x") == ("a", "b")
    with pytest.raises(LocalProtocolError, match="x must be a sequence of str"):
        check_strs(b"ab", "x")
