"""The 1.x server API (centrifugo_proto/api/legacy*.py): signed bodies and answer
arrays. The answers are built here in the shapes LEGACY-V1.md §11.9 recorded from a
real 1.8.0 and the v1.8.0 source (``proto/response.go``)."""

from __future__ import annotations

import json

import pytest

from centrifugo_proto import ClientInfo, DecodeError, LocalProtocolError, generate_token
from centrifugo_proto.api import (
    ApiHttpError,
    ApiUnauthorized,
    LegacyApiError,
    LegacyBatch,
    LegacyBroadcast,
    LegacyChannels,
    LegacyChannelsResult,
    LegacyDisconnect,
    LegacyHistory,
    LegacyHistoryResult,
    LegacyMessage,
    LegacyNode,
    LegacyNodeInfo,
    LegacyPresence,
    LegacyPresenceResult,
    LegacyPublish,
    LegacyStats,
    LegacyStatsResult,
    LegacyUnsubscribe,
)
from centrifugo_proto.api.legacy_exchange import (
    encode_legacy_body,
    legacy_http_request,
    read_legacy_response,
)
from centrifugo_proto.http import HttpResponse
from centrifugo_proto.http_url import parse_http_url

URL = parse_http_url("http://127.0.0.1:8000/api/")
#: LEGACY-V1.md §5, the API sign vector.
VECTOR_BODY = b'{"method":"publish","params":{"channel":"news","data":{"text":"hi"}}}'
VECTOR_SIGN = "b2bb5ed54c09decc4db2c7eac143eb493c6310ec8f621c7ce1a8ce66a3540ac2"


def ok(entries) -> HttpResponse:
    return HttpResponse(status=200, reason="OK", body=json.dumps(entries).encode())


def test_the_sign_vector_of_legacy_v1_section_5():
    request = legacy_http_request(URL, "secret", LegacyPublish("news", {"text": "hi"}))
    assert request.body == VECTOR_BODY
    assert dict(request.headers)["X-API-Sign"] == VECTOR_SIGN
    assert generate_token("secret", request.body.decode()) == VECTOR_SIGN
    assert (request.method, request.target) == ("POST", "/api/")
    assert ("Content-Type", "application/json") in request.headers
    assert VECTOR_SIGN not in repr(request)


def test_the_sign_covers_the_exact_utf8_body():
    request = legacy_http_request(URL, "ключ", LegacyPublish("новости", "é"))
    assert dict(request.headers)["X-API-Sign"] == generate_token("ключ", request.body.decode())
    assert "новости".encode() in request.body


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (
            LegacyPublish("news", 1, client="c1", uid="u1"),
            {
                "method": "publish",
                "params": {"channel": "news", "data": 1, "client": "c1", "uid": "u1"},
            },
        ),
        (
            LegacyPublish("news", None),
            {"method": "publish", "params": {"channel": "news", "data": None}},
        ),
        (
            LegacyBroadcast(["a", "b"], {"x": 1}),
            {"method": "broadcast", "params": {"channels": ["a", "b"], "data": {"x": 1}}},
        ),
        (
            LegacyBroadcast(["a"], 1, client="c"),
            {"method": "broadcast", "params": {"channels": ["a"], "data": 1, "client": "c"}},
        ),
        (
            LegacyUnsubscribe("news", "42"),
            {"method": "unsubscribe", "params": {"channel": "news", "user": "42"}},
        ),
        (LegacyDisconnect("42"), {"method": "disconnect", "params": {"user": "42"}}),
        (LegacyPresence("news"), {"method": "presence", "params": {"channel": "news"}}),
        (LegacyHistory("news"), {"method": "history", "params": {"channel": "news"}}),
        (LegacyChannels(), {"method": "channels", "params": {}}),
        (LegacyStats(), {"method": "stats", "params": {}}),
        (LegacyNode(), {"method": "node", "params": {}}),
        (
            LegacyBatch([LegacyPublish("a", 1), LegacyNode()]),
            [
                {"method": "publish", "params": {"channel": "a", "data": 1}},
                {"method": "node", "params": {}},
            ],
        ),
        (LegacyBatch([]), []),
    ],
)
def test_bodies(request_, expected):
    assert json.loads(encode_legacy_body(request_)) == expected


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: LegacyPublish(b"news", 1), "channel must be a str"),
        (lambda: LegacyPublish("news", float("nan")), "data is not JSON"),
        (lambda: LegacyPublish("news", 1, uid=1), "uid must be a str"),
        (lambda: LegacyBroadcast("news", 1), "channels must be a sequence"),
        (lambda: LegacyUnsubscribe("news", 42), "user must be a str"),
        (lambda: LegacyDisconnect("\ud800"), "lone surrogate"),
        (lambda: LegacyBatch(LegacyNode()), "commands must be a sequence"),
        (lambda: LegacyBatch([LegacyBatch([])]), "a 1.x batch holds 1.x API requests"),
        (lambda: LegacyBatch(["node"]), "a 1.x batch holds 1.x API requests"),
        (lambda: legacy_http_request(URL, "s", {"method": "node"}), "expected a 1.x API request"),
    ],
)
def test_bad_input_is_refused_at_the_call(build, message):
    with pytest.raises(LocalProtocolError, match=message):
        build()


# -- answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "entry", "expected"),
    [
        (LegacyPublish("news", 1), {"method": "publish", "error": None, "body": None}, None),
        (LegacyBroadcast(["a"], 1), {"method": "broadcast", "error": None, "body": None}, None),
        (LegacyUnsubscribe("a", "u"), {"method": "unsubscribe", "error": None, "body": None}, None),
        (LegacyDisconnect("u"), {"method": "disconnect", "error": None, "body": None}, None),
        (
            LegacyPresence("public:chat"),
            {
                "method": "presence",
                "error": None,
                "body": {
                    "channel": "public:chat",
                    "data": {
                        "c1": {"user": "42", "client": "c1", "default_info": {"n": 1}},
                        "c2": {"user": "", "client": "c2", "channel_info": "x"},
                    },
                },
            },
            LegacyPresenceResult(
                channel="public:chat",
                clients={
                    "c1": ClientInfo(user="42", client="c1", conn_info={"n": 1}),
                    "c2": ClientInfo(user="", client="c2", chan_info="x"),
                },
            ),
        ),
        (
            LegacyPresence("a"),
            {"method": "presence", "error": None, "body": {"channel": "a", "data": None}},
            LegacyPresenceResult(channel="a", clients={}),
        ),
        (
            LegacyHistory("news"),
            {
                "method": "history",
                "error": None,
                "body": {
                    "channel": "news",
                    "data": [
                        {"uid": "u2", "channel": "news", "data": {"n": 2}},
                        {
                            "uid": "u1",
                            "channel": "news",
                            "data": {"text": "hello from API"},
                            "client": "c",
                            "info": {"user": "42", "client": "c"},
                        },
                    ],
                },
            },
            LegacyHistoryResult(
                channel="news",
                messages=(
                    LegacyMessage(uid="u2", channel="news", data={"n": 2}),
                    LegacyMessage(
                        uid="u1",
                        channel="news",
                        data={"text": "hello from API"},
                        client="c",
                        info=ClientInfo(user="42", client="c"),
                    ),
                ),
            ),
        ),
        (
            LegacyHistory("news"),
            {"method": "history", "error": None, "body": {"channel": "news", "data": []}},
            LegacyHistoryResult(channel="news", messages=()),
        ),
        (
            LegacyChannels(),
            {"method": "channels", "error": None, "body": {"data": ["news", "public:chat"]}},
            LegacyChannelsResult(channels=("news", "public:chat")),
        ),
        (
            LegacyChannels(),
            {"method": "channels", "error": None, "body": {"data": None}},
            LegacyChannelsResult(channels=()),
        ),
        (
            LegacyStats(),
            {
                "method": "stats",
                "error": None,
                "body": {
                    "data": {
                        "nodes": [
                            {
                                "uid": "n1",
                                "version": "1.8.0",
                                "name": "host_8000",
                                "started_at": 1700000000,
                                "metrics": {"num_clients": 1},
                            }
                        ],
                        "metrics_interval": 60,
                    }
                },
            },
            LegacyStatsResult(
                nodes=(
                    LegacyNodeInfo(
                        uid="n1",
                        version="1.8.0",
                        name="host_8000",
                        started_at=1700000000,
                        metrics={"num_clients": 1},
                    ),
                ),
                metrics_interval=60,
            ),
        ),
        (
            LegacyNode(),
            {
                "method": "node",
                "error": None,
                "body": {"data": {"uid": "n1", "version": "1.8.0", "name": "h", "metrics": None}},
            },
            LegacyNodeInfo(uid="n1", version="1.8.0", name="h"),
        ),
    ],
)
def test_answers(request_, entry, expected):
    assert read_legacy_response(request_, ok([entry])) == expected


def test_a_failed_command_raises_its_error():
    entry = {"method": "publish", "error": "namespace not found", "advice": "fix", "body": None}
    with pytest.raises(LegacyApiError) as caught:
        read_legacy_response(LegacyPublish("nope:a", 1), ok([entry]))
    error = caught.value
    assert (error.method, error.message, error.advice) == ("publish", "namespace not found", "fix")
    assert str(error) == "publish: namespace not found (advice: fix)"
    assert repr(error) == (
        "LegacyApiError(method='publish', message='namespace not found', advice='fix')"
    )


def test_a_batch_keeps_failed_commands_as_items():
    batch = LegacyBatch([LegacyPublish("news", 1), LegacyPublish("nope:a", 1), LegacyChannels()])
    answer = [
        {"method": "publish", "error": None, "body": None},
        {"method": "publish", "error": "namespace not found", "advice": "fix", "body": None},
        {"method": "channels", "error": None, "body": {"data": ["news"]}},
    ]
    assert read_legacy_response(batch, ok(answer)) == [
        None,
        LegacyApiError("publish", "namespace not found", "fix"),
        LegacyChannelsResult(channels=("news",)),
    ]


def test_legacy_api_errors_are_values():
    error = LegacyApiError("publish", "not available")
    assert error == LegacyApiError("publish", "not available", "")
    assert error != LegacyApiError("publish", "not available", "retry")
    assert error != "publish: not available"
    assert hash(error) == hash(LegacyApiError("publish", "not available"))
    assert str(error) == "publish: not available"


@pytest.mark.parametrize(
    ("request_", "body", "message"),
    [
        (LegacyNode(), b"{}", "the 1.x answer must be an array"),
        (LegacyNode(), b"<html>", "not JSON"),
        (LegacyNode(), b"[]", "1 commands got 0 answers"),
        (LegacyNode(), b"[1]", "answer entry must be an object"),
        (LegacyNode(), b'[{"method":"stats"}]', "a node command got a 'stats' answer"),
        (LegacyNode(), b'[{"method":"node","error":1}]', "error must be a string"),
        (LegacyNode(), b'[{"method":"node","error":"e","advice":1}]', "advice must be a string"),
        (LegacyNode(), b'[{"method":"node","body":{"data":1}}]', "node must be an object"),
        (LegacyNode(), b'[{"method":"node","body":{"data":{"uid":1}}}]', "node.uid must be"),
        (
            LegacyNode(),
            b'[{"method":"node","body":{"data":{"metrics":{"m":"1"}}}}]',
            "node.metrics.m must be an integer",
        ),
        (LegacyStats(), b'[{"method":"stats","body":{"data":[]}}]', "stats data must be"),
        (LegacyChannels(), b'[{"method":"channels","body":{"data":[1]}}]', "must hold strings"),
        (LegacyChannels(), b'[{"method":"channels","body":{"data":{"a":1}}}]', "must be an array"),
        (LegacyHistory("a"), b'[{"method":"history","body":null}]', "history body must be"),
        (
            LegacyHistory("a"),
            b'[{"method":"history","body":{"data":[{"info":1}]}}]',
            "message.info must be an object",
        ),
        (
            LegacyPresence("a"),
            b'[{"method":"presence","body":{"data":{"c":{"client":2}}}}]',
            "client must be a string",
        ),
    ],
)
def test_answers_that_are_not_what_was_asked_for(request_, body, message):
    response = HttpResponse(status=200, reason="OK", body=body)
    with pytest.raises(DecodeError, match=message):
        read_legacy_response(request_, response)


def test_400_and_401_are_plain_text_for_the_whole_request():
    bad = HttpResponse(status=400, reason="Bad Request", body=b"Bad Request\n")
    with pytest.raises(ApiHttpError) as caught:
        read_legacy_response(LegacyNode(), bad)
    assert (caught.value.status, caught.value.body) == (400, "Bad Request")
    refused = HttpResponse(status=401, reason="Unauthorized", body=b"Unauthorized\n")
    with pytest.raises(ApiUnauthorized):
        read_legacy_response(LegacyNode(), refused)
