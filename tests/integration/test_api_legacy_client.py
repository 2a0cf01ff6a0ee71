"""The 1.x server API client against the real Centrifugo 1.8.0, in every adapter.

Signed requests (``X-API-Sign``) to ``POST /api/``; each method's effect is checked
where it shows: history (newest first), a live 1.x connection (``raw_ws.LegacyRawClient``)
that receives the message, the unsubscribe and the disconnect, and its presence.
"""

from __future__ import annotations

import pytest
from api_drivers import api_client
from drivers import unique
from raw_ws import LegacyRawClient

from centrifugo_proto import ClientInfo
from centrifugo_proto.api import (
    ApiUnauthorized,
    LegacyApiError,
    LegacyChannelsResult,
    LegacyHistory,
    LegacyHistoryResult,
    LegacyMessage,
    LegacyNode,
    LegacyNodeInfo,
    LegacyPresence,
    LegacyPublish,
)
from harness import FaultProxy


@pytest.fixture
def codec() -> str:
    """JSON only: the 1.x server API is JSON over HTTP (and 1.x has no Protobuf);
    its tests run once per adapter."""
    return "json"


@pytest.fixture
def legacy_api(adapter, legacy_server):
    url = f"{legacy_server.http_url}/api/"
    with api_client(adapter, url, legacy=True, secret=legacy_server.secret) as client:
        yield client


def test_publish_then_history_newest_first(legacy_api):
    channel = unique("public:pub-")
    assert legacy_api.publish(channel, {"n": 1}, uid="first-uid") is None
    legacy_api.publish(channel, {"n": 2})
    history = legacy_api.history(channel)
    assert isinstance(history, LegacyHistoryResult)
    assert history.channel == channel
    newest, oldest = history.messages
    assert (newest.data, oldest.data) == ({"n": 2}, {"n": 1})
    assert oldest == LegacyMessage(uid="first-uid", channel=channel, data={"n": 1})
    assert len(newest.uid) == 22  # the server's NUID (LEGACY-V1.md §11.3)


def test_broadcast_reaches_every_channel(legacy_api):
    channels = [unique("public:bc-"), unique("public:bc-")]
    assert legacy_api.broadcast(channels, {"to": "all"}) is None
    for channel in channels:
        assert [m.data for m in legacy_api.history(channel).messages] == [{"to": "all"}]


def test_a_failed_command_is_a_legacy_api_error(legacy_api):
    with pytest.raises(LegacyApiError) as caught:
        legacy_api.publish(unique("nope:"), 1)
    assert caught.value == LegacyApiError("publish", "namespace not found", "fix")


def test_a_live_connection_sees_publish_presence_unsubscribe_disconnect(legacy_api, legacy_server):
    user, channel = unique("u"), unique("public:live-")
    with LegacyRawClient(legacy_server, user) as peer:
        peer.command("subscribe", {"channel": channel})
        legacy_api.publish(channel, {"hello": user})
        message = peer.next_push("message")
        assert (message["channel"], message["data"]) == (channel, {"hello": user})

        presence = legacy_api.presence(channel)
        assert presence.channel == channel
        assert presence.clients == {peer.client_id: ClientInfo(user=user, client=peer.client_id)}
        channels = legacy_api.channels()
        assert isinstance(channels, LegacyChannelsResult)
        assert channel in channels.channels

        assert legacy_api.unsubscribe(channel, user) is None
        assert peer.next_push("unsubscribe")["channel"] == channel
        assert legacy_api.presence(channel).clients == {}

        assert legacy_api.disconnect(user) is None
        assert peer.closed() == (3000, '{"reason":"disconnect","reconnect":false}')


def test_stats_and_node(legacy_api):
    stats = legacy_api.stats()
    (node,) = stats.nodes
    assert node.version == "1.8.0"
    assert node.uid
    assert node.name
    assert stats.metrics_interval > 0
    this = legacy_api.node()
    assert isinstance(this, LegacyNodeInfo)
    assert (this.uid, this.version) == (node.uid, "1.8.0")
    assert this.started_at > 0
    assert "node_num_clients" in this.metrics


def test_batch_keeps_the_failed_command_as_an_item(legacy_api):
    channel = unique("public:batch-")
    items = legacy_api.batch(
        [
            LegacyPublish(channel, {"n": 1}),
            LegacyPublish(unique("nope:"), {"n": 2}),
            LegacyHistory(channel),
            LegacyPresence(channel),
            LegacyNode(),
        ]
    )
    published, failed, history, presence, node = items
    assert published is None
    assert failed == LegacyApiError("publish", "namespace not found", "fix")
    assert [m.data for m in history.messages] == [{"n": 1}]
    assert presence.clients == {}
    assert node.version == "1.8.0"


def test_a_wrong_secret_is_unauthorized(adapter, legacy_server):
    url = f"{legacy_server.http_url}/api/"
    with (
        api_client(adapter, url, legacy=True, secret="not the secret") as api,
        pytest.raises(ApiUnauthorized) as caught,
    ):
        api.channels()
    assert caught.value.status == 401
    assert "not the secret" not in repr(caught.value)


def test_one_kept_alive_connection(adapter, legacy_server):
    with FaultProxy(("127.0.0.1", legacy_server.port)) as proxy:
        url = f"http://127.0.0.1:{proxy.address[1]}/api/"
        with api_client(adapter, url, legacy=True, secret=legacy_server.secret) as api:
            channel = unique("public:keep-")
            for n in range(5):
                api.publish(channel, n)
            assert len(api.history(channel).messages) == 5
            assert proxy.accepted == 1
