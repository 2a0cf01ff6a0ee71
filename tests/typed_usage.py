"""Every public method of every adapter and of its server API clients, typed (issue 8:
a precise type for each result, never ``Any``). ``make lint`` checks this file with
``mypy --strict``; the ``assert_type`` calls fail there if a method's type loosens.
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
    Credentials,
    HistoryResult,
    PingResult,
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
from centrifugo_proto.api import (
    ApiError,
    ApiResult,
    BroadcastResult,
    ChannelsResult,
    DisconnectResult,
    HistoryRemoveResult,
    HistoryRequest,
    InfoResult,
    LegacyApiError,
    LegacyChannelsResult,
    LegacyHistory,
    LegacyHistoryResult,
    LegacyNodeInfo,
    LegacyPresence,
    LegacyPresenceResult,
    LegacyResult,
    LegacyStatsResult,
    PresenceStatsRequest,
    RefreshResult,
    SubscribeResult,
    UnsubscribeResult,
)
from centrifugo_proto.api import (
    PublishResult as ApiPublishResult,
)
from centrifugo_proto.http import HttpResponse

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


# -- the 1.x dialect (DESIGN "The 1.x dialect"; docs/legacy.md) ------------------------------


async def use_legacy_asyncio(
    url: str, auth_endpoint: str, credentials: Credentials, channel: str, private: str
) -> dict[str, Any]:
    client = asyncio_adapter.Client(
        url,
        protocol="v1",
        auth_endpoint=auth_endpoint,
        max_alive_period=30,
        refresh_period=5,
        get_credentials=lambda: credentials,
        options=OPTIONS,
    )
    assert_type(client.on("connect", print).on("message", print), asyncio_adapter.Client)
    try:
        return await _use_legacy_async(client, credentials, channel, private)
    finally:
        await client.close()


async def use_legacy_trio(
    url: str, auth_endpoint: str, credentials: Credentials, channel: str, private: str
) -> dict[str, Any]:
    async def fetch() -> Credentials:  # an async source: the async adapters await it
        return credentials

    client = trio_adapter.Client(
        url, protocol="v1", auth_endpoint=auth_endpoint, get_credentials=fetch, options=OPTIONS
    )
    async with client as entered:  # connected with get_credentials' answer
        assert_type(entered, trio_adapter.Client)
        return await _use_legacy_async(entered, credentials, channel, private)


async def _use_legacy_async(
    client: AsyncClient, credentials: Credentials, channel: str, private: str
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    connected = await client.connect(
        user=credentials.user,
        timestamp=credentials.timestamp,
        token=credentials.token,
        info=credentials.info,
        timeout=5,
    )
    assert_type(connected, AsyncClient)
    assert_type(client.client_id, str | None)
    sub = assert_type(await client.subscribe(channel), AsyncSubscription)
    results["private"] = assert_type(await client.subscribe(private), AsyncSubscription).state
    results["publish"] = assert_type(
        await client.publish(channel, {"n": 1}, uid="typed-1", timeout=5), PublishResult
    )
    assert_type(await sub.publish({"n": 2}, uid="typed-2"), PublishResult)
    results["presence"] = assert_type(await client.presence(channel, uid="typed-p"), PresenceResult)
    assert_type(await sub.presence(uid="typed-sp"), PresenceResult)
    results["history"] = assert_type(await client.history(channel, uid="typed-h"), HistoryResult)
    assert_type(await sub.history(uid="typed-sh"), HistoryResult)
    results["ping"] = assert_type(await client.ping(), PingResult)
    results["ping_data"] = assert_type(
        await client.ping("hey", uid="typed-ping", timeout=5), PingResult
    )
    await client.unsubscribe(channel)
    await client.disconnect()
    await client.connect()  # the credentials given before
    results["reconnected"] = client.state
    return results


def use_legacy_blocking(
    url: str, auth_endpoint: str, credentials: Credentials, channel: str, private: str
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    client = blocking_adapter.Client(
        url,
        protocol="v1",
        auth_endpoint=auth_endpoint,
        max_alive_period=30,
        refresh_period=5,
        get_credentials=lambda: credentials,
        options=OPTIONS,
    )
    assert_type(client.on("connect", print).on("message", print), blocking_adapter.Client)
    try:
        connected = client.connect(
            user=credentials.user,
            timestamp=credentials.timestamp,
            token=credentials.token,
            info=credentials.info,
            timeout=5,
        )
        assert_type(connected, blocking_adapter.Client)
        assert_type(client.client_id, str | None)
        sub = assert_type(client.subscribe(channel), blocking_adapter.Subscription)
        private_sub = client.subscribe(private)
        results["private"] = assert_type(private_sub, blocking_adapter.Subscription).state
        results["publish"] = assert_type(
            client.publish(channel, {"n": 1}, uid="typed-1", timeout=5), PublishResult
        )
        assert_type(sub.publish({"n": 2}, uid="typed-2"), PublishResult)
        results["presence"] = assert_type(client.presence(channel, uid="typed-p"), PresenceResult)
        assert_type(sub.presence(uid="typed-sp"), PresenceResult)
        results["history"] = assert_type(client.history(channel, uid="typed-h"), HistoryResult)
        assert_type(sub.history(uid="typed-sh"), HistoryResult)
        results["ping"] = assert_type(client.ping(), PingResult)
        results["ping_data"] = assert_type(
            client.ping("hey", uid="typed-ping", timeout=5), PingResult
        )
        client.unsubscribe(channel)
        client.disconnect()
        client.connect()  # the credentials given before
        results["reconnected"] = client.state
    finally:
        client.close()
    results["closed"] = client.state
    return results


# -- the server API clients (docs/api.md) ----------------------------------------------------

AsyncApiClient = asyncio_adapter.ApiClient | trio_adapter.ApiClient
AsyncLegacyApiClient = asyncio_adapter.LegacyApiClient | trio_adapter.LegacyApiClient


async def use_api_asyncio(base: str, api_key: str, channel: str) -> dict[str, Any]:
    async with asyncio_adapter.ApiClient(f"{base}/api", api_key=api_key, timeout=5) as api:
        assert_type(api, asyncio_adapter.ApiClient)
        return await _use_api_async(api, base, api_key, channel)


async def use_api_trio(base: str, api_key: str, channel: str) -> dict[str, Any]:
    async with trio_adapter.ApiClient(f"{base}/api", api_key=api_key) as api:
        assert_type(api, trio_adapter.ApiClient)
        return await _use_api_async(api, base, api_key, channel)


async def _use_api_async(
    api: AsyncApiClient, base: str, api_key: str, channel: str
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    results["publish"] = assert_type(
        await api.publish(channel, {"n": 1}, skip_history=False, tags={"k": "v"}), ApiPublishResult
    )
    results["broadcast"] = assert_type(
        await api.broadcast([channel], {"n": 2}, timeout=5), BroadcastResult
    )
    results["history"] = assert_type(await api.history(channel, limit=10), HistoryResult)
    called = await api.call(HistoryRequest(channel))  # not inferred from the dict's Any
    results["call"] = assert_type(called, HistoryResult)
    results["batch"] = assert_type(
        await api.batch([PresenceStatsRequest(channel)], parallel=True),
        list[ApiResult | ApiError],
    )
    results["presence"] = assert_type(await api.presence(channel), PresenceResult)
    assert_type(await api.presence_stats(channel, timeout=5), PresenceStatsResult)
    results["channels"] = assert_type(await api.channels(channel), ChannelsResult)
    results["info"] = assert_type(await api.info(), InfoResult)
    assert_type(await api.subscribe("typed-nobody", channel), SubscribeResult)
    assert_type(await api.unsubscribe("typed-nobody", channel), UnsubscribeResult)
    assert_type(await api.refresh("typed-nobody", expired=False), RefreshResult)
    assert_type(await api.disconnect("typed-nobody", code=4000), DisconnectResult)
    assert_type(await api.history_remove(channel), HistoryRemoveResult)
    try:
        assert_type(await api.rpc("echo", {"x": 1}), RpcResult)
    except ApiError as exc:  # the open-source server has no server API RPC handlers
        results["rpc_code"] = exc.code
    headers = [("X-API-Key", api_key)]
    posted = await api.http.post_json(f"{base}/api/info", {}, headers=headers)
    results["post_json"] = assert_type(posted, HttpResponse).status
    got = await api.http.request("GET", f"{base}/health", timeout=5)
    results["request"] = assert_type(got, HttpResponse).status
    return results


def use_api_blocking(base: str, api_key: str, channel: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with blocking_adapter.ApiClient(f"{base}/api", api_key=api_key, timeout=5) as api:
        assert_type(api, blocking_adapter.ApiClient)
        assert_type(api.http, blocking_adapter.HttpClient)
        results["publish"] = assert_type(
            api.publish(channel, {"n": 1}, skip_history=False, tags={"k": "v"}), ApiPublishResult
        )
        results["broadcast"] = assert_type(
            api.broadcast([channel], {"n": 2}, timeout=5), BroadcastResult
        )
        results["history"] = assert_type(api.history(channel, limit=10), HistoryResult)
        results["call"] = assert_type(api.call(HistoryRequest(channel)), HistoryResult)
        results["batch"] = assert_type(
            api.batch([PresenceStatsRequest(channel)], parallel=True), list[ApiResult | ApiError]
        )
        results["presence"] = assert_type(api.presence(channel), PresenceResult)
        assert_type(api.presence_stats(channel, timeout=5), PresenceStatsResult)
        results["channels"] = assert_type(api.channels(channel), ChannelsResult)
        results["info"] = assert_type(api.info(), InfoResult)
        assert_type(api.subscribe("typed-nobody", channel), SubscribeResult)
        assert_type(api.unsubscribe("typed-nobody", channel), UnsubscribeResult)
        assert_type(api.refresh("typed-nobody", expired=False), RefreshResult)
        assert_type(api.disconnect("typed-nobody", code=4000), DisconnectResult)
        assert_type(api.history_remove(channel), HistoryRemoveResult)
        try:
            assert_type(api.rpc("echo", {"x": 1}), RpcResult)
        except ApiError as exc:  # the open-source server has no server API RPC handlers
            results["rpc_code"] = exc.code
        headers = [("X-API-Key", api_key)]
        posted = api.http.post_json(f"{base}/api/info", {}, headers=headers)
        results["post_json"] = assert_type(posted, HttpResponse).status
        got = api.http.request("GET", f"{base}/health", timeout=5)
        results["request"] = assert_type(got, HttpResponse).status
    return results


async def use_legacy_api_asyncio(url: str, secret: str, channel: str) -> dict[str, Any]:
    async with asyncio_adapter.LegacyApiClient(url, secret=secret, timeout=5) as api:
        assert_type(api, asyncio_adapter.LegacyApiClient)
        return await _use_legacy_api_async(api, channel)


async def use_legacy_api_trio(url: str, secret: str, channel: str) -> dict[str, Any]:
    async with trio_adapter.LegacyApiClient(url, secret=secret) as api:
        assert_type(api, trio_adapter.LegacyApiClient)
        return await _use_legacy_api_async(api, channel)


async def _use_legacy_api_async(api: AsyncLegacyApiClient, channel: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    await api.publish(channel, {"n": 1}, uid="typed-1")  # None: 1.x answers nothing
    await api.broadcast([channel], {"n": 2}, timeout=5)
    results["history"] = assert_type(await api.history(channel), LegacyHistoryResult)
    results["presence"] = assert_type(await api.presence(channel), LegacyPresenceResult)
    results["channels"] = assert_type(await api.channels(), LegacyChannelsResult)
    results["stats"] = assert_type(await api.stats(), LegacyStatsResult)
    results["node"] = assert_type(await api.node(timeout=5), LegacyNodeInfo)
    called = await api.call(LegacyHistory(channel))  # not inferred from the dict's Any
    results["call"] = assert_type(called, LegacyHistoryResult)
    results["batch"] = assert_type(
        await api.batch([LegacyPresence(channel)]), list[LegacyResult | LegacyApiError]
    )
    await api.unsubscribe(channel, "typed-nobody")
    await api.disconnect("typed-nobody")
    return results


def use_legacy_api_blocking(url: str, secret: str, channel: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with blocking_adapter.LegacyApiClient(url, secret=secret, timeout=5) as api:
        assert_type(api, blocking_adapter.LegacyApiClient)
        api.publish(channel, {"n": 1}, uid="typed-1")  # None: 1.x answers nothing
        api.broadcast([channel], {"n": 2}, timeout=5)
        results["history"] = assert_type(api.history(channel), LegacyHistoryResult)
        results["presence"] = assert_type(api.presence(channel), LegacyPresenceResult)
        results["channels"] = assert_type(api.channels(), LegacyChannelsResult)
        results["stats"] = assert_type(api.stats(), LegacyStatsResult)
        results["node"] = assert_type(api.node(timeout=5), LegacyNodeInfo)
        results["call"] = assert_type(api.call(LegacyHistory(channel)), LegacyHistoryResult)
        results["batch"] = assert_type(
            api.batch([LegacyPresence(channel)]), list[LegacyResult | LegacyApiError]
        )
        api.unsubscribe(channel, "typed-nobody")
        api.disconnect("typed-nobody")
    return results
