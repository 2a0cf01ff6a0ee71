"""Fuzz WebSocket framing with the JSON codec: server bytes → messages → protocol objects.

The first input byte holds the options, the rest is the payload:

- bit 0 clear: raw server bytes after the handshake, through ``WebSocketLayer``
  (whole), every text message to the codec's ``decode_replies``;
- bit 0 set: the same with well-formed frames built from the payload
  (``_common.structured_frames``), so mutations reach the messages;
- bit 2 set: the differential check too: the same bytes fed one at a time give
  the same messages and lifecycle events.

Accepted: ``decode_replies`` raising ``DecodeError`` (the codec's documented
error). Anything else raising is a crash, and so is the WebSocket layer raising at
all (it reports bad framing as ``WebSocketFailed``).

    python fuzz/fuzz_websocket.py [libFuzzer flags] [corpus dirs]
"""

from __future__ import annotations

import _common
from _common import Input

with _common.instrumented():
    from centrifugo_proto.codecs import json as codec
    from centrifugo_proto.endpoints import parse_endpoint
    from centrifugo_proto.errors import DecodeError
    from centrifugo_proto.websocket import WebSocketFailed, WebSocketLayer, WebSocketOpened

ACCEPT = _common.fix_nonce()
ENDPOINT = parse_endpoint(_common.ENDPOINT)
#: Byte-at-a-time costs one wsproto call per byte: only for inputs up to this size.
DIFFERENTIAL_MAX = 1024


def decode(message: str) -> None:
    try:
        out = codec.decode_replies(message)
    except DecodeError:
        return
    assert isinstance(out, list)


def open_layer() -> WebSocketLayer:
    layer = WebSocketLayer(ENDPOINT)
    layer.handshake()
    items, _ = layer.receive_data(ACCEPT)
    assert items == [WebSocketOpened(None)], items
    return layer


def feed(data: bytes, *, bytewise: bool) -> list[object]:
    layer = open_layer()
    items: list[object] = []
    chunks = [data[i : i + 1] for i in range(len(data))] if bytewise else [data]
    for chunk in chunks:
        got, _ = layer.receive_data(chunk)
        items += got
    got, _ = layer.receive_data(None)
    items += got
    return items


def comparable(items: list[object]) -> list[object]:
    # wsproto words a failure by where it noticed it; that it failed is what counts.
    return [WebSocketFailed("") if isinstance(i, WebSocketFailed) else i for i in items]


def test_one_input(data: bytes) -> None:
    inp = Input(data)
    options = inp.byte()
    stream = _common.structured_frames(inp) if options & 0x1 else inp.rest()
    items = feed(stream, bytewise=False)
    for item in items:
        if isinstance(item, str):
            decode(item)
    if options & 0x4 and len(stream) <= DIFFERENTIAL_MAX:
        bytewise = feed(stream, bytewise=True)
        assert comparable(bytewise) == comparable(items), (items, bytewise)


if __name__ == "__main__":
    _common.main(test_one_input, "fuzz_websocket")
