"""Client-side and server-side subscriptions (PROTOCOL.md §3, §5.2, §6.4, §6.5)."""

from __future__ import annotations

import pytest

from centrifugo_proto import (
    ClientInfo,
    ClientState,
    CloseTransport,
    CommandFailed,
    Connecting,
    ConnectingCode,
    ErrorOccurred,
    JoinReceived,
    LeaveReceived,
    MessageReceived,
    OpenTransport,
    Publication,
    PublicationReceived,
    ReplyError,
    StreamPosition,
    Subscribed,
    SubscribeResult,
    Subscribing,
    SubscribingCode,
    SubscriptionState,
    TokenRequested,
    Unsubscribed,
    UnsubscribedCode,
)
from serverside import (
    connected_pair,
    error,
    only,
    options,
    push_join,
    push_leave,
    push_message,
    push_pub,
    push_subscribe,
    push_unsubscribe,
    reply,
)


def subscribe(client, server, channel, result, *, now=0.0, **kwargs):
    """Subscribe while connected and answer with ``result``; returns the command and events."""
    client.subscribe(channel, now=now, **kwargs)
    (command,) = server.commands()
    return command, server.feed(reply(command["id"], subscribe=result), now=now)


def start_subscribe(client, server, channel, *, now=0.0, **kwargs):
    """Subscribe while connected, drain the Subscribing event; returns the command."""
    client.subscribe(channel, now=now, **kwargs)
    server.events()
    (command,) = server.commands()
    return command


def publications(events):
    return [(e.publication.channel, e.publication.offset, e.publication.data) for e in events]


# -- subscribing -------------------------------------------------------------------------


def test_subscribe_sends_its_options_and_reports_subscribed():
    client, server = connected_pair(options=options())
    client.subscribe(
        "chat:a",
        now=1.0,
        token="sub-jwt",
        data={"hello": 1},
        recoverable=True,
        positioned=True,
        join_leave=True,
    )
    assert server.events() == [
        Subscribing(
            channel="chat:a", code=SubscribingCode.SUBSCRIBE_CALLED, reason="subscribe called"
        )
    ]
    assert client.subscription_state("chat:a") is SubscriptionState.SUBSCRIBING
    assert server.commands() == [
        {
            "id": 2,
            "subscribe": {
                "channel": "chat:a",
                "token": "sub-jwt",
                "data": {"hello": 1},
                "recoverable": True,
                "positioned": True,
                "join_leave": True,
            },
        }
    ]
    events = server.feed(
        reply(2, subscribe={"recoverable": True, "positioned": True, "epoch": "e", "offset": 4}),
        now=1.5,
    )
    (subscribed,) = events
    assert subscribed.channel == "chat:a"
    assert subscribed.position == StreamPosition(4, "e")
    assert not subscribed.server_side
    assert not subscribed.was_recovering
    assert client.subscription_state("chat:a") is SubscriptionState.SUBSCRIBED


def test_publications_join_leave_are_routed_to_a_subscribed_channel():
    client, server = connected_pair(options=options())
    subscribe(client, server, "a", {})
    events = server.feed(
        push_pub("a", {"n": 1}),
        push_join("a", "43", "c43"),
        push_leave("a", "43", "c43"),
        push_pub("not-mine", 1),
        push_join("not-mine"),
        push_message({"alert": "x"}),
        now=1.0,
    )
    assert events == [
        PublicationReceived(publication=Publication(channel="a", data={"n": 1})),
        JoinReceived(channel="a", info=ClientInfo(user="43", client="c43")),
        LeaveReceived(channel="a", info=ClientInfo(user="43", client="c43")),
        MessageReceived(data={"alert": "x"}),
    ]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (103, "permission denied"),
        (102, "unknown channel"),
        (105, "already subscribed"),
        (107, "bad request"),
    ],
)
def test_terminal_subscribe_error_unsubscribes(code, message):
    client, server = connected_pair(options=options(), result={"ping": 0})
    command = start_subscribe(client, server, "a")
    events = server.feed(error(command["id"], code, message), now=0.5)
    assert events == [Unsubscribed(channel="a", code=code, reason=message)]
    assert client.subscription_state("a") is SubscriptionState.UNSUBSCRIBED
    assert client.next_deadline() is None  # no resubscribe pending
    assert client.state is ClientState.CONNECTED


def test_temporary_subscribe_error_resubscribes_after_backoff():
    opts = options(min_resubscribe_delay=2.0, max_resubscribe_delay=16.0)
    client, server = connected_pair(options=opts, result={"ping": 0})
    start_subscribe(client, server, "a")
    events = server.feed(error(2, 100, "internal server error", temporary=True), now=1.0)
    assert events == [
        ErrorOccurred(error=ReplyError(100, "internal server error", True), channel="a")
    ]
    assert client.subscription_state("a") is SubscriptionState.SUBSCRIBING
    # attempt 0: min(16, 2 + 0.5 * min(16, 2 * 1)) = 3
    assert client.next_deadline() == 4.0
    client.handle_timeout(now=4.0)
    assert server.commands() == [{"id": 3, "subscribe": {"channel": "a"}}]
    server.feed(error(3, 111, "too many requests", temporary=True), now=5.0)
    # attempt 1: 2 + 0.5 * 4 = 4
    assert client.next_deadline() == 9.0
    client.handle_timeout(now=9.0)
    (command,) = server.commands()
    events = server.feed(reply(command["id"], subscribe={}), now=9.5)
    assert [type(e) for e in events] == [Subscribed]
    # A later failure starts the backoff from scratch.
    client.unsubscribe("a", now=10.0)
    client.subscribe("a", now=10.0)
    unsubscribe, again = server.commands()
    assert [unsubscribe["id"], again["id"]] == [5, 6]  # 2, 3, 4 were subscribes
    server.feed(reply(5, unsubscribe={}), error(6, 100, "internal", temporary=True), now=10.0)
    assert client.next_deadline() == 13.0


def test_subscribe_error_109_without_token_source_is_terminal():
    client, server = connected_pair(options=options())
    start_subscribe(client, server, "a", token="expired")
    events = server.feed(error(2, 109, "token expired"), now=0.5)
    assert events == [Unsubscribed(channel="a", code=109, reason="token expired")]


def test_subscribe_error_109_with_token_source_asks_for_a_new_token():
    client, server = connected_pair(options=options(), result={"ping": 0})
    client.subscribe("a", has_token_source=True, now=0.0)
    (request,) = only(server.events(), TokenRequested)
    assert request.channel == "a"
    assert server.commands() == []  # the token comes first
    client.provide_token(request, "s1", now=0.5)
    assert server.commands() == [{"id": 2, "subscribe": {"channel": "a", "token": "s1"}}]
    events = server.feed(error(2, 109, "token expired"), now=1.0)
    assert only(events, ErrorOccurred)
    assert client.subscription_state("a") is SubscriptionState.SUBSCRIBING
    client.handle_timeout(now=client.next_deadline())
    (request,) = only(server.events(), TokenRequested)
    client.provide_token(request, "s2", now=4.5)
    assert server.commands() == [{"id": 3, "subscribe": {"channel": "a", "token": "s2"}}]


def test_subscribe_token_refused_unsubscribes_as_unauthorized():
    client, server = connected_pair(options=options())
    client.subscribe("a", has_token_source=True, now=0.0)
    (request,) = only(server.events(), TokenRequested)
    client.provide_token(request, "", now=0.5)
    assert server.events() == [
        Unsubscribed(channel="a", code=UnsubscribedCode.UNAUTHORIZED, reason="unauthorized")
    ]
    assert server.commands() == []


def test_subscribe_timeout_reconnects_the_whole_client():
    client, server = connected_pair(options=options(timeout=5.0), result={"ping": 0})
    start_subscribe(client, server, "a", now=1.0)
    assert client.next_deadline() == 6.0
    client.handle_timeout(now=6.0)
    events = server.events()
    assert CloseTransport() in events
    assert not only(events, Subscribing)  # it was subscribing already
    assert events[-1] == Connecting(
        code=ConnectingCode.SUBSCRIBE_TIMEOUT, reason="subscribe timeout"
    )
    assert client.state is ClientState.CONNECTING
    client.handle_timeout(now=client.next_deadline())
    server.accept_connect(now=8.0)
    # On the new connection the subscription is tried again.
    assert server.commands() == [{"id": 2, "subscribe": {"channel": "a"}}]
    # The late reply of the old connection never reaches this one.
    assert client.subscription_state("a") is SubscriptionState.SUBSCRIBING


def test_unsubscribe_sends_the_command_and_reports_at_once():
    client, server = connected_pair(options=options())
    subscribe(client, server, "a", {})
    client.unsubscribe("a", now=1.0)
    assert server.events() == [
        Unsubscribed(
            channel="a", code=UnsubscribedCode.UNSUBSCRIBE_CALLED, reason="unsubscribe called"
        )
    ]
    assert server.commands() == [{"id": 3, "unsubscribe": {"channel": "a"}}]
    assert server.feed(reply(3, unsubscribe={}), now=1.5) == []
    client.unsubscribe("a", now=2.0)  # already unsubscribed: nothing more
    assert server.events() == []
    assert server.commands() == []


def test_unsubscribe_while_the_subscribe_is_in_flight_ignores_its_reply():
    client, server = connected_pair(options=options())
    client.subscribe("a", now=0.0)
    server.commands()
    client.unsubscribe("a", now=0.1)
    assert server.commands() == [{"id": 3, "unsubscribe": {"channel": "a"}}]
    server.events()
    events = server.feed(
        reply(2, subscribe={}), push_pub("a", 1), reply(3, unsubscribe={}), now=0.5
    )
    assert events == []
    assert client.subscription_state("a") is SubscriptionState.UNSUBSCRIBED
    assert client.state is ClientState.CONNECTED


def test_unsubscribe_error_reconnects():
    client, server = connected_pair(options=options())
    subscribe(client, server, "a", {})
    client.unsubscribe("a", now=1.0)
    server.commands()
    server.events()
    events = server.feed(error(3, 100, "internal", temporary=True), now=1.5)
    assert events[-1] == Connecting(
        code=ConnectingCode.UNSUBSCRIBE_ERROR, reason="unsubscribe error"
    )


def test_unsubscribe_timeout_reconnects():
    client, server = connected_pair(options=options(timeout=5.0), result={"ping": 0})
    subscribe(client, server, "a", {})
    client.unsubscribe("a", now=1.0)
    server.commands()
    server.events()
    client.handle_timeout(now=6.0)
    events = server.events()
    assert events[-1] == Connecting(
        code=ConnectingCode.UNSUBSCRIBE_ERROR, reason="unsubscribe timeout"
    )


# -- server unsubscribe pushes (§5.2) ----------------------------------------------------


@pytest.mark.parametrize("code", [2000, 2499])
def test_unsubscribe_push_below_2500_unsubscribes(code):
    client, server = connected_pair(options=options())
    subscribe(client, server, "a", {})
    events = server.feed(push_unsubscribe("a", code, "server unsubscribe"), now=1.0)
    assert events == [Unsubscribed(channel="a", code=code, reason="server unsubscribe")]
    assert client.subscription_state("a") is SubscriptionState.UNSUBSCRIBED
    assert server.commands() == []  # no unsubscribe command: the server already did it
    assert server.feed(push_pub("a", "late"), now=1.5) == []
    assert client.state is ClientState.CONNECTED


@pytest.mark.parametrize("code", [2500, 2501, 2999])
def test_unsubscribe_push_from_2500_resubscribes_with_recovery(code):
    client, server = connected_pair(options=options())
    subscribe(
        client, server, "a", {"recoverable": True, "epoch": "e1", "offset": 5}, recoverable=True
    )
    events = server.feed(push_pub("a", "six", 6), push_pub("a", "seven", 7), now=1.0)
    assert publications(events) == [("a", 6, "six"), ("a", 7, "seven")]
    events = server.feed(push_unsubscribe("a", code, "insufficient state"), now=2.0)
    assert events == [Subscribing(channel="a", code=code, reason="insufficient state")]
    assert client.subscription_state("a") is SubscriptionState.SUBSCRIBING
    assert server.commands() == [
        {
            "id": 3,
            "subscribe": {
                "channel": "a",
                "recoverable": True,
                "recover": True,
                "epoch": "e1",
                "offset": 7,
            },
        }
    ]


def test_unsubscribe_push_2502_resubscribes_without_the_invalidated_position():
    client, server = connected_pair(options=options())
    subscribe(
        client, server, "a", {"recoverable": True, "epoch": "e1", "offset": 5}, recoverable=True
    )
    server.feed(push_pub("a", "six", 6), now=1.0)
    events = server.feed(push_unsubscribe("a", 2502, "state invalidated"), now=2.0)
    assert events == [Subscribing(channel="a", code=2502, reason="state invalidated")]
    (command,) = server.commands()
    assert command["subscribe"] == {"channel": "a", "recoverable": True}


def test_unsubscribe_push_2501_asks_a_token_source_for_a_new_token():
    client, server = connected_pair(options=options())
    client.subscribe("a", token="old", has_token_source=True, now=0.0)
    (command,) = server.commands()
    server.feed(reply(command["id"], subscribe={}), now=0.0)
    events = server.feed(push_unsubscribe("a", 2501, "subscription expired"), now=1.0)
    (request,) = [e for e in events if isinstance(e, TokenRequested)]
    assert request.channel == "a"
    assert server.commands() == []  # nothing is sent with the expired token
    client.provide_token(request, "new", now=1.5)
    (command,) = server.commands()
    assert command["subscribe"]["token"] == "new"


def test_close_3014_forgets_the_token_and_every_position():
    client, server = connected_pair(options=options(), token="t0", has_token_source=True)
    subscribe(
        client, server, "a", {"recoverable": True, "epoch": "e1", "offset": 5}, recoverable=True
    )
    client.receive_data(server.close_frame(3014, "state invalidated"), now=1.0)
    server.events()
    client.handle_timeout(now=client.next_deadline())
    (request,) = [e for e in server.events() if isinstance(e, TokenRequested)]
    assert request.channel is None  # the connection token is asked for again
    client.provide_token(request, "t1", now=3.0)
    server.accept_connect(now=3.0)
    assert server.last_connect["token"] == "t1"
    (command,) = server.commands()
    assert command["subscribe"] == {"channel": "a", "recoverable": True}


def test_a_reply_of_the_wrong_kind_to_a_command_is_bad_protocol():
    client, server = connected_pair(options=options())
    request = client.publish("a", {"x": 1}, now=1.0)
    (command,) = server.commands()
    events = server.feed(reply(command["id"], history={"publications": []}), now=1.0)
    assert next(e for e in events if isinstance(e, Connecting)).code == ConnectingCode.BAD_PROTOCOL
    (failed,) = [e for e in events if isinstance(e, CommandFailed)]
    assert failed.request == request


def test_unsubscribe_push_for_a_channel_not_held_is_ignored():
    client, server = connected_pair(options=options())
    assert (
        server.feed(push_unsubscribe("nope", 2000), push_unsubscribe("nope", 2500), now=1.0) == []
    )
    assert server.commands() == []
    assert client.state is ClientState.CONNECTED


# -- recovery (§6.5) ---------------------------------------------------------------------


def test_recovered_publications_follow_subscribed_in_order():
    client, server = connected_pair(options=options())
    command = start_subscribe(client, server, "a", since=StreamPosition(7, "mpLo"))
    assert command == {
        "id": 2,
        "subscribe": {"channel": "a", "recover": True, "epoch": "mpLo", "offset": 7},
    }
    events = server.feed(
        reply(
            2,
            subscribe={
                "recoverable": True,
                "epoch": "mpLo",
                "offset": 7,
                "positioned": True,
                "publications": [{"data": "eight", "offset": 8}, {"data": "nine", "offset": 9}],
                "recovered": True,
                "was_recovering": True,
            },
        ),
        push_pub("a", "ten", 10),
        now=1.0,
    )
    assert [type(e) for e in events] == [
        Subscribed,
        PublicationReceived,
        PublicationReceived,
        PublicationReceived,
    ]
    assert events[0].was_recovering
    assert events[0].recovered
    assert publications(events[1:]) == [("a", 8, "eight"), ("a", 9, "nine"), ("a", 10, "ten")]


def test_since_with_a_recoverable_subscription_sends_recover_epoch_offset():
    client, server = connected_pair(options=options())
    client.subscribe("a", since=StreamPosition(3, "e0"), recoverable=True, now=0.0)
    (command,) = server.commands()
    assert command["subscribe"] == {
        "channel": "a",
        "recoverable": True,
        "recover": True,
        "epoch": "e0",
        "offset": 3,
    }


def test_reconnect_resubscribes_from_the_last_publication():
    client, server = connected_pair(options=options())
    subscribe(
        client, server, "a", {"recoverable": True, "epoch": "e", "offset": 1}, recoverable=True
    )
    subscribe(client, server, "plain", {})
    server.feed(push_pub("a", 2, 2), push_pub("a", 3, 3), push_pub("plain", "x"), now=1.0)
    client.receive_data(server.close_frame(3001, "shutdown"), now=2.0)
    events = server.events()
    assert set(only(events, Subscribing)) == {
        Subscribing(channel=ch, code=SubscribingCode.TRANSPORT_CLOSED, reason="transport closed")
        for ch in ("a", "plain")
    }
    client.handle_timeout(now=client.next_deadline())
    server.accept_connect(now=4.0)
    messages = server.messages()
    assert len(messages) == 1  # both resubscribes in one frame
    assert messages[0] == [
        {
            "id": 2,
            "subscribe": {
                "channel": "a",
                "recoverable": True,
                "recover": True,
                "epoch": "e",
                "offset": 3,
            },
        },
        {"id": 3, "subscribe": {"channel": "plain"}},
    ]


# -- server-side subscriptions (§6.5) ----------------------------------------------------


def test_server_side_subscriptions_from_connect_result_and_pushes():
    client, server = connected_pair(options=options())
    client.disconnect(now=0.0)
    server.events()
    client.connect(now=1.0)
    events = server.accept_connect(
        now=1.0,
        subs={
            "news": {"recoverable": True, "epoch": "e", "offset": 3, "positioned": True},
            "plain": {},
            "with-missed": {
                "recoverable": True,
                "epoch": "w",
                "offset": 1,
                "publications": [{"data": "m", "offset": 2}],
            },
        },
    )
    subscribed = only(events, Subscribed)
    assert [(s.channel, s.server_side) for s in subscribed] == [
        ("news", True),
        ("plain", True),
        ("with-missed", True),
    ]
    assert subscribed[0].position == StreamPosition(3, "e")
    recovered = only(events, PublicationReceived)
    assert [(e.publication.channel, e.server_side) for e in recovered] == [("with-missed", True)]
    # A recovered publication follows its subscription's Subscribed event.
    assert events.index(recovered[0]) > events.index(subscribed[2])

    events = server.feed(
        push_pub("news", "four", 4),
        push_join("news", "7", "c7"),
        push_leave("news", "7", "c7"),
        push_subscribe("extra", recoverable=False),
        push_pub("extra", "hi"),
        push_unsubscribe("plain", 2000, "gone"),
        push_pub("plain", "dropped"),
        now=2.0,
    )
    assert events == [
        PublicationReceived(
            publication=Publication(channel="news", data="four", offset=4), server_side=True
        ),
        JoinReceived(channel="news", info=ClientInfo(user="7", client="c7"), server_side=True),
        LeaveReceived(channel="news", info=ClientInfo(user="7", client="c7"), server_side=True),
        Subscribed(
            channel="extra",
            result=SubscribeResult(),
            position=None,
            was_recovering=False,
            recovered=False,
            server_side=True,
        ),
        PublicationReceived(publication=Publication(channel="extra", data="hi"), server_side=True),
        Unsubscribed(channel="plain", code=2000, reason="gone", server_side=True),
    ]

    # Connection lost: server-side subscriptions go to subscribing, and the next
    # connect command carries the recover positions of the recoverable ones.
    client.receive_data(server.close_frame(3001, "shutdown"), now=3.0)
    events = server.events()
    assert {(e.channel, e.server_side) for e in only(events, Subscribing)} == {
        ("news", True),
        ("extra", True),
        ("with-missed", True),
    }
    client.handle_timeout(now=client.next_deadline())
    events = server.accept_connect(now=5.0, subs={"extra": {}})
    assert server.last_connect["subs"] == {
        "news": {"recover": True, "offset": 4, "epoch": "e"},
        "with-missed": {"recover": True, "offset": 2, "epoch": "w"},
    }
    # Channels missing from the new connect result are gone.
    assert {(e.channel, e.server_side) for e in only(events, Unsubscribed)} == {
        ("news", True),
        ("with-missed", True),
    }
    assert [e.channel for e in only(events, Subscribed)] == ["extra"]
    assert server.feed(push_pub("news", "late", 5), now=6.0) == []


def test_close_unsubscribes_server_side_subscriptions_too():
    client, server = connected_pair(options=options(), result={"subs": {"news": {}}})
    client.close(now=1.0)
    assert (
        Unsubscribed(
            channel="news",
            code=UnsubscribedCode.CLIENT_CLOSED,
            reason="client closed",
            server_side=True,
        )
        in server.events()
    )


def test_subscriptions_wait_while_disconnected_and_go_out_on_connect():
    client, server = connected_pair(options=options())
    client.disconnect(now=1.0)
    client.subscribe("later", now=2.0)
    events = server.events()
    assert Subscribing(channel="later", code=0, reason="subscribe called") in events
    assert not only(events, OpenTransport)
    assert client.data_to_send() != b""  # only the close frame of the old connection
    server.pump()
    client.connect(now=3.0)
    server.accept_connect(now=3.0)
    assert server.commands() == [{"id": 2, "subscribe": {"channel": "later"}}]


def test_a_token_request_outstanding_across_a_reconnect_is_not_asked_twice():
    # The adapter may answer a TokenRequested after the connection it was asked on
    # has gone. Asking again on the new connection, and sending one subscribe per
    # answer, made the server reply 105 to the second and the client unsubscribe
    # while the server held the subscription.
    client, server = connected_pair(options=options(), result={"ping": 0})
    client.subscribe("p", has_token_source=True, now=0.0)
    (request,) = only(server.events(), TokenRequested)
    client.receive_data(server.close_frame(3001, "shutdown"), now=1.0)
    server.events()
    client.handle_timeout(now=client.next_deadline())
    events = server.accept_connect(now=3.0)
    assert not only(events, TokenRequested)  # the first request still stands
    client.provide_token(request, "tok", now=4.0)
    assert server.commands() == [{"id": 2, "subscribe": {"channel": "p", "token": "tok"}}]
    events = server.feed(reply(2, subscribe={}), now=5.0)
    assert [type(e) for e in events] == [Subscribed]
    assert client.subscription_state("p") is SubscriptionState.SUBSCRIBED
