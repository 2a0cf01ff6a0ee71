"""Regression tests for what the property tests, the fuzzers and the coverage
work found (issue 5). Each test names what found the bug."""

from __future__ import annotations

import pytest

from centrifugo_proto import (
    ClientState,
    CloseTransport,
    ErrorOccurred,
    OpenTransport,
    Publication,
    PublicationReceived,
    TokenRequested,
    TransportClosed,
    TransportError,
)
from serverside import (
    PROTOBUF,
    FakeServer,
    connected_pair,
    make_client,
    only,
    options,
    push_pub,
    push_subscribe,
    reply,
)


@pytest.mark.skipif(PROTOBUF, reason="JSON only: the Subscribe push has no publications (§3)")
def test_server_side_recovered_publication_of_another_channel_does_not_raise():
    """Found by test_framing: a server-side subscription whose recovered publications
    carry their own ``channel`` (wildcard subscriptions, PROTOCOL.md §2.2) raised
    KeyError out of receive_data; the position is the subscription's."""
    client, server = connected_pair(options=options())
    events = server.feed(
        push_subscribe(
            "news:*",
            recoverable=True,
            epoch="e",
            offset=6,
            publications=[{"data": 1, "offset": 7, "channel": "news:sport"}],
        ),
        now=1.0,
    )
    assert only(events, PublicationReceived) == [
        PublicationReceived(
            publication=Publication(channel="news:sport", data=1, offset=7), server_side=True
        )
    ]
    assert client.state is ClientState.CONNECTED
    # The subscription's position moved to the recovered offset: a reconnect recovers
    # from 7, not from 6.
    server.client.receive_eof(now=2.0)
    server.events()
    server.client.handle_timeout(now=10.0)
    server.accept_connect(now=10.0)
    assert server.last_connect is not None
    assert server.last_connect["subs"] == {"news:*": {"recover": True, "offset": 7, "epoch": "e"}}


def test_eof_during_the_websocket_handshake_is_a_lost_connection():
    """Found by the coverage work: the facade's "EOF with no close frame" branch
    (TransportClosed 1006) was dead, because wsproto reports an EOF before the
    101 as a protocol error, so a server gone mid-handshake read as "bad protocol"
    (close 1002, Connecting code 5) instead of a lost connection."""
    client = make_client(options=options())
    server = FakeServer(client)
    client.connect(now=0.0)
    server.events()
    client.transport_opened(now=0.0)
    client.data_to_send()
    client.receive_eof(now=0.5)
    assert server.events() == [
        TransportClosed(code=1006, reason="connection lost"),
        CloseTransport(),
    ]
    assert client.state is ClientState.CONNECTING
    assert client.next_deadline() == 2.0  # reconnect backoff: 0.5 + 1.5


def test_a_proxy_that_closes_during_connect_says_so():
    """Found by the coverage work: an EOF from the proxy before its answer was fed
    to h11, which raises, so the reason read "proxy broke HTTP: can't handle event
    type ConnectionClosed..." and the intended one was never given."""
    client = make_client(options=options(), proxy="http://proxy.test:3128")
    server = FakeServer(client)
    client.connect(now=0.0)
    assert only(server.events(), OpenTransport)
    client.transport_opened(now=0.0)
    client.data_to_send()
    client.receive_eof(now=0.1)
    events = []
    while (event := client.next_event()) is not None:
        events.append(event)
    assert (
        ErrorOccurred(
            error=TransportError("transport failed: proxy closed the connection during CONNECT")
        )
        in events
    )
    assert client.state is ClientState.CONNECTING


def test_a_resync_after_an_offset_gap_leaves_one_subscription_refresh():
    """Found by the coverage work: a subscription resubscribing after an offset gap
    kept the refresh timer of the subscription it replaced, and the new subscribe
    reply set another, so the token was asked for twice (at 30 and at 31 here)."""
    client, server = connected_pair(options=options(), result={"ping": 0})
    client.subscribe("p", token="s0", has_token_source=True, positioned=True, now=0.0)
    server.events()
    server.commands()
    position = {"positioned": True, "epoch": "e"}
    server.feed(reply(2, subscribe={"expires": True, "ttl": 30, **position, "offset": 1}), now=0.0)
    server.feed(push_pub("p", {"n": 3}, 3), now=1.0)  # 2 is missing: resubscribe
    assert [next(iter(c.keys() - {"id"})) for c in server.commands()] == [
        "unsubscribe",
        "subscribe",
    ]
    server.feed(
        reply(3, unsubscribe={}),
        reply(4, subscribe={"expires": True, "ttl": 30, **position, "offset": 3}),
        now=1.0,
    )
    client.handle_timeout(now=30.0)
    assert only(server.events(), TokenRequested) == []
    client.handle_timeout(now=31.0)
    assert len(only(server.events(), TokenRequested)) == 1
