"""Fuzz the WebSocket layer's own frame reader against wsproto (issue 12): the same
server bytes through ``WebSocketLayer`` (which reads the common frames itself) and
through the reference layer that gives every byte to wsproto
(``tests/wsproto_layer.py``), whole and cut, must give the same items call by call
and send back the same frames (``tests/websocket_diff.py``, ``assert_same``).

The first input bytes hold the options, the rest is the payload:

- byte 0, bits 0-1: the body is raw bytes (0, 1), or frames built from the payload
  (2: ``_common.structured_frames``, server frames of every opcode with FIN and RSV
  from the input; 3: the same with lengths in a longer form, masks and 64-bit lengths
  with the top bit set, from the flags byte of each frame);
- bit 2: EOF after the stream;
- bits 3-5: the handshake response (``websocket_diff.HEADS``: mostly the 101);
- byte 1: how the stream is cut: 0 not at all, else at every ``byte 1``-th byte
  counting from the start of the body, and also inside the blank line ending the head
  when bit 7 is set.

Accepted: nothing at all raised by either layer, and the outcomes agreeing. Anything
else is a crash.

    python fuzz/fuzz_websocket_fast.py [libFuzzer flags] [corpus dirs]
"""

from __future__ import annotations

import sys
from pathlib import Path

import _common
from _common import Input

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

with _common.instrumented():
    import websocket_diff
    from websocket_diff import HEADS, check, head_length

#: The handshake responses by option value: the 101 most of the time.
_HEAD_CHOICES = ("101", "101", "101", "101", "101 bare LF", "101", "101", "")
_OTHER_HEADS = sorted(k for k in HEADS if not k.startswith("101"))
#: Byte-at-a-time is one wsproto call per byte in the reference: only this long.
CUT_MAX = 4096


def odd_frames(inp: Input) -> bytes:
    """Frames whose flags byte may also ask for a longer length form (bits 4-5), a mask
    (bit 6) or a 64-bit length with the top bit set (bit 3 with bit 7), as well as the
    opcode (bits 0-2: text, text, binary, continuation, close, ping, pong, reserved)."""
    out = bytearray()
    while inp.left:
        flags = inp.byte()
        size = inp.byte()
        payload = inp.take(size)
        opcode = (0x1, 0x1, 0x2, 0x0, 0x8, 0x9, 0xA, 0x3 + (size & 0x7))[flags & 0x7]
        width = (0, 0, 4, 10)[(flags >> 4) & 0x3]
        mask = payload[:4].ljust(4, b"\x00") if flags & 0x40 else None
        top = 1 << 63 | len(payload) if flags & 0x88 == 0x88 else None
        fin = not (flags & 0x80 and size & 0x1)
        out += websocket_diff.frame(
            opcode, payload, fin=fin, mask=mask, width=10 if top else width, length=top
        )
    return bytes(out)


def test_one_input(data: bytes) -> None:
    inp = Input(data)
    options = inp.byte()
    cutting = inp.byte()
    head = _HEAD_CHOICES[(options >> 3) & 0x7] or _OTHER_HEADS[cutting % len(_OTHER_HEADS)]
    kind = options & 0x3
    if kind == 2:
        body = _common.structured_frames(inp)
    elif kind == 3:
        body = odd_frames(inp)
    else:
        body = inp.rest()
    start = head_length(head)
    cuts: list[int] = []
    if cutting and start + len(body) <= CUT_MAX:
        step = cutting & 0x7F or 1
        cuts = list(range(start + step, start + len(body), step))
        if cutting & 0x80:
            cuts += [start - 3, start - 2, start - 1]
    check(HEADS[head], body, cuts, eof=bool(options & 0x4))


if __name__ == "__main__":
    _common.main(test_one_input, "fuzz_websocket_fast")
