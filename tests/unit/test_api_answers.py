"""Server API answers to typed results and errors (centrifugo_proto/api/decode.py,
exchange.py). The answer bodies are built here, in the shapes a v6.9.1 server sent
(recorded in the module docstring of centrifugo_proto/api/requests.py)."""

from __future__ import annotations

import json

import pytest

from centrifugo_proto import (
    ClientInfo,
    DecodeError,
    HistoryResult,
    LocalProtocolError,
    PresenceResult,
    PresenceStatsResult,
    Publication,
    RpcResult,
)
from centrifugo_proto.api import (
    ApiError,
    ApiHttpError,
    ApiUnauthorized,
    BatchRequest,
    BroadcastRequest,
    BroadcastResult,
    ChannelInfo,
    ChannelsRequest,
    ChannelsResult,
    DisconnectRequest,
    DisconnectResult,
    HistoryRemoveRequest,
    HistoryRemoveResult,
    HistoryRequest,
    InfoRequest,
    InfoResult,
    NodeInfo,
    NodeMetrics,
    NodeProcess,
    PresenceRequest,
    PresenceStatsRequest,
    PublishRequest,
    PublishResult,
    RefreshRequest,
    RefreshResult,
    RpcRequest,
    SubscribeRequest,
    SubscribeResult,
    UnsubscribeRequest,
    UnsubscribeResult,
)
from centrifugo_proto.api.decode import decode_answer
from centrifugo_proto.api.exchange import check_header_secret, http_request, read_response
from centrifugo_proto.errors import CentrifugoError, ReplyError
from centrifugo_proto.http import HttpResponse
from centrifugo_proto.http_url import parse_http_url


def answer(value) -> bytes:
    return json.dumps(value).encode()


def ok(result) -> bytes:
    return answer({"result": result})


# -- results ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "body", "expected"),
    [
        (
            PublishRequest("chat:a", 1),
            ok({"offset": 1, "epoch": "oyDVmjBp"}),
            PublishResult(offset=1, epoch="oyDVmjBp"),
        ),
        (PublishRequest("public:a", 1), ok({}), PublishResult()),
        (
            BroadcastRequest(["chat:a", "nope:b", "public:c"], 1),
            ok(
                {
                    "responses": [
                        {"result": {"offset": 5, "epoch": "e"}},
                        {"error": {"code": 102, "message": "unknown channel"}},
                        {"result": {}},
                    ]
                }
            ),
            BroadcastResult(
                responses=(
                    PublishResult(offset=5, epoch="e"),
                    ApiError(102, "unknown channel"),
                    PublishResult(),
                )
            ),
        ),
        (
            BroadcastRequest(["a"], 1),
            ok({"responses": [{}]}),
            BroadcastResult(responses=(PublishResult(),)),
        ),
        (SubscribeRequest("u", "c"), ok({}), SubscribeResult()),
        (UnsubscribeRequest("u", "c"), ok({}), UnsubscribeResult()),
        (DisconnectRequest("u"), ok({}), DisconnectResult()),
        (RefreshRequest("u"), ok({}), RefreshResult()),
        (HistoryRemoveRequest("c"), ok({}), HistoryRemoveResult()),
        (
            PresenceRequest("chat:a"),
            ok(
                {
                    "presence": {
                        "c1": {"user": "42", "client": "c1", "conn_info": {"n": 1}},
                        "c2": {"user": "", "client": "c2", "chan_info": "x"},
                    }
                }
            ),
            PresenceResult(
                clients={
                    "c1": ClientInfo(user="42", client="c1", conn_info={"n": 1}),
                    "c2": ClientInfo(user="", client="c2", chan_info="x"),
                }
            ),
        ),
        (PresenceRequest("chat:a"), ok({"presence": {}}), PresenceResult(clients={})),
        (
            PresenceStatsRequest("chat:a"),
            ok({"num_clients": 2, "num_users": 1}),
            PresenceStatsResult(num_clients=2, num_users=1),
        ),
        (
            HistoryRequest("chat:a", limit=-1),
            ok(
                {
                    "publications": [
                        {"data": {"x": 1}, "offset": 1},
                        {
                            "data": 2,
                            "offset": 2,
                            "tags": {"a": "b"},
                            "info": {"user": "42", "client": "c"},
                        },
                    ],
                    "epoch": "e",
                    "offset": 2,
                }
            ),
            HistoryResult(
                publications=(
                    Publication(channel="chat:a", data={"x": 1}, offset=1),
                    Publication(
                        channel="chat:a",
                        data=2,
                        offset=2,
                        tags={"a": "b"},
                        info=ClientInfo(user="42", client="c"),
                    ),
                ),
                offset=2,
                epoch="e",
            ),
        ),
        (
            HistoryRequest("chat:a"),
            ok({"publications": [], "epoch": "e", "offset": 5}),
            HistoryResult(publications=(), offset=5, epoch="e"),
        ),
        (
            ChannelsRequest(),
            ok({"channels": {"chat:a": {"num_clients": 3}, "chat:b": {}}}),
            ChannelsResult(
                channels={
                    "chat:a": ChannelInfo(num_clients=3),
                    "chat:b": ChannelInfo(num_clients=0),
                }
            ),
        ),
        (ChannelsRequest(), ok({"channels": {}}), ChannelsResult(channels={})),
        (
            InfoRequest(),
            ok(
                {
                    "nodes": [
                        {
                            "uid": "u1",
                            "name": "vm",
                            "version": "0.0.0 OSS",
                            "num_clients": 1,
                            "num_users": 1,
                            "num_channels": 2,
                            "num_subs": 3,
                            "uptime": 10,
                            "metrics": {"interval": 60, "items": {"m": 1, "n": 0.5}},
                            "process": {"cpu": 1.5, "rss": 1000},
                        },
                        {"uid": "u2", "name": "other", "version": "v"},
                    ]
                }
            ),
            InfoResult(
                nodes=(
                    NodeInfo(
                        uid="u1",
                        name="vm",
                        version="0.0.0 OSS",
                        num_clients=1,
                        num_users=1,
                        num_channels=2,
                        num_subs=3,
                        uptime=10,
                        metrics=NodeMetrics(interval=60.0, items={"m": 1.0, "n": 0.5}),
                        process=NodeProcess(cpu=1.5, rss=1000),
                    ),
                    NodeInfo(uid="u2", name="other", version="v"),
                )
            ),
        ),
        (InfoRequest(), ok({}), InfoResult(nodes=())),
        (RpcRequest("m"), ok({"data": {"echo": 1}}), RpcResult(data={"echo": 1})),
        (RpcRequest("m"), ok({}), RpcResult(data=None)),
    ],
)
def test_results(request_, body, expected):
    assert decode_answer(request_, body) == expected


def test_unknown_fields_are_ignored():
    body = ok({"offset": 1, "epoch": "e", "new_field": [1]})
    assert decode_answer(PublishRequest("a"), body) == PublishResult(offset=1, epoch="e")


def test_an_error_answer_raises_api_error():
    body = answer({"error": {"code": 102, "message": "unknown channel"}})
    with pytest.raises(ApiError) as caught:
        decode_answer(PublishRequest("nope:a", 1), body)
    error = caught.value
    assert (error.code, error.message) == (102, "unknown channel")
    assert isinstance(error, ReplyError)
    assert isinstance(error, CentrifugoError)
    assert repr(error) == "ApiError(code=102, message='unknown channel')"
    assert str(error) == "102: unknown channel"


# -- batch -----------------------------------------------------------------------------------


def test_batch_items_are_results_or_errors_in_order():
    batch = BatchRequest(
        [
            PublishRequest("chat:b", 1),
            PublishRequest("nope:b", 1),
            HistoryRequest("chat:b", limit=-1),
            SubscribeRequest("1", "chat:b"),
        ],
        parallel=True,
    )
    body = answer(
        {
            "replies": [
                {"publish": {"offset": 1, "epoch": "R"}},
                {"error": {"code": 102, "message": "unknown channel"}},
                {
                    "history": {
                        "publications": [{"data": 1, "offset": 1}],
                        "epoch": "R",
                        "offset": 1,
                    }
                },
                {"subscribe": {}},
            ]
        }
    )
    assert decode_answer(batch, body) == [
        PublishResult(offset=1, epoch="R"),
        ApiError(102, "unknown channel"),
        HistoryResult(
            publications=(Publication(channel="chat:b", data=1, offset=1),), offset=1, epoch="R"
        ),
        SubscribeResult(),
    ]


def test_empty_batch_answer_is_an_empty_object():
    assert decode_answer(BatchRequest([]), b"{}") == []


@pytest.mark.parametrize(
    ("request_", "body", "message"),
    [
        (PublishRequest("a"), b"not json", "not JSON"),
        (PublishRequest("a"), b"\xff\xfe", "not JSON"),
        (PublishRequest("a"), b"[]", "the answer must be an object"),
        (PublishRequest("a"), b"{}", "neither result nor error"),
        (PublishRequest("a"), ok([]), "publish result must be an object"),
        (PublishRequest("a"), ok({"offset": "1"}), "result.offset must be an integer"),
        (PublishRequest("a"), ok({"offset": True}), "result.offset must be an integer"),
        (PublishRequest("a"), ok({"epoch": 1}), "result.epoch must be str"),
        (PublishRequest("a"), answer({"error": "bad"}), "error must be an object"),
        (PublishRequest("a"), answer({"error": {"code": "102"}}), "error.code must be an integer"),
        (BroadcastRequest(["a", "b"]), ok({"responses": [{}]}), "2 channels got 1 responses"),
        (BroadcastRequest(["a"]), ok({"responses": {}}), "responses must be an array"),
        (BroadcastRequest(["a"]), ok({"responses": [1]}), "responses item must be an object"),
        (
            BroadcastRequest(["a"]),
            ok({"responses": [{"result": 1}]}),
            "responses item.result must be an object",
        ),
        (PresenceRequest("a"), ok({"presence": []}), "result.presence must be dict"),
        (PresenceRequest("a"), ok({"presence": {"c": 1}}), r"presence\['c'\] must be an object"),
        (PresenceRequest("a"), ok({"presence": {"c": {"user": 1}}}), "user must be str"),
        (PresenceStatsRequest("a"), ok({"num_clients": -0.5}), "num_clients must be an integer"),
        (HistoryRequest("a"), ok({"publications": {}}), "publications must be an array"),
        (HistoryRequest("a"), ok({"publications": [1]}), "publication must be an object"),
        (
            HistoryRequest("a"),
            ok({"publications": [{"tags": {"a": 1}}]}),
            "tags must map to strings",
        ),
        (HistoryRequest("a"), ok({"publications": [{"info": 1}]}), "publication.info must be"),
        (ChannelsRequest(), ok({"channels": {"a": 1}}), "channel must be an object"),
        (InfoRequest(), ok({"nodes": [1]}), "node must be an object"),
        (InfoRequest(), ok({"nodes": [{"metrics": 1}]}), "node.metrics must be an object"),
        (
            InfoRequest(),
            ok({"nodes": [{"metrics": {"interval": "60"}}]}),
            "interval must be a number",
        ),
        (InfoRequest(), ok({"nodes": [{"process": {"rss": 1.5}}]}), "rss must be an integer"),
        (BatchRequest([InfoRequest()]), b"{}", "batch of 1 commands got 0 replies"),
        (BatchRequest([InfoRequest()]), answer({"replies": [1]}), "reply must be an object"),
        (
            BatchRequest([InfoRequest()]),
            answer({"replies": [{"publish": {}}]}),
            "reply to info without 'info'",
        ),
    ],
)
def test_answers_that_are_not_what_was_asked_for(request_, body, message):
    with pytest.raises(DecodeError, match=message):
        decode_answer(request_, body)


# -- HTTP ------------------------------------------------------------------------------------


def test_http_request_posts_json_with_the_key():
    url = parse_http_url("http://127.0.0.1:8000/api")
    request = http_request(url, "test-api-key", PublishRequest("chat:a", {"x": 1}))
    assert (request.method, request.target) == ("POST", "/api/publish")
    assert ("X-API-Key", "test-api-key") in request.headers
    assert ("Content-Type", "application/json") in request.headers
    assert request.body == b'{"channel":"chat:a","data":{"x":1}}'
    assert "test-api-key" not in repr(request)


def test_http_request_wants_an_api_request():
    url = parse_http_url("http://h/api")
    with pytest.raises(LocalProtocolError, match="expected an API request"):
        http_request(url, "k", {"channel": "a"})  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [b"key", 5, "key\n", "ключ"])
def test_bad_api_keys_are_refused_without_showing_them(key):
    with pytest.raises(LocalProtocolError) as caught:
        check_header_secret(key, "api_key")
    assert "api_key" in str(caught.value)
    assert str(key) not in str(caught.value)


def test_good_api_key():
    assert check_header_secret("test-api-key", "api_key") == "test-api-key"


def test_read_response_decodes_a_200():
    response = HttpResponse(status=200, reason="OK", body=ok({"offset": 3, "epoch": "e"}))
    assert read_response(PublishRequest("a"), response) == PublishResult(offset=3, epoch="e")


def test_401_is_unauthorized():
    with pytest.raises(ApiUnauthorized) as caught:
        read_response(PublishRequest("a"), HttpResponse(status=401, reason="Unauthorized"))
    error = caught.value
    assert (error.status, error.reason, error.body) == (401, "Unauthorized", "")
    assert isinstance(error, ApiHttpError)
    assert str(error) == "HTTP 401 Unauthorized"
    assert repr(error) == "ApiUnauthorized(status=401, reason='Unauthorized')"


@pytest.mark.parametrize(
    ("status", "reason", "body", "text"),
    [
        (400, "Bad Request", b"Bad Request\n", "HTTP 400 Bad Request: Bad Request"),
        (404, "Not Found", b"404 page not found\n", "HTTP 404 Not Found: 404 page not found"),
        (500, "", b"", "HTTP 500"),
        (502, "Bad Gateway", b"x" * 500, "HTTP 502 Bad Gateway: " + "x" * 200),
    ],
)
def test_other_statuses_are_http_errors(status, reason, body, text):
    with pytest.raises(ApiHttpError) as caught:
        read_response(InfoRequest(), HttpResponse(status=status, reason=reason, body=body))
    assert not isinstance(caught.value, ApiUnauthorized)
    assert str(caught.value) == text
