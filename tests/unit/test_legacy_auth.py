"""The 1.x auth endpoint exchange in the core (LEGACY-V1.md §6): the request body,
the answer read in both formats and every way it can refuse, and the signs that
go stale with the connection they were asked for.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from legacy_serverside import LegacyServer, make_legacy_client, reply, subscribed

from centrifugo_proto import (
    CommandFailed,
    LocalProtocolError,
    ReplyError,
    TokenRequested,
    Unsubscribed,
    generate_token,
)
from centrifugo_proto.legacy import (
    ChannelSign,
    Credentials,
    SignRefused,
    read_sign_answer,
    sign_request,
)
from serverside import only

CHANNELS = ("$a", "$b")


def answer(body: Any, status: int = 200, channels: tuple[str, ...] = CHANNELS) -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return read_sign_answer(status, raw, channels)


def test_the_request_names_the_connection_and_every_channel_at_once():
    assert sign_request("c1", ["$a", "$b"]) == {"client": "c1", "channels": ["$a", "$b"]}
    with pytest.raises(LocalProtocolError):
        sign_request("c1", [b"$a"])  # type: ignore[list-item]


@pytest.mark.parametrize("listed", [False, True], ids=["object", "list"])
def test_both_answer_formats_give_each_channel_its_sign_and_info_as_signed(listed):
    entries = {"$a": {"sign": "s1", "info": '{"x": 1}'}, "$b": {"sign": "s2"}}
    body: Any = entries
    if listed:
        body = {"channels": [{"channel": name, **entry} for name, entry in entries.items()]}
    assert answer(body) == {"$a": ChannelSign("s1", '{"x": 1}'), "$b": ChannelSign("s2", "")}


def test_a_status_200_or_a_null_info_still_signs():
    body = {"$a": {"sign": "s", "status": 200, "info": None}, "$b": {"sign": "t"}}
    assert answer(body)["$a"] == ChannelSign("s", "")


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"status": 403}, "the auth endpoint refused '$a': status 403"),
        ({"status": "200", "sign": "s"}, "the auth endpoint refused '$a': status '200'"),
        ({"info": ""}, "the auth endpoint gave no sign for '$a'"),
        ({"sign": ""}, "the auth endpoint gave no sign for '$a'"),
        ({"sign": 7}, "the auth endpoint gave no sign for '$a'"),
        ({"sign": "s", "info": {"x": 1}}, "the auth endpoint's info for '$a' is not a string"),
        ("sign", "the auth endpoint's entry for '$a' is not an object"),
    ],
    ids=repr,
)
def test_a_channel_refused_in_the_answer_says_why(entry, reason):
    result = answer({"$a": entry, "$b": {"sign": "s"}})
    assert result == {"$a": SignRefused(reason), "$b": ChannelSign("s")}


@pytest.mark.parametrize(
    "body",
    [{"$b": {"sign": "s"}}, {"channels": [{"channel": "$b", "sign": "s"}, "junk", {"sign": "x"}]}],
    ids=["object", "list"],
)
def test_a_channel_missing_from_the_answer_is_refused(body):
    result = answer(body)
    assert result["$a"] == SignRefused("'$a' is not in the auth endpoint's answer")
    assert result["$b"] == ChannelSign("s")


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (403, b"Forbidden", "the auth endpoint answered HTTP 403"),
        (500, b'{"$a": {"sign": "s"}}', "the auth endpoint answered HTTP 500"),
        (200, b'{"$a": {"si', "the auth endpoint's answer is not JSON: "),
        (200, b"\xff\xfe", "the auth endpoint's answer is not JSON: "),
        (200, b"[" * 100_000, "the auth endpoint's answer is not JSON: "),
        (200, b'["$a"]', "the auth endpoint's answer is not a JSON object: list"),
    ],
    ids=["403", "500", "cut", "not utf-8", "too deep", "array"],
)
def test_a_refused_or_broken_answer_refuses_every_channel(status, body, reason):
    result = answer(body, status)
    assert set(result) == set(CHANNELS)
    for refused in result.values():
        assert isinstance(refused, SignRefused)
        assert refused.reason.startswith(reason)


def connected():
    token = generate_token("secret", "42", "1500000000", "")
    client = make_legacy_client(token=Credentials("42", "1500000000", token))
    server = LegacyServer(client)
    client.connect(now=0.0)
    server.connect(now=0.0, client="c1")
    return client, server


def test_a_sign_fetched_for_a_connection_that_is_gone_is_ignored():
    client, server = connected()
    client.subscribe("$secret", now=1.0)
    (old,) = only(server.events(), TokenRequested)
    server.close({"reason": "shutting down", "reconnect": True}, now=2.0)
    client.handle_timeout(now=client.next_deadline())
    (new,) = only(server.connect(now=3.0, client="c2"), TokenRequested)
    assert new.request_id != old.request_id
    # The answer for c1 arrives late: no subscribe goes out with it.
    client.provide_token(old, ChannelSign("for-c1"), now=3.0)
    assert server.commands() == []
    with pytest.raises(LocalProtocolError, match="ChannelSign"):
        client.provide_token(old, Credentials("42", "1", "t"), now=3.0)  # still checked
    client.provide_token(new, ChannelSign("for-c2"), now=3.0)
    (command,) = server.commands()
    assert (command["params"]["client"], command["params"]["sign"]) == ("c2", "for-c2")


def test_an_error_reply_carries_the_uid_of_its_command():
    client, server = connected()
    request = client.presence("news", now=1.0, uid="p-1")
    (command,) = server.commands()
    events = server.send(reply(command, error="permission denied", advice="fix"), now=1.0)
    (failed,) = only(events, CommandFailed)
    assert failed.request == request
    assert isinstance(failed.error, ReplyError)
    assert failed.error.uid == "p-1"
    assert failed.error == ReplyError(103, "permission denied")  # the uid is not compared
    client.subscribe("$x", token=ChannelSign("bad"), now=1.0)
    (command,) = server.commands()
    refusal = subscribed(command, status=False) | {"error": "permission denied", "advice": "fix"}
    (ended,) = only(server.send(refusal, now=1.0), Unsubscribed)
    assert isinstance(ended.error, ReplyError)
    assert ended.error.uid == command["uid"]


def test_recovered_messages_the_server_also_sends_live_are_delivered_once():
    """1.8.0 reads its history for ``recover`` while publications go on: one that
    made it into the recovered list may still arrive live after the reply."""
    from legacy_serverside import message

    from centrifugo_proto import PublicationReceived

    client, server = connected()
    client.subscribe("news", recoverable=True, now=1.0)
    (command,) = server.commands()
    server.send(subscribed(command), now=1.0)
    server.send(message("news", 1, "U1"), now=1.0)
    server.close({"reason": "shutting down", "reconnect": True}, now=2.0)
    client.handle_timeout(now=client.next_deadline())
    server.connect(now=3.0, client="c2")
    (command,) = server.commands()
    assert command["params"] == {"channel": "news", "recover": True, "last": "U1"}
    newest_first = [
        {"uid": "U3", "channel": "news", "data": 3},
        {"uid": "U2", "channel": "news", "data": 2},
    ]
    events = server.send(subscribed(command, messages=newest_first, recovered=True), now=3.0)
    live = [message("news", n, f"U{n}") for n in (2, 3, 4)]
    for entry in live:
        events += server.send(entry, now=3.0)
    assert [e.publication.data for e in only(events, PublicationReceived)] == [2, 3, 4]
