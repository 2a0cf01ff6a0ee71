"""The asyncio client against a real Centrifugo v6 (issue "Foundation", Evidence).

Every test talks to the server the harness started; nothing here is faked.
Each test uses channels and users of its own (``unique``), so they share one
server without seeing each other's traffic.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

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
    SubscriptionState,
    Unsubscribed,
    connection_token,
    subscription_token,
)
from centrifugo_proto.adapters.asyncio import Client
from harness import CentrifugoServer

T = TypeVar("T")
TIMEOUT = 10.0
_counter = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}-{uuid.uuid4().hex[:8]}"


def run(factory: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(factory(), 60)

    return asyncio.run(bounded())


def token_for(server: CentrifugoServer, user: str, **claims: Any) -> str:
    return connection_token(server.hmac_secret, user, exp=int(time.time()) + 3600, **claims)


class Recorder:
    """Collects a client's (or subscription's) callback events in order."""

    def __init__(self, target: Any, *names: str) -> None:
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        for name in names:
            target.on(name, self.events.put_nowait)

    async def next(self, kind: type[T], timeout: float = TIMEOUT) -> T:
        """The next event of ``kind``; others before it are skipped."""
        while True:
            event = await asyncio.wait_for(self.events.get(), timeout)
            if isinstance(event, kind):
                return event


async def api(server: CentrifugoServer, method: str, params: dict[str, Any]) -> dict[str, Any]:
    reply = await asyncio.to_thread(server.api, method, params)
    assert "error" not in reply, reply
    return reply


async def take(sub: Any, count: int) -> list[Any]:
    return [await asyncio.wait_for(sub.__anext__(), TIMEOUT) for _ in range(count)]


# -- connect ---------------------------------------------------------------------------


def test_anonymous_connect(centrifugo: CentrifugoServer) -> None:
    async def scenario() -> None:
        async with Client(centrifugo.ws_url) as client:
            assert client.state is ClientState.CONNECTED
            assert client.client_id
            # Anonymous users may subscribe to channels without namespace only.
            sub = await client.subscribe(unique("anon-"))
            assert sub.state is SubscriptionState.SUBSCRIBED

    run(scenario)


def test_jwt_connect_carries_user(centrifugo: CentrifugoServer) -> None:
    user = unique("user-")
    channel = unique("chat:jwt-")

    async def scenario() -> None:
        async with Client(centrifugo.ws_url, token=token_for(centrifugo, user)) as client:
            assert client.client_id
            await client.subscribe(channel)
            presence = await client.presence(channel)
            assert isinstance(presence, PresenceResult)
            info = presence.clients[client.client_id]
            assert (info.user, info.client) == (user, client.client_id)

    run(scenario)


def test_bad_token_is_terminal(centrifugo: CentrifugoServer) -> None:
    bad = connection_token("not-the-secret", "42", exp=int(time.time()) + 3600)

    async def scenario() -> None:
        client = Client(centrifugo.ws_url, token=bad)
        recorder = Recorder(client, "disconnected")
        with pytest.raises(ReplyError) as caught:
            await client.connect()
        assert caught.value.code == 3500  # invalid token closes the WebSocket (§5.3)
        assert (await recorder.next(Disconnected)).code == 3500
        assert client.state is ClientState.DISCONNECTED
        assert client._proto.next_deadline() is None  # no reconnect scheduled
        await client.close()

    run(scenario)


# -- publications ----------------------------------------------------------------------


def test_publish_from_client_and_api_arrive_with_increasing_offsets(
    centrifugo: CentrifugoServer,
) -> None:
    channel = unique("chat:pubs-")

    async def scenario() -> None:
        token = token_for(centrifugo, unique("u-"))
        async with Client(centrifugo.ws_url, token=token) as client:
            sub = await client.subscribe(channel)
            for n in range(3):
                await client.publish(channel, {"n": n, "from": "client"})
            for n in range(3, 5):
                await api(centrifugo, "publish", {"channel": channel, "data": {"n": n}})
            pubs = await take(sub, 5)
            assert [p.data["n"] for p in pubs] == [0, 1, 2, 3, 4]
            offsets = [p.offset for p in pubs]
            assert offsets == list(range(offsets[0], offsets[0] + 5))
            assert all(p.channel == channel for p in pubs)
            # Client publications carry the publisher's info; API ones none.
            assert pubs[0].info is not None
            assert pubs[0].info.client == client.client_id
            assert pubs[4].info is None

    run(scenario)


def test_history_limit_since_reverse(centrifugo: CentrifugoServer) -> None:
    channel = unique("chat:hist-")

    async def scenario() -> None:
        async with Client(centrifugo.ws_url, token=token_for(centrifugo, "h")) as client:
            await client.subscribe(channel)
            for n in range(5):
                await client.publish(channel, {"n": n})
            full = await client.history(channel, limit=-1)
            assert isinstance(full, HistoryResult)
            assert [p.data["n"] for p in full.publications] == [0, 1, 2, 3, 4]
            assert full.offset == full.publications[-1].offset
            assert full.epoch
            first_two = await client.history(channel, limit=2)
            assert [p.data["n"] for p in first_two.publications] == [0, 1]
            since = StreamPosition(full.publications[1].offset, full.epoch)
            rest = await client.history(channel, limit=10, since=since)
            assert [p.data["n"] for p in rest.publications] == [2, 3, 4]
            newest = await client.history(channel, limit=2, reverse=True)
            assert [p.data["n"] for p in newest.publications] == [4, 3]
            top = await client.history(channel)
            assert top.publications == ()
            assert top.offset == full.offset

    run(scenario)


def test_presence_and_stats_with_two_clients(centrifugo: CentrifugoServer) -> None:
    channel = unique("chat:presence-")
    users = [unique("alice-"), unique("bob-")]

    async def scenario() -> None:
        async with (
            Client(centrifugo.ws_url, token=token_for(centrifugo, users[0])) as one,
            Client(centrifugo.ws_url, token=token_for(centrifugo, users[1])) as two,
        ):
            await one.subscribe(channel)
            await two.subscribe(channel)
            presence = await one.presence(channel)
            assert set(presence.clients) == {one.client_id, two.client_id}
            assert {info.user for info in presence.clients.values()} == set(users)
            stats = await two.presence_stats(channel)
            assert stats == PresenceStatsResult(num_clients=2, num_users=2)

    run(scenario)


def test_join_and_leave_seen_by_the_other_client(centrifugo: CentrifugoServer) -> None:
    channel = unique("chat:joins-")

    async def scenario() -> None:
        async with (
            Client(centrifugo.ws_url, token=token_for(centrifugo, "watcher")) as watcher,
            Client(centrifugo.ws_url, token=token_for(centrifugo, "visitor")) as visitor,
        ):
            sub = watcher.new_subscription(channel, join_leave=True)
            seen = Recorder(sub, "join", "leave")
            await sub.subscribe()
            # The server announces the watcher's own join first.
            own = await seen.next(JoinReceived)
            assert own.info.client == watcher.client_id
            await visitor.subscribe(channel)
            join = await seen.next(JoinReceived)
            assert (join.info.user, join.info.client) == ("visitor", visitor.client_id)
            await visitor.unsubscribe(channel)
            leave = await seen.next(LeaveReceived)
            assert (leave.info.user, leave.info.client) == ("visitor", visitor.client_id)

    run(scenario)


def test_publication_after_unsubscribe_is_dropped_and_connection_stays(
    centrifugo: CentrifugoServer,
) -> None:
    channel = unique("chat:after-")

    async def scenario() -> None:
        async with Client(centrifugo.ws_url, token=token_for(centrifugo, "u")) as client:
            recorder = Recorder(client, "connecting", "disconnected")
            sub = await client.subscribe(channel)
            await client.unsubscribe(channel)
            assert sub.state is SubscriptionState.UNSUBSCRIBED
            await api(centrifugo, "publish", {"channel": channel, "data": {"late": True}})
            # A command round trip after the publication: the connection is fine,
            # and the publication reached the channel (the server's history has it).
            await client.publish(channel, {"late": 2})
            history = await api(centrifugo, "history", {"channel": channel, "limit": -1})
            datas = [p["data"] for p in history["result"]["publications"]]
            assert datas == [{"late": True}, {"late": 2}]
            assert sub._queue.empty()
            assert recorder.events.empty()
            assert client.state is ClientState.CONNECTED

    run(scenario)


# -- errors ----------------------------------------------------------------------------


def test_subscribe_denied_and_unknown_namespace_raise_reply_errors(
    centrifugo: CentrifugoServer,
) -> None:
    async def scenario() -> None:
        async with Client(centrifugo.ws_url, token=token_for(centrifugo, "u")) as client:
            with pytest.raises(ReplyError) as denied:
                await client.subscribe(unique("private:"))
            assert denied.value.code == 103
            with pytest.raises(ReplyError) as unknown:
                await client.subscribe(unique("nosuchns:"))
            assert unknown.value.code == 102
            assert client.state is ClientState.CONNECTED

    run(scenario)


def test_private_channel_with_subscription_token(centrifugo: CentrifugoServer) -> None:
    channel = unique("private:room-")
    user = unique("p-")

    async def scenario() -> None:
        async with Client(centrifugo.ws_url, token=token_for(centrifugo, user)) as client:
            sub_token = subscription_token(
                centrifugo.hmac_secret, user, channel, exp=int(time.time()) + 3600
            )
            sub = await client.subscribe(channel, token=sub_token)
            await client.publish(channel, {"secret": 1})
            (pub,) = await take(sub, 1)
            assert pub.data == {"secret": 1}

    run(scenario)


def test_rpc_through_the_proxy(centrifugo: CentrifugoServer) -> None:
    async def scenario() -> None:
        async with Client(centrifugo.ws_url, token=token_for(centrifugo, "rpc-user")) as client:
            result = await client.rpc("echo", {"question": 42})
            assert result == RpcResult(data={"question": 42})
            with pytest.raises(ReplyError) as refused:
                await client.rpc("refuse", {})
            assert (refused.value.code, refused.value.message) == (1000, "refused")

    run(scenario)


# -- server-side actions through the HTTP API -----------------------------------------


def test_server_side_subscribe_publish_unsubscribe(centrifugo: CentrifugoServer) -> None:
    user = unique("srv-")
    channel = unique("chat:server-side-")

    async def scenario() -> None:
        async with Client(centrifugo.ws_url, token=token_for(centrifugo, user)) as client:
            events = Recorder(client, "subscribed", "publication", "unsubscribed")
            await api(centrifugo, "subscribe", {"user": user, "channel": channel})
            subscribed = await events.next(Subscribed)
            assert (subscribed.channel, subscribed.server_side) == (channel, True)
            await api(centrifugo, "publish", {"channel": channel, "data": {"to": "all"}})
            pub = await events.next(PublicationReceived)
            assert pub.server_side
            assert pub.publication.data == {"to": "all"}
            await api(centrifugo, "unsubscribe", {"user": user, "channel": channel})
            gone = await events.next(Unsubscribed)
            assert (gone.channel, gone.server_side, gone.code) == (channel, True, 2000)

    run(scenario)


def test_server_disconnect_4500_stops(centrifugo: CentrifugoServer) -> None:
    user = unique("bye-")

    async def scenario() -> None:
        async with Client(centrifugo.ws_url, token=token_for(centrifugo, user)) as client:
            events = Recorder(client, "connecting", "disconnected")
            disconnect = {"code": 4500, "reason": "go away"}
            await api(centrifugo, "disconnect", {"user": user, "disconnect": disconnect})
            stopped = await events.next(Disconnected)
            assert (stopped.code, stopped.reason) == (4500, "go away")
            assert client.state is ClientState.DISCONNECTED
            assert client._proto.next_deadline() is None  # no reconnect pending
            assert events.events.empty()  # and no Connecting before it

    run(scenario)


def test_server_disconnect_4000_reconnects(centrifugo: CentrifugoServer) -> None:
    user = unique("again-")
    channel = unique("chat:again-")

    async def scenario() -> None:
        async with Client(centrifugo.ws_url, token=token_for(centrifugo, user)) as client:
            sub = await client.subscribe(channel)
            first_id = client.client_id
            events = Recorder(client, "connecting", "connected", "disconnected")
            disconnect = {"code": 4000, "reason": "come back"}
            await api(centrifugo, "disconnect", {"user": user, "disconnect": disconnect})
            connecting = await events.next(Connecting)
            assert (connecting.code, connecting.reason) == (4000, "come back")
            connected = await events.next(Connected)
            assert connected.client_id != first_id
            # The subscription came back by itself and receives again.
            await api(centrifugo, "publish", {"channel": channel, "data": {"after": 1}})
            (pub,) = await take(sub, 1)
            assert pub.data == {"after": 1}
            assert sub.state is SubscriptionState.SUBSCRIBED

    run(scenario)


def test_commands_wait_for_the_connection(centrifugo: CentrifugoServer) -> None:
    channel = unique("chat:early-")

    async def scenario() -> None:
        client = Client(centrifugo.ws_url, token=token_for(centrifugo, "early"))
        try:
            connecting = client.connect()
            # Issued before the connect reply: they go out after it, together.
            sub = client.new_subscription(channel)
            subscribed, _ = await asyncio.gather(sub.subscribe(), connecting)
            assert subscribed.channel == channel
            await client.publish(channel, "early bird")
            (pub,) = await take(sub, 1)
            assert pub.data == "early bird"
        finally:
            await client.close()
        assert client.state is ClientState.CLOSED

    run(scenario)


def test_disconnect_then_connect_again(centrifugo: CentrifugoServer) -> None:
    async def scenario() -> None:
        async with Client(centrifugo.ws_url) as client:
            first = client.client_id
            await client.disconnect()
            assert client.state is ClientState.DISCONNECTED
            with pytest.raises(Exception, match="disconnected"):
                await client.publish("public:x", 1)
            await client.connect()
            assert client.state is ClientState.CONNECTED
            assert client.client_id != first

    run(scenario)


def test_connect_refused_port_keeps_trying_with_backoff() -> None:
    # Nothing listens on this port: the transport fails, the client stays
    # connecting and schedules the next attempt (no server needed).
    from harness.centrifugo import free_port

    url = f"ws://127.0.0.1:{free_port()}/connection/websocket"

    async def scenario() -> None:
        client = Client(url)
        events = Recorder(client, "error", "connecting")
        with pytest.raises(Exception, match="timed out"):
            await client.connect(timeout=0.5)
        assert client.state is ClientState.CONNECTING
        assert (await events.next(Connecting)).code == ConnectingCode.CONNECT_CALLED
        await client.close()

    run(scenario)
