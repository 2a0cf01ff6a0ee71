"""What the server sends is either refused at decode or safe to send back (issue
"Hardening"). The client echoes some server strings in later commands: server-side
subscription channels and epochs in the next ``connect`` (``subs``), subscription
epochs in the next ``subscribe``. A lone surrogate (JSON lets a server write
``"\\ud800"``) cannot be encoded as UTF-8, so before this rule it was accepted and
every ``receive_data`` after the next reconnect raised ``UnicodeEncodeError``.

The fake server here is the test's own (``serverside.py``): it builds every byte.
"""

from __future__ import annotations

import pytest

from centrifugo_proto import (
    ClientState,
    Connecting,
    ConnectingCode,
    ErrorOccurred,
    RemoteProtocolError,
    Subscribed,
)
from serverside import connected_pair, only, options, push_pub, reply


def test_a_server_side_subscribe_push_with_a_lone_surrogate_channel_is_bad_protocol():
    client, server = connected_pair(options=options())
    raw = '{"push":{"channel":"\\ud800","subscribe":{"recoverable":true,"epoch":"e","offset":1}}}'
    client.receive_data(server.ws.send_message(raw), now=1.0)
    (connecting,) = only(server.events(), Connecting)
    assert connecting.code == ConnectingCode.BAD_PROTOCOL
    # The next attempt encodes its connect command without trouble.
    client.handle_timeout(now=client.next_deadline())
    server.accept_connect(now=client.next_deadline() or 20.0)
    assert client.state is ClientState.CONNECTED
    assert "subs" not in (server.last_connect or {})


@pytest.mark.parametrize(
    "result",
    [
        '{"id":1,"connect":{"client":"c","subs":{"\\udcff":{"recoverable":true,"epoch":"e"}}}}',
        '{"id":1,"connect":{"client":"c","subs":{"news":{"recoverable":true,"epoch":"\\ud800"}}}}',
    ],
    ids=["channel", "epoch"],
)
def test_a_connect_result_with_a_lone_surrogate_in_subs_is_bad_protocol(result):
    from serverside import FakeServer, make_client

    client = make_client(options=options())
    server = FakeServer(client)
    client.connect(now=0.0)
    server.open(now=0.0)
    server.commands()
    client.receive_data(server.ws.send_message(result), now=0.0)
    (occurred,) = only(server.events(), ErrorOccurred)  # still connecting: no new Connecting
    assert isinstance(occurred.error, RemoteProtocolError)
    assert client.state is ClientState.CONNECTING
    assert client.next_deadline() is not None  # the reconnect


def test_a_subscribe_reply_with_a_lone_surrogate_epoch_is_bad_protocol():
    client, server = connected_pair(options=options())
    client.subscribe("chat", recoverable=True, now=0.0)
    (command,) = server.commands()
    raw = '{"id":%d,"subscribe":{"recoverable":true,"epoch":"\\ud800","positioned":true}}'
    client.receive_data(server.ws.send_message(raw % command["id"]), now=0.0)
    events = server.events()
    assert only(events, Subscribed) == []
    (connecting,) = only(events, Connecting)
    assert connecting.code == ConnectingCode.BAD_PROTOCOL


def test_a_publication_with_a_lone_surrogate_epoch_is_bad_protocol():
    client, server = connected_pair(options=options())
    client.subscribe("chat", recoverable=True, now=0.0)
    (command,) = server.commands()
    server.feed(
        reply(command["id"], subscribe={"recoverable": True, "epoch": "e", "positioned": True}),
        now=0.0,
    )
    server.feed(push_pub("chat", {}, 1), now=0.0)
    raw = '{"push":{"channel":"chat","pub":{"data":{},"offset":3,"epoch":"\\ud800"}}}'
    client.receive_data(server.ws.send_message(raw), now=0.0)
    (connecting,) = only(server.events(), Connecting)
    assert connecting.code == ConnectingCode.BAD_PROTOCOL
    # Reconnecting resubscribes with the last good position, which encodes fine.
    client.handle_timeout(now=client.next_deadline())
    server.accept_connect(now=20.0)
    (resubscribe,) = server.commands()
    assert resubscribe["subscribe"]["epoch"] == "e"


def test_lone_surrogates_in_payloads_are_delivered_not_refused():
    """Payloads are the application's: the client never sends them back by itself."""
    client, server = connected_pair(options=options())
    client.subscribe("chat", now=0.0)
    (command,) = server.commands()
    server.feed(reply(command["id"], subscribe={}), now=0.0)
    raw = '{"push":{"channel":"chat","pub":{"data":{"text":"\\ud800"}}}}'
    client.receive_data(server.ws.send_message(raw), now=0.0)
    assert client.state is ClientState.CONNECTED
