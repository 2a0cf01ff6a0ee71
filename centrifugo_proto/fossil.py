"""Applying a Fossil delta to a base (PROTOCOL.md §7), checking everything it carries.

A subscription that negotiated ``delta: "fossil"`` receives publications whose
data is a delta against the previous full payload. The format (Fossil SCM's
``www/delta_format.wiki``, and ``delta_apply`` in its ``src/delta.c``)::

    <target length> "\\n"
    ( <count> "@" <offset> ","      copy count bytes of the base from offset
    | <count> ":" <count bytes>     insert these bytes
    )*
    <checksum> ";"                  end

Numbers are base-64 digits, most significant first, in the alphabet
``0-9 A-Z _ a-z ~`` (values 0-63). The checksum is the 32-bit sum, modulo 2**32,
of the output read as big-endian 32-bit words, the last one padded with zero
bytes. (The wiki says "modulo 2^32-1"; ``delta.c`` and the Go encoder the server
uses add in unsigned 32-bit arithmetic, so it is modulo 2**32. The worked example
of the wiki, ``2zMM3E`` for -1101438770, is the same value read as unsigned.)

:func:`apply_delta` returns the target or raises :class:`DeltaError`; it never
returns bytes it could not verify. It is stricter than ``delta.c``, never
looser: a number has one to six digits (a 32-bit value needs at most six; more
is refused before it can cost quadratic time), every copy lies inside the base,
the output never grows past the header's length and ends exactly at it, the
checksum matches, and nothing follows the terminator (``delta.c`` ignores
trailing bytes; an encoder never writes any). A copy count of zero copies
nothing (the wiki's "zero means to the end" is not what ``delta.c`` does).
"""

from __future__ import annotations

import zlib

from .errors import DecodeError

__all__ = ["DeltaError", "apply_delta", "checksum"]


class DeltaError(DecodeError):
    """A Fossil delta that does not apply to its base (malformed, or for another base).

    A :class:`DecodeError`, so the session treats it as bad data from the server;
    what it does about it (resubscribe from the last good offset) is its business.
    """


#: The digit alphabet (delta_format.wiki §3): the value of each byte, -1 for a non-digit.
_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"
_VALUE = tuple(_ALPHABET.find(bytes([c])) for c in range(256))

#: 64**6 > 2**32: six digits hold every number the 32-bit format can carry.
_MAX_DIGITS = 6

_COPY = ord("@")
_INSERT = ord(":")
_END = ord(";")
_NEWLINE = ord("\n")
_COMMA = ord(",")

#: Bytes per ``adler32`` call in :func:`checksum`: 256 * 255 = 65280 stays below
#: Adler-32's modulus 65521, so the low half of the result is the exact byte sum.
_BLOCK = 256


def checksum(data: bytes) -> int:
    """The delta format's checksum of ``data``: the sum of its big-endian 32-bit
    words (the last padded with zeros) modulo 2**32.

    The sum of big-endian words equals ``lane0 << 24 + lane1 << 16 + lane2 << 8 +
    lane3``, where lane k is the sum of the bytes at positions k, k+4, k+8, ...
    (the form ``delta.c`` computes; padding bytes are zero and add nothing, so the
    short lanes of a tail need no padding). Each lane's sum is computed in C:
    with a start value of 0, ``zlib.adler32`` returns that sum modulo 65521 in its
    low 16 bits, exact for up to 256 bytes. This is about three times faster
    than ``sum()`` over the bytes or over ``struct``-unpacked words from 1 KB up
    (``bench/bench_fossil.py``).
    """
    total = 0
    for k in range(4):
        lane = data[k::4]
        lane_sum = 0
        for start in range(0, len(lane), _BLOCK):
            lane_sum += zlib.adler32(lane[start : start + _BLOCK], 0) & 0xFFFF
        total = (total << 8) + lane_sum
    return total & 0xFFFFFFFF


def _number(delta: bytes, pos: int, what: str) -> tuple[int, int]:
    """The base-64 number at ``pos`` and the position after it (delta_format.wiki §3).

    A per-digit loop is what the format demands; it runs at most seven times.
    """
    value = 0
    end = min(len(delta), pos + _MAX_DIGITS + 1)
    i = pos
    while i < end:
        digit = _VALUE[delta[i]]
        if digit < 0:
            break
        value = value << 6 | digit
        i += 1
    if i == pos:
        raise DeltaError(f"expected the {what} at byte {pos} of the delta")
    if i - pos > _MAX_DIGITS:
        raise DeltaError(f"the {what} at byte {pos} has more than {_MAX_DIGITS} digits")
    return value, i


def apply_delta(source: bytes, delta: bytes) -> bytes:
    """The target the Fossil ``delta`` builds from ``source`` (PROTOCOL.md §7).

    Raises :class:`DeltaError` if the delta is malformed, does not fit
    ``source``, or builds something whose length or checksum is not the one it
    announces.
    """
    limit, pos = _number(delta, 0, "target length")
    if pos == len(delta) or delta[pos] != _NEWLINE:
        raise DeltaError("the target length is not followed by a newline")
    pos += 1
    base = memoryview(source)
    base_len = len(source)
    end = len(delta)
    parts: list[bytes | memoryview] = []
    total = 0
    while True:
        if pos == end:
            raise DeltaError("the delta ends before its terminator")
        count, pos = _number(delta, pos, "count")
        if pos == end:
            raise DeltaError("the delta ends after a count, before its command")
        command = delta[pos]
        pos += 1
        if command == _COPY:
            offset, pos = _number(delta, pos, "copy offset")
            if pos == end or delta[pos] != _COMMA:
                raise DeltaError(f"the copy offset ending at byte {pos} is not followed by ','")
            pos += 1
            if offset + count > base_len:
                raise DeltaError(
                    f"a copy of {count} bytes at offset {offset} runs past the end "
                    f"of the {base_len}-byte base"
                )
            part: bytes | memoryview = base[offset : offset + count]
        elif command == _INSERT:
            if count > end - pos:
                raise DeltaError(
                    f"an insert of {count} bytes at byte {pos} runs past the end of the delta"
                )
            part = delta[pos : pos + count]
            pos += count
        elif command == _END:
            break
        else:
            raise DeltaError(f"unknown delta command {bytes([command])!r} at byte {pos - 1}")
        total += count
        if total > limit:
            raise DeltaError(f"the output grows past the {limit} bytes the header announces")
        parts.append(part)
    if pos != end:
        raise DeltaError(f"{end - pos} bytes follow the delta's terminator")
    if total != limit:
        raise DeltaError(f"the output is {total} bytes, the header announces {limit}")
    target = b"".join(parts)
    if checksum(target) != count:
        raise DeltaError("the output's checksum does not match the delta's")
    return target
