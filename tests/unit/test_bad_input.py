"""Bad input from the server never raises: it closes and reconnects with backoff
(DESIGN "Errors")."""

from __future__ import annotations

import random

import pytest

from centrifugo_proto import (
    ClientDisconnected,
    ClientState,
    CloseTransport,
    CommandFailed,
    CommandSucceeded,
    Connecting,
    ConnectingCode,
    ErrorOccurred,
    OpenTransport,
    RemoteProtocolError,
    Subscribing,
    SubscriptionState,
    TransportClosed,
)
from serverside import (
    FakeServer,
    connect_reply,
    connected_pair,
    encode_replies,
    make_client,
    only,
    options,
    ping,
    push_pub,
    reply,
)


def busy_pair():
    """Connected at 0, subscribed to "a" (wire id 2), a publish (id 3) in flight."""
    client, server = connected_pair(options=options())
    client.subscribe("a", now=0.0)
    server.commands()
    server.feed(reply(2, subscribe={}), now=0.0)
    pending = client.publish("a", {"x": 1}, now=1.0)
    assert [c["id"] for c in server.commands()] == [3]
    return client, server, pending


def assert_bad_protocol(client, server, events, pending, *, now, close_code=1002):
    """The "bad protocol" handling: error, close, fail pending, suspend, reconnect."""
    (occurred,) = only(events, ErrorOccurred)
    assert isinstance(occurred.error, RemoteProtocolError)
    assert str(occurred.error).startswith("bad protocol")
    assert CloseTransport() in events
    (failed,) = only(events, CommandFailed)
    assert failed.request == pending
    assert isinstance(failed.error, ClientDisconnected)
    assert Subscribing(channel="a", code=1, reason="transport closed") in events
    assert events[-1] == Connecting(code=ConnectingCode.BAD_PROTOCOL, reason=str(occurred.error))
    assert client.state is ClientState.CONNECTING
    assert client.subscription_state("a") is SubscriptionState.SUBSCRIBING
    server.pump()
    assert server.connections[-1].close_code == close_code
    # Reconnect with backoff: attempt 0, rng 0.5 -> 1.5 s.
    assert client.next_deadline() == now + 1.5
    client.handle_timeout(now=now + 1.5)
    assert only(server.events(), OpenTransport)
    server.accept_connect(now=now + 2)
    assert client.state is ClientState.CONNECTED
    assert server.commands() == [{"id": 2, "subscribe": {"channel": "a"}}]


def test_reply_to_an_id_never_issued():
    client, server, pending = busy_pair()
    events = server.feed(reply(99, publish={}), now=2.0)
    assert_bad_protocol(client, server, events, pending, now=2.0)


def test_a_second_reply_to_one_id():
    client, server, pending = busy_pair()
    other = client.publish("a", 2, now=1.0)
    server.commands()
    events = server.feed(reply(4, publish={}), reply(4, publish={}), now=2.0)
    assert events[0] == CommandSucceeded(request=other, result=events[0].result)
    assert_bad_protocol(client, server, events[1:], pending, now=2.0)


def test_a_second_subscribe_reply():
    client, server, pending = busy_pair()
    events = server.feed(reply(2, subscribe={}), now=2.0)
    assert_bad_protocol(client, server, events, pending, now=2.0)


def test_a_frame_that_is_not_json():
    client, server, pending = busy_pair()
    events = server.feed("this is not json", now=2.0)
    assert_bad_protocol(client, server, events, pending, now=2.0)


def test_lines_after_a_bad_line_in_the_same_frame_are_not_acted_on():
    client, server, pending = busy_pair()
    events = server.feed(push_pub("a", 1), "{oops", push_pub("a", 2), reply(3, publish={}), now=2.0)
    # The whole frame is refused before any of it is acted on.
    assert not [e for e in events if type(e).__name__ == "PublicationReceived"]
    assert_bad_protocol(client, server, events, pending, now=2.0)


def test_a_binary_frame_in_json_mode():
    """The frame kind the codec does not use (binary for JSON, text for binary-json)."""
    client, server, pending = busy_pair()
    assert server.ws is not None
    client.receive_data(server.ws.send_other_kind('{"id":3,"publish":{}}'), now=2.0)
    assert_bad_protocol(client, server, server.events(), pending, now=2.0)


# Frame bytes, and the close code the client must fail the connection with (RFC 6455 §7.4.1).
INVALID_FRAMES = {
    "reserved opcode": (b"\x83\x00", 1002),
    "reserved bits set": (b"\xc1\x02{}", 1002),
    "masked frame from the server": (
        b"\x81\x82abcd" + bytes([ord("{") ^ 97, ord("}") ^ 98]),
        1002,
    ),
    "text that is not UTF-8": (b"\x81\x02\xff\xfe", 1007),
    "fragmented control frame": (b"\x09\x00", 1002),
    "continuation with nothing to continue": (b"\x80\x02{}", 1002),
    "control frame over 125 bytes": (b"\x89\x7e\x00\x80" + b"p" * 128, 1002),
}


@pytest.mark.parametrize(
    ("frame", "close_code"), list(INVALID_FRAMES.values()), ids=list(INVALID_FRAMES)
)
def test_a_frame_that_breaks_the_websocket_protocol(frame, close_code):
    client, server, pending = busy_pair()
    client.receive_data(frame, now=2.0)
    events = server.events()
    # The server sent no close frame, so none is reported; the client fails the
    # connection itself with a close frame of its own.
    assert not only(events, TransportClosed)
    assert_bad_protocol(client, server, events, pending, now=2.0, close_code=close_code)


def test_a_truncated_frame_followed_by_eof():
    client, server, pending = busy_pair()
    frame = server.send(push_pub("a", "x" * 300))
    client.receive_data(frame[:-10], now=2.0)
    assert server.events() == []  # waiting for the rest
    client.receive_eof(now=3.0)
    events = server.events()
    assert events[0] == TransportClosed(code=1006, reason="")
    assert only(events, CommandFailed)[0].request == pending
    assert Subscribing(channel="a", code=1, reason="transport closed") in events
    assert events[-1] == Connecting(code=ConnectingCode.TRANSPORT_CLOSED, reason="transport closed")
    assert client.next_deadline() == 4.5
    client.handle_timeout(now=4.5)
    assert only(server.events(), OpenTransport)


def test_eof_before_the_handshake_answer():
    client = make_client(options=options())
    server = FakeServer(client)
    client.connect(now=0.0)
    server.events()
    client.transport_opened(now=0.0)
    client.data_to_send()
    client.receive_data(b"HTTP/1.1 101 Switch", now=0.5)
    client.receive_eof(now=1.0)
    events = server.events()
    assert CloseTransport() in events
    assert client.state is ClientState.CONNECTING
    assert client.next_deadline() == 2.5


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n",
        b"HTTP/1.1 503 Unavailable\r\ncontent-length: 5\r\n\r\nbusy!",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",  # no accept key
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"\x00\x01\x02\x03garbage\r\n\r\n",
    ],
)
def test_a_refused_or_broken_handshake_closes_and_reconnects(response):
    client = make_client(options=options())
    server = FakeServer(client)
    client.connect(now=0.0)
    server.events()
    client.transport_opened(now=0.0)
    client.data_to_send()
    client.receive_data(response, now=0.5)
    events = server.events()
    assert only(events, ErrorOccurred)
    assert CloseTransport() in events
    assert client.state is ClientState.CONNECTING
    assert client.next_deadline() == 2.0
    assert client.data_to_send() == b""


def test_a_publication_after_unsubscribe_is_dropped_and_the_connection_stays():
    client, server, _ = busy_pair()
    client.unsubscribe("a", now=2.0)
    server.events()
    assert server.commands() == [{"id": 4, "unsubscribe": {"channel": "a"}}]
    events = server.feed(push_pub("a", "in flight", 9), now=2.5)
    assert events == []
    events = server.feed(reply(4, unsubscribe={}), push_pub("never", 1), now=3.0)
    assert events == []
    assert client.state is ClientState.CONNECTED
    server.pump()
    assert server.connections[0].close_code is None


def test_bytes_for_a_transport_already_closed_are_ignored():
    client, server, _ = busy_pair()
    stale = server.send(push_pub("a", 1), ping())
    server.feed("not json", now=2.0)
    client.receive_data(stale, now=2.1)
    client.receive_eof(now=2.2)
    assert server.events() == []
    client.transport_failed("late news", now=2.3)
    assert server.events() == []


# -- nothing raises ------------------------------------------------------------------------


def _valid_lines():
    return [
        encode_replies(ping()),
        encode_replies(push_pub("a", {"k": [1, 2]}, 5)),
        encode_replies(reply(3, publish={})),
        encode_replies(connect_reply(1)),
        '{"push":{"channel":"a","unsubscribe":{"code":2500}}}',
        '{"push":{"channel":"a","join":{"info":{"user":"u","client":"c"}}}}',
        '{"push":{"channel":"s","subscribe":{"recoverable":true,"offset":2}}}',
        '{"push":{"disconnect":{"code":3001,"reason":"x"}}}',
        '{"id":2,"subscribe":{"recoverable":true,"publications":[{"offset":1}]}}',
        '{"id":3,"error":{"code":100,"temporary":true}}',
    ]


def _mutate(rng, line):
    chars = list(line)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(4)
        pos = rng.randrange(len(chars) + 1)
        if op == 0 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif op == 1:
            chars.insert(pos, rng.choice('{}[]":,0123456789-tfnaeu\\ \n'))
        elif op == 2 and chars:
            chars[min(pos, len(chars) - 1)] = rng.choice('0"{}x-9é\u2028')
        else:
            chars = chars[:pos]
    return "".join(chars)


def _drive(client, server, rng, now):
    """Everything a server (or a broken proxy) can do, in random order."""
    for _ in range(40):
        now += rng.random()
        action = rng.randrange(10)
        if server.ws is None or server.ws.closed or client.state is not ClientState.CONNECTED:
            if client.next_deadline() is not None:
                now = max(now, client.next_deadline())
                client.handle_timeout(now=now)
            if only(server.events(), OpenTransport):
                server.accept_connect(now=now, ping=rng.choice([0, 25]))
                client.subscribe(rng.choice("ab"), now=now)
                client.publish("a", 1, now=now)
            continue
        if action < 4:
            lines = [_mutate(rng, rng.choice(_valid_lines())) for _ in range(rng.randint(1, 3))]
            data = server.send(*lines)
        elif action == 4:
            data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 30)))
        elif action == 5:
            data = server.send(*rng.sample(_valid_lines(), 3))
        elif action == 6:
            data = server.send(rng.choice(_valid_lines()))[: rng.randint(1, 5)]
        elif action == 7:
            client.handle_timeout(now=now + rng.choice([0, 5, 40]))
            server.events()
            continue
        elif action == 8:
            client.receive_eof(now=now)
            server.events()
            continue
        else:
            data = server.close_frame(rng.choice([1000, 1009, 3001, 3500, 4000, 4999]), "bye")
        client.receive_data(data, now=now)
        server.events()
        if server.ws.closed:
            client.data_to_send()  # bytes a real adapter would write to a closing socket
        else:
            server.pump()
    return now


@pytest.mark.parametrize("seed", range(30))
def test_nothing_raises_out_of_receive_data_eof_or_timeout(seed):
    rng = random.Random(seed)
    client, server = connected_pair(options=options())
    client.subscribe("a", now=0.0)
    now = _drive(client, server, rng, 0.0)
    assert client.state in (ClientState.CONNECTED, ClientState.CONNECTING, ClientState.DISCONNECTED)
    client.handle_timeout(now=now + 1000)
