"""Framing: what one side encodes the other decodes back equal, and the server's
bytes mean the same events however the socket cuts them (DESIGN "The core",
layers 1 and 2; STYLE-ANCHORS L14).

Every property runs for every codec in ``codec_pairs.CODECS``.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from codec_pairs import CODEC_IDS, CODECS, CodecPair, Peer, connected, make_client, wire_view
from hypothesis import given
from hypothesis import strategies as st
from strategies import TEXT, UINT64, commands, incoming, pushes, replies
from wsproto.events import BytesMessage, Ping, TextMessage

from centrifugo_proto import (
    ClientState,
    ConnectResult,
    ErrorOccurred,
    Event,
    OpenTransport,
    PingReceived,
    StreamPosition,
    SubscribeResult,
)
from centrifugo_proto.messages import PING, Reply
from serverside import PONG, Command, ServerWebSocket

codecs = pytest.mark.parametrize("codec", CODECS, ids=CODEC_IDS)
#: The channels of the split and batching properties: "a" is subscribed, "b" not.
AB = st.sampled_from(["a", "b"])


# -- codec round trips ------------------------------------------------------------------


@codecs
@given(data=st.data())
def test_every_command_the_client_encodes_decodes_equal_on_the_server(
    codec: CodecPair, data: st.DataObject
) -> None:
    batch = data.draw(st.lists(commands(codec.payloads), min_size=1, max_size=6))
    message = codec.client.frame([(wire_id, codec.client.encode(c)) for wire_id, c in batch])
    assert codec.server_decode(message) == [wire_view(wire_id, c) for wire_id, c in batch]


@codecs
@given(data=st.data())
def test_every_reply_and_push_the_server_encodes_decodes_equal_in_the_client(
    codec: CodecPair, data: st.DataObject
) -> None:
    batch = data.draw(st.lists(incoming(codec.payloads), min_size=1, max_size=6))
    assert codec.client.decode(codec.server_encode(batch)) == batch


# -- the facade's commands --------------------------------------------------------------

CHANNELS = st.text(min_size=1, max_size=10)


def _calls(payloads: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """A command call on the facade and its keyword arguments."""
    positions = st.builds(StreamPosition, UINT64, TEXT)
    return st.one_of(
        st.tuples(
            st.just("publish"), st.fixed_dictionaries({"channel": CHANNELS, "data": payloads})
        ),
        st.tuples(
            st.just("history"),
            st.fixed_dictionaries(
                {"channel": CHANNELS},
                optional={
                    "limit": st.integers(-1, 2**31 - 1),
                    "since": positions,
                    "reverse": st.booleans(),
                },
            ),
        ),
        st.tuples(st.just("presence"), st.fixed_dictionaries({"channel": CHANNELS})),
        st.tuples(st.just("presence_stats"), st.fixed_dictionaries({"channel": CHANNELS})),
        st.tuples(
            st.just("rpc"),
            st.fixed_dictionaries({"method": TEXT}, optional={"data": payloads}),
        ),
        st.tuples(st.just("send"), st.fixed_dictionaries({"data": payloads})),
    )


def _expected_params(method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The request fields of PROTOCOL.md §2.3, zero values left out."""
    if method == "history":
        params: dict[str, Any] = {"channel": kwargs["channel"]}
        if kwargs.get("limit"):
            params["limit"] = kwargs["limit"]
        if "since" in kwargs:
            params["since"] = {"offset": kwargs["since"].offset, "epoch": kwargs["since"].epoch}
        if kwargs.get("reverse"):
            params["reverse"] = True
        return params
    if method == "rpc":
        params = {"method": kwargs["method"]}
        if kwargs.get("data") is not None:
            params["data"] = kwargs["data"]
        return params
    return dict(kwargs)


@codecs
@given(data=st.data())
def test_every_facade_command_reaches_the_server_as_asked(
    codec: CodecPair, data: st.DataObject
) -> None:
    client, peer = connected(codec)
    calls = data.draw(st.lists(_calls(codec.payloads), min_size=1, max_size=8))
    expected = []
    wire_id = 1  # connect was 1
    for method, kwargs in calls:
        getattr(client, method)(now=1.0, **kwargs)
        if method == "send":
            expected.append(Command(0, "send", _expected_params(method, kwargs)))
        else:
            wire_id += 1
            expected.append(Command(wire_id, method, _expected_params(method, kwargs)))
    assert peer.commands() == expected


# -- the server's byte stream, cut every way --------------------------------------------


def _frames(codec: CodecPair, ws: ServerWebSocket, draw: Any) -> list[bytes]:
    """The server's frames after the connect reply: messages of every kind (unknown
    reply ids included: a bad-protocol close is an event sequence too), pings of
    the WebSocket layer, fragmented messages, and maybe a close frame at the end."""
    frames: list[bytes] = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["messages", "ws_ping", "fragmented"]))
        if kind == "ws_ping":
            frames.append(ws.ws.send(Ping(payload=draw(st.binary(max_size=8)))))
            continue
        batch = draw(
            st.lists(
                st.one_of(pushes(codec.payloads, AB), replies(codec.payloads)),
                min_size=1,
                max_size=4,
            )
        )
        if kind == "messages":
            frames.append(codec.frame(ws, batch))
            continue
        message = codec.server_encode(batch)
        # Binary messages are cut anywhere, inside a length varint too (§1.2).
        kind = TextMessage if isinstance(message, str) else BytesMessage
        cut = draw(st.integers(0, len(message)))
        frames.append(
            ws.ws.send(kind(data=message[:cut], message_finished=False))  # type: ignore[arg-type]
            + ws.ws.send(kind(data=message[cut:], message_finished=True))  # type: ignore[arg-type]
        )
    if draw(st.booleans()):
        frames.append(ws.close_frame(draw(st.sampled_from([1000, 1001, 3000, 3500, 4000, 4500]))))
    return frames


def _run(codec: CodecPair, accept: bytes, stream: bytes, cuts: list[int]) -> list[Event]:
    """One client fed ``accept`` + ``stream`` in the pieces ``cuts`` make; its events.

    (What the client *sends* may differ: commands queued in a call whose bytes also
    close the connection are dropped with it, and where the cuts fall decides
    which call that is. Pongs get a property of their own below.)"""
    client = make_client(codec)
    peer = Peer(codec, client)
    client.connect(now=0.0)
    client.subscribe("a", now=0.0)
    peer.events()
    accept_i = peer.open(now=0.0)
    # Only the Sec-WebSocket-Accept differs between clients: same length, same cuts.
    assert len(accept_i) == len(accept)
    data = accept_i + stream
    bounds = [0, *sorted(cuts), len(data)]
    for start, end in itertools.pairwise(bounds):
        client.receive_data(data[start:end], now=1.0)
        peer.pump()
    client.receive_eof(now=2.0)
    peer.pump()
    return peer.events()


@codecs
@given(data=st.data())
def test_server_frames_mean_the_same_events_whole_byte_by_byte_or_cut_anywhere(
    codec: CodecPair, data: st.DataObject
) -> None:
    draw = data.draw
    ws = ServerWebSocket()
    probe = make_client(codec)
    probe.connect(now=0.0)
    probe.transport_opened(now=0.0)
    accept = ws.receive(probe.data_to_send())
    connect = Reply(1, ConnectResult(client="c", ping=25, pong=draw(st.booleans())))
    subscribe = Reply(2, SubscribeResult())
    frames = [codec.frame(ws, [connect]), codec.frame(ws, [subscribe]), *_frames(codec, ws, draw)]
    stream = b"".join(frames)
    size = len(accept) + len(stream)

    whole = _run(codec, accept, stream, [])
    assert whole[0], "no events at all"
    assert _run(codec, accept, stream, list(range(1, size))) == whole  # byte by byte
    cuts = draw(st.lists(st.integers(1, size - 1), max_size=12, unique=True))
    assert _run(codec, accept, stream, cuts) == whole
    # Frame by frame, as a socket that reads exactly one frame at a time would.
    bounds, at = [], len(accept)
    for frame in frames:
        at += len(frame)
        bounds.append(at)
    assert _run(codec, accept, stream, bounds[:-1]) == whole


@codecs
@given(data=st.data())
def test_several_messages_per_frame_equal_the_same_messages_one_per_frame(
    codec: CodecPair, data: st.DataObject
) -> None:
    batch = data.draw(
        st.lists(
            st.one_of(pushes(codec.payloads, AB), replies(codec.payloads)),
            min_size=1,
            max_size=8,
        )
    )
    runs = []
    for together in (True, False):
        client, peer = connected(codec)
        client.subscribe("a", now=0.0)
        peer.feed(Reply(2, SubscribeResult()), now=0.0)
        peer.events()
        peer.commands()
        if together:
            events = peer.feed(*batch, now=1.0)
        else:
            events = []
            for message in batch:
                if peer.ws is not None and peer.ws.closed:
                    break  # the client closed after a bad message: the rest is unsent
                events += peer.feed(message, now=1.0)
        alive = client.state is ClientState.CONNECTED
        # Pongs queued in a call that then closes the connection are dropped with it,
        # so what was sent compares only where the connection survived.
        runs.append((events, peer.commands() if alive else None))
    assert runs[0] == runs[1]


@codecs
@given(pings=st.integers(1, 20), pong=st.booleans(), cuts=st.data())
def test_one_pong_per_ping_in_any_framing(
    codec: CodecPair, pings: int, pong: bool, cuts: st.DataObject
) -> None:
    client, peer = connected(codec, result=ConnectResult(client="c", ping=25, pong=pong))
    assert peer.ws is not None
    grouping = cuts.draw(st.lists(st.integers(1, 4), min_size=1, max_size=pings))
    stream = b""
    sent = 0
    for size in grouping:
        size = min(size, pings - sent)
        if size <= 0:
            break
        stream += peer.frame(*[PING] * size)
        sent += size
    positions = cuts.draw(
        st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=8, unique=True)
    )
    bounds = [0, *sorted(positions), len(stream)]
    for start, end in itertools.pairwise(bounds):
        client.receive_data(stream[start:end], now=1.0)
    events = peer.events()
    assert len([e for e in events if isinstance(e, PingReceived)]) == sent
    assert peer.commands() == ([PONG] * sent if pong else [])
    assert not [e for e in events if isinstance(e, ErrorOccurred | OpenTransport)]
