"""Epochs (PROTOCOL.md §2.2, §6.5; issue "Hardening"): a stream reset is never silent.

A position is an (offset, epoch) pair. When the server's stream for a channel starts
again (its history was lost: a Redis flush, a restart with the memory engine) it gets
a new epoch and offsets start from 1. The real Centrifugo v6.9.1 shows it two ways,
both seen on a live server: the first ``pub`` push after the reset carries the new
``epoch``, or the server unsubscribes with 2500 and the resubscribe reply carries the
new epoch with ``recovered: false``.

The rule (docs/resilience.md): the client reports the reset once, as
``PublicationsLost(reason="stream reset")`` with the old position, then delivers the
new stream from its first publication: it recovers from offset 0 of the new epoch, so
what was published after the reset reaches the reader. Before this rule, new
publications at or below the old offset were dropped as duplicates, silently.

The fake server here is the test's own (``serverside.py``): it builds every byte.
"""

from __future__ import annotations

from centrifugo_proto import PublicationReceived, PublicationsLost, StreamPosition
from serverside import connected_pair, only, options, push_pub, push_unsubscribe, reply


def subscribed_with_history(offsets=(1, 2, 3), epoch="old"):
    client, server = connected_pair(options=options())
    client.subscribe("chat", recoverable=True, now=0.0)
    (command,) = server.commands()
    server.feed(
        reply(command["id"], subscribe={"recoverable": True, "epoch": epoch, "positioned": True}),
        now=0.0,
    )
    for offset in offsets:
        server.feed(push_pub("chat", {"n": offset}, offset), now=0.0)
    return client, server


def delivered(events):
    return [(e.publication.offset, e.publication.data) for e in only(events, PublicationReceived)]


def test_a_publication_of_a_new_epoch_is_delivered_and_the_reset_reported():
    _client, server = subscribed_with_history()
    events = server.feed(push_pub("chat", {"n": "new"}, 1, epoch="new"), now=1.0)
    (lost,) = only(events, PublicationsLost)
    assert lost.reason == "stream reset"
    assert lost.since == StreamPosition(3, "old")
    assert delivered(events) == [(1, {"n": "new"})]
    # And the stream goes on from there: offset 2 of the new epoch is not a duplicate.
    assert delivered(server.feed(push_pub("chat", {"n": 2}, 2), now=1.0)) == [(2, {"n": 2})]


def test_a_new_epoch_past_offset_1_recovers_the_new_stream_from_its_start():
    _client, server = subscribed_with_history()
    events = server.feed(push_pub("chat", {"n": 5}, 5, epoch="new"), now=1.0)
    assert only(events, PublicationsLost)[0].reason == "stream reset"
    assert delivered(events) == []  # 1-4 of the new stream come first, by recovery
    unsubscribe, subscribe = server.commands()
    assert unsubscribe["unsubscribe"] == {"channel": "chat"}
    # From offset 0 of the new epoch (zero values are left out on the wire).
    assert subscribe["subscribe"] == {
        "channel": "chat",
        "recoverable": True,
        "recover": True,
        "epoch": "new",
    }
    recovered = [{"data": {"n": n}, "offset": n} for n in range(1, 6)]
    events = server.feed(
        reply(
            subscribe["id"],
            subscribe={
                "recoverable": True,
                "epoch": "new",
                "offset": 0,
                "positioned": True,
                "publications": recovered,
                "recovered": True,
                "was_recovering": True,
            },
        ),
        now=1.0,
    )
    assert [offset for offset, _ in delivered(events)] == [1, 2, 3, 4, 5]


def test_a_resubscribe_into_a_new_epoch_recovers_what_was_published_after_the_reset():
    """What the real server did after a Redis flush: unsubscribe 2500, then a reply
    with the new epoch at offset 3 and ``recovered: false``; publications 1-3 of the
    new stream were published in between and sit in its history."""
    _client, server = subscribed_with_history()
    server.feed(push_unsubscribe("chat", 2500, "insufficient state"), now=1.0)
    (resubscribe,) = server.commands()
    assert resubscribe["subscribe"]["epoch"] == "old"
    events = server.feed(
        reply(
            resubscribe["id"],
            subscribe={
                "recoverable": True,
                "epoch": "new",
                "offset": 3,
                "positioned": True,
                "was_recovering": True,
            },
        ),
        now=1.0,
    )
    (lost,) = only(events, PublicationsLost)
    assert (lost.reason, lost.since) == ("stream reset", StreamPosition(3, "old"))
    unsubscribe, again = server.commands()
    assert unsubscribe["unsubscribe"] == {"channel": "chat"}
    assert again["subscribe"]["epoch"] == "new"
    assert again["subscribe"].get("offset", 0) == 0
    recovered = [{"data": {"n": n}, "offset": n} for n in (1, 2, 3)]
    events = server.feed(
        reply(
            again["id"],
            subscribe={
                "recoverable": True,
                "epoch": "new",
                "offset": 0,
                "positioned": True,
                "publications": recovered,
                "recovered": True,
                "was_recovering": True,
            },
        ),
        now=1.0,
    )
    assert [offset for offset, _ in delivered(events)] == [1, 2, 3]
    assert only(events, PublicationsLost) == []


def test_a_failed_recovery_within_the_same_epoch_is_not_a_reset():
    _client, server = subscribed_with_history()
    server.feed(push_unsubscribe("chat", 2500, "insufficient state"), now=1.0)
    (resubscribe,) = server.commands()
    events = server.feed(
        reply(
            resubscribe["id"],
            subscribe={
                "recoverable": True,
                "epoch": "old",
                "offset": 900,
                "positioned": True,
                "was_recovering": True,
            },
        ),
        now=1.0,
    )
    (lost,) = only(events, PublicationsLost)
    assert lost.reason == "recovery failed"
    assert server.commands() == []  # nothing more to ask: the history is too short
    assert delivered(server.feed(push_pub("chat", {}, 901), now=1.0)) == [(901, {})]


def test_a_second_reset_during_the_recovery_of_the_first_does_not_loop():
    _client, server = subscribed_with_history()
    server.feed(push_pub("chat", {}, 5, epoch="new"), now=1.0)
    _, again = server.commands()
    events = server.feed(
        reply(
            again["id"],
            subscribe={
                "recoverable": True,
                "epoch": "newer",
                "offset": 2,
                "positioned": True,
                "was_recovering": True,
            },
        ),
        now=1.0,
    )
    (lost,) = only(events, PublicationsLost)
    assert lost.reason == "stream reset"
    # One more recovery into the newest epoch at most; the client never spins.
    commands = server.commands()
    assert [c["subscribe"]["epoch"] for c in commands if "subscribe" in c] == ["newer"]


def test_a_publication_without_an_offset_on_a_tracked_subscription_is_delivered():
    """A server may send a publication without an offset (one that skips history):
    there is no position to check, and nothing to drop."""
    _client, server = subscribed_with_history()
    assert delivered(server.feed(push_pub("chat", {"no": "offset"}), now=1.0)) == [
        (0, {"no": "offset"})
    ]
    assert delivered(server.feed(push_pub("chat", {}, 4), now=1.0)) == [(4, {})]


def test_3014_forgets_a_subscription_token_from_a_token_source():
    from centrifugo_proto import TokenRequested
    from serverside import only as only_

    client, server = connected_pair(options=options())
    client.subscribe("p", token="t0", has_token_source=True, now=0.0)
    (command,) = server.commands()
    assert command["subscribe"]["token"] == "t0"
    server.feed(reply(command["id"], subscribe={}), now=0.0)
    client.receive_data(server.close_frame(3014, "state invalidated"), now=1.0)
    server.events()
    client.handle_timeout(now=client.next_deadline())
    events = server.accept_connect(now=20.0)
    # A new token is asked for, not the old one resent.
    (request,) = only_(events, TokenRequested)
    assert request.channel == "p"
    assert server.commands() == []
