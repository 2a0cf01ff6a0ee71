"""The client against a real Centrifugo v6, once per adapter (issue "Foundation",
Evidence; issue "Pick an adapter": one suite, three adapters).

Every test talks to the server the harness started; nothing here is faked.
Each test uses channels and users of its own (``unique``), so they share one
server without seeing each other's traffic. The ``adapter`` fixture
(``drivers.py``) runs each test for asyncio, trio and blocking.
"""

from __future__ import annotations

import time
from typing import TypeVar

import pytest
from drivers import TIMEOUT, Events, Runner, call_api, token_for, unique

from centrifugo_proto import (
    ClientState,
    Connected,
    Connecting,
    ConnectingCode,
    Disconnected,
    HistoryResult,
    JoinReceived,
    LeaveReceived,
    PresenceResult,
    PresenceStatsResult,
    PublicationReceived,
    ReplyError,
    RpcResult,
    StreamPosition,
    Subscribed,
    Subscribing,
    SubscriptionState,
    Unsubscribed,
    connection_token,
    subscription_token,
)
from harness import CentrifugoServer

T = TypeVar("T")


# -- connect ---------------------------------------------------------------------------


def test_anonymous_connect(adapter: Runner, centrifugo: CentrifugoServer) -> None:
    with adapter.connected(centrifugo.ws_url) as client:
        assert client.state is ClientState.CONNECTED
        assert client.client_id
        assert client.real._proto._codec.name == adapter.codec  # what the fixture asked for
        # Anonymous users may subscribe to channels without namespace only.
        sub = client.subscribe(unique("anon-"))
        assert sub.state is SubscriptionState.SUBSCRIBED


def test_jwt_connect_carries_user(adapter: Runner, centrifugo: CentrifugoServer) -> None:
    user = unique("user-")
    channel = unique("chat:jwt-")
    with adapter.connected(centrifugo.ws_url, token=token_for(centrifugo, user)) as client:
        assert client.client_id
        client.subscribe(channel)
        presence = client.presence(channel)
        assert isinstance(presence, PresenceResult)
        info = presence.clients[client.client_id]
        assert (info.user, info.client) == (user, client.client_id)


def test_bad_token_is_terminal(adapter: Runner, centrifugo: CentrifugoServer) -> None:
    bad = connection_token("not-the-secret", "42", exp=int(time.time()) + 3600)
    client = adapter.client(centrifugo.ws_url, token=bad)
    recorder = Events(client, "disconnected")
    with pytest.raises(ReplyError) as caught:
        client.connect()
    assert caught.value.code == 3500  # invalid token closes the WebSocket (§5.3)
    assert recorder.next(Disconnected).code == 3500
    assert client.state is ClientState.DISCONNECTED
    assert client._proto.next_deadline() is None  # no reconnect scheduled
    client.close()


# -- publications ----------------------------------------------------------------------


def test_publish_from_client_and_api_arrive_with_increasing_offsets(
    adapter: Runner, centrifugo: CentrifugoServer
) -> None:
    channel = unique("chat:pubs-")
    token = token_for(centrifugo, unique("u-"))
    with adapter.connected(centrifugo.ws_url, token=token) as client:
        sub = client.subscribe(channel)
        for n in range(3):
            client.publish(channel, adapter.payload({"n": n, "from": "client"}))
        for n in range(3, 5):
            call_api(centrifugo, "publish", {"channel": channel, "data": {"n": n}})
        pubs = sub.take(5)
        assert [adapter.value(p.data)["n"] for p in pubs] == [0, 1, 2, 3, 4]
        offsets = [p.offset for p in pubs]
        assert offsets == list(range(offsets[0], offsets[0] + 5))
        assert all(p.channel == channel for p in pubs)
        # Client publications carry the publisher's info; API ones none.
        assert pubs[0].info is not None
        assert pubs[0].info.client == client.client_id
        assert pubs[4].info is None


def test_history_limit_since_reverse(adapter: Runner, centrifugo: CentrifugoServer) -> None:
    channel = unique("chat:hist-")
    with adapter.connected(centrifugo.ws_url, token=token_for(centrifugo, "h")) as client:
        client.subscribe(channel)
        for n in range(5):
            client.publish(channel, adapter.payload({"n": n}))
        full = client.history(channel, limit=-1)
        assert isinstance(full, HistoryResult)
        assert [adapter.value(p.data)["n"] for p in full.publications] == [0, 1, 2, 3, 4]
        assert full.offset == full.publications[-1].offset
        assert full.epoch
        first_two = client.history(channel, limit=2)
        assert [adapter.value(p.data)["n"] for p in first_two.publications] == [0, 1]
        since = StreamPosition(full.publications[1].offset, full.epoch)
        rest = client.history(channel, limit=10, since=since)
        assert [adapter.value(p.data)["n"] for p in rest.publications] == [2, 3, 4]
        newest = client.history(channel, limit=2, reverse=True)
        assert [adapter.value(p.data)["n"] for p in newest.publications] == [4, 3]
        top = client.history(channel)
        assert top.publications == ()
        assert top.offset == full.offset


def test_presence_and_stats_with_two_clients(adapter: Runner, centrifugo: CentrifugoServer) -> None:
    channel = unique("chat:presence-")
    users = [unique("alice-"), unique("bob-")]
    with (
        adapter.connected(centrifugo.ws_url, token=token_for(centrifugo, users[0])) as one,
        adapter.connected(centrifugo.ws_url, token=token_for(centrifugo, users[1])) as two,
    ):
        one.subscribe(channel)
        two.subscribe(channel)
        presence = one.presence(channel)
        assert set(presence.clients) == {one.client_id, two.client_id}
        assert {info.user for info in presence.clients.values()} == set(users)
        stats = two.presence_stats(channel)
        assert stats == PresenceStatsResult(num_clients=2, num_users=2)


def test_join_and_leave_seen_by_the_other_client(
    adapter: Runner, centrifugo: CentrifugoServer
) -> None:
    channel = unique("chat:joins-")
    with (
        adapter.connected(centrifugo.ws_url, token=token_for(centrifugo, "watcher")) as watcher,
        adapter.connected(centrifugo.ws_url, token=token_for(centrifugo, "visitor")) as visitor,
    ):
        sub = watcher.new_subscription(channel, join_leave=True)
        seen = Events(sub, "join", "leave")
        sub.subscribe()
        # The server announces the watcher's own join first.
        own = seen.next(JoinReceived)
        assert own.info.client == watcher.client_id
        visitor.subscribe(channel)
        join = seen.next(JoinReceived)
        assert (join.info.user, join.info.client) == ("visitor", visitor.client_id)
        visitor.unsubscribe(channel)
        leave = seen.next(LeaveReceived)
        assert (leave.info.user, leave.info.client) == ("visitor", visitor.client_id)


def test_publication_after_unsubscribe_is_dropped_and_connection_stays(
    adapter: Runner, centrifugo: CentrifugoServer
) -> None:
    channel = unique("chat:after-")
    with adapter.connected(centrifugo.ws_url, token=token_for(centrifugo, "u")) as client:
        recorder = Events(client, "connecting", "disconnected")
        sub = client.subscribe(channel)
        client.unsubscribe(channel)
        assert sub.state is SubscriptionState.UNSUBSCRIBED
        call_api(centrifugo, "publish", {"channel": channel, "data": {"late": True}})
        # A command round trip after the publication: the connection is fine,
        # and the publication reached the channel (the server's history has it).
        client.publish(channel, adapter.payload({"late": 2}))
        history = call_api(centrifugo, "history", {"channel": channel, "limit": -1})
        datas = [p["data"] for p in history["result"]["publications"]]
        assert datas == [{"late": True}, {"late": 2}]
        assert sub._buffered() == 0
        assert recorder.empty()
        assert client.state is ClientState.CONNECTED


# -- errors ----------------------------------------------------------------------------


def test_subscribe_denied_and_unknown_namespace_raise_reply_errors(
    adapter: Runner, centrifugo: CentrifugoServer
) -> None:
    with adapter.connected(centrifugo.ws_url, token=token_for(centrifugo, "u")) as client:
        with pytest.raises(ReplyError) as denied:
            client.subscribe(unique("private:"))
        assert denied.value.code == 103
        with pytest.raises(ReplyError) as unknown:
            client.subscribe(unique("nosuchns:"))
        assert unknown.value.code == 102
        assert client.state is ClientState.CONNECTED


def test_private_channel_with_subscription_token(
    adapter: Runner, centrifugo: CentrifugoServer
) -> None:
    channel = unique("private:room-")
    user = unique("p-")
    with adapter.connected(centrifugo.ws_url, token=token_for(centrifugo, user)) as client:
        sub_token = subscription_token(
            centrifugo.hmac_secret, user, channel, exp=int(time.time()) + 3600
        )
        sub = client.subscribe(channel, token=sub_token)
        client.publish(channel, adapter.payload({"secret": 1}))
        (pub,) = sub.take(1)
        assert adapter.value(pub.data) == {"secret": 1}


def test_rpc_through_the_proxy(adapter: Runner, centrifugo: CentrifugoServer) -> None:
    with adapter.connected(centrifugo.ws_url, token=token_for(centrifugo, "rpc-user")) as client:
        result = client.rpc("echo", adapter.payload({"question": 42}))
        assert isinstance(result, RpcResult)
        assert adapter.value(result.data) == {"question": 42}
        with pytest.raises(ReplyError) as refused:
            client.rpc("refuse", adapter.payload({}))
        assert (refused.value.code, refused.value.message) == (1000, "refused")


# -- server-side actions through the HTTP API -----------------------------------------


def test_server_side_subscribe_publish_unsubscribe(
    adapter: Runner, centrifugo: CentrifugoServer
) -> None:
    user = unique("srv-")
    channel = unique("chat:server-side-")
    with adapter.connected(centrifugo.ws_url, token=token_for(centrifugo, user)) as client:
        events = Events(client, "subscribed", "publication", "unsubscribed")
        call_api(centrifugo, "subscribe", {"user": user, "channel": channel})
        subscribed = events.next(Subscribed)
        assert (subscribed.channel, subscribed.server_side) == (channel, True)
        call_api(centrifugo, "publish", {"channel": channel, "data": {"to": "all"}})
        pub = events.next(PublicationReceived)
        assert pub.server_side
        assert adapter.value(pub.publication.data) == {"to": "all"}
        call_api(centrifugo, "unsubscribe", {"user": user, "channel": channel})
        gone = events.next(Unsubscribed)
        assert (gone.channel, gone.server_side, gone.code) == (channel, True, 2000)


def test_server_disconnect_4500_stops(adapter: Runner, centrifugo: CentrifugoServer) -> None:
    user = unique("bye-")
    with adapter.connected(centrifugo.ws_url, token=token_for(centrifugo, user)) as client:
        events = Events(client, "connecting", "disconnected")
        disconnect = {"code": 4500, "reason": "go away"}
        call_api(centrifugo, "disconnect", {"user": user, "disconnect": disconnect})
        stopped = events.next(Disconnected)
        assert (stopped.code, stopped.reason) == (4500, "go away")
        assert client.state is ClientState.DISCONNECTED
        assert client._proto.next_deadline() is None  # no reconnect pending
        assert events.empty()  # and no Connecting before it


def test_server_disconnect_4000_reconnects(adapter: Runner, centrifugo: CentrifugoServer) -> None:
    user = unique("again-")
    channel = unique("chat:again-")
    with adapter.connected(centrifugo.ws_url, token=token_for(centrifugo, user)) as client:
        sub = client.subscribe(channel)
        first_id = client.client_id
        events = Events(client, "connecting", "connected", "disconnected")
        disconnect = {"code": 4000, "reason": "come back"}
        call_api(centrifugo, "disconnect", {"user": user, "disconnect": disconnect})
        connecting = events.next(Connecting)
        assert (connecting.code, connecting.reason) == (4000, "come back")
        connected = events.next(Connected)
        assert connected.client_id != first_id
        # The subscription came back by itself and receives again.
        call_api(centrifugo, "publish", {"channel": channel, "data": {"after": 1}})
        (pub,) = sub.take(1)
        assert adapter.value(pub.data) == {"after": 1}
        assert sub.state is SubscriptionState.SUBSCRIBED


def test_commands_wait_for_the_connection(adapter: Runner, centrifugo: CentrifugoServer) -> None:
    channel = unique("chat:early-")
    client = adapter.client(centrifugo.ws_url, token=token_for(centrifugo, "early"))
    try:
        # Issued before connect: the subscribe goes out after the connect reply.
        sub = client.new_subscription(channel)
        subscribing = Events(sub, "subscribing")
        subscribed = adapter.background(sub.subscribe)
        subscribing.next(Subscribing)
        client.connect()
        assert subscribed.result(TIMEOUT).channel == channel
        client.publish(channel, adapter.payload("early bird"))
        (pub,) = sub.take(1)
        assert adapter.value(pub.data) == "early bird"
    finally:
        client.close()
    assert client.state is ClientState.CLOSED


def test_disconnect_then_connect_again(adapter: Runner, centrifugo: CentrifugoServer) -> None:
    with adapter.connected(centrifugo.ws_url) as client:
        first = client.client_id
        client.disconnect()
        assert client.state is ClientState.DISCONNECTED
        with pytest.raises(Exception, match="disconnected"):
            client.publish("public:x", adapter.payload(1))
        client.connect()
        assert client.state is ClientState.CONNECTED
        assert client.client_id != first


def test_connect_refused_port_keeps_trying_with_backoff(adapter: Runner) -> None:
    # Nothing listens on this port: the transport fails, the client stays
    # connecting and schedules the next attempt (no server needed).
    from harness.centrifugo import free_port

    url = f"ws://127.0.0.1:{free_port()}/connection/websocket"
    client = adapter.client(url)
    events = Events(client, "error", "connecting")
    with pytest.raises(Exception, match="timed out"):
        client.connect(timeout=0.5)
    assert client.state is ClientState.CONNECTING
    assert events.next(Connecting).code == ConnectingCode.CONNECT_CALLED
    client.close()
