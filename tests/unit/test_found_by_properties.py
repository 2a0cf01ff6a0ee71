"""Regression tests for what the property tests and fuzzers found (issue 5).

Each test names the property or harness that found the bug.
"""

from __future__ import annotations

from centrifugo_proto import ClientState, Publication, PublicationReceived
from serverside import connected_pair, only, options, push_subscribe


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
