"""Varint length-delimited framing of the Protobuf codec (PROTOCOL.md §1.2).

A WebSocket binary message holds serialised messages one after the other, each
prefixed by its length as an unsigned varint (LEB128: seven bits a byte, least
significant group first, the high bit set on every byte but the last). An empty
message is the single byte ``0x00``: the server's ping and the client's pong (§4).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from ..errors import DecodeError

__all__ = ["MAX_VARINT_BYTES", "encode_varint", "join_delimited", "split_delimited"]

#: A 64-bit value takes at most ten 7-bit groups; a longer varint is malformed
#: (the Protobuf encoding guide, "Base 128 Varints").
MAX_VARINT_BYTES: Final = 10

#: Lengths below 128 are one byte: the common case, looked up, not computed.
_SMALL: Final = tuple(bytes([n]) for n in range(128))


def encode_varint(value: int) -> bytes:
    """``value`` (0 ≤ value < 2**64) as an unsigned varint."""
    if value < 128:
        return _SMALL[value]
    out = bytearray()
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def join_delimited(messages: Iterable[bytes]) -> bytes:
    """Serialised messages, each after its length."""
    return b"".join(encode_varint(len(m)) + m for m in messages)


def split_delimited(data: bytes) -> list[bytes]:
    """A binary message back to the serialised messages it holds, in order.

    Raises :class:`DecodeError` on a truncated or overlong varint and on a length
    that runs past the end. An empty ``data`` holds no message.
    """
    out: list[bytes] = []
    pos = 0
    end = len(data)
    while pos < end:
        size = data[pos]
        pos += 1
        if size >= 128:
            size &= 0x7F
            shift = 7
            while True:
                if pos >= end:
                    raise DecodeError("Protobuf frame ends inside a length varint")
                if shift >= 7 * MAX_VARINT_BYTES:
                    raise DecodeError("Protobuf length varint longer than ten bytes")
                byte = data[pos]
                pos += 1
                size |= (byte & 0x7F) << shift
                if byte < 128:
                    break
                shift += 7
        stop = pos + size
        if stop > end:
            raise DecodeError(
                f"Protobuf message of {size} bytes runs past the frame's end ({end - pos} left)"
            )
        out.append(data[pos:stop])
        pos = stop
    return out
