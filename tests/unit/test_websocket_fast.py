"""The WebSocket layer's own frame reader (issue 12), case by case: every way a frame
reaches it (whole, cut in its header or its payload, behind another), each kind it
reads itself and each it leaves to wsproto, the handshake cut at its end, EOF.

Each stream also goes through the reference layer (every byte to wsproto,
``tests/wsproto_layer.py``), whole and cut at the points given, and must give the same
(``websocket_diff.check``); the expected items are spelled out besides.
"""

from __future__ import annotations

import itertools

import pytest
from websocket_diff import (
    ENDPOINT,
    HEADS,
    Call,
    _Server,
    accept_for,
    check,
    frame,
    head_length,
    play,
)
from wsproto import WSConnection
from wsproto.connection import Connection
from wsproto_layer import WsprotoLayer

from centrifugo_proto.websocket import (
    WebSocketClosed,
    WebSocketFailed,
    WebSocketLayer,
    WebSocketOpened,
)

OPENED = HEADS["101"]
BODY = head_length("101")  # where the frames start in the stream


def text(message: str) -> bytes:
    return frame(0x1, message.encode())


def items_of(
    body: bytes, cuts: tuple[int, ...] = (), *, eof: bool = False, head: str = "101"
) -> list[object]:
    """The core's items for the stream after the 101 (checked against the reference),
    without the leading ``WebSocketOpened``."""
    outcome = check(HEADS[head], body, cuts, eof=eof)
    items = outcome.items
    if head.startswith("101") and items[:1] and not isinstance(items[0], WebSocketFailed):
        items = items[1:]
    return items


def core(body: bytes, cuts: tuple[int, ...] = (), *, eof: bool = False) -> WebSocketLayer:
    """The core's layer after the 101 and ``body``, cut at ``cuts`` (offsets into the
    body), to look at what it holds."""
    layer = WebSocketLayer(ENDPOINT)
    stream = accept_for(layer) + body
    bounds = [0, *(BODY + c for c in cuts), len(stream)]
    for start, stop in itertools.pairwise(bounds):
        layer.receive_data(stream[start:stop])
    if eof:
        layer.receive_data(None)
    return layer


def holds_nothing(layer: WebSocketLayer) -> bool:
    return not layer._pending and not layer._forward and not layer._header


# -- the handshake ------------------------------------------------------------------------


def test_frames_in_the_read_of_the_101_are_read_after_it():
    outcome = check(OPENED, text("one") + frame(0x2, b"two"), ())
    assert outcome.items[1:] == ["one", b"two"]
    assert outcome.calls[0].items[0].subprotocol is None


def test_past_the_101_wsproto_has_a_connection_only_once_a_frame_needs_it():
    """The handshake's h11 state is let go once upgraded (it was kept for the
    connection's life), and wsproto's WebSocket connection is made only for the first
    frame that goes to it; messages go out the same before and after."""
    layer = WebSocketLayer(ENDPOINT)
    server = _Server(layer.handshake())
    layer.receive_data(server.accept + text("one"))
    assert layer._ws is None  # common frames alone: nothing of wsproto's kept
    assert server.decode(layer.send("before")) == [("message", "before", True)]
    items, reply = layer.receive_data(frame(0x9, b"hi"))  # a ping, through wsproto
    assert items == []
    assert server.decode(reply) == [("pong", b"hi")]
    assert isinstance(layer._ws, Connection)
    assert not isinstance(layer._ws, WSConnection)
    assert server.decode(layer.send("after")) == [("message", "after", True)]
    assert layer.open


def test_a_close_before_any_frame_went_to_wsproto_is_its_close_frame():
    layer = WebSocketLayer(ENDPOINT)
    server = _Server(layer.handshake())
    layer.receive_data(server.accept)
    assert layer._ws is None
    assert server.decode(layer.close(4000, "done")) == [("close", 4000, "done")]
    assert layer.close() == b""  # once
    assert not layer.open


def test_a_blank_line_cut_between_reads_still_ends_the_head():
    for back in (1, 2, 3):  # "\r\n\r" | "\n", "\r\n" | "\r\n", "\r" | "\n\r\n"
        body = text("after the head") + frame(0x1, b"x" * 200)[:50]
        outcome = check(OPENED, body, (BODY - back, BODY + 3))
        assert outcome.items[1:] == ["after the head"]
        layer = core(body[:53], (-back, 3))
        assert layer.open
        assert layer._pending  # the cut frame waits here, not in wsproto
    assert items_of(text("lf"), (BODY - 1,), head="101 bare LF") == ["lf"]


def test_what_follows_a_refusal_in_its_read_is_read_by_wsproto_before_its_events():
    # wsproto takes a 1xx other than 101 as a refusal, then h11 refuses the next bytes:
    # as in one read, the failure is h11's, not the refusal.
    outcome = check(HEADS["100"], b"\x00 is no status line", ())
    assert outcome.items == [WebSocketFailed("WebSocket protocol error: Bad HTTP message")]


def test_a_refusal_read_in_parts_ends_with_its_body():
    outcome = check(HEADS["403 with body"], b"", (30, 45))
    assert outcome.items == [WebSocketFailed("handshake refused: HTTP 403")]
    assert check(HEADS["403 until EOF"], b"", (30,), eof=True).items == [
        WebSocketFailed("handshake refused: HTTP 403")
    ]


# -- common frames, read here --------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_text_and_binary_frames_of_every_length_form(size: int):
    body = frame(0x1, b"t" * size) + frame(0x2, b"\x00" * size)
    assert items_of(body, (1, 3, 9, 11, size + 2)) == ["t" * size, b"\x00" * size]
    layer = core(body)
    assert holds_nothing(layer)


def test_a_frame_cut_in_its_length_waits_for_it():
    body = frame(0x1, b"x" * 300) + frame(0x2, b"y" * 70_000)
    cuts = (1, 3, 4, 200, 301, 305, 311, 40_000)
    assert items_of(body, cuts) == ["x" * 300, b"y" * 70_000]
    layer = core(frame(0x2, b"y" * 70_000)[:12])
    assert layer._need == 10 + 70_000  # the header was whole: the frame's length is known
    layer = core(frame(0x1, b"x" * 300)[:3])
    assert layer._need == 4  # waiting for the 16-bit length


def test_a_frame_cut_in_many_places_grows_until_whole():
    body = text("é" * 100)
    assert items_of(body, tuple(range(1, len(body), 7))) == ["é" * 100]


def test_text_that_is_not_utf8_fails_in_wsproto_s_words():
    items = items_of(frame(0x1, b"ok\xff") + text("never read"))
    assert items == [
        WebSocketFailed(
            "WebSocket protocol error: 'utf-8' codec can't decode byte 0xff in position 2:"
            " invalid start byte"
        )
    ]


def test_a_length_longer_than_needed_is_refused():
    assert items_of(frame(0x1, b"short", width=4)) == [
        WebSocketFailed(
            "WebSocket protocol error: Payload length used 2 bytes when 1 would have sufficed"
        )
    ]
    assert items_of(frame(0x2, b"x" * 200, width=10)) == [
        WebSocketFailed(
            "WebSocket protocol error: Payload length used 8 bytes when 2 would have sufficed"
        )
    ]


def test_a_64_bit_length_with_its_top_bit_set_is_refused_at_once():
    header = frame(0x2, b"", width=10, length=1 << 63 | 70_000)
    assert items_of(text("before") + header + b"more") == [
        "before",
        WebSocketFailed("WebSocket protocol error: 8-byte payload length with non-zero MSB"),
    ]


# -- frames wsproto reads ---------------------------------------------------------------------


def test_a_masked_frame_is_refused():
    body = frame(0x1, b"masked", mask=b"\x01\x02\x03\x04") + text("never read")
    assert items_of(body, (1, 2, 6)) == [
        WebSocketFailed("WebSocket protocol error: client received unexpected masked frame")
    ]


def test_a_ping_cut_anywhere_is_answered_once_whole():
    body = text("a") + frame(0x9, b"ping payload") + text("b")
    outcome = check(OPENED, body, tuple(BODY + c for c in (4, 5, 8, 12)))
    assert outcome.items[1:] == ["a", "b"]
    assert [r for call in outcome.calls for r in call.replies] == [("pong", b"ping payload")]


def test_a_fragmented_message_with_control_frames_between_its_parts():
    body = (
        frame(0x1, "fé".encode()[:2], fin=False)
        + frame(0x9, b"1")
        + frame(0x0, "é".encode()[1:] + b"!" * 200, fin=False)
        + frame(0xA, b"unasked")
        + frame(0x0, b"end")
        + frame(0x2, b"after")
    )
    cuts = (1, 2, 5, 7, 9, 10, 11, 100)
    assert items_of(body, cuts) == ["fé" + "!" * 200 + "end", b"after"]
    assert not core(body, cuts)._fragmented


def test_a_binary_message_in_parts():
    body = frame(0x2, b"ab", fin=False) + frame(0x0, b"cd")
    assert items_of(body, (3,)) == [b"abcd"]


def test_a_fragment_s_header_cut_before_its_length_goes_to_wsproto_at_once():
    part = frame(0x1, b"p" * 300, fin=False)  # 4-byte header: cut after 2, then after 3
    body = part + frame(0x0, b"q" * 70_000) + text("then")  # 10-byte header
    cut_second = len(part) + 2
    cuts = (2, 3, cut_second, cut_second + 5, cut_second + 20)
    assert items_of(body, cuts) == ["p" * 300 + "q" * 70_000, "then"]
    layer = core(body[:3])
    assert layer._header == body[:3]  # wsproto has these too
    layer = core(body, cuts)
    assert holds_nothing(layer)


def test_a_header_wsproto_refuses_on_two_bytes_fails_at_once():
    # Opcode 0xF with a 16-bit length: refused before the length arrives.
    outcome = check(OPENED, b"\x8f\x7e", ())
    assert outcome.items[1:] == [WebSocketFailed("WebSocket protocol error: Invalid opcode 0xf")]
    assert not outcome.open


def test_a_text_frame_inside_a_fragmented_message_is_refused():
    body = frame(0x1, b"part", fin=False) + text("a new message")
    assert items_of(body) == [
        WebSocketFailed("WebSocket protocol error: expected CONTINUATION, got <Opcode.TEXT: 1>")
    ]


def test_a_close_frame_ends_the_stream_and_is_answered():
    body = text("a") + frame(0x8, (4000).to_bytes(2, "big") + b"bye") + text("never read")
    outcome = check(OPENED, body, tuple(BODY + c for c in (3, 6)))
    assert outcome.items[1:] == ["a", WebSocketClosed(4000, "bye")]
    assert [r for call in outcome.calls for r in call.replies] == [("close", 4000, "bye")]
    assert outcome.finished


def test_a_close_frame_whose_end_comes_with_more_frames():
    close = frame(0x8, (1001).to_bytes(2, "big"))
    body = close + text("never read")
    outcome = check(OPENED, body, (BODY + 2,))
    assert outcome.items[1:] == [WebSocketClosed(1001, "")]
    layer = core(body, (2,))
    assert layer.finished
    assert layer.receive_data(text("later")) == ([], b"")


# -- EOF ----------------------------------------------------------------------------------------


def test_eof_between_frames_is_1006():
    assert items_of(text("a"), eof=True) == ["a", WebSocketClosed(1006, "")]


def test_eof_inside_a_common_frame_gives_wsproto_what_waits_here():
    cut_short = text("never whole")[:-3]
    assert items_of(cut_short, eof=True) == [WebSocketClosed(1006, "")]
    assert items_of(cut_short[:1], eof=True) == [WebSocketClosed(1006, "")]
    bad = frame(0x1, b"\xffand more")[:-3]  # wsproto sees the bad byte in what waited
    assert items_of(bad, eof=True) == [
        WebSocketFailed(
            "WebSocket protocol error: 'utf-8' codec can't decode byte 0xff in position 0:"
            " invalid start byte"
        )
    ]


def test_bad_text_still_incomplete_fails_here_once_whole_or_at_eof():
    """The one difference in time from wsproto, which fails as the bad byte arrives."""
    bad = frame(0x1, b"\xff" + b"x" * 10)
    fast = play(WebSocketLayer, OPENED, bad[:5], (), eof=False)
    assert fast.items[1:] == []
    assert fast.open
    fast = play(WebSocketLayer, OPENED, bad, (BODY + 5,), eof=False)
    reference = play(WsprotoLayer, OPENED, bad, (BODY + 5,), eof=False)
    early = reference.calls[0]
    failure = early.items[1]
    assert isinstance(failure, WebSocketFailed)
    assert reference.calls == [
        Call([WebSocketOpened(None), failure], [("close", 1007, failure.reason[26:])]),
        Call([], []),
    ]
    assert fast.calls == [Call([WebSocketOpened(None)], []), Call([failure], early.replies)]
    check(OPENED, bad, (BODY + 5,))  # the difference the differential check allows
