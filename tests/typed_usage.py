"""Every public method of every adapter, typed (issue 8: a precise type for each
result, never ``Any``). ``make lint`` checks this file with ``mypy --strict``; the
``assert_type`` calls fail there if a method's type loosens.
``tests/integration/test_typed_usage.py`` runs it against the real server.

asyncio and trio share one body (their API is the async layer's): it is
checked against the union of the two clients, so each must give these types.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

from centrifugo_proto import (
    ClientOptions,
    ClientState,
    HistoryResult,
    PresenceResult,
    PresenceStatsResult,
    Publication,
    PublicationsLost,
    PublishResult,
    RpcResult,
    Subscribed,
    SubscriptionState,
)
from centrifugo_proto.adapters import asyncio as asyncio_adapter
from centrifugo_proto.adapters import blocking as blocking_adapter
from centrifugo_proto.adapters import trio as trio_adapter

AsyncClient = asyncio_adapter.Client | trio_adapter.Client
AsyncSubscription = asyncio_adapter.Subscription | trio_adapter.Subscription
OPTIONS = ClientOptions(timeout=5.0)


async def use_asyncio(url: str, token: str, channel: str) -> dict[str, Any]:
    client = asyncio_adapter.Client(url, token=token, options=OPTIONS, name="typed")
    assert_type(client.on("connected", print), asyncio_adapter.Client)
    async with client as entered:
        assert_type(entered, asyncio_adapter.Client)
        return await _use_async(entered, channel)


async def use_trio(url: str, token: str, channel: str) -> dict[str, Any]:
    client = trio_adapter.Client(url, token=token, options=OPTIONS, name="typed")
    assert_type(client.on("connected", print), trio_adapter.Client)
    async with client as entered:
        assert_type(entered, trio_adapter.Client)
        return await _use_async(entered, channel)


async def _use_async(client: AsyncClient, channel: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    assert_type(client.state, ClientState)
    assert_type(client.client_id, str | None)
    await client.connect(timeout=5)  # connected already: at once
    sub = client.new_subscription(channel, recoverable=True, join_leave=True, buffer_size=16)
    assert_type(sub, AsyncSubscription)
    assert_type(sub.on("join", print), AsyncSubscription)
    assert_type(client.get_subscription(channel), AsyncSubscription | None)
    assert_type(sub.channel, str)
    results["subscribed"] = assert_type(await sub.subscribe(timeout=5), Subscribed)
    assert_type(sub.state, SubscriptionState)
    results["publish"] = assert_type(await client.publish(channel, {"n": 1}), PublishResult)
    assert_type(await sub.publish({"n": 2}, timeout=5), PublishResult)
    received: list[Publication] = []
    async for pub in sub:
        received.append(assert_type(pub, Publication))
        if len(received) == 2:
            break
    results["received"] = received
    results["history"] = assert_type(
        await client.history(channel, limit=10, since=None, reverse=False, timeout=5),
        HistoryResult,
    )
    assert_type(await sub.history(limit=1, timeout=5), HistoryResult)
    results["presence"] = assert_type(await client.presence(channel), PresenceResult)
    assert_type(await sub.presence(timeout=5), PresenceResult)
    stats = assert_type(await client.presence_stats(channel, timeout=5), PresenceStatsResult)
    results["presence_stats"] = assert_type(await sub.presence_stats(), PresenceStatsResult)
    assert stats.num_clients == 1
    results["rpc"] = assert_type(await client.rpc("echo", {"x": 1}, timeout=5), RpcResult)
    results["dropped"] = assert_type(sub.dropped, int)
    results["last_drop"] = assert_type(sub.last_drop, PublicationsLost | None)
    await sub.unsubscribe()
    other = assert_type(
        await client.subscribe(f"{channel}-other", timeout=5, join_leave=True), AsyncSubscription
    )
    await client.unsubscribe(other.channel)
    await client.disconnect()
    await client.connect()
    results["reconnected"] = client.state
    await client.send({"fire": "forget"}, timeout=5)  # the last: the server may disconnect
    await client.close()
    results["closed"] = client.state
    return results


def use_blocking(url: str, token: str, channel: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    client = blocking_adapter.Client(url, token=token, options=OPTIONS, name="typed")
    assert_type(client.on("connected", print), blocking_adapter.Client)
    with client as entered:
        assert_type(entered, blocking_adapter.Client)
        assert_type(client.state, ClientState)
        assert_type(client.client_id, str | None)
        client.connect(timeout=5)  # connected already: at once
        sub = client.new_subscription(channel, recoverable=True, join_leave=True, buffer_size=16)
        assert_type(sub, blocking_adapter.Subscription)
        assert_type(sub.on("join", print), blocking_adapter.Subscription)
        assert_type(client.get_subscription(channel), blocking_adapter.Subscription | None)
        assert_type(sub.channel, str)
        results["subscribed"] = assert_type(sub.subscribe(timeout=5), Subscribed)
        assert_type(sub.state, SubscriptionState)
        results["publish"] = assert_type(client.publish(channel, {"n": 1}), PublishResult)
        assert_type(sub.publish({"n": 2}, timeout=5), PublishResult)
        received: list[Publication] = []
        for pub in sub:
            received.append(assert_type(pub, Publication))
            if len(received) == 2:
                break
        results["received"] = received
        results["history"] = assert_type(
            client.history(channel, limit=10, since=None, reverse=False, timeout=5),
            HistoryResult,
        )
        assert_type(sub.history(limit=1, timeout=5), HistoryResult)
        results["presence"] = assert_type(client.presence(channel), PresenceResult)
        assert_type(sub.presence(timeout=5), PresenceResult)
        stats = assert_type(client.presence_stats(channel, timeout=5), PresenceStatsResult)
        results["presence_stats"] = assert_type(sub.presence_stats(), PresenceStatsResult)
        assert stats.num_clients == 1
        results["rpc"] = assert_type(client.rpc("echo", {"x": 1}, timeout=5), RpcResult)
        results["dropped"] = assert_type(sub.dropped, int)
        results["last_drop"] = assert_type(sub.last_drop, PublicationsLost | None)
        sub.unsubscribe()
        other = assert_type(
            client.subscribe(f"{channel}-other", timeout=5, join_leave=True),
            blocking_adapter.Subscription,
        )
        client.unsubscribe(other.channel)
        client.disconnect()
        client.connect()
        results["reconnected"] = client.state
        client.send({"fire": "forget"}, timeout=5)  # the last: the server may disconnect
    results["closed"] = client.state
    return results
