"""The 1.x dialect in the core (LEGACY-V1.md; issue "The seed's own protocol").

The fake 1.x server here is the test's own (``legacy_serverside.py``): it builds
every byte, with the shapes LEGACY-V1.md §11 records from a real 1.8.0. The same
behaviour against the real 1.8.0 is in ``tests/integration/``.
"""

from __future__ import annotations

import pytest
from legacy_serverside import LegacyServer, make_legacy_client, message, reply, subscribed

from centrifugo_proto import (
    ClientState,
    CommandFailed,
    CommandSucceeded,
    Connected,
    Connecting,
    Disconnected,
    HistoryResult,
    JoinReceived,
    LocalProtocolError,
    PingResult,
    PresenceResult,
    PublicationReceived,
    PublicationsLost,
    PublishResult,
    ReplyError,
    Subscribed,
    TokenRefreshed,
    TokenRequested,
    Unsubscribed,
    generate_token,
)
from centrifugo_proto.legacy import ChannelSign, Credentials, client_channel
from serverside import only

SECRET = "secret"


def creds(user="42", timestamp="1500000000", info=""):
    return Credentials(
        user, timestamp, generate_token(SECRET, str(user), str(timestamp), info), info
    )


def connected(**kwargs):
    client = make_legacy_client(token=creds(), **kwargs)
    server = LegacyServer(client)
    client.connect(now=0.0)
    events = server.connect(now=0.0)
    return client, server, events


def test_connect_sends_every_parameter_as_a_string_and_reads_the_connect_body():
    client = make_legacy_client(token=Credentials(42, 1500000000, "t" * 64))
    server = LegacyServer(client)
    client.connect(now=0.0)
    events = server.connect(now=0.0, client="4b92d9bd")
    assert server.last_connect == {
        "uid": "1",
        "method": "connect",
        "params": {"user": "42", "timestamp": "1500000000", "token": "t" * 64},
    }
    (connected_,) = only(events, Connected)
    assert (connected_.client_id, connected_.version) == ("4b92d9bd", "1.8.0")
    assert client.state is ClientState.CONNECTED


def test_info_is_sent_exactly_as_signed():
    client = make_legacy_client(token=creds(info='{"name":"Alice"}'))
    server = LegacyServer(client)
    client.connect(now=0.0)
    server.connect(now=0.0)
    assert server.last_connect["params"]["info"] == '{"name":"Alice"}'


def test_credentials_given_at_connect_replace_the_ones_before():
    client = make_legacy_client()
    server = LegacyServer(client)
    client.connect(now=0.0, credentials=creds(user="7"))
    server.connect(now=0.0)
    assert server.last_connect["params"]["user"] == "7"
    with pytest.raises(LocalProtocolError, match="Credentials"):
        client.connect(now=0.0, credentials="a jwt")


def test_credentials_hide_their_token():
    assert "token='…'" in repr(creds())
    assert generate_token(SECRET, "42", "1500000000", "") not in repr(creds())
    assert "sign='…'" in repr(ChannelSign("abc", "{}"))
    with pytest.raises(LocalProtocolError):
        Credentials(b"42", "1", "t")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        ChannelSign(None)  # type: ignore[arg-type]


def test_a_refusal_close_is_obeyed_and_nothing_reconnects():
    client, server, _ = connected()
    events = server.close({"reason": "invalid token", "reconnect": False}, now=1.0)
    (stopped,) = only(events, Disconnected)
    assert (stopped.code, stopped.reason) == (3000, "invalid token")
    assert isinstance(stopped.error, ReplyError)
    assert client.state is ClientState.DISCONNECTED
    assert client.next_deadline() is None


@pytest.mark.parametrize(
    ("reason", "reconnects"),
    [
        ({"reason": "shutting down", "reconnect": True}, True),
        ({"reason": "disconnect", "reconnect": False}, False),
        ("disconnect", False),  # plain reasons, before 1.6.2: all but "disconnect" reconnect
        ("something else", True),
        ("", True),
    ],
    ids=repr,
)
def test_the_close_reason_decides_the_reconnect(reason, reconnects):
    client, server, _ = connected()
    server.close(reason, now=1.0)
    assert (client.state is ClientState.CONNECTING) is reconnects


def test_expired_reconnects_with_fresh_credentials_from_the_source():
    client = make_legacy_client(token=creds(), has_token_source=True)
    server = LegacyServer(client)
    client.connect(now=0.0)
    server.connect(now=0.0)
    events = server.close({"reason": "expired", "reconnect": True}, now=1.0)
    assert only(events, Connecting)[0].reason == "expired"
    client.handle_timeout(now=client.next_deadline())
    (request,) = only(server.events(), TokenRequested)
    assert request.channel is None  # the connection's credentials, not the old ones again
    client.provide_token(request, creds(timestamp="1500000900"), now=3.0)
    server.connect(now=3.0)
    assert server.last_connect["params"]["timestamp"] == "1500000900"


def test_expired_in_the_connect_reply_with_static_credentials_stops_instead_of_looping():
    """The Perl module reconnected with the same stale credentials for ever (bug 6)."""
    client = make_legacy_client(token=creds())
    server = LegacyServer(client)
    client.connect(now=0.0)
    events = server.connect(now=0.0, client="", expires=True, expired=True, ttl=10)
    (stopped,) = only(events, Disconnected)
    assert stopped.code == 110
    assert client.state is ClientState.DISCONNECTED


def test_expired_in_the_connect_reply_with_a_source_gets_new_credentials():
    client = make_legacy_client(token=creds(), has_token_source=True)
    server = LegacyServer(client)
    client.connect(now=0.0)
    server.connect(now=0.0, client="", expires=True, expired=True, ttl=10)
    assert client.state is ClientState.CONNECTING
    client.handle_timeout(now=client.next_deadline())
    assert only(server.events(), TokenRequested)


def test_refresh_sends_new_credentials_before_the_lifetime_runs_out():
    client = make_legacy_client(token=creds(), has_token_source=True)
    server = LegacyServer(client)
    client.connect(now=0.0)
    server.connect(now=0.0, expires=True, ttl=10)
    assert client.next_deadline() == 10.0
    client.handle_timeout(now=10.0)
    (request,) = only(server.events(), TokenRequested)
    client.provide_token(request, creds(timestamp="1500000010"), now=10.0)
    (refresh,) = server.commands()
    assert refresh["method"] == "refresh"
    assert refresh["params"]["timestamp"] == "1500000010"
    body = {"version": "1.8.0", "client": "c1", "expires": True, "expired": False, "ttl": 10}
    events = server.send(reply(refresh, body), now=10.1)
    assert only(events, TokenRefreshed) == [TokenRefreshed(channel=None, expires=True, ttl=10)]


def test_a_refresh_whose_credentials_are_stale_already_is_retried():
    client = make_legacy_client(token=creds(), has_token_source=True)
    server = LegacyServer(client)
    client.connect(now=0.0)
    server.connect(now=0.0, expires=True, ttl=10)
    client.handle_timeout(now=10.0)
    (request,) = only(server.events(), TokenRequested)
    client.provide_token(request, creds(), now=10.0)
    (refresh,) = server.commands()
    body = {"version": "1.8.0", "client": "c1", "expires": True, "expired": True, "ttl": 10}
    events = server.send(reply(refresh, body), now=10.1)
    assert only(events, TokenRefreshed) == []
    assert 15.0 <= client.next_deadline() <= 20.1  # the refresh retry window


def test_publications_come_as_message_with_their_uid_and_info():
    client, server, _ = connected()
    client.subscribe("public:chat", now=1.0)
    (command,) = server.commands()
    assert command["params"] == {"channel": "public:chat"}
    server.send(subscribed(command), now=1.0)
    info = {"user": "42", "client": "c9", "default_info": {"name": "Alice"}}
    events = server.send(
        message("public:chat", {"text": "hi"}, "NUID1", client="c9", info=info), now=1.0
    )
    (received,) = only(events, PublicationReceived)
    pub = received.publication
    assert (pub.channel, pub.data, pub.uid) == ("public:chat", {"text": "hi"}, "NUID1")
    assert (pub.info.user, pub.info.client, pub.info.conn_info) == ("42", "c9", {"name": "Alice"})


def test_a_private_channel_gets_a_sign_for_each_connection():
    client, server, _ = connected()
    client.subscribe("$secret", now=1.0)
    (request,) = only(server.events(), TokenRequested)
    assert request.channel == "$secret"
    assert server.commands() == []  # nothing goes out before the sign
    with pytest.raises(LocalProtocolError, match="ChannelSign"):
        client.provide_token(request, "a-jwt", now=1.0)
    client.provide_token(request, ChannelSign("s" * 64, '{"x":1}'), now=1.0)
    (command,) = server.commands()
    assert command["params"] == {
        "channel": "$secret",
        "client": "c1",
        "info": '{"x":1}',
        "sign": "s" * 64,
    }
    server.send(subscribed(command), now=1.0)
    server.close({"reason": "shutting down", "reconnect": True}, now=2.0)
    client.handle_timeout(now=client.next_deadline())
    events = server.connect(now=5.0, client="c2")
    (again,) = only(events, TokenRequested)  # a new connection id needs a new sign
    assert again.channel == "$secret"


def test_a_refused_sign_is_a_clear_subscribe_failure_and_the_client_stays_connected():
    client, server, _ = connected()
    client.subscribe("$secret", now=1.0)
    (request,) = only(server.events(), TokenRequested)
    client.token_failed(request, unauthorized=True, now=1.0)
    (ended,) = only(server.events(), Unsubscribed)
    assert ended.channel == "$secret"
    assert ended.error is not None
    assert client.state is ClientState.CONNECTED


def test_an_error_reply_is_a_refusal_not_a_success():
    """The Perl module marked a channel subscribed on an error reply (bug 3)."""
    client, server, _ = connected()
    client.subscribe("$other", token=ChannelSign("bad"), now=1.0)
    (command,) = server.commands()
    events = server.send(
        subscribed(command, status=False) | {"error": "permission denied", "advice": "fix"},
        now=1.0,
    )
    (ended,) = only(events, Unsubscribed)
    assert ended.error == ReplyError(103, "permission denied")
    assert only(events, Subscribed) == []


def test_recovery_by_uid_newest_first_replies_delivered_oldest_first():
    client, server, _ = connected()
    client.subscribe("news", recoverable=True, now=1.0)
    (command,) = server.commands()
    assert "recover" not in command["params"]  # nothing to recover from yet
    server.send(subscribed(command, last="U2"), now=1.0)
    server.send(message("news", {"n": 3}, "U3"), now=1.0)
    server.close({"reason": "shutting down", "reconnect": True}, now=2.0)
    client.handle_timeout(now=client.next_deadline())
    server.connect(now=5.0)
    (resubscribe,) = server.commands()
    assert resubscribe["params"] == {"channel": "news", "recover": True, "last": "U3"}
    missed = [{"uid": u, "channel": "news", "data": {"n": n}} for u, n in (("U5", 5), ("U4", 4))]
    events = server.send(subscribed(resubscribe, messages=missed, recovered=True), now=5.0)
    assert [e.publication.uid for e in only(events, PublicationReceived)] == ["U4", "U5"]
    (done,) = only(events, Subscribed)
    assert done.was_recovering
    assert done.recovered
    assert only(events, PublicationsLost) == []


def test_recovery_that_failed_still_delivers_the_history_and_says_what_was_lost():
    """The Perl module dropped messages recovered with ``recovered: false`` (bug 4)."""
    client, server, _ = connected()
    client.subscribe("news", recoverable=True, now=1.0)
    (command,) = server.commands()
    server.send(subscribed(command), now=1.0)
    server.send(message("news", {"n": 1}, "U1"), now=1.0)
    server.close("", now=2.0)
    client.handle_timeout(now=client.next_deadline())
    server.connect(now=5.0)
    (resubscribe,) = server.commands()
    history = [
        {"uid": "U9", "channel": "news", "data": 9},
        {"uid": "U8", "channel": "news", "data": 8},
    ]
    events = server.send(subscribed(resubscribe, messages=history, recovered=False), now=5.0)
    assert [e.publication.data for e in only(events, PublicationReceived)] == [8, 9]
    assert only(events, PublicationsLost)[0].reason == "recovery failed"


def test_a_client_channel_is_expanded_on_each_connection_and_keeps_its_name():
    client, server, _ = connected()
    assert client_channel("news&", "c1") == "news&c1"
    client.subscribe("news&", recoverable=True, now=1.0)
    (command,) = server.commands()
    assert command["params"]["channel"] == "news&c1"
    server.send(subscribed(command), now=1.0)
    events = server.send(message("news&c1", "hi", "U1"), now=1.0)
    assert [e.publication.channel for e in only(events, PublicationReceived)] == ["news&"]
    client.publish("news&", "x", now=1.0)
    assert server.commands()[0]["params"]["channel"] == "news&c1"
    server.close("", now=2.0)
    client.handle_timeout(now=client.next_deadline())
    server.connect(now=5.0, client="c2")
    (resubscribe,) = server.commands()
    # The position stays with "news&" across the new client id (the Perl bug 4).
    assert resubscribe["params"] == {"channel": "news&c2", "recover": True, "last": "U1"}


def test_commands_carry_the_callers_uid_and_results_carry_it_back():
    client, server, _ = connected()
    request = client.publish("news", {"t": 1}, uid="my-uid", now=1.0)
    (command,) = server.commands()
    assert (command["uid"], command["method"]) == ("my-uid", "publish")
    events = server.send(reply(command, {"channel": "news", "status": True}), now=1.0)
    (done,) = only(events, CommandSucceeded)
    assert done.request == request
    assert done.result == PublishResult(uid="my-uid")
    client.publish("news", {}, uid="busy", now=1.0)
    with pytest.raises(LocalProtocolError, match="in use"):
        client.publish("news", {}, uid="busy", now=1.0)
    with pytest.raises(LocalProtocolError, match="empty"):
        client.publish("news", {}, uid="", now=1.0)


def test_presence_history_and_ping_replies_are_typed():
    client, server, _ = connected()
    client.presence("news", now=1.0)
    client.history("news", now=1.0)
    client.ping(now=1.0)
    client.ping("hey", now=1.0)
    commands = server.commands()
    assert [c["method"] for c in commands] == ["presence", "history", "ping", "ping"]
    assert "params" not in commands[2]
    assert commands[3]["params"] == {"data": "hey"}
    clients = {"c1": {"user": "42", "client": "c1"}}
    newest_first = [
        {"uid": "U2", "channel": "news", "data": 2},
        {"uid": "U1", "channel": "news", "data": 1},
    ]
    events = server.send(
        reply(commands[0], {"channel": "news", "data": clients}),
        reply(commands[1], {"channel": "news", "data": newest_first}),
        reply(commands[2]),
        reply(commands[3], {"data": "hey"}),
        now=1.0,
    )
    presence, history, ping, echo = (e.result for e in only(events, CommandSucceeded))
    assert isinstance(presence, PresenceResult)
    assert presence.clients["c1"].user == "42"
    assert isinstance(history, HistoryResult)
    assert [p.data for p in history.publications] == [1, 2]  # oldest first
    assert ping == PingResult(uid="4")  # connect was 1, presence 2, history 3
    assert echo == PingResult(data="hey", uid="5")


def test_a_retry_advice_is_temporary():
    client, server, _ = connected()
    client.presence("bare:x", now=1.0)
    (command,) = server.commands()
    events = server.send(
        reply(command, {"channel": "bare:x", "data": None}, error="not available", advice="retry"),
        now=1.0,
    )
    (failed,) = only(events, CommandFailed)
    assert failed.error == ReplyError(108, "not available", temporary=True)


def test_subscriptions_that_wait_for_the_connection_go_out_together_in_one_array():
    client = make_legacy_client(token=creds())
    server = LegacyServer(client)
    client.subscribe("a", now=0.0)
    client.subscribe("b", now=0.0)
    client.connect(now=0.0)
    server.connect(now=0.0)
    (frame,) = server.frames()
    assert isinstance(frame, list)
    assert [c["params"]["channel"] for c in frame] == ["a", "b"]
    events = server.send(subscribed(frame[0]), subscribed(frame[1]), now=0.0)
    assert [e.channel for e in only(events, Subscribed)] == ["a", "b"]


def test_join_leave_and_a_server_unsubscribe():
    client, server, _ = connected()
    client.subscribe("news", now=1.0)
    (command,) = server.commands()
    server.send(subscribed(command), now=1.0)
    join = {"method": "join", "body": {"channel": "news", "data": {"user": "7", "client": "c7"}}}
    (joined,) = only(server.send(join, now=1.0), JoinReceived)
    assert (joined.channel, joined.info.user) == ("news", "7")
    unsubscribe = {"method": "unsubscribe", "body": {"channel": "news", "status": True}}
    (ended,) = only(server.send(unsubscribe, now=1.0), Unsubscribed)
    assert ended.code == 2000
    assert server.commands() == []  # no resubscribe


def test_an_idle_connection_is_pinged_and_a_silent_server_dropped():
    client, server, _ = connected(options=None)
    client2 = make_legacy_client(token=creds())
    assert client2.state is ClientState.DISCONNECTED
    from serverside import options

    client = make_legacy_client(
        token=creds(), options=options(max_alive_period=5.0, refresh_period=1.0)
    )
    server = LegacyServer(client)
    client.connect(now=0.0)
    server.connect(now=0.0)
    for second in range(1, 6):
        client.handle_timeout(now=float(second))
        assert server.commands() == []  # heard at 0, not idle for 5 s yet
    client.handle_timeout(now=6.0)
    (ping,) = server.commands()
    assert ping["method"] == "ping"
    server.send(reply(ping), now=6.5)  # answered: alive
    assert client.state is ClientState.CONNECTED
    client.handle_timeout(now=12.0)
    (second_ping,) = server.commands()
    assert second_ping["method"] == "ping"
    for now in (13.0, 14.0, 15.0, 16.0, 17.0):
        client.handle_timeout(now=now)
    server.commands()
    assert client.state is ClientState.CONNECTING  # no reply within the timeout


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.presence_stats("news", now=1.0), "PresenceStatsRequest is not in the v1"),
        (lambda c: c.rpc("m", {}, now=1.0), "RpcRequest is not in the v1"),
        (lambda c: c.send({}, now=1.0), "SendRequest is not in the v1"),
        (lambda c: c.history("news", limit=5, now=1.0), "channel only"),
    ],
    ids=["presence_stats", "rpc", "send", "history limit"],
)
def test_what_1x_does_not_have_is_refused_at_the_call(call, message):
    client, server, _ = connected()
    with pytest.raises(LocalProtocolError, match=message):
        call(client)
    assert server.commands() == []


def test_the_current_protocol_has_no_ping_and_no_caller_uids():
    from serverside import connected_pair

    client, server = connected_pair()
    with pytest.raises(LocalProtocolError, match="PingRequest is not in the current protocol"):
        client.ping(now=1.0)
    with pytest.raises(LocalProtocolError, match="no caller uids"):
        client.publish("news", {}, uid="u", now=1.0)
    assert server.commands() == []


def test_a_close_that_is_not_3000_follows_the_current_rules():
    client, server, _ = connected()
    server.close("going away", code=1001, now=1.0)
    assert client.state is ClientState.CONNECTING  # a transport-level close reconnects


def test_a_message_delivered_already_is_not_delivered_twice_and_one_without_uid_is():
    client, server, _ = connected()
    client.subscribe("news", recoverable=True, now=1.0)
    (command,) = server.commands()
    server.send(subscribed(command), now=1.0)
    assert only(server.send(message("news", 1, "U1"), now=1.0), PublicationReceived)
    assert only(server.send(message("news", 1, "U1"), now=1.0), PublicationReceived) == []
    plain = {"method": "message", "body": {"channel": "news", "data": 2}}
    assert [e.publication.data for e in only(server.send(plain, now=1.0), PublicationReceived)] == [
        2
    ]


def test_a_refusal_carries_its_reason_to_the_subscription():
    client, server, _ = connected()
    client.subscribe("$secret", now=1.0)
    (request,) = only(server.events(), TokenRequested)
    client.token_failed(request, unauthorized=True, now=1.0, reason="auth endpoint: HTTP 403")
    (ended,) = only(server.events(), Unsubscribed)
    assert ended.reason == "auth endpoint: HTTP 403"
    assert str(ended.error) == "auth endpoint: HTTP 403"


def test_a_failed_token_request_says_why_and_is_retried():
    from centrifugo_proto import ErrorOccurred

    client, server, _ = connected()
    client.subscribe("$secret", now=1.0)
    (request,) = only(server.events(), TokenRequested)
    client.token_failed(request, now=1.0, reason="auth endpoint down")
    (error,) = only(server.events(), ErrorOccurred)
    assert str(error.error) == "could not get a token: auth endpoint down"
    assert client.subscription_state("$secret").value == "subscribing"
