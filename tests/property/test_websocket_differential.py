"""The WebSocket layer reads the common server frames itself (issue 12): on any server
byte stream it must do exactly what the layer that gives every byte to wsproto does
(``tests/wsproto_layer.py``), delivered whole and cut at any points, with and without
EOF (``tests/websocket_diff.py`` says what "the same" means). STYLE-ANCHORS L14.

The streams mix what a server sends (text and binary frames with every length form,
pings and pongs with payloads, close frames with and without codes, fragmented
messages with control frames between their parts) with what RFC 6455 forbids (masked
frames, RSV bits, reserved opcodes, lengths not in their shortest form, 64-bit lengths
with the top bit set, invalid UTF-8, oversized or fragmented control frames, stray
continuations, garbage), then cut short or not.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from websocket_diff import HEADS, Outcome, check, frame, head_length

from centrifugo_proto.websocket import WebSocketClosed, WebSocketFailed

MASKS = st.binary(min_size=4, max_size=4)
#: Text: short, with characters of every UTF-8 length, and long (16- and 64-bit lengths).
UTF8 = st.one_of(
    st.text(max_size=40).map(str.encode),
    st.text(st.sampled_from("aé€😀"), min_size=42, max_size=80).map(str.encode),
    st.integers(126, 70_000).map(lambda n: b"a" * n),
)
#: Not UTF-8 (§8.1), mostly: an encoding cut inside a character, random bytes, a long
#: run with one bad byte.
NOT_UTF8 = st.one_of(
    st.text(st.sampled_from("é€😀"), min_size=1, max_size=20)
    .map(str.encode)
    .flatmap(
        lambda b: (
            st.integers(1, len(b) - 1).map(lambda i: b[:i]) if len(b) > 1 else st.just(b"\xc3")
        )
    ),
    st.binary(min_size=1, max_size=40),
    st.tuples(st.integers(126, 70_000), st.integers(0, 70_000)).map(
        lambda t: b"a" * (t[1] % t[0]) + b"\xff" + b"a" * (t[0] - t[1] % t[0] - 1)
    ),
)
BINARY = st.one_of(UTF8, st.binary(max_size=40), st.binary(min_size=126, max_size=300))


@st.composite
def data_frames(draw: st.DrawFn) -> bytes:
    """Text or binary, the length in its shortest form: the common frame."""
    opcode = draw(st.sampled_from([0x1, 0x2]))
    return frame(opcode, draw(UTF8 if opcode == 0x1 else BINARY))


@st.composite
def longer_lengths(draw: st.DrawFn) -> bytes:
    """A data frame whose length is in a longer form than it needs (§5.2)."""
    opcode = draw(st.sampled_from([0x1, 0x2]))
    payload = draw(st.binary(max_size=300))
    width = 10 if len(payload) > 125 else draw(st.sampled_from([4, 10]))
    return frame(opcode, payload, width=width)


CLOSE_CODES = st.one_of(
    st.sampled_from(
        [
            *(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014),
            *(3000, 3500, 3999, 4000, 4999),
            *(0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535),
        ]
    ),
    st.integers(0, 65535),
)
REASONS = st.one_of(st.text(max_size=30).map(str.encode), st.binary(max_size=10))
CLOSE_PAYLOADS = st.one_of(
    st.just(b""),
    st.binary(min_size=1, max_size=1),
    st.tuples(CLOSE_CODES, REASONS).map(lambda t: t[0].to_bytes(2, "big") + t[1]),
)


PINGS = st.builds(frame, st.sampled_from([0x9, 0xA]), st.binary(max_size=125))
CLOSES = st.builds(frame, st.just(0x8), CLOSE_PAYLOADS)

Frames = list[bytes]


def one(strategy: st.SearchStrategy[bytes]) -> st.SearchStrategy[Frames]:
    return strategy.map(lambda frame: [frame])


@st.composite
def fragmented(draw: st.DrawFn, *, valid: bool = True) -> Frames:
    """A message in parts (§5.4), cut anywhere (inside a character too), pings and pongs
    between them; text that is not UTF-8 unless ``valid``."""
    opcode = draw(st.sampled_from([0x1, 0x2]))
    payload = draw((UTF8 if valid else NOT_UTF8) if opcode == 0x1 else BINARY)
    cuts = sorted(draw(st.lists(st.integers(0, len(payload)), min_size=1, max_size=4)))
    bounds = [0, *cuts, len(payload)]
    parts = []
    for i, (start, stop) in enumerate(itertools.pairwise(bounds)):
        last = i == len(bounds) - 2
        parts.append(frame(opcode if i == 0 else 0x0, payload[start:stop], fin=last))
        if not last and draw(st.booleans()):
            parts.append(draw(PINGS))
    return parts


#: Any frame at all: every opcode, FIN either way, RSV bits, masked or not, any width.
ODD_FRAMES = st.builds(
    frame,
    st.integers(0, 15),
    st.binary(max_size=130),
    fin=st.booleans(),
    rsv=st.integers(0, 7),
    mask=st.none() | MASKS,
    width=st.sampled_from([0, 2, 4, 10]),
)
#: §5.2: a 64-bit length's most significant bit must be 0.
TOP_BIT = st.builds(
    lambda opcode, low, tail: frame(opcode, tail, width=10, length=1 << 63 | low),
    st.sampled_from([0x0, 0x1, 0x2, 0x9]),
    st.integers(0, (1 << 63) - 1),
    st.binary(max_size=8),
)

#: What a well-behaved server sends, mostly data frames.
VALID = st.one_of(
    one(data_frames()), one(data_frames()), one(data_frames()), one(PINGS), fragmented()
)
#: What ends a stream, by kind: a close, text that is not UTF-8 (whole, or cut short with
#: the bad byte before the cut), a length longer than it needs, a message that never
#: finishes (another message starts before its last part), anything else RFC 6455
#: forbids, garbage. The property runs once per kind, so that each gets its examples.
BREAKERS: dict[str, st.SearchStrategy[Frames]] = {
    "close": one(CLOSES),
    "not UTF-8": one(st.builds(lambda payload: frame(0x1, payload), NOT_UTF8)),
    "not UTF-8, cut short": one(
        st.builds(
            lambda head, tail, cut: frame(0x1, head + b"\xff" + tail)[: -1 - cut % len(tail)],
            UTF8,
            st.binary(min_size=1, max_size=20),
            st.integers(0, 20),
        )
    ),
    "longer length": one(longer_lengths()),
    "fragments not UTF-8": fragmented(valid=False),
    "unfinished message": st.tuples(fragmented(), VALID).map(lambda t: t[0][:-1] + t[1]),
    "any frame": one(ODD_FRAMES),
    "64-bit length, top bit": one(TOP_BIT),
    "garbage": one(st.binary(min_size=1, max_size=16)),
}
ANY_BREAKER = st.one_of(*BREAKERS.values())


Stream = tuple[str, bytes, list[int], bool, bool]


@st.composite
def streams(
    draw: st.DrawFn,
    heads: st.SearchStrategy[str],
    breakers: st.SearchStrategy[Frames] | None = None,
    *,
    short: bool = False,
) -> Stream:
    """A head, frames (with one of ``breakers`` among them), sometimes cut short
    (always, then EOF, if ``short``); cut points, many near where frames begin (inside
    their headers); EOF or not; whether the body is whole frames a server may send."""
    head = draw(heads)
    parts: Frames = [f for frames in draw(st.lists(VALID, min_size=1, max_size=10)) for f in frames]
    if breakers is not None:
        # Counted from the end, so that a shrunk example breaks last.
        at = len(parts) - draw(st.integers(0, len(parts)))
        parts[at:at] = draw(breakers)
    body = whole = b"".join(parts)
    if short or draw(st.integers(0, 3)) == 0:
        body = body[: len(body) - draw(st.integers(1, len(body)))]
    starts = list(itertools.accumulate((len(p) for p in parts), initial=head_length(head)))
    total = starts[0] + len(body)
    if total < 600 and draw(st.integers(0, 4)) == 0:
        cuts = list(range(1, total))  # byte by byte
    else:
        # Inside a header (at most 10 bytes), or inside the blank line ending the head.
        near_a_start = st.tuples(st.sampled_from(starts), st.integers(-3, 11)).map(sum)
        near_the_body = st.integers(-3, 3).map(lambda offset: starts[0] + offset)
        cuts = draw(st.lists(st.integers(1, total) | near_a_start | near_the_body, max_size=8))
    eof = short or draw(st.booleans())
    return head, body, cuts, eof, breakers is None and body == whole


def tally(outcome: Outcome) -> None:
    """How the stream ended and how many messages it gave (--hypothesis-show-statistics)."""
    last = outcome.items[-1] if outcome.items else None
    if isinstance(last, WebSocketFailed):
        event(f"failed: {last.reason.split(':')[1 if 'protocol' in last.reason else 0][:40]}")
    elif isinstance(last, WebSocketClosed):
        event(f"closed {last.code}")
    else:
        event("open" if outcome.open else "not open")
    messages = sum(isinstance(i, str | bytes) for i in outcome.items)
    event(f"messages: {min(messages, 5)}{'+' if messages >= 5 else ''}")


ACCEPTED = st.sampled_from(["101", "101", "101", "101 bare LF"])


@given(streams(ACCEPTED))
def test_what_a_server_sends_gives_the_same_items_and_replies_in_both_layers(
    stream: Stream,
) -> None:
    head, body, cuts, eof, whole = stream
    tally(check(HEADS[head], body, cuts, eof=eof, whole_frames=whole))


@pytest.mark.parametrize("kind", sorted(BREAKERS))
@given(data=st.data())
def test_what_breaks_the_protocol_fails_both_layers_alike(kind: str, data: st.DataObject) -> None:
    head, body, cuts, eof, _ = data.draw(streams(ACCEPTED, BREAKERS[kind]))
    tally(check(HEADS[head], body, cuts, eof=eof))


@given(streams(ACCEPTED, ANY_BREAKER, short=True))
def test_a_stream_that_ends_inside_a_frame_ends_both_layers_alike(stream: Stream) -> None:
    head, body, cuts, eof, _ = stream
    tally(check(HEADS[head], body, cuts, eof=eof))


@given(streams(st.sampled_from(sorted(HEADS))))
def test_every_handshake_answer_gives_the_same_items_in_both_layers(stream: Stream) -> None:
    head, body, cuts, eof, _ = stream
    tally(check(HEADS[head], body, cuts, eof=eof))
