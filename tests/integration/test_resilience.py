"""Resilience against the real server (issue "Resilience", Evidence): disconnect
codes, token refresh through short-lived JWTs, liveness under frozen traffic.

The soak tests with faults (cuts, SIGKILL, failover) are in ``test_resilience_soak.py``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from test_client import Recorder, api, run, token_for, unique

from centrifugo_proto import (
    ClientOptions,
    ClientState,
    Connected,
    Connecting,
    ConnectingCode,
    Disconnected,
    TokenRefreshed,
    connection_token,
    subscription_token,
)
from centrifugo_proto.adapters.asyncio import Client
from harness import CentrifugoServer, ServerFactory

# PROTOCOL.md §5.3: every row the server API can be made to send.
RECONNECT_CODES = [
    3000,
    3001,
    3004,
    3005,
    3006,
    3008,
    3009,
    3010,
    3011,
    3012,
    3013,
    3014,
    4000,
    4001,
    4499,
]
TERMINAL_CODES = [3500, 3501, 3502, 3503, 3504, 3505, 3506, 3507, 3508, 3509, 4500, 4999]

FAST_PING = {"client.ping_interval": "2s", "client.pong_timeout": "1s"}


async def disconnect_user(server: CentrifugoServer, user: str, code: int) -> None:
    await api(server, "disconnect", {"user": user, "disconnect": {"code": code, "reason": "r"}})


@pytest.mark.parametrize("code", RECONNECT_CODES)
def test_reconnect_codes_reconnect(centrifugo: CentrifugoServer, code: int) -> None:
    user = unique(f"rc{code}-")

    async def scenario() -> None:
        async with Client(centrifugo.ws_url, token=token_for(centrifugo, user)) as client:
            events = Recorder(client, "connecting", "connected", "disconnected")
            await disconnect_user(centrifugo, user, code)
            # 3000 is the server's "no advice": it drops the socket without a close
            # frame (seen on v6.9.1), which the client reports as transport closed.
            expected = ConnectingCode.TRANSPORT_CLOSED if code == 3000 else code
            assert (await events.next(Connecting)).code == expected
            await events.next(Connected)
            assert client.state is ClientState.CONNECTED

    run(scenario)


@pytest.mark.parametrize("code", TERMINAL_CODES)
def test_terminal_codes_stop(centrifugo: CentrifugoServer, code: int) -> None:
    user = unique(f"tc{code}-")

    async def scenario() -> None:
        async with Client(centrifugo.ws_url, token=token_for(centrifugo, user)) as client:
            events = Recorder(client, "connecting", "disconnected")
            await disconnect_user(centrifugo, user, code)
            assert (await events.next(Disconnected)).code == code
            assert client.state is ClientState.DISCONNECTED
            assert client._proto.next_deadline() is None
            assert events.events.empty()  # no Connecting: no reconnect

    run(scenario)


def test_short_lived_jwts_refresh_for_a_minute(centrifugo_factory: ServerFactory) -> None:
    """Connection and subscription JWTs valid for 5 s keep the client connected and
    subscribed for 60 s through refresh and sub_refresh, with no disconnect."""
    server = centrifugo_factory()
    user = unique("fresh-")
    channel = unique("private:fresh-")

    def jwt(channel: str | None = None) -> str:
        """Connection JWT without a channel, subscription JWT with one; 5 s each."""
        exp = int(time.time()) + 5
        if channel is None:
            return connection_token(server.hmac_secret, user, exp=exp)
        return subscription_token(server.hmac_secret, user, channel, exp=exp)

    async def scenario() -> None:
        refreshed = {"connection": 0, "subscription": 0}

        def count(event: TokenRefreshed) -> None:
            refreshed["connection" if event.channel is None else "subscription"] += 1

        async with Client(server.ws_url, get_token=jwt) as client:
            trouble = Recorder(client, "connecting", "disconnected")
            client.on("refresh", count)
            sub = client.new_subscription(channel, has_token_source=True)
            sub.on("refresh", count)
            await sub.subscribe()
            sub.on("subscribing", trouble.events.put_nowait)
            sub.on("unsubscribed", trouble.events.put_nowait)
            # Nothing may go wrong for a minute: waiting for trouble must time out.
            with pytest.raises(TimeoutError):
                await trouble.next(object, timeout=60)
            assert client.state is ClientState.CONNECTED
            # A 5 s token needs a refresh at least every 5 s: 60 s gives 10 or more.
            assert refreshed["connection"] >= 10, refreshed
            assert refreshed["subscription"] >= 10, refreshed
            await client.publish(channel, "still here")
            assert (await asyncio.wait_for(sub.__anext__(), 5)).data == "still here"

    asyncio.run(asyncio.wait_for(scenario(), 120))  # a minute of refreshes, bounded


def test_frozen_traffic_is_noticed_and_the_client_reconnects(
    centrifugo_factory: ServerFactory, fault_proxy: Any
) -> None:
    server = centrifugo_factory(FAST_PING)
    proxy = fault_proxy(server)
    max_delay = 1.0

    async def scenario() -> None:
        options = ClientOptions(max_server_ping_delay=max_delay, max_reconnect_delay=1.0)
        async with Client(proxy.url, options=options) as client:
            events = Recorder(client, "connecting", "connected", "disconnected")
            frozen_at = asyncio.get_running_loop().time()
            await asyncio.to_thread(proxy.freeze)
            connecting = await events.next(Connecting, timeout=10)
            noticed = asyncio.get_running_loop().time() - frozen_at
            assert connecting.code == 2  # no ping
            # ping interval 2 s + max delay 1 s, +1 s for scheduling slack.
            assert noticed <= 2 + max_delay + 1, noticed
            await asyncio.to_thread(proxy.thaw)
            await events.next(Connected, timeout=10)
            assert client.state is ClientState.CONNECTED

    run(scenario)
