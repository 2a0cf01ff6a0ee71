"""The differential check of the WebSocket layer (issue 12), shared by the property
test (``tests/property/test_websocket_differential.py``) and the fuzz harness
(``fuzz/fuzz_websocket_fast.py``).

The same server bytes, cut at the same points, go to the core's layer (which reads
the common frames itself) and to the reference layer (``wsproto_layer.py``: every
byte to wsproto); what each ``receive_data`` call returns is compared
(:func:`assert_same` says what "the same" means), and so is what each sends after
the stream while still open: a message, then its close frame. Each layer gets its own handshake
response, built for its own ``Sec-WebSocket-Key`` by a server-side wsproto; the
responses have the same length, so the cut points mean the same in both. What the
layers send back (pongs, close replies) is masked with keys wsproto draws at random:
it is decoded by that server-side wsproto and compared frame by frame, never as raw
bytes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import Protocol

import attrs
from wsproto import WSConnection
from wsproto.connection import ConnectionType
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    Request,
    TextMessage,
)
from wsproto_layer import WsprotoLayer

from centrifugo_proto.endpoints import Endpoint, parse_endpoint
from centrifugo_proto.websocket import (
    WebSocketEvent,
    WebSocketFailed,
    WebSocketLayer,
)

__all__ = [
    "ENDPOINT",
    "HEADS",
    "Call",
    "Outcome",
    "accept_for",
    "assert_same",
    "check",
    "frame",
    "head_length",
    "play",
]

ENDPOINT = parse_endpoint("ws://centrifugo.test:8000/connection/websocket")

Item = str | bytes | WebSocketEvent


class Layer(Protocol):
    open: bool
    finished: bool

    def handshake(self) -> bytes: ...

    def receive_data(self, data: bytes | None) -> tuple[list[Item], bytes]: ...

    def send(self, message: str | bytes) -> bytes: ...

    def close(self, code: int = ..., reason: str = ...) -> bytes: ...


# -- the server's side ---------------------------------------------------------------------


class _Server:
    """A server-side wsproto that accepts one client's handshake and decodes the
    client's frames after it."""

    def __init__(self, request: bytes) -> None:
        self.ws = WSConnection(ConnectionType.SERVER)
        self.ws.receive_data(request)
        (event,) = self.ws.events()
        assert isinstance(event, Request)
        self.accept = self.ws.send(AcceptConnection())

    def decode(self, data: bytes) -> list[tuple[object, ...]]:
        self.ws.receive_data(data)
        frames: list[tuple[object, ...]] = []
        for event in self.ws.events():
            if isinstance(event, Pong):
                frames.append(("pong", bytes(event.payload)))
            elif isinstance(event, CloseConnection):
                frames.append(("close", event.code, event.reason))
            elif isinstance(event, Ping):  # pragma: no cover - the client never pings
                frames.append(("ping", bytes(event.payload)))
            else:  # the message sent after the stream (play)
                assert isinstance(event, TextMessage | BytesMessage)
                frames.append(("message", event.data, event.message_finished))
        return frames


#: The handshake responses a stream may start with, made from the server's real 101
#: for the layer's key: accepted (CRLF lines, or bare LF as h11 also takes), refused
#: in every way wsproto reports, and malformed.
HEADS: dict[str, Callable[[bytes], bytes]] = {
    "101": lambda accept: accept,
    "101 bare LF": lambda accept: accept.replace(b"\r\n", b"\n"),
    "101 bad accept": lambda accept: re.sub(rb"(?i)(accept: )\S", rb"\1!", accept),
    "101 no upgrade": lambda accept: re.sub(rb"(?i)upgrade: websocket\r\n", b"", accept),
    "101 an extension not offered": lambda accept: accept.replace(
        b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    ),
    "403 with body": lambda _: b"HTTP/1.1 403 Forbidden\r\ncontent-length: 5\r\n\r\nnope!",
    "403 until EOF": lambda _: b"HTTP/1.1 403 Forbidden\r\n\r\nuntil the end",
    "100": lambda _: b"HTTP/1.1 100 Continue\r\n\r\n",
    "leading blank line": lambda accept: b"\r\n" + accept,
    "garbage": lambda _: b"\x00\x81\x05hello\n\n",
}


def accept_for(layer: Layer) -> bytes:
    """The server's 101 for ``layer``'s handshake."""
    return _Server(layer.handshake()).accept


def head_length(kind: str) -> int:
    """How long the handshake response ``kind`` is (every accept token is as long)."""
    return len(HEADS[kind](_SAMPLE_101))


# -- frames ----------------------------------------------------------------------------------


def frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
    width: int = 0,
    length: int | None = None,
) -> bytes:
    """One server frame (RFC 6455 §5.2), of any kind, valid or not: ``width`` 2, 4 or
    10 forces that header size (0: the shortest); ``length`` overrides the length
    field (a 64-bit one with the top bit set, or one that lies)."""
    size = len(payload) if length is None else length
    if not width:
        width = 2 if size < 126 else 4 if size < 1 << 16 else 10
    first = (0x80 if fin else 0) | (rsv & 0x7) << 4 | (opcode & 0xF)
    masked = 0x80 if mask is not None else 0
    if width == 2:
        head = bytes([first, masked | (size & 0x7F)])
    elif width == 4:
        head = bytes([first, masked | 126]) + (size & 0xFFFF).to_bytes(2, "big")
    else:
        head = bytes([first, masked | 127]) + (size & (1 << 64) - 1).to_bytes(8, "big")
    if mask is not None:
        key = (mask * 4)[:4]
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        head += key
    return head + payload


_SAMPLE_101 = _Server(WebSocketLayer(ENDPOINT).handshake()).accept


# -- playing a stream --------------------------------------------------------------------------


Frames = list[tuple[object, ...]]


@attrs.frozen
class Call:
    """One ``receive_data``: the items it returned and the frames it sent back."""

    items: list[Item]
    replies: Frames


@attrs.frozen
class Outcome:
    """What a layer made of a stream, call by call, and its state at the end."""

    calls: list[Call]
    open: bool
    finished: bool
    #: Still open after the stream: the frames of a message sent, then of close().
    sent: Frames = attrs.field(factory=list)
    #: The core's layer only: it holds part of a frame (to read, or to pass on).
    holding: bool | None = attrs.field(default=None, eq=False)

    @property
    def items(self) -> list[Item]:
        return [item for call in self.calls for item in call.items]


def play(
    make: Callable[[Endpoint], Layer],
    head: Callable[[bytes], bytes],
    body: bytes,
    cuts: Sequence[int],
    *,
    eof: bool,
) -> Outcome:
    """``head`` (made from the layer's own 101) then ``body``, cut at ``cuts`` (offsets
    into the whole stream), then EOF if ``eof``."""
    layer = make(ENDPOINT)
    server = _Server(layer.handshake())
    stream = head(server.accept) + body
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(stream)}), len(stream)]
    chunks: list[bytes | None] = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    if eof:
        chunks.append(None)
    calls = []
    for chunk in chunks:
        items, reply = layer.receive_data(chunk)
        calls.append(Call(items, server.decode(reply) if reply else []))
    holding = None
    if isinstance(layer, WebSocketLayer):
        holding = bool(layer._pending or layer._forward or layer._header)
    is_open, finished = layer.open, layer.finished
    sent: Frames = []
    if is_open:
        sent += server.decode(layer.send("after the stream"))
        sent += server.decode(layer.close(1000, "bye"))
    return Outcome(calls, is_open, finished, sent, holding)


#: wsproto's words for a UTF-8 error say where in its input it found the bad
#: byte, which depends on how the socket cut them: not compared under cuts.
_UTF8 = re.compile(r"'utf-8' codec can't decode .*")
_CUT_UTF8 = "'utf-8' codec can't decode (where: depends on the cuts)"


def _words(outcome: Outcome) -> Outcome:
    calls = [
        Call(
            [
                WebSocketFailed(_UTF8.sub(_CUT_UTF8, i.reason))
                if isinstance(i, WebSocketFailed)
                else i
                for i in call.items
            ],
            [
                (*r[:2], _UTF8.sub(_CUT_UTF8, r[2])) if len(r) == 3 and isinstance(r[2], str) else r
                for r in call.replies
            ],
        )
        for call in outcome.calls
    ]
    return attrs.evolve(outcome, calls=calls)


def _utf8_failure(call: Call) -> bool:
    """The call ends in a UTF-8 failure, and the close frame (1007) it sent."""
    last = call.items[-1] if call.items else None
    return (
        isinstance(last, WebSocketFailed)
        and _UTF8.search(last.reason) is not None
        and call.replies[-1:] == [("close", 1007, call.replies[-1][2])]
    )


def assert_same(fast: Outcome, reference: Outcome, *, cut: bool) -> None:
    """The core's layer did what the reference did, call by call.

    Uncut, wording included; cut, wsproto's words for a UTF-8 error may differ (where in
    its input it saw the byte). One difference in time is allowed: the reference decodes
    a text frame as its bytes come and may fail on one still incomplete, which the
    core's layer reads only once whole (or at EOF). Then, from the call where the
    reference failed, the core's layer returns the same minus that failure, nothing
    until the frame is whole, then that same failure alone (or, the frame never whole,
    nothing and stays open).
    """
    if cut:
        fast, reference = _words(fast), _words(reference)
    if fast == reference:
        return
    assert len(fast.calls) == len(reference.calls)
    at = next(i for i, (f, r) in enumerate(zip(fast.calls, reference.calls, strict=True)) if f != r)
    early = reference.calls[at]
    assert _utf8_failure(early), (at, fast, reference)
    assert fast.calls[at] == Call(early.items[:-1], early.replies[:-1]), (at, fast, reference)
    assert all(call == Call([], []) for call in reference.calls[at + 1 :]), reference
    late = [call for call in fast.calls[at + 1 :] if call != Call([], [])]
    if late:
        assert late == [Call(early.items[-1:], early.replies[-1:])], (at, fast, reference)
        assert fast.finished == reference.finished
        assert fast.open == reference.open
        assert fast.sent == reference.sent
    else:
        assert fast.open, (at, fast, reference)
        assert not fast.finished, (at, fast, reference)


def check(
    head: Callable[[bytes], bytes],
    body: bytes,
    cuts: Sequence[int],
    *,
    eof: bool = False,
    whole_frames: bool = False,
) -> Outcome:
    """Play the stream whole and cut through both layers; assert they agree. With
    ``whole_frames`` (the body is whole frames, none refused) the core's layer must also
    end on a frame boundary, holding nothing: it passed on to wsproto no more than the
    frames that were not its to read. Returns the core's outcome, uncut."""
    fast = play(WebSocketLayer, head, body, (), eof=eof)
    assert_same(fast, play(WsprotoLayer, head, body, (), eof=eof), cut=False)
    outcomes = [fast]
    if cuts:
        fast_cut = play(WebSocketLayer, head, body, cuts, eof=eof)
        reference_cut = play(WsprotoLayer, head, body, cuts, eof=eof)
        assert_same(fast_cut, reference_cut, cut=True)
        outcomes.append(fast_cut)
    if whole_frames:
        for outcome in outcomes:
            assert not outcome.holding or not outcome.open, outcome
    return fast
