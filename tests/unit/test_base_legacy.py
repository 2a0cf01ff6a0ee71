"""adapters/_base in the 1.x dialect: the seed's constructor options, connect with
credentials, uids on commands and on their reply events, the v1 meaning of the
seed's names, and the auth endpoint's sign batches. The fake adapter of
``test_base_client`` drives it; the 1.x server's bytes are the test's own.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from test_base_client import Client, outcome

from centrifugo_proto import (
    ChannelSign,
    ClientState,
    CommandTimeout,
    Credentials,
    JoinReceived,
    LocalProtocolError,
    PingResult,
    Publication,
    ReplyError,
    SubscriptionState,
    TokenRequested,
    Unauthorized,
    generate_token,
)
from centrifugo_proto.adapters._base import CommandReplied
from centrifugo_proto.adapters._base.client import connect_credentials
from centrifugo_proto.adapters._base.signs import SignBatch
from centrifugo_proto.legacy import SignRefused
from serverside import ENDPOINT, options

AUTH = "http://127.0.0.1:5000/centrifuge/auth/"
TOKEN = generate_token("secret", "42", "1500000000", "")
CREDS = Credentials("42", "1500000000", TOKEN)


class V1Client(Client):
    def _setup(self) -> None:
        super()._setup()
        self.batches: list[SignBatch] = []

    def _request_signs(self, batch: SignBatch) -> None:
        self.batches.append(batch)

    # -- the 1.x server's side (LEGACY-V1.md §1) --

    def commands(self) -> list[dict[str, Any]]:
        assert self.server is not None
        assert self.server.ws is not None
        raw, self.server.ws.messages = self.server.ws.messages, []
        out: list[dict[str, Any]] = []
        for message in raw:
            parsed = json.loads(message)
            out.extend(parsed if isinstance(parsed, list) else [parsed])
        return out

    def send(self, *entries: dict[str, Any]) -> None:
        assert self.server is not None
        assert self.server.ws is not None
        body = entries[0] if len(entries) == 1 else list(entries)
        data = self.server.ws.send_text(json.dumps(body))
        self._call(lambda now: self._proto.receive_data(data, now=now))

    def answer_connect(self, client_id: str = "c1") -> None:
        (command,) = self.commands()
        assert command["method"] == "connect"
        body = {"version": "1.8.0", "client": client_id, "expires": False, "ttl": 0}
        self.send({"uid": command["uid"], "method": "connect", "body": body})


def v1(**kwargs: Any) -> V1Client:
    kwargs.setdefault("token", CREDS)
    return V1Client(ENDPOINT, protocol="v1", options=options(), **kwargs)


def connected(**kwargs: Any) -> V1Client:
    client = v1(**kwargs)
    pending = client._start_connect()
    client.open()
    client.answer_connect()
    assert outcome(pending) == ("result", None)
    return client


def subscribed(command: dict[str, Any], **body: Any) -> dict[str, Any]:
    full = {"channel": command["params"]["channel"], "status": True, "last": "", "messages": None}
    return {"uid": command["uid"], "method": "subscribe", "body": full | body}


def test_the_seed_options_are_checked_and_reach_the_core():
    client = v1(auth_endpoint=AUTH, max_alive_period=30, refresh_period=5)
    assert (client._options.max_alive_period, client._options.refresh_period) == (30.0, 5.0)
    assert v1()._options.max_alive_period == 0.0  # not given: the options' own
    assert v1(max_alive_period=0)._options.max_alive_period == 0.0
    for bad in (True, "30", float("inf"), -1):
        with pytest.raises(LocalProtocolError, match="max_alive_period"):
            v1(max_alive_period=bad)
    with pytest.raises(LocalProtocolError, match="refresh_period must be above 0"):
        v1(refresh_period=0)
    with pytest.raises(LocalProtocolError, match="get_credentials must be callable"):
        v1(get_credentials="creds")
    with pytest.raises(LocalProtocolError):
        v1(auth_endpoint="ftp://backend/auth")
    with pytest.raises(LocalProtocolError, match=r"auth_endpoint is for the 1\.x dialect"):
        Client(ENDPOINT, auth_endpoint=AUTH)

    class Blocking(V1Client):
        _awaits_tokens = False

    async def fetch() -> Credentials:
        return CREDS

    with pytest.raises(LocalProtocolError, match=r"get_credentials .* is an async function"):
        Blocking(ENDPOINT, protocol="v1", get_credentials=fetch)


def test_connect_credentials_are_given_as_the_seed_gives_them():
    assert connect_credentials(None, None, None, None) is None
    assert connect_credentials(None, None, "a-jwt", None) == "a-jwt"  # current protocol
    assert connect_credentials("42", 1500000000, TOKEN, None) == CREDS
    made = connect_credentials("42", "1", "t", '{"a":1}')
    assert made == Credentials("42", "1", "t", '{"a":1}')
    with pytest.raises(LocalProtocolError):
        connect_credentials(None, "1", "t", None)  # no user


def test_credentials_given_while_connected_are_kept_for_the_next_connection():
    client = connected()
    other = Credentials("7", "1500000001", "t" * 64)
    assert outcome(client._start_connect(other)) == ("result", None)  # connected: at once
    client._call(lambda now: client._proto.disconnect(now=now))
    client.inbox = b""  # the old connection's close reply
    client._start_connect()
    client.open()
    (command,) = client.commands()
    assert command["params"]["user"] == "7"
    with pytest.raises(LocalProtocolError, match="Credentials"):
        client._start_connect("a-jwt")


def test_every_reply_fires_its_seed_event_with_its_uid():
    client = connected()
    ping = client._start_ping("hey", "p-1")
    presence = client._start_presence("news", "who")
    history = client._start_history("news", 0, None, False)
    publish = client._start_publish("news", {"n": 1}, "pub-1")
    cmds = client.commands()
    assert [c["uid"] for c in cmds[:2]] + [cmds[3]["uid"]] == ["p-1", "who", "pub-1"]
    client.send(
        {"uid": "p-1", "method": "ping", "body": {"data": "hey"}},
        {"uid": "who", "method": "presence", "body": {"channel": "news", "data": {}}},
        {"uid": cmds[2]["uid"], "method": "history", "error": "permission denied"},
    )
    assert outcome(ping) == ("result", PingResult(data="hey", uid="p-1"))
    assert outcome(presence)[1].uid == "who"  # type: ignore[index]
    failed = outcome(history)
    assert failed is not None
    assert isinstance(failed[1], ReplyError)
    seen: list[CommandReplied] = []
    for name in ("ping", "presence", "history", "publish"):
        client.on(name, seen.append)
    client.scheduled.clear()
    more = client._start_ping("")
    client.send({"uid": client.commands()[0]["uid"], "method": "ping"})
    assert outcome(more)[1].data == ""  # type: ignore[index]
    client.now = 100.0  # the publish times out: its uid is the caller's
    client._call(lambda now: client._proto.handle_timeout(now=now))
    assert isinstance(outcome(publish)[1], CommandTimeout)  # type: ignore[index]
    replies = client.replies()
    assert [(r.command, r.uid) for r in replies] == [
        ("ping", more.outcome().uid),
        ("publish", "pub-1"),
    ]


def test_a_refused_subscribe_names_the_uid_of_its_reply():
    client = connected()
    client.on("subscribe", print)
    sub = client.new_subscription("nope:x")
    sub._start_subscribe()
    (command,) = client.commands()
    client.send(subscribed(command, status=False) | {"error": "namespace not found"})
    (reply,) = client.replies()
    assert (reply.command, reply.uid) == ("subscribe", command["uid"])
    assert isinstance(reply.error, ReplyError)


def test_message_join_and_leave_reach_the_client_for_every_channel_in_v1():
    client = connected()
    sub = client.new_subscription("news")
    mine: list[Any] = []
    everyone: list[Any] = []
    sub.on("message", mine.append).on("join", mine.append)
    client.on("message", everyone.append).on("join", everyone.append)
    sub._start_subscribe()
    (command,) = client.commands()
    client.send(subscribed(command))
    client.send({"method": "message", "body": {"uid": "U1", "channel": "news", "data": 1}})
    client.send(
        {"method": "join", "body": {"channel": "news", "data": {"user": "7", "client": "c7"}}}
    )
    client.send({"method": "message", "body": {"uid": "U2", "channel": "elsewhere", "data": 2}})
    for callback, event in client.scheduled:
        callback(event)
    assert [type(e) for e in mine] == [Publication, JoinReceived]
    assert [type(e) for e in everyone] == [Publication, JoinReceived]
    assert (mine[0].channel, mine[0].data, mine[0].uid) == ("news", 1, "U1")


def test_in_the_current_protocol_message_and_join_keep_their_meaning():
    from test_base_client import connected as current

    client, _ = current()
    assert client._client_wide == frozenset()
    assert not client._messages


def test_the_signs_of_one_step_go_in_one_batch_and_each_answer_to_its_request(caplog):
    client = v1(auth_endpoint=AUTH)
    first = client.new_subscription("$a")
    second = client.new_subscription("$b&")
    first._start_subscribe()
    second._start_subscribe()
    client._start_connect()
    client.open()
    client.answer_connect("c1")
    (batch,) = client.batches
    assert batch.body == {"client": "c1", "channels": ["$a", "$b&c1"]}  # bug 5: expanded
    assert repr(batch) == f"SignBatch({AUTH!r}, 'c1', ['$a', '$b&c1'])"
    body = json.dumps({"$a": {"sign": "s" * 64, "info": '{"x":1}'}}).encode()
    with caplog.at_level(logging.WARNING):
        client._answer_signs(batch, batch.answers(200, body))
    (command,) = client.commands()
    assert command["params"] == {
        "channel": "$a",
        "client": "c1",
        "info": '{"x":1}',
        "sign": "s" * 64,
    }
    assert second.state is SubscriptionState.UNSUBSCRIBED
    assert "no sign for '$b&'" in caplog.text
    assert client.state is ClientState.CONNECTED


def test_an_endpoint_that_cannot_be_reached_refuses_every_channel_of_the_batch():
    client = connected(auth_endpoint=AUTH)
    sub = client.new_subscription("$a")
    pending = sub._start_subscribe()
    (batch,) = client.batches
    answers = batch.unreachable(ConnectionRefusedError())
    assert answers == [
        (
            batch.requests[0],
            SignRefused(f"the auth endpoint {AUTH} could not be reached: ConnectionRefusedError"),
        )
    ]
    client._answer_signs(batch, answers)
    error = outcome(pending)
    assert error is not None
    assert isinstance(error[1], Unauthorized)
    assert "could not be reached" in str(error[1])


def test_who_answers_a_token_request_in_v1():
    fetched: list[Any] = []
    client = connected(auth_endpoint=AUTH, get_credentials=lambda: CREDS)
    client._request_token = fetched.append  # type: ignore[method-assign]
    own = client.new_subscription("$own", get_token=lambda channel: ChannelSign("s"))
    own._start_subscribe()
    assert [e.channel for e in fetched] == ["$own"]  # its own source, not the endpoint
    assert client.batches == []
    connection = TokenRequested(request_id=1, channel=None)
    client._token_requested(connection)
    assert fetched[-1] is connection
    assert client._token_source(connection)() == CREDS  # get_credentials answers it
    plain = connected()
    plain._request_token = fetched.append  # type: ignore[method-assign]
    plain.new_subscription("$x")._start_subscribe()
    assert fetched[-1].channel == "$x"  # no endpoint: the token sources (none: refused)


def test_a_channel_sign_from_a_source_is_accepted():
    client = connected()
    sub = client.new_subscription("$own", get_token=lambda channel: ChannelSign("s"))
    sub._start_subscribe()
    (request,) = [e for e in client.effects if isinstance(e, TokenRequested)]
    client._answer_token(request, ChannelSign("s" * 64), None)
    (command,) = client.commands()
    assert command["params"]["sign"] == "s" * 64


def test_a_publication_for_a_channel_the_adapter_does_not_hold_goes_to_the_clients_message():
    from centrifugo_proto import PublicationReceived

    client = connected()
    seen: list[Any] = []
    client.on("message", seen.append)
    client._route(PublicationReceived(publication=Publication(channel="gone", data=1)))
    assert [e.data for _, e in client.scheduled if isinstance(e, Publication)] == [1]
