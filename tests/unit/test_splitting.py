"""The same server bytes give the same events however the socket splits them."""

from __future__ import annotations

import json
import random

import pytest

from centrifugo_proto import (
    CommandSucceeded,
    Connected,
    HistoryResult,
    JoinReceived,
    LeaveReceived,
    PingReceived,
    PublicationReceived,
    Subscribed,
)
from serverside import (
    FakeServer,
    ServerWebSocket,
    connect_reply,
    connected_pair,
    encode_replies,
    make_client,
    message_text,
    ping,
    push_join,
    push_leave,
    push_pub,
    reply,
)

NOW = 100.0


def _start():
    """A client that asked for a transport, with a subscribe and a history call waiting.

    Returns the client, the server connection that accepted its handshake, the
    server's 101 response, and the server's frames for this connection as one stream.
    """
    client = make_client()
    server = FakeServer(client)
    client.connect(now=NOW)
    client.subscribe("chat:room", now=NOW, recoverable=True)
    history = client.history("chat:room", limit=2, now=NOW)
    server.events()
    client.transport_opened(now=NOW)
    ws = ServerWebSocket()
    accept = ws.receive(client.data_to_send())
    # Wire ids, fixed by the client: 1 connect, then 2 subscribe, 3 history (in one frame).
    frames = [
        ws.send_message(encode_replies(connect_reply(1, ping=25, pong=True))),
        ws.send_message(
            encode_replies(
                reply(2, subscribe={"recoverable": True, "epoch": "e", "offset": 10}),
                push_pub("chat:room", {"n": 11}, 11),
            )
        ),
        ws.send_message(encode_replies(push_pub("chat:room", {"n": 12}, 12))),
        ws.send_message(
            encode_replies(push_join("chat:room"), ping(), push_pub("chat:room", "ü", 13))
        ),
        ws.send_message(
            encode_replies(
                reply(
                    3,
                    history={
                        "publications": [
                            {"data": {"n": 12}, "offset": 12},
                            {"data": "ü", "offset": 13},
                        ],
                        "epoch": "e",
                        "offset": 13,
                    },
                ),
                push_leave("chat:room"),
            )
        ),
        # A longer message: its frame header uses the 16-bit length form.
        ws.send_message(encode_replies(push_pub("chat:room", "x" * 1_000, 14))),
        ws.send_message(encode_replies(ping())),
    ]
    return client, ws, accept, b"".join(frames), history


def _run(chunks_of):
    """Events, the client's commands (across frames) and its frames, for one way of
    splitting the bytes. The 101 response is split too, but arrives before any frame:
    the server sends nothing before the connect command it answers."""
    client, ws, accept, stream, history = _start()
    events = []
    frames = []
    for chunk in [*chunks_of(accept), *chunks_of(stream)]:
        client.receive_data(chunk, now=NOW)
        while (event := client.next_event()) is not None:
            events.append(event)
        ws.receive(client.data_to_send())
        frames += ws.messages
        ws.messages.clear()
    commands = [json.loads(line) for frame in frames for line in message_text(frame).split("\n")]
    return events, commands, history, frames


def _whole(stream):
    return [stream]


def _bytewise(stream):
    return [stream[i : i + 1] for i in range(len(stream))]


def _random_splits(seed):
    def split(stream):
        rng = random.Random(seed)
        cuts = sorted(rng.sample(range(1, len(stream)), rng.randint(1, 60)))
        return [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]

    return split


def test_the_reference_run_sees_every_event_once():
    events, commands, history, frames = _run(_whole)
    kinds = [type(e) for e in events]
    assert kinds == [
        Connected,
        Subscribed,
        PublicationReceived,
        PublicationReceived,
        JoinReceived,
        PingReceived,
        PublicationReceived,
        CommandSucceeded,
        LeaveReceived,
        PublicationReceived,
        PingReceived,
    ]
    offsets = [e.publication.offset for e in events if isinstance(e, PublicationReceived)]
    assert offsets == [11, 12, 13, 14]
    (succeeded,) = [e for e in events if isinstance(e, CommandSucceeded)]
    assert succeeded.request == history
    assert isinstance(succeeded.result, HistoryResult)
    assert [p.channel for p in succeeded.result.publications] == ["chat:room", "chat:room"]
    # The client's side: connect alone; subscribe, history and the two pongs together.
    assert [list(c) for c in commands] == [
        ["id", "connect"],
        ["id", "subscribe"],
        ["id", "history"],
        [],
        [],
    ]
    assert len(frames) == 2
    assert message_text(frames[0]).count("\n") == 0


def _same(run, reference):
    """Events, commands and handle agree; only the grouping into frames may differ."""
    assert run[:3] == reference[:3]


def test_byte_by_byte_gives_the_same_events_and_replies():
    _same(_run(_bytewise), _run(_whole))


@pytest.mark.parametrize("seed", range(40))
def test_random_split_points_give_the_same_events_and_replies(seed):
    _same(_run(_random_splits(seed)), _run(_whole))


@pytest.mark.parametrize("seed", range(3))
def test_a_message_over_64_kib_survives_random_splits(seed):
    # Frame length in the 64-bit form; the server does not cap what it sends (§1.3).
    client, server = connected_pair()
    client.subscribe("big", now=1.0)
    server.commands()
    server.feed(reply(2, subscribe={}), now=1.0)
    data = "y" * 100_000
    stream = server.send(push_pub("big", data), ping())
    events = []
    for chunk in _random_splits(seed)(stream):
        client.receive_data(chunk, now=2.0)
        events += server.events()
    assert [type(e) for e in events] == [PublicationReceived, PingReceived]
    assert events[0].publication.data == data
    assert server.commands() == [{}]
