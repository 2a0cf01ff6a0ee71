"""Resilience against the real server (issue "Resilience", Evidence), for every
adapter: disconnect codes, token refresh through short-lived JWTs, liveness
under frozen traffic, bounded memory when the application stops reading.

The soak tests with faults (cuts, SIGKILL, failover) are in ``test_resilience_soak.py``.
Long scenarios run the three adapters in both codecs at the same time (``on_every_adapter``).
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import pytest
from drivers import EVERY, Events, Runner, call_api, on_every_adapter, token_for, unique

from centrifugo_proto import (
    ClientOptions,
    ClientState,
    Connected,
    Connecting,
    ConnectingCode,
    Disconnected,
    PingReceived,
    PublicationsLost,
    StreamPosition,
    TokenRefreshed,
    connection_token,
    subscription_token,
)
from harness import FAST_PING, CentrifugoServer, ServerFactory, soak_overrides

# PROTOCOL.md §5.3: every row the server API can be made to send.
RECONNECT_CODES = [3000, 3001, 3004, 3005, 3006, 3008, 3009, 3010, 3011, 3012, 3013, 3014,
                   4000, 4001, 4499]  # fmt: skip
TERMINAL_CODES = [3500, 3501, 3502, 3503, 3504, 3505, 3506, 3507, 3508, 3509, 4500, 4999]


def disconnect_user(server: CentrifugoServer, user: str, code: int) -> None:
    call_api(server, "disconnect", {"user": user, "disconnect": {"code": code, "reason": "r"}})


@pytest.mark.parametrize("code", RECONNECT_CODES)
def test_reconnect_codes_reconnect(
    adapter: Runner, centrifugo: CentrifugoServer, code: int
) -> None:
    user = unique(f"rc{code}-")
    with adapter.connected(centrifugo.ws_url, token=token_for(centrifugo, user)) as client:
        events = Events(client, "connecting", "connected", "disconnected")
        disconnect_user(centrifugo, user, code)
        # 3000 is the server's "no advice": it drops the socket without a close
        # frame (seen on v6.9.1), which the client reports as transport closed.
        expected = ConnectingCode.TRANSPORT_CLOSED if code == 3000 else code
        assert events.next(Connecting).code == expected
        events.next(Connected)
        assert client.state is ClientState.CONNECTED


@pytest.mark.parametrize("code", TERMINAL_CODES)
def test_terminal_codes_stop(adapter: Runner, centrifugo: CentrifugoServer, code: int) -> None:
    user = unique(f"tc{code}-")
    with adapter.connected(centrifugo.ws_url, token=token_for(centrifugo, user)) as client:
        events = Events(client, "connecting", "disconnected")
        disconnect_user(centrifugo, user, code)
        assert events.next(Disconnected).code == code
        assert client.state is ClientState.DISCONNECTED
        assert client.real._proto.next_deadline() is None  # no reconnect scheduled
        assert events.empty()  # and no Connecting before it


def test_short_lived_jwts_refresh_for_a_minute(centrifugo_factory: ServerFactory) -> None:
    """Connection and subscription JWTs valid for 5 s keep each adapter's client
    connected and subscribed for 60 s through refresh and sub_refresh."""
    server = centrifugo_factory()

    def scenario(adapter: Runner) -> dict[str, int]:
        user = unique(f"fresh-{adapter.kind}-")
        channel = unique("private:fresh-")

        def connection_jwt() -> str:
            return connection_token(server.hmac_secret, user, exp=int(time.time()) + 5)

        def subscription_jwt(ch: str) -> str:
            return subscription_token(server.hmac_secret, user, ch, exp=int(time.time()) + 5)

        async def async_subscription_jwt(ch: str) -> str:
            return subscription_jwt(ch)

        # The async adapters take coroutine functions too: use one there.
        token_getter = subscription_jwt if adapter.kind == "blocking" else async_subscription_jwt
        refreshed = {"connection": 0, "subscription": 0}

        def count(event: TokenRefreshed) -> None:
            refreshed["connection" if event.channel is None else "subscription"] += 1

        with adapter.connected(server.ws_url, get_token=connection_jwt) as client:
            trouble = Events(client, "connecting", "disconnected")
            client.on("refresh", count)
            sub = client.new_subscription(channel, get_token=token_getter)
            sub.on("refresh", count)
            sub.subscribe()
            sub.on("subscribing", trouble.events.put).on("unsubscribed", trouble.events.put)
            # Nothing may go wrong for a minute: waiting for trouble must time out.
            with pytest.raises(queue.Empty):
                trouble.next(object, timeout=60)
            assert client.state is ClientState.CONNECTED
            client.publish(channel, adapter.payload("still here"))
            assert adapter.value(sub.take(1)[0].data) == "still here"
        return refreshed

    for kind, refreshed in on_every_adapter(scenario).items():
        # A 5 s token needs a refresh at least every 5 s: a minute gives 10 or more.
        assert refreshed["connection"] >= 10, (kind, refreshed)
        assert refreshed["subscription"] >= 10, (kind, refreshed)


def test_frozen_traffic_is_noticed_and_the_client_reconnects(
    centrifugo_factory: ServerFactory, fault_proxy: Any
) -> None:
    """Ping every 2 s, client max delay 1 s: a freeze is noticed within 2 + 1 + 1 s."""
    server = centrifugo_factory(FAST_PING)
    proxy = fault_proxy(server)
    max_delay = 1.0
    options = ClientOptions(max_server_ping_delay=max_delay, max_reconnect_delay=1.0)

    frozen_at: list[float] = []

    def freeze() -> None:
        proxy.freeze()
        frozen_at.append(time.monotonic())

    # The freeze starts once all the clients (every adapter, every codec) are
    # connected; the thaw once all of them noticed it.
    all_connected = threading.Barrier(EVERY, action=freeze, timeout=30)
    all_noticed = threading.Barrier(EVERY, action=proxy.thaw, timeout=30)

    def scenario(adapter: Runner) -> float:
        with adapter.connected(proxy.url, options=options) as client:
            events = Events(client, "connecting", "connected")
            all_connected.wait()
            connecting = events.next(Connecting, timeout=10)
            noticed = time.monotonic() - frozen_at[0]
            assert connecting.code == ConnectingCode.NO_PING
            all_noticed.wait()
            events.next(Connected, timeout=10)
            assert client.state is ClientState.CONNECTED
            return noticed

    for kind, noticed in on_every_adapter(scenario).items():
        # ping interval 2 s + max delay 1 s, +1 s for scheduling slack.
        assert noticed <= 2 + max_delay + 1, (kind, noticed)


def test_a_reader_that_stops_reading_keeps_memory_bounded_and_pongs_flowing(
    centrifugo_factory: ServerFactory,
) -> None:
    """A subscription nobody reads, buffer of 100, 1000 publications: the buffer
    keeps the newest 100, pings keep being answered (the connection never drops),
    and the reader's loop goes on: it is told what was dropped through the
    ``publications_lost`` event and the subscription's counters, and history
    still has it."""
    server = centrifugo_factory(soak_overrides(fast_ping=True))  # history keeps 10000

    def scenario(adapter: Runner) -> None:
        channel = unique(f"soak:slow-reader-{adapter.kind}-")
        with adapter.connected(server.ws_url, token=token_for(server, unique("slow-"))) as client:
            trouble = Events(client, "connecting", "disconnected")
            pings = Events(client, "ping")
            sub = client.new_subscription(channel, buffer_size=100)
            losses = Events(sub, "publications_lost")
            subscribed = sub.subscribe()
            commands = [{"publish": {"channel": channel, "data": {"n": n}}} for n in range(1000)]
            call_api(server, "batch", {"commands": commands})
            # Pings arrive and are answered while nobody reads (2 s interval,
            # the server cuts after 1 s without a pong).
            for _ in range(3):
                pings.next(PingReceived)
            assert sub.real._buffered() == 100
            assert sub.dropped == 900  # counted as they were dropped
            # One loop reads all that was kept: it never ends on the gap.
            rest = sub.take(100)
            assert [p.offset for p in rest] == list(range(901, 1001))
            assert [adapter.value(p.data)["n"] for p in rest] == list(range(900, 1000))
            lost = losses.next(PublicationsLost)
            assert (lost.count, lost.reason) == (900, "buffer full")
            assert lost.since == StreamPosition(0, subscribed.position.epoch)
            assert sub.last_drop == lost
            assert losses.empty()  # one report for the one gap
            history = client.history(channel, since=lost.since, limit=lost.count)
            assert [p.offset for p in history.publications] == list(range(1, 901))
            assert trouble.empty()
            assert client.state is ClientState.CONNECTED

    on_every_adapter(scenario)
