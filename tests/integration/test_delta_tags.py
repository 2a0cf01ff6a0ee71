"""Delta compression and the tags filter through the client, against the real
Centrifugo (issue 10, Evidence), in every adapter and both codecs.

``test_fossil_filters_server.py`` proved the server side with a raw client; here
the session does the work: ``subscribe(..., delta="fossil")`` delivers whole
payloads rebuilt from the server's deltas (``sub.delta_stats`` counts them), and
``subscribe(..., tags_filter=...)`` gets exactly what ``filters.matches`` says.

Delta runs on the template's ``chat`` namespace (``allowed_delta_types: ["fossil"]``,
history of 100 for 300 s, ``force_recovery``), through a fault proxy so the
connection can be cut mid-stream. Publications go in through the HTTP API as
``b64data``, so the server holds exactly the published bytes, with ``delta: true``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from drivers import Events, Runner, token_for, unique
from integration.test_fossil_filters_server import FILTERS, SENTINEL, TAG_SETS

from centrifugo_proto import (
    ClientOptions,
    ClientState,
    Connected,
    Connecting,
    ErrorOccurred,
    LocalProtocolError,
    Publication,
    ReplyError,
    Subscribed,
    Subscribing,
    SubscriptionState,
)
from centrifugo_proto.filters import FilterNode, matches, tags
from centrifugo_proto.fossil import DeltaError
from harness import CentrifugoServer, FaultProxy

#: Quick reconnects and resubscribes: the tests cut connections and break deltas.
QUICK = ClientOptions(
    min_reconnect_delay=0.05,
    max_reconnect_delay=0.5,
    min_resubscribe_delay=0.05,
    max_resubscribe_delay=0.5,
)
COUNT = 1000
#: Cut after this many; this many more are published while the client is away
#: (they come back through recovery: fewer than the namespace's history of 100).
CUT_AT, WHILE_AWAY = 500, 60
#: Does the server garble deltas whose literals cut a UTF-8 character (PROTOCOL.md
#: §7; ``test_fossil_filters_server.py``)? Only in JSON mode, where it escapes the
#: delta's bytes into a JSON string.
GARBLES_UTF8 = {"json": True, "protobuf": False}


def publish_all(server: CentrifugoServer, channel: str, payloads: list[bytes]) -> list[int]:
    """Publish ``payloads`` in order with ``delta: true``, a batch call per hundred;
    the offsets the server gave them."""
    offsets = []
    for start in range(0, len(payloads), 100):
        commands = [
            {
                "publish": {
                    "channel": channel,
                    "b64data": base64.b64encode(payload).decode(),
                    "delta": True,
                }
            }
            for payload in payloads[start : start + 100]
        ]
        reply = server.api("batch", {"commands": commands})
        assert all("error" not in r for r in reply["replies"]), reply
        offsets += [r["publish"]["offset"] for r in reply["replies"]]
    return offsets


def documents(count: int) -> list[bytes]:
    """A JSON document of about 10 KB (ASCII: no delta of it can cut a character),
    changed a little each time."""
    doc: dict[str, Any] = {
        "match": "home-away",
        "version": 0,
        "events": [{"n": i, "text": f"a pass from the left, minute {i}"} for i in range(185)],
    }
    out = []
    for version in range(count):
        doc["version"] = version
        doc["events"][version * 7 % 185]["text"] = f"a pass from the right in v{version:05d}"
        out.append(json.dumps(doc).encode())
    return out


def as_bytes(data: Any) -> bytes:
    """A delivered payload as bytes: Protobuf payloads are bytes already; a JSON
    value is written back with the publisher's ``json.dumps``, which gives the
    published bytes again for these documents (ASCII, strings and integers, key
    order kept by parsing), and other bytes for any other value."""
    return data if isinstance(data, bytes) else json.dumps(data).encode()


# -- delta -----------------------------------------------------------------------------


def test_a_thousand_documents_arrive_exact_with_delta_across_a_cut(
    adapter: Runner, centrifugo: CentrifugoServer, fault_proxy: Any
) -> None:
    proxy: FaultProxy = fault_proxy(centrifugo)
    channel = unique("chat:delta-")
    published = documents(COUNT)
    token = token_for(centrifugo, unique("delta-"))
    with adapter.connected(proxy.url, token=token, options=QUICK) as client:
        sub = client.new_subscription(channel, delta="fossil", recoverable=True)
        subscribed = Events(sub, "subscribed")
        troubles = Events(sub, "error")
        assert sub.subscribe().result.delta is True  # the server agreed to fossil
        subscribed.next(Subscribed)
        offsets = publish_all(centrifugo, channel, published[:CUT_AT])
        received = sub.take(CUT_AT)

        # Cut mid-stream, and hold the reconnect until more was published.
        connection = Events(client, "connecting", "connected")
        proxy.freeze()
        proxy.cut()
        connection.next(Connecting)
        offsets += publish_all(centrifugo, channel, published[CUT_AT : CUT_AT + WHILE_AWAY])
        proxy.thaw()
        connection.next(Connected)
        again = subscribed.next(Subscribed)
        assert (again.was_recovering, again.recovered, again.result.delta) == (True, True, True)
        assert len(again.result.publications) == WHILE_AWAY  # recovered: full, then deltas
        offsets += publish_all(centrifugo, channel, published[CUT_AT + WHILE_AWAY :])
        received += sub.take(COUNT - CUT_AT)
        stats = sub.delta_stats
        assert troubles.empty()
        assert sub.state is SubscriptionState.SUBSCRIBED

    assert [p.offset for p in received] == offsets == list(range(offsets[0], offsets[0] + COUNT))
    assert [as_bytes(p.data) for p in received] == published  # byte-identical
    assert stats is not None
    print(
        f"\n{adapter.kind}/{adapter.codec}: {COUNT} publications of about "
        f"{stats.bytes_decoded // COUNT} B, {stats.bytes_decoded} B without delta, "
        f"{stats.bytes_received} B with delta "
        f"({100 * stats.bytes_received / stats.bytes_decoded:.2f} %); "
        f"{stats.full_payloads} full payloads, {stats.delta_payloads} deltas"
    )
    assert stats.publications == COUNT
    assert stats.bytes_decoded == sum(map(len, published))  # rebuilt to the byte
    # A full payload on the first subscribe and on the first recovered one.
    assert (stats.full_payloads, stats.delta_payloads) == (2, COUNT - 2)
    assert stats.bytes_received < stats.bytes_decoded / 20  # delta saved over 95 %


def test_a_delta_that_does_not_apply_resubscribes_and_delivers_only_exact_data(
    adapter: Runner, centrifugo: CentrifugoServer
) -> None:
    """Turning "é" (C3 A9) into "è" (C3 A8) makes the server's encoder copy C3 and
    insert A8 alone; in JSON mode the server sends that lone byte as U+FFFD, so the
    delta does not apply. The client reports it, resubscribes from
    the last publication it delivered asking for full payloads, and delivers every
    publication exactly as published. In Protobuf mode every delta applies."""
    text = "é" * 40 + "x" * 200
    published = [
        json.dumps({"t": text[:i] + "è" + text[i + 1 :]}, ensure_ascii=False).encode()
        for i in range(40)
    ]
    channel = unique("chat:utf8-")
    token = token_for(centrifugo, unique("utf8-"))
    with adapter.connected(centrifugo.ws_url, token=token, options=QUICK) as client:
        sub = client.new_subscription(channel, delta="fossil", recoverable=True)
        states = Events(sub, "subscribing", "subscribed", "error")
        sub.subscribe()
        states.next(Subscribed)
        offsets = publish_all(centrifugo, channel, published)
        received: list[Publication] = sub.take(len(published))
        stats = sub.delta_stats
        assert stats is not None
        print(
            f"\n{adapter.kind}/{adapter.codec}: 40 UTF-8 edits, {stats.full_payloads} full "
            f"and {stats.delta_payloads} deltas applied before any failure or the end"
        )
        if GARBLES_UTF8[adapter.codec]:
            # The lone byte became three (U+FFFD): the literal's count is off, so
            # the delta no longer parses (a checksum would catch a same-length change).
            assert isinstance(states.next(ErrorOccurred).error, DeltaError)
            assert states.next(Subscribing).reason.startswith("delta failed")
            again = states.next(Subscribed)
            assert (again.was_recovering, again.recovered) == (True, True)
            assert again.result.delta is False  # full payloads from then on
            assert stats.publications < len(published)  # the rest came without delta
        else:
            # Every delta applied: no resubscribe.
            assert (stats.full_payloads, stats.delta_payloads) == (1, len(published) - 1)
            assert states.empty()

    assert [p.offset for p in received] == offsets
    assert [adapter.value(p.data) for p in received] == [json.loads(p) for p in published]


# -- tags filter -------------------------------------------------------------------------

#: Namespaces of this file's own server: ``allow_tags_filter`` needs Centrifugo 6.4+.
TAGS_OVERRIDES = {
    "channel.namespaces": [
        {
            "name": "tagged",
            "allow_tags_filter": True,
            "allow_subscribe_for_client": True,
            "allow_subscribe_for_anonymous": True,
        },
        {
            "name": "untagged",
            "allow_subscribe_for_client": True,
            "allow_subscribe_for_anonymous": True,
        },
        {
            "name": "deltas",
            "history_size": 10,
            "history_ttl": "60s",
            "force_recovery": True,
            "allowed_delta_types": ["fossil"],
            "allow_tags_filter": True,
            "allow_subscribe_for_client": True,
            "allow_subscribe_for_anonymous": True,
        },
    ]
}
#: The filter operators of the server (FilterNode ``cmp`` and ``op`` values).
OPERATORS = {"eq", "neq", "in", "nin", "ex", "nex", "sw", "ew", "ct", "lt", "lte", "gt", "gte"}
OPERATORS |= {"and", "or", "not"}


@pytest.fixture(scope="module")
def tags_server() -> Iterator[CentrifugoServer]:
    with CentrifugoServer(TAGS_OVERRIDES) as server:
        yield server


def operators(node: FilterNode) -> set[str]:
    return {node.op or node.cmp}.union(*(operators(child) for child in node.nodes))


def test_the_filters_cover_every_operator() -> None:
    assert set().union(*map(operators, FILTERS)) == OPERATORS
    # Each leaves something out: a server that ignored a filter would be caught.
    for node in FILTERS:
        assert not all(matches(node, tag_set) for tag_set in TAG_SETS), node


def test_a_filtered_subscription_receives_exactly_the_matching_publications(
    adapter: Runner, tags_server: CentrifugoServer
) -> None:
    channels = [unique(f"tagged:f{i}-") for i in range(len(FILTERS))]
    with adapter.connected(tags_server.ws_url) as client:
        subs = [
            client.subscribe(channel, tags_filter=node | SENTINEL)
            for channel, node in zip(channels, FILTERS, strict=True)
        ]
        commands = [
            {"publish": {"channel": channel, "data": {"set": j}, "tags": tag_set}}
            for channel in channels
            for j, tag_set in enumerate(TAG_SETS)
        ]
        commands += [
            {"publish": {"channel": channel, "data": {"end": True}, "tags": {"sentinel": "end"}}}
            for channel in channels
        ]
        reply = tags_server.api("batch", {"commands": commands})
        assert all("error" not in r for r in reply["replies"]), reply
        disagreements = []
        for sub, node in zip(subs, FILTERS, strict=True):
            received = []
            while "end" not in (value := adapter.value((pub := sub.take(1)[0]).data)):
                received.append(value["set"])
                assert (pub.tags or {}) == TAG_SETS[value["set"]]  # the tags reach the user
            assert pub.tags == {"sentinel": "end"}
            expected = [j for j, tag_set in enumerate(TAG_SETS) if matches(node, tag_set)]
            if received != expected:
                disagreements.append((node, received, expected))
        assert not disagreements
        assert client.state is ClientState.CONNECTED


def test_a_refused_filter_raises_reply_error_107(
    adapter: Runner, tags_server: CentrifugoServer
) -> None:
    """``untagged`` has no ``allow_tags_filter``: the server refuses any filter."""
    with adapter.connected(tags_server.ws_url) as client:
        channel = unique("untagged:")
        with pytest.raises(ReplyError) as refused:
            client.subscribe(channel, tags_filter=tags.eq("type", "goal"))
        assert refused.value.code == 107
        assert client.get_subscription(channel).state is SubscriptionState.UNSUBSCRIBED
        assert client.state is ClientState.CONNECTED
        assert client.subscribe(unique("untagged:")).state is SubscriptionState.SUBSCRIBED


def test_filter_and_delta_are_refused_together_at_the_call(
    adapter: Runner, tags_server: CentrifugoServer
) -> None:
    """The namespace allows both, one at a time; together the client refuses them
    before anything is sent, and leaves no subscription behind: the same channel
    subscribes afterwards with either option alone."""
    with adapter.connected(tags_server.ws_url) as client:
        channel = unique("deltas:")
        with pytest.raises(LocalProtocolError, match="cannot be combined"):
            client.subscribe(channel, delta="fossil", tags_filter=tags.exists("type"))
        assert client.state is ClientState.CONNECTED
        assert client.get_subscription(channel) is None
        with pytest.raises(LocalProtocolError, match="delta must be one of"):
            client.subscribe(channel, delta="zstd")
        assert client.get_subscription(channel) is None
        again = client.subscribe(channel, delta="fossil")
        assert again.state is SubscriptionState.SUBSCRIBED
        assert again.delta_stats is not None
        assert client.subscribe(unique("deltas:"), delta="fossil").delta_stats is not None
        filtered = client.subscribe(unique("deltas:"), tags_filter=tags.exists("type"))
        assert filtered.state is SubscriptionState.SUBSCRIBED
