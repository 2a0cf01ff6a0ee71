"""Delta compression on subscriptions (PROTOCOL.md §7; issue "Protobuf, fossil delta").

The fake server here is the test's own (``serverside.py``); the deltas are built by
the test's own encoder (``fossil_encoder.py``). In JSON mode every ``data`` of a
delta subscription is a JSON string holding the payload text (full or delta).
"""

from __future__ import annotations

import itertools
import json

import pytest

from centrifugo_proto import (
    DecodeError,
    ErrorOccurred,
    LocalProtocolError,
    PublicationReceived,
    Subscribing,
)
from centrifugo_proto.filters import tags
from fossil_encoder import encode
from serverside import (
    PROTOBUF,
    connected_pair,
    only,
    options,
    push_pub,
    push_subscribe,
    push_unsubscribe,
    reply,
)


def documents(count):
    return [json.dumps({"n": n, "text": "abcdefghij" * 20, "tail": n * 7}) for n in range(count)]


def wire(docs):
    """The payload of each publication as the server sends it: the first full, the
    others deltas against the previous one, each as a JSON string (JSON mode)."""
    out = [(docs[0], False)]
    for before, after in itertools.pairwise(docs):
        out.append((encode(before.encode(), after.encode()).decode("latin-1"), True))
    return out


def subscribed_with_delta(client, server, channel="doc", **result):
    client.subscribe(channel, delta="fossil", recoverable=True, now=0.0)
    (command,) = server.commands()
    assert command["subscribe"]["delta"] == "fossil"
    body = {"recoverable": True, "positioned": True, "epoch": "e", "delta": True} | result
    return server.feed(reply(command["id"], subscribe=body), now=0.0)


def delivered(events):
    return [e.publication.data for e in only(events, PublicationReceived)]


def test_deltas_are_applied_and_whole_payloads_delivered():
    client, server = connected_pair(options=options())
    subscribed_with_delta(client, server)
    docs = documents(5)
    got = []
    for offset, (data, is_delta) in enumerate(wire(docs), 1):
        got += delivered(server.feed(push_pub("doc", data, offset, delta=is_delta), now=1.0))
    assert got == [json.loads(d) for d in docs]
    stats = client.delta_stats("doc")
    assert stats is not None
    assert (stats.publications, stats.full_payloads, stats.delta_payloads) == (5, 1, 4)
    assert stats.bytes_decoded == sum(len(d) for d in docs)
    assert stats.bytes_received < stats.bytes_decoded  # the point of it


def test_a_recovered_chain_is_decoded_in_order():
    client, server = connected_pair(options=options())
    docs = documents(4)
    recovered = [
        {"data": data, "offset": n, **({"delta": True} if is_delta else {})}
        for n, (data, is_delta) in enumerate(wire(docs), 1)
    ]
    events = subscribed_with_delta(
        client, server, publications=recovered, recovered=True, was_recovering=True, offset=4
    )
    assert delivered(events) == [json.loads(d) for d in docs]


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: d[:-2] + "X;",  # the checksum no longer matches
        lambda d: d[: len(d) // 2],  # cut short
        lambda d: "garbage",
    ],
    ids=["checksum", "truncated", "garbage"],
)
def test_a_delta_that_does_not_apply_resubscribes_without_delivering_it(corrupt):
    client, server = connected_pair(options=options())
    subscribed_with_delta(client, server)
    docs = documents(3)
    (full, _), (first, _), (second, _) = wire(docs)
    server.feed(push_pub("doc", full, 1), now=1.0)
    server.feed(push_pub("doc", first, 2, delta=True), now=1.0)
    events = server.feed(push_pub("doc", corrupt(second), 3, delta=True), now=1.0)
    assert delivered(events) == []  # never a corrupted payload
    (error,) = only(events, ErrorOccurred)
    assert isinstance(error.error, DecodeError)
    assert error.channel == "doc"
    assert only(events, Subscribing)[0].reason.startswith("delta failed")
    unsubscribe, resubscribe = server.commands()
    assert unsubscribe["unsubscribe"] == {"channel": "doc"}
    # From the last good publication, and without delta from now on.
    assert resubscribe["subscribe"] == {
        "channel": "doc",
        "recoverable": True,
        "recover": True,
        "epoch": "e",
        "offset": 2,
    }
    recovered = [{"data": json.loads(docs[2]), "offset": 3}]
    events = server.feed(
        reply(
            resubscribe["id"],
            subscribe={
                "recoverable": True,
                "positioned": True,
                "epoch": "e",
                "offset": 2,
                "recovered": True,
                "was_recovering": True,
                "publications": recovered,
            },
        ),
        now=1.0,
    )
    assert delivered(events) == [json.loads(docs[2])]


def test_a_delta_before_any_full_payload_is_refused():
    client, server = connected_pair(options=options())
    subscribed_with_delta(client, server)
    (_, (delta, _)) = wire(documents(2))
    events = server.feed(push_pub("doc", delta, 1, delta=True), now=1.0)
    assert delivered(events) == []
    assert "before any full payload" in str(only(events, ErrorOccurred)[0].error)


def test_a_broken_delta_in_a_recovered_chain_delivers_the_good_ones_then_resubscribes():
    client, server = connected_pair(options=options())
    docs = documents(3)
    chain = wire(docs)
    recovered = [
        {"data": chain[0][0], "offset": 1},
        {"data": chain[1][0], "offset": 2, "delta": True},
        {"data": "broken", "offset": 3, "delta": True},
    ]
    events = subscribed_with_delta(
        client, server, publications=recovered, recovered=True, was_recovering=True, offset=3
    )
    assert delivered(events) == [json.loads(docs[0]), json.loads(docs[1])]
    _unsubscribe, resubscribe = server.commands()
    assert resubscribe["subscribe"]["offset"] == 2
    assert "delta" not in resubscribe["subscribe"]


def test_without_negotiated_delta_payloads_are_plain():
    client, server = connected_pair(options=options())
    client.subscribe("doc", delta="fossil", now=0.0)
    (command,) = server.commands()
    server.feed(reply(command["id"], subscribe={}), now=0.0)  # the namespace refused delta
    assert delivered(server.feed(push_pub("doc", {"plain": 1}), now=1.0)) == [{"plain": 1}]
    assert client.delta_stats("doc") is None
    assert client.delta_stats("unknown") is None


def test_server_side_subscriptions_apply_deltas_too():
    client, server = connected_pair(
        options=options(),
        result={"subs": {"feed": {"recoverable": True, "epoch": "e", "delta": True}}},
    )
    docs = documents(3)
    got = []
    for offset, (data, is_delta) in enumerate(wire(docs), 1):
        got += delivered(server.feed(push_pub("feed", data, offset, delta=is_delta), now=1.0))
    assert got == [json.loads(d) for d in docs]
    assert client.delta_stats("feed").delta_payloads == 2


def test_a_server_side_delta_that_does_not_apply_reconnects_and_recovers_without_delta():
    client, server = connected_pair(
        options=options(),
        result={"subs": {"feed": {"recoverable": True, "epoch": "e", "delta": True}}},
    )
    (full, _), _ = wire(documents(2))
    server.feed(push_pub("feed", full, 1), now=1.0)
    events = server.feed(push_pub("feed", "broken", 2, delta=True), now=1.0)
    assert delivered(events) == []
    assert "delta failed on server-side 'feed'" in str(only(events, ErrorOccurred)[0].error)
    client.handle_timeout(now=client.next_deadline())
    server.accept_connect(now=30.0)
    assert server.last_connect["subs"] == {"feed": {"recover": True, "epoch": "e", "offset": 1}}


@pytest.mark.skipif(
    PROTOBUF, reason="JSON only: the Subscribe push has no publications and no delta (§3)"
)
def test_a_server_side_subscribe_push_with_delta_decodes_its_recovered_chain():
    _client, server = connected_pair(options=options())
    docs = documents(2)
    chain = wire(docs)
    pubs = [{"data": chain[0][0], "offset": 1}, {"data": chain[1][0], "offset": 2, "delta": True}]
    events = server.feed(
        push_subscribe("feed", recoverable=True, epoch="e", delta=True, publications=pubs),
        now=1.0,
    )
    assert delivered(events) == [json.loads(d) for d in docs]
    events = server.feed(
        push_subscribe(
            "other", delta=True, publications=[{"data": "not a base", "offset": 1, "delta": True}]
        ),
        now=1.0,
    )
    assert delivered(events) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"delta": "zstd"}, "delta must be one of"),
        ({"delta": b"fossil"}, "delta must be one of"),
        ({"tags_filter": {"key": "x"}}, "tags_filter must be a FilterNode"),
        ({"delta": "fossil", "tags_filter": tags.eq("a", "b")}, "cannot be combined"),
    ],
)
def test_bad_delta_and_filter_options_are_refused(kwargs, message):
    client, server = connected_pair(options=options())
    with pytest.raises(LocalProtocolError, match=message):
        client.subscribe("doc", now=0.0, **kwargs)
    assert client.subscription_state("doc") is None
    assert server.commands() == []


def test_a_tags_filter_goes_out_with_the_subscribe():
    client, server = connected_pair(options=options())
    client.subscribe("doc", tags_filter=tags.eq("kind", "goal"), now=0.0)
    (command,) = server.commands()
    assert command["subscribe"]["tf"] == {"key": "kind", "cmp": "eq", "val": "goal"}


def test_stats_go_on_across_a_resubscribe_and_the_base_starts_again():
    client, server = connected_pair(options=options())
    subscribed_with_delta(client, server)
    (full, _), (delta, _) = wire(documents(2))
    server.feed(push_pub("doc", full, 1), now=1.0)
    server.feed(push_unsubscribe("doc", 2500, "insufficient state"), now=1.0)
    (resubscribe,) = server.commands()
    assert resubscribe["subscribe"]["delta"] == "fossil"
    body = {"recoverable": True, "positioned": True, "epoch": "e", "delta": True, "offset": 1}
    server.feed(reply(resubscribe["id"], subscribe=body), now=1.0)
    # The base was reset: a delta first is refused, a full payload is fine.
    assert delivered(server.feed(push_pub("doc", full, 2), now=1.0)) == [json.loads(full)]
    assert client.delta_stats("doc").publications == 2
    assert delivered(server.feed(push_pub("doc", delta, 3, delta=True), now=1.0))
