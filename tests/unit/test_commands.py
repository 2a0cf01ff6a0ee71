"""Commands by handle: replies, timeouts, late replies, send, and caller misuse."""

from __future__ import annotations

import pytest

from centrifugo_proto import (
    ClientProtocol,
    ClientState,
    CommandFailed,
    CommandSucceeded,
    CommandTimeout,
    HistoryResult,
    LocalProtocolError,
    PresenceResult,
    PresenceStatsResult,
    Publication,
    ReplyError,
    RpcResult,
    StreamPosition,
    SubscriptionState,
)
from serverside import (
    ENDPOINT,
    FakeServer,
    connected_pair,
    error,
    make_client,
    only,
    options,
    reply,
)


def test_each_command_goes_out_with_its_params_and_its_reply_comes_back_by_handle():
    client, server = connected_pair(options=options())
    handles = {
        "publish": client.publish("chat:a", {"text": "hi"}, now=1.0),
        "history": client.history(
            "chat:a", limit=10, since=StreamPosition(5, "mpLo"), reverse=True, now=1.0
        ),
        "presence": client.presence("chat:a", now=1.0),
        "presence_stats": client.presence_stats("chat:a", now=1.0),
        "rpc": client.rpc("get_profile", {"id": 42}, now=1.0),
    }
    assert server.commands() == [
        {"id": 2, "publish": {"channel": "chat:a", "data": {"text": "hi"}}},
        {
            "id": 3,
            "history": {
                "channel": "chat:a",
                "limit": 10,
                "since": {"offset": 5, "epoch": "mpLo"},
                "reverse": True,
            },
        },
        {"id": 4, "presence": {"channel": "chat:a"}},
        {"id": 5, "presence_stats": {"channel": "chat:a"}},
        {"id": 6, "rpc": {"method": "get_profile", "data": {"id": 42}}},
    ]
    # Replies in any order.
    events = server.feed(
        reply(6, rpc={"data": {"name": "Alice"}}),
        reply(4, presence={"presence": {}}),
        reply(
            3, history={"publications": [{"data": 1, "offset": 6}], "epoch": "mpLo", "offset": 6}
        ),
        error(2, 103, "permission denied"),
        reply(5, presence_stats={"num_clients": 0, "num_users": 0}),
        now=2.0,
    )
    assert events == [
        CommandSucceeded(request=handles["rpc"], result=RpcResult(data={"name": "Alice"})),
        CommandSucceeded(request=handles["presence"], result=PresenceResult(clients={})),
        CommandSucceeded(
            request=handles["history"],
            result=HistoryResult(
                publications=(Publication(channel="chat:a", data=1, offset=6),),
                epoch="mpLo",
                offset=6,
            ),
        ),
        CommandFailed(request=handles["publish"], error=ReplyError(103, "permission denied")),
        CommandSucceeded(
            request=handles["presence_stats"],
            result=PresenceStatsResult(num_clients=0, num_users=0),
        ),
    ]
    assert client.state is ClientState.CONNECTED


def test_history_defaults_ask_only_for_the_top_position():
    client, server = connected_pair()
    client.history("c", now=1.0)
    client.rpc("ping_me", now=1.0)
    assert server.commands() == [
        {"id": 2, "history": {"channel": "c"}},
        {"id": 3, "rpc": {"method": "ping_me"}},
    ]


def test_command_timeout_then_a_late_reply_is_dropped_quietly():
    client, server = connected_pair(options=options(timeout=5.0), result={"ping": 0})
    handle = client.publish("c", 1, now=1.0)
    other = client.publish("c", 2, now=2.0)
    assert client.next_deadline() == 6.0
    client.handle_timeout(now=6.0)
    (failed,) = server.events()
    assert failed.request == handle
    assert isinstance(failed.error, CommandTimeout)
    assert client.next_deadline() == 7.0

    events = server.feed(reply(2, publish={}), reply(3, publish={}), now=6.5)
    # The reply to the timed-out command makes no event; the other one succeeds.
    assert [(type(e), e.request) for e in events] == [(CommandSucceeded, other)]
    assert client.state is ClientState.CONNECTED
    server.pump()
    assert server.connections[0].close_code is None
    # The late reply was the one expected; a second late reply is a protocol error.
    server.feed(reply(2, publish={}), now=7.0)
    assert client.state is ClientState.CONNECTING


def test_send_goes_out_without_id_and_succeeds_at_once():
    client, server = connected_pair(options=options(), result={"ping": 0})
    handle = client.send({"typing": True}, now=1.0)
    assert server.events() == [CommandSucceeded(request=handle, result=None)]
    assert server.commands() == [{"send": {"data": {"typing": True}}}]
    assert client.next_deadline() is None  # no reply, no timeout
    # The next command still gets the next wire id.
    client.publish("c", 1, now=1.0)
    assert server.commands() == [{"id": 2, "publish": {"channel": "c", "data": 1}}]


def test_send_while_connecting_goes_out_with_the_batch():
    client = make_client(options=options())
    server = FakeServer(client)
    client.connect(now=0.0)
    handle = client.send("hello", now=0.0)
    assert not only(server.events(), CommandSucceeded)
    events = server.accept_connect(now=1.0)
    assert CommandSucceeded(request=handle, result=None) in events
    assert server.commands() == [{"send": {"data": "hello"}}]
    client.handle_timeout(now=10.0)  # its wait timer is gone: no timeout follows
    assert not only(server.events(), CommandFailed)


# -- misuse: LocalProtocolError and no state change ---------------------------------------


def snapshot(client, server):
    """What a caller can observe: state, deadline, bytes and events."""
    return (
        client.state,
        client.next_deadline(),
        client.data_to_send(),
        server.events(),
        {ch: client.subscription_state(ch) for ch in ("a", "b")},
    )


MISUSE = {
    "publish object()": lambda c: c.publish("a", object(), now=1.0),
    "publish a set": lambda c: c.publish("a", {1, 2}, now=1.0),
    "publish NaN": lambda c: c.publish("a", float("nan"), now=1.0),
    "publish bytes in JSON mode": lambda c: c.publish("a", b"raw", now=1.0),
    "rpc object()": lambda c: c.rpc("m", object(), now=1.0),
    "send object()": lambda c: c.send(object(), now=1.0),
    "subscribe data object()": lambda c: c.subscribe("b", data=object(), now=1.0),
    "subscribe empty channel": lambda c: c.subscribe("", now=1.0),
    "unsubscribe unknown channel": lambda c: c.unsubscribe("nope", now=1.0),
    "remove a live subscription": lambda c: c.remove_subscription("a"),
}


@pytest.mark.parametrize("call", list(MISUSE.values()), ids=list(MISUSE))
def test_misuse_raises_and_changes_nothing(call):
    client, server = connected_pair(options=options())
    client.subscribe("a", now=0.5)
    server.commands()
    server.feed(reply(2, subscribe={}), now=0.5)
    before = snapshot(client, server)
    with pytest.raises(LocalProtocolError):
        call(client)
    assert snapshot(client, server) == before
    # The connection goes on as if nothing happened: the next command gets id 3.
    client.publish("a", 1, now=2.0)
    assert server.commands() == [{"id": 3, "publish": {"channel": "a", "data": 1}}]


CLOSED_MISUSE = {
    "connect": lambda c: c.connect(now=2.0),
    "disconnect": lambda c: c.disconnect(now=2.0),
    "subscribe": lambda c: c.subscribe("a", now=2.0),
    "publish": lambda c: c.publish("a", 1, now=2.0),
    "history": lambda c: c.history("a", now=2.0),
    "send": lambda c: c.send(1, now=2.0),
}


@pytest.mark.parametrize("call", list(CLOSED_MISUSE.values()), ids=list(CLOSED_MISUSE))
def test_calls_after_close_raise_and_change_nothing(call):
    client, server = connected_pair(options=options())
    client.close(now=1.0)
    server.events()
    client.data_to_send()
    before = snapshot(client, server)
    with pytest.raises(LocalProtocolError):
        call(client)
    assert snapshot(client, server) == before
    assert client.state is ClientState.CLOSED


@pytest.mark.parametrize(
    "endpoints",
    [
        "http://centrifugo.test/connection/websocket",
        "centrifugo.test:8000",
        "ws://",
        "ws://host:99999/",
        "ws://host:port/",
        "",
        [],
        [ENDPOINT, "ftp://x/"],
    ],
)
def test_bad_endpoint_is_refused_at_construction(endpoints):
    with pytest.raises(LocalProtocolError):
        ClientProtocol(endpoints)


def test_unknown_codec_is_refused():
    with pytest.raises(LocalProtocolError, match="unknown codec"):
        ClientProtocol(ENDPOINT, codec="msgpack")


def test_connect_data_must_be_json():
    with pytest.raises(LocalProtocolError, match="not JSON-serialisable"):
        ClientProtocol(ENDPOINT, data=object())


def test_remove_subscription_forgets_an_unsubscribed_one():
    client, _ = connected_pair()
    client.subscribe("a", since=StreamPosition(3, "e"), now=1.0)
    client.unsubscribe("a", now=1.0)
    client.remove_subscription("a")
    client.remove_subscription("a")  # unknown: nothing to do
    assert client.subscription_state("a") is None
    client.subscribe("a", now=2.0)
    assert client.subscription_state("a") is SubscriptionState.SUBSCRIBING
