"""The server HTTP API client against the real Centrifugo v6, in every adapter.

Each method is called through the adapter's ``ApiClient`` and its effect is
checked where it shows: history after a publish, pushes and closes on a live
client connection (``raw_ws.RawClient``, a bare WebSocket peer), presence and
channels of that connection. Failures: a batch item, a wrong key, a server that
is down, one that never answers, and keep-alive proven by counting the TCP
connections a fault proxy accepted.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
import ssl
import time
from collections.abc import Iterator

import pytest
import trio
from api_drivers import API_MODULES, api_client, closed_port, http_of, silent_listener
from drivers import token_for, unique
from raw_ws import RawClient

from centrifugo_proto import (
    ClientInfo,
    CommandTimeout,
    LocalProtocolError,
    Publication,
    StreamPosition,
    TransportError,
)
from centrifugo_proto.api import (
    ApiError,
    ApiHttpError,
    ApiUnauthorized,
    BroadcastResult,
    HistoryRequest,
    HistoryResult,
    InfoRequest,
    PresenceStatsRequest,
    PublishRequest,
    PublishResult,
    SubscribeResult,
)
from harness import CentrifugoServer, FaultProxy
from harness.tls import TlsFiles, make_tls_files, tls_config


@pytest.fixture
def codec() -> str:
    """JSON only: the server HTTP API is JSON over HTTP whatever codec a WebSocket
    client speaks, and the API client has none; its tests run once per adapter."""
    return "json"


@pytest.fixture
def api(adapter, centrifugo):
    with api_client(adapter, f"{centrifugo.http_url}/api", api_key=centrifugo.api_key) as client:
        yield client


def connected_peer(server: CentrifugoServer, user: str) -> RawClient:
    return RawClient(server, token=token_for(server, user))


# -- publishing ------------------------------------------------------------------------------


def test_publish_then_history_shows_it(api):
    channel = unique("chat:pub-")
    first = api.publish(channel, {"n": 1}, tags={"kind": "test"})
    assert isinstance(first, PublishResult)
    assert first.offset == 1
    assert first.epoch
    second = api.publish(channel, 2, idempotency_key="once")
    again = api.publish(channel, 2, idempotency_key="once")  # the same key: not published twice
    assert second == again == PublishResult(offset=2, epoch=first.epoch)
    encoded = base64.b64encode(json.dumps({"b64": True}).encode()).decode()
    assert api.publish(channel, b64data=encoded).offset == 3
    assert api.publish(channel, {"delta": 1}, delta=True).offset == 4
    skipped = api.publish(channel, "not kept", skip_history=True)
    assert skipped == PublishResult()  # no position: it is not in the stream

    history = api.history(channel, limit=-1)
    assert isinstance(history, HistoryResult)
    assert (history.offset, history.epoch) == (4, first.epoch)
    assert [(p.data, p.offset, p.tags) for p in history.publications] == [
        ({"n": 1}, 1, {"kind": "test"}),
        (2, 2, None),
        ({"b64": True}, 3, None),
        ({"delta": 1}, 4, None),
    ]
    assert all(p.channel == channel for p in history.publications)


def test_versioned_publish_drops_an_older_version(api):
    channel = unique("chat:ver-")
    newer = api.publish(channel, "v5", version=5, version_epoch="e")
    older = api.publish(channel, "v4", version=4, version_epoch="e")
    assert older == newer  # the server kept v5 and answered with its position
    history = api.history(channel, limit=-1)
    assert [p.data for p in history.publications] == ["v5"]


def test_history_limits_since_reverse_and_remove(api):
    channel = unique("chat:hist-")
    epoch = ""
    for n in range(1, 5):
        epoch = api.publish(channel, n).epoch
    latest = api.history(channel, reverse=True, limit=2)
    assert [p.data for p in latest.publications] == [4, 3]
    since = api.history(channel, limit=10, since=StreamPosition(2, epoch))
    assert [p.data for p in since.publications] == [3, 4]
    position = api.history(channel)  # limit 0: only where the stream stands
    assert (position.publications, position.offset) == ((), 4)
    with pytest.raises(ApiError) as caught:
        api.history(channel, limit=10, since=StreamPosition(1, "another epoch"))
    assert caught.value.code == 112  # unrecoverable position

    api.history_remove(channel)
    emptied = api.history(channel, limit=-1)
    assert (emptied.publications, emptied.offset, emptied.epoch) == ((), 4, epoch)


def test_broadcast_reports_each_channel(api):
    good, bad, other = unique("chat:bc-"), unique("nope:bc-"), unique("chat:bc-")
    result = api.broadcast([good, bad, other], {"to": "all"})
    assert isinstance(result, BroadcastResult)
    first, failed, third = result.responses
    assert isinstance(first, PublishResult)
    assert first.offset == 1
    assert failed == ApiError(102, "unknown channel")
    assert isinstance(third, PublishResult)
    assert third.offset == 1
    for channel in (good, other):
        assert [p.data for p in api.history(channel, limit=-1).publications] == [{"to": "all"}]


def test_an_unknown_channel_is_an_api_error(api):
    with pytest.raises(ApiError) as caught:
        api.publish(unique("nope:"), 1)
    assert (caught.value.code, caught.value.message) == (102, "unknown channel")


# -- a live connection -----------------------------------------------------------------------


def test_subscribe_presence_channels_unsubscribe_on_a_live_connection(api, centrifugo):
    user, channel = unique("user-"), unique("chat:live-")
    with connected_peer(centrifugo, user) as peer:
        assert api.subscribe(user, channel) == SubscribeResult()
        subscribed = peer.next_push("subscribe")
        assert subscribed["channel"] == channel
        assert subscribed["subscribe"]["recoverable"] is True

        offset = api.publish(channel, {"hello": user}).offset
        pub = peer.next_push("pub")
        assert (pub["channel"], pub["pub"]["data"], pub["pub"]["offset"]) == (
            channel,
            {"hello": user},
            offset,
        )

        presence = api.presence(channel)
        assert presence.clients == {peer.client_id: ClientInfo(user=user, client=peer.client_id)}
        stats = api.presence_stats(channel)
        assert (stats.num_clients, stats.num_users) == (1, 1)
        channels = api.channels(channel)  # the exact name is a pattern matching itself
        assert set(channels.channels) == {channel}
        assert channels.channels[channel].num_clients == 1
        assert channel in api.channels("chat:*").channels

        api.unsubscribe(user, channel)
        gone = peer.next_push("unsubscribe")
        assert (gone["channel"], gone["unsubscribe"]["code"]) == (channel, 2000)
        assert api.presence(channel).clients == {}
        assert channel not in api.channels("chat:*").channels


def test_disconnect_closes_the_connection_with_its_code(api, centrifugo):
    user = unique("user-")
    with connected_peer(centrifugo, user) as peer:
        api.disconnect(user, code=4500, reason="bye")
        assert peer.closed() == (4500, "bye")


def test_disconnect_spares_the_whitelist(api, centrifugo):
    user = unique("user-")
    with connected_peer(centrifugo, user) as kept, connected_peer(centrifugo, user) as dropped:
        api.disconnect(user, code=4501, reason="not you", whitelist=[kept.client_id])
        assert dropped.closed() == (4501, "not you")
        channel = unique("chat:kept-")
        api.subscribe(user, channel)
        assert kept.next_push("subscribe")["channel"] == channel  # still connected


def test_refresh_extends_and_ends_a_connection(api, centrifugo):
    user, channel = unique("user-"), unique("chat:refresh-")
    with connected_peer(centrifugo, user) as peer:
        api.refresh(user, expire_at=int(time.time()) + 7200, info={"plan": "pro"})
        refresh = peer.next_push("refresh")["refresh"]
        assert refresh["expires"] is True
        assert 7100 < refresh["ttl"] <= 7200
        api.subscribe(user, channel)
        peer.next_push("subscribe")
        (info,) = api.presence(channel).clients.values()
        assert info.conn_info == {"plan": "pro"}  # the new connection info

        api.refresh(user, expired=True)
        assert peer.closed() == (3005, "connection expired")


def test_info_shows_the_node(api, centrifugo):
    result = api.info()
    (node,) = result.nodes
    assert node.uid
    assert node.name
    assert node.version  # "0.0.0 OSS" for a go-install build
    assert node.metrics is not None
    assert node.metrics.interval > 0
    assert node.metrics.items  # the server's metric names and values


def test_rpc_has_no_server_api_handlers_in_the_open_source_server(api):
    # v6.9.1's executor serves only RPC methods registered by the server itself and
    # the open-source server registers none (its RPC proxy is for client RPC), so
    # every method is "not found", the proxy the harness configures included.
    with pytest.raises(ApiError) as caught:
        api.rpc("echo", {"x": 1})
    assert (caught.value.code, caught.value.message) == (104, "not found")
    with pytest.raises(ApiError) as caught:
        api.rpc("")
    assert caught.value.code == 107


# -- batch -------------------------------------------------------------------------------------


@pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "parallel"])
def test_batch_with_one_failing_item(api, parallel):
    channel = unique("chat:batch-")
    items = api.batch(
        [
            PublishRequest(channel, {"n": 1}),
            PublishRequest(unique("nope:batch-"), {"n": 2}),
            PresenceStatsRequest(channel),
            InfoRequest(),
        ],
        parallel=parallel,
    )
    assert len(items) == 4
    published, failed, stats, info = items
    assert isinstance(published, PublishResult)
    assert published.offset == 1
    assert failed == ApiError(102, "unknown channel")
    assert (stats.num_clients, stats.num_users) == (0, 0)
    assert len(info.nodes) == 1
    history = api.history(channel, limit=-1)
    assert [p.data for p in history.publications] == [{"n": 1}]


def test_sequential_batch_runs_in_order(api):
    channel = unique("chat:order-")
    items = api.batch(
        [PublishRequest(channel, n) for n in range(3)] + [HistoryRequest(channel, limit=-1)]
    )
    *published, history = items
    assert [p.offset for p in published] == [1, 2, 3]
    assert history.publications == tuple(
        Publication(channel=channel, data=n, offset=n + 1) for n in range(3)
    )


def test_empty_batch(api):
    assert api.batch([]) == []


# -- failures ----------------------------------------------------------------------------------


def test_wrong_api_key_is_unauthorized(adapter, centrifugo):
    url = f"{centrifugo.http_url}/api"
    with (
        api_client(adapter, url, api_key="wrong-key") as api,
        pytest.raises(ApiUnauthorized) as caught,
    ):
        api.publish("chat:x", 1)
    assert caught.value.status == 401
    assert "wrong-key" not in repr(caught.value)
    assert "wrong-key" not in str(caught.value)


def test_wrong_base_url_is_an_http_error(adapter, centrifugo):
    url, key = f"{centrifugo.http_url}/not-api", centrifugo.api_key
    with api_client(adapter, url, api_key=key) as api, pytest.raises(ApiHttpError) as caught:
        api.info()
    assert caught.value.status == 404


def test_server_down_is_a_transport_error(adapter):
    url = f"http://127.0.0.1:{closed_port()}/api"
    with api_client(adapter, url, api_key="k") as api, pytest.raises(TransportError) as caught:
        api.info()
    assert str(caught.value).startswith("cannot connect to 127.0.0.1:")


def test_server_that_never_answers_times_out(adapter):
    with (
        silent_listener() as port,
        api_client(adapter, f"http://127.0.0.1:{port}/api", api_key="k", timeout=30) as api,
    ):
        with pytest.raises(CommandTimeout):
            api.info(timeout=0.3)
        with pytest.raises(CommandTimeout):
            api.info(timeout=0)  # no time at all: nothing is tried


def test_bad_input_is_refused_before_any_connection(adapter, centrifugo):
    with (
        FaultProxy(("127.0.0.1", centrifugo.port)) as proxy,
        api_client(
            adapter, f"http://127.0.0.1:{proxy.address[1]}/api", api_key=centrifugo.api_key
        ) as api,
    ):
        with pytest.raises(LocalProtocolError):
            api.publish(b"chat:x", 1)
        with pytest.raises(LocalProtocolError):
            api.publish("chat:x", float("nan"))
        with pytest.raises(LocalProtocolError):
            api.history("chat:x", limit="all")
        with pytest.raises(LocalProtocolError):
            api.batch([{"publish": {"channel": "chat:x"}}])
        assert proxy.accepted == 0


def test_construction_refuses_bad_arguments(adapter):
    make = API_MODULES[adapter.kind].ApiClient
    for kwargs in ({"api_key": 123}, {"api_key": "k\r\nX: y"}, {"api_key": "k", "timeout": -1}):
        with pytest.raises(LocalProtocolError):
            adapter.call(make, "http://127.0.0.1:1/api", **kwargs)
    with pytest.raises(LocalProtocolError):
        adapter.call(make, "ws://127.0.0.1:1/api", api_key="k")


# -- keep-alive ----------------------------------------------------------------------------------


def test_one_kept_alive_connection_serves_every_call(adapter, centrifugo):
    with FaultProxy(("127.0.0.1", centrifugo.port)) as proxy:
        base = f"http://127.0.0.1:{proxy.address[1]}/api"
        with api_client(adapter, base, api_key=centrifugo.api_key) as api:
            channel = unique("chat:keep-")
            for n in range(10):
                api.publish(channel, n)
            assert len(api.history(channel, limit=-1).publications) == 10
            assert proxy.accepted == 1

            proxy.cut()  # the server side closes every connection (idle here)
            assert api.publish(channel, "after the cut").offset == 11
            assert proxy.accepted == 2  # reopened once, then kept again
            api.info()
            assert proxy.accepted == 2


def test_post_json_is_generic_and_keeps_its_connection(adapter, centrifugo):
    with FaultProxy(("127.0.0.1", centrifugo.port)) as proxy:
        base = f"http://127.0.0.1:{proxy.address[1]}"
        with api_client(adapter, f"{base}/api", api_key=centrifugo.api_key) as api:
            http = http_of(adapter, api)
            response = http.post_json(
                f"{base}/api/presence_stats",
                {"channel": "chat:x"},
                headers=[("X-API-Key", centrifugo.api_key)],
            )
            assert response.status == 200
            assert json.loads(response.body) == {"result": {"num_clients": 0, "num_users": 0}}
            assert response.header("content-type") == "application/json"
            health = http.request("GET", f"{base}/health")
            assert health.status == 200
            assert proxy.accepted == 1


def blind_to_idle_closes(monkeypatch, adapter) -> None:
    """Make the client miss that the server closed an idle connection, as it does
    when the close is still on its way while the next request goes out."""
    module = API_MODULES[adapter.kind]
    if adapter.kind == "blocking":
        monkeypatch.setattr(module, "peer_spoke", lambda sock: False)
    else:
        stream = module._AsyncioStream if adapter.kind == "asyncio" else module._TrioStream
        monkeypatch.setattr(stream, "peer_spoke", lambda self: False)


def test_a_connection_closed_while_idle_is_retried_once_on_a_new_one(
    adapter, centrifugo, monkeypatch
):
    blind_to_idle_closes(monkeypatch, adapter)
    with FaultProxy(("127.0.0.1", centrifugo.port)) as proxy:
        base = f"http://127.0.0.1:{proxy.address[1]}/api"
        with api_client(adapter, base, api_key=centrifugo.api_key) as api:
            channel = unique("chat:retry-")
            api.publish(channel, 1)
            proxy.cut()
            assert api.publish(channel, 2).offset == 2  # sent on the dead one, then again
            assert proxy.accepted == 2
            history = api.history(channel, limit=-1)
            assert [p.data for p in history.publications] == [1, 2]  # published once


def test_a_timed_out_call_leaves_the_client_usable(adapter, centrifugo):
    with FaultProxy(("127.0.0.1", centrifugo.port)) as proxy:
        base = f"http://127.0.0.1:{proxy.address[1]}/api"
        with api_client(adapter, base, api_key=centrifugo.api_key) as api:
            api.info()
            proxy.freeze()  # the connection stays open and nothing comes back
            with pytest.raises(CommandTimeout):
                api.info(timeout=0.3)
            proxy.thaw()
            assert len(api.info().nodes) == 1  # on a new connection: the old one was dropped
            assert proxy.accepted == 2


def test_a_connection_lost_before_the_answer_is_a_transport_error(adapter, centrifugo):
    with FaultProxy(("127.0.0.1", centrifugo.port)) as proxy:
        base = f"http://127.0.0.1:{proxy.address[1]}/api"
        with api_client(adapter, base, api_key=centrifugo.api_key) as api:
            proxy.freeze()
            call = adapter.background(api.info)
            proxy.wait_for_connections(1)
            proxy.cut()  # a fresh connection with nothing answered: not retried
            with pytest.raises(TransportError, match=r"closed the connection|reset"):
                call.result(timeout=30)
            assert proxy.accepted == 1


# -- TLS -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("api-tls"))


@pytest.fixture(scope="module")
def tls_server(tls_files: TlsFiles) -> Iterator[CentrifugoServer]:
    with CentrifugoServer(tls_config(tls_files), ca_file=tls_files.ca) as server:
        yield server


def test_https_with_the_servers_ca(adapter, tls_server, tls_files):
    context = ssl.create_default_context(cafile=str(tls_files.ca))
    with FaultProxy(("127.0.0.1", tls_server.port)) as proxy:
        base = f"https://127.0.0.1:{proxy.address[1]}/api"
        with api_client(adapter, base, api_key=tls_server.api_key, ssl_context=context) as api:
            channel = unique("chat:tls-")
            assert api.publish(channel, {"over": "tls"}).offset == 1
            history = api.history(channel, limit=-1)
            assert [p.data for p in history.publications] == [{"over": "tls"}]
            assert proxy.accepted == 1  # kept alive over TLS too


def test_https_without_the_ca_is_a_transport_error(adapter, tls_server):
    base = f"https://127.0.0.1:{tls_server.port}/api"
    with (
        api_client(adapter, base, api_key=tls_server.api_key) as api,
        pytest.raises(TransportError) as caught,
    ):
        api.info()
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)


def test_concurrent_calls_open_connections_and_keep_some(adapter, centrifugo):
    with FaultProxy(("127.0.0.1", centrifugo.port)) as proxy:
        base = f"http://127.0.0.1:{proxy.address[1]}/api"
        with (
            api_client(adapter, base, api_key=centrifugo.api_key) as api,
            concurrent.futures.ThreadPoolExecutor(6) as pool,
        ):
            proxy.freeze()  # hold every answer until all six calls have a connection
            calls = [pool.submit(api.presence_stats, "chat:x") for _ in range(6)]
            proxy.wait_for_connections(6)
            proxy.thaw()
            assert all(call.result(timeout=30).num_clients == 0 for call in calls)
            assert proxy.accepted == 6
            # Four stay idle (MAX_IDLE), two were closed: six calls at once again
            # need two new connections.
            proxy.wait_for_connections(4)
            proxy.freeze()
            calls = [pool.submit(api.presence_stats, "chat:x") for _ in range(6)]
            proxy.wait_for_connections(6)
            proxy.thaw()
            assert all(call.result(timeout=30).num_clients == 0 for call in calls)
            assert proxy.accepted == 8


def test_calls_after_close_are_refused(adapter, centrifugo):
    with api_client(adapter, f"{centrifugo.http_url}/api", api_key=centrifugo.api_key) as api:
        api.info()
    with pytest.raises(LocalProtocolError, match="closed"):
        api.info()


def test_clients_are_built_without_a_loop_and_used_in_one(centrifugo):
    url, key = f"{centrifugo.http_url}/api", centrifugo.api_key
    asyncio_api = API_MODULES["asyncio"].ApiClient(url, api_key=key)  # no running loop here
    trio_api = API_MODULES["trio"].ApiClient(url, api_key=key)
    blocking_api = API_MODULES["blocking"].ApiClient(url, api_key=key)

    async def use(api):
        async with api:
            return (await api.info()).nodes[0].uid

    uids = {asyncio.run(use(asyncio_api)), trio.run(use, trio_api)}
    with blocking_api:
        uids.add(blocking_api.info().nodes[0].uid)
    assert len(uids) == 1  # one server, reached by all three


def test_no_secret_in_any_repr(adapter, centrifugo):
    url = f"{centrifugo.http_url}/api?api_key={centrifugo.api_key}"
    with api_client(adapter, url, api_key=centrifugo.api_key) as api:
        assert centrifugo.api_key not in repr(api.real)
        assert api.real.http.__class__.__name__ == "HttpClient"
