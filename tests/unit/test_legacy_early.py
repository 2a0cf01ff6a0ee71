"""What a 1.x server sends for a channel before its subscribe reply (LEGACY-V1.md §11.2).

A real 1.8.0 adds the subscriber to the channel before it reads the history it
recovers from, and sends the subscriber's own join before the reply: a message
published in between arrives before the reply. The core holds what comes while
the subscribe is in flight and delivers it after ``Subscribed`` and the recovered
messages, once each. The server here is the test's own (``legacy_serverside.py``);
the same race against the real 1.8.0 is in ``tests/integration/test_legacy_client.py``.
"""

from __future__ import annotations

from legacy_serverside import LegacyServer, make_legacy_client, message, reply, subscribed

from centrifugo_proto import (
    JoinReceived,
    LeaveReceived,
    PublicationReceived,
    PublicationsLost,
    Subscribed,
    SubscriptionState,
    generate_token,
)
from centrifugo_proto.legacy import Credentials
from serverside import only


def connected():
    token = generate_token("secret", "42", "1500000000", "")
    client = make_legacy_client(token=Credentials("42", "1500000000", token, ""))
    server = LegacyServer(client)
    client.connect(now=0.0)
    server.connect(now=0.0)
    return client, server


def kinds(events):
    return [type(e).__name__ for e in events]


def join(channel, kind="join", user="42"):
    return {"method": kind, "body": {"channel": channel, "data": {"user": user, "client": "c1"}}}


def test_a_message_and_the_own_join_before_the_reply_come_after_subscribed():
    client, server = connected()
    client.subscribe("news", now=1.0)
    (command,) = server.commands()
    server.events()  # Subscribing
    assert server.send(join("news"), message("news", {"n": 1}, "U1"), now=1.0) == []
    events = server.send(subscribed(command), now=1.0)
    assert kinds(events) == ["Subscribed", "JoinReceived", "PublicationReceived"]
    assert only(events, JoinReceived)[0].info.user == "42"
    assert only(events, PublicationReceived)[0].publication.data == {"n": 1}
    # Held only while the subscribe was in flight: live ones go straight through.
    later = server.send(message("news", {"n": 2}, "U2"), join("news", "leave"), now=1.0)
    assert kinds(later) == ["PublicationReceived", "LeaveReceived"]


def test_a_recovering_resubscribe_delivers_the_history_then_the_newer_live_ones_once_each():
    client, server = connected()
    client.subscribe("news", recoverable=True, now=1.0)
    (command,) = server.commands()
    server.send(subscribed(command), now=1.0)
    server.send(message("news", {"n": 1}, "U1"), now=1.0)
    server.close({"reason": "shutting down", "reconnect": True}, now=2.0)
    client.handle_timeout(now=client.next_deadline())
    server.connect(now=5.0)
    (resubscribe,) = server.commands()
    assert resubscribe["params"]["last"] == "U1"
    # U2 was published as the server read its history: it comes live and in it;
    # U3 after the read: live only, before the reply.
    assert server.send(message("news", 2, "U2"), message("news", 3, "U3"), now=5.0) == []
    history = [{"uid": "U2", "channel": "news", "data": 2}]
    events = server.send(subscribed(resubscribe, messages=history, recovered=True), now=5.0)
    assert [e.publication.uid for e in only(events, PublicationReceived)] == ["U2", "U3"]
    assert only(events, PublicationsLost) == []
    # The position moved to the last delivered: the next recovery starts there.
    server.close({"reason": "shutting down", "reconnect": True}, now=6.0)
    client.handle_timeout(now=client.next_deadline())
    server.connect(now=9.0)
    (third,) = server.commands()
    assert third["params"]["last"] == "U3"


def test_what_was_held_for_a_refused_subscribe_is_never_delivered():
    client, server = connected()
    client.subscribe("news", now=1.0)
    (command,) = server.commands()
    server.events()  # Subscribing
    server.send(message("news", "stale", "U1"), now=1.0)
    refused = reply(
        command,
        {"channel": "news", "status": False},
        error="internal server error",
        advice="retry",
    )
    assert kinds(server.send(refused, now=1.0)) == ["ErrorOccurred"]
    retry_at = client.next_deadline()
    client.handle_timeout(now=retry_at)  # the resubscribe backs off, then goes
    (again,) = server.commands()
    events = server.send(subscribed(again), now=retry_at)
    assert only(events, Subscribed)
    assert only(events, PublicationReceived) == []


def test_what_was_held_for_a_lost_connection_is_never_delivered():
    client, server = connected()
    client.subscribe("news", now=1.0)
    server.commands()
    server.events()
    server.send(message("news", "stale", "U1"), now=1.0)
    server.close({"reason": "shutting down", "reconnect": True}, now=2.0)
    client.handle_timeout(now=client.next_deadline())
    server.connect(now=5.0)
    (again,) = server.commands()
    events = server.send(subscribed(again), now=5.0)
    assert only(events, Subscribed)
    assert only(events, PublicationReceived) == []


def test_an_unsubscribed_channel_holds_nothing():
    client, server = connected()
    client.subscribe("news", now=1.0)
    (command,) = server.commands()
    server.events()  # Subscribing
    client.unsubscribe("news", now=1.0)
    assert kinds(server.events()) == ["Unsubscribed"]
    assert server.send(message("news", "late", "U1"), join("news"), now=1.0) == []
    assert client.subscription_state("news") is SubscriptionState.UNSUBSCRIBED
    assert server.send(subscribed(command), now=1.0) == []


def test_a_flood_before_the_reply_keeps_the_newest_and_says_how_many_were_dropped():
    client, server = connected()
    client.subscribe("news", now=1.0)
    (command,) = server.commands()
    server.events()  # Subscribing
    flood = [message("news", n, f"U{n}") for n in range(5000)]
    for start in range(0, len(flood), 500):
        assert server.send(*flood[start : start + 500], now=1.0) == []
    events = server.send(subscribed(command), now=1.0)
    (lost,) = only(events, PublicationsLost)
    assert (lost.reason, lost.count) == ("buffer full", 5000 - 4096)
    delivered = [e.publication.data for e in only(events, PublicationReceived)]
    assert delivered == list(range(5000 - 4096, 5000))
    assert kinds(events)[:2] == ["Subscribed", "PublicationsLost"]
    assert only(events, LeaveReceived) == []
